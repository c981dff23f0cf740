"""Charts of memory length: the gate "dial" of notebook 02 and the units' memory timescales.

Pure functions, frame in, ``alt.Chart`` out, in the colours of :mod:`memviz.viz.style` (the article's model
colours; shades of one model's colour for the settings of one unit).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from memviz.viz.style import FIGURE_WIDTH, model_colours, model_scale

#: How far the lightest and darkest shade of a model's colour are mixed towards white and black.
SHADE_MIX = 0.5


def shades(colour: str, n: int) -> list[str]:
    """``n`` shades of a ``#rrggbb`` colour, lightest first (the colour itself in the middle)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    out = []
    for k in range(n):
        t = 0.0 if n == 1 else SHADE_MIX * (2 * k / (n - 1) - 1)  # < 0 towards white, > 0 towards black
        mixed = [c + (255 - c) * -t if t < 0 else c * (1 - t) for c in rgb]
        out.append("#" + "".join(f"{round(v):02x}" for v in mixed))
    return out


def _end_order(frame: pd.DataFrame, group: str, series: str, x: str, y: str) -> list[str]:
    """``series`` values grouped by ``group`` (in order of appearance), each group highest last value first,
    so that a legend read top to bottom meets the lines in the order their ends are drawn."""
    last = frame.sort_values(x).groupby(series, sort=False).tail(1)
    groups = list(dict.fromkeys(frame[group]))
    last = last.assign(_group=last[group].map(groups.index)).sort_values(["_group", y], ascending=[True, False])
    return list(last[series])


def dial_chart(
    frame: pd.DataFrame, x: str, y: str, *, x_title: str, y_title: str, width: int = 300, height: int = 260
) -> alt.FacetChart:
    """One facet per ``unit``, one line per ``setting``, coloured in shades of the ``model``'s colour (light to
    dark in the frame's order of settings); the legend lists the settings in the vertical order of the lines' ends.

    ``frame`` columns: ``model`` (for the hue), ``unit`` (facet), ``setting``, ``x``, ``y``; ``y`` on a log scale.
    """
    domain = _end_order(frame, "unit", "setting", x, y)
    base = model_colours(list(frame["model"]))
    colour: dict[str, str] = {}
    for model, settings in frame.groupby("model", sort=False)["setting"]:
        colour |= dict(zip(dict.fromkeys(settings), shades(base[model], settings.nunique())))
    return (
        alt.Chart(frame)
        .mark_line(strokeWidth=1.8)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False)),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(type="log"), axis=alt.Axis(format=".0e")),
            color=alt.Color(
                "setting:N",
                title="setting",
                scale=alt.Scale(domain=domain, range=[colour[s] for s in domain]),
                sort=domain,
            ),
            tooltip=["unit", "setting", x, alt.Tooltip(f"{y}:Q", format=".3g")],
        )
        .properties(width=width, height=height)
        .facet(column=alt.Column("unit:N", title=None, sort=list(dict.fromkeys(frame["unit"]))))
    )


def timescale_chart(frame: pd.DataFrame, *, width: int = FIGURE_WIDTH + 150, height: int = 280) -> alt.Chart:
    """Each unit's memory timescale, units ranked shortest first: one line per ``model`` (its colour) and ``stage``
    (solid: the frame's first stage, e.g. "trained"; dashed: the second, e.g. "at initialisation").

    ``frame``: the columns of :func:`memviz.analysis.timescales.timescale_frame` plus ``stage``.
    """
    stages = list(dict.fromkeys(frame["stage"]))
    return (
        alt.Chart(frame)
        .mark_line(strokeWidth=1.8)
        .encode(
            x=alt.X(
                "unit share:Q",
                title="units, ranked by timescale (share of the layer)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1], nice=False),
            ),
            y=alt.Y("timescale:Q", title="memory timescale τ = −1 / ln(mean gate), steps", scale=alt.Scale(type="log")),
            color=alt.Color("model:N", scale=model_scale(list(frame["model"])), title="model"),
            strokeDash=alt.StrokeDash(
                "stage:N", sort=stages, scale=alt.Scale(domain=stages, range=[[1, 0], [5, 3]][: len(stages)])
            ),
            detail="stage:N",
            tooltip=[
                "model",
                "stage",
                alt.Tooltip("unit share:Q", format=".0%"),
                alt.Tooltip("timescale:Q", format=".3g"),
            ],
        )
        .properties(width=width, height=height)
    )
