"""Pure altair charts for the checks beyond the article: curves with bootstrap bands, and dot plots with intervals.

Each takes a tidy frame (one row per point, with ``low``/``high`` interval columns) and returns a chart;
colours are the article's model colours (:mod:`memviz.viz.style`), other series get the fallback colours.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from memviz.viz.style import FIGURE_WIDTH, model_scale


def band_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_title: str,
    y_title: str,
    colour: str = "model",
    dash: str | None = None,
    column: str | None = None,
    y_format: str = "%",
    width: int = FIGURE_WIDTH,
    height: int = 240,
    x_sort: list | None = None,
) -> alt.Chart | alt.FacetChart:
    """Lines of ``y`` against ``x`` with a shaded ``low``–``high`` band, one colour per ``colour`` value.

    ``x`` is drawn as an ordered category when ``x_sort`` is given (e.g. words of context "0" … "all"),
    otherwise as a whole number. ``dash`` dashes a second grouping; ``column`` facets.
    """
    x_enc = (
        alt.X(f"{x}:O", title=x_title, sort=x_sort, axis=alt.Axis(labelAngle=0))
        if x_sort is not None
        else alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False))
    )
    colour_enc = alt.Color(f"{colour}:N", scale=model_scale(list(frame[colour])), title=colour.replace("_", " "))
    detail = [alt.Detail(f"{dash}:N")] if dash else []
    base = alt.Chart(frame).encode(x=x_enc, color=colour_enc)
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q"), y2="high:Q", detail=detail)
    line_enc = {
        "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format)),
        "tooltip": [c for c in (colour, dash, column, x) if c]
        + [
            alt.Tooltip(f"{y}:Q", format=".3f"),
            alt.Tooltip("low:Q", format=".3f"),
            alt.Tooltip("high:Q", format=".3f"),
        ],
    }
    if dash:
        line_enc["strokeDash"] = alt.StrokeDash(
            f"{dash}:N", title=dash.replace("_", " "), sort=list(dict.fromkeys(frame[dash]))
        )
    line = base.mark_line(strokeWidth=1.8, point=x_sort is not None).encode(**line_enc)
    chart = alt.layer(band, line).properties(width=width, height=height)
    return (
        chart.facet(column=alt.Column(f"{column}:N", title=None, sort=list(dict.fromkeys(frame[column]))))
        if column
        else chart
    )


def dot_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_title: str,
    colour: str = "model",
    row: str | None = None,
    x_format: str = ".2f",
    width: int = FIGURE_WIDTH,
    domain: tuple[float, float] | None = None,
    independent_x: bool = False,
) -> alt.Chart | alt.FacetChart:
    """A dot per (``y`` category, ``colour``) at ``x`` with a ``low``–``high`` rule: a table of intervals, drawn.

    ``y`` is categorical (e.g. the attribution method), offset by ``colour``; ``row`` facets, each with its
    own x scale when ``independent_x``.
    """
    scale = alt.Scale(domain=list(domain)) if domain else alt.Scale(zero=False)
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{y}:N", title=None, sort=list(dict.fromkeys(frame[y]))),
        yOffset=alt.YOffset(f"{colour}:N", sort=list(dict.fromkeys(frame[colour]))),
        color=alt.Color(f"{colour}:N", scale=model_scale(list(frame[colour])), title=colour.replace("_", " ")),
    )
    rule = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title=x_title, scale=scale, axis=alt.Axis(format=x_format)), x2="high:Q"
    )
    dots = base.mark_point(filled=True, size=50).encode(
        x=alt.X(f"{x}:Q"),
        tooltip=[
            y,
            colour,
            alt.Tooltip(f"{x}:Q", format=".3f"),
            alt.Tooltip("low:Q", format=".3f"),
            alt.Tooltip("high:Q", format=".3f"),
        ],
    )
    chart = alt.layer(rule, dots).properties(width=width, height=alt.Step(9))
    if not row:
        return chart
    faceted = chart.facet(row=alt.Row(f"{row}:N", title=None, sort=list(dict.fromkeys(frame[row]))))
    return faceted.resolve_scale(x="independent") if independent_x else faceted


def scatter_lines(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_title: str,
    y_title: str,
    label: str,
    colour: str = "model",
    x_format: str = "%",
    y_format: str = "%",
    width: int = FIGURE_WIDTH,
    height: int = 260,
) -> alt.Chart:
    """Points at (``x``, ``y``) with ``y``'s ``low``–``high`` rule, joined per ``colour`` in frame order, labelled by ``label``."""
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=x_format)),
        color=alt.Color(f"{colour}:N", scale=model_scale(list(frame[colour])), title=colour.replace("_", " ")),
    )
    rules = base.mark_rule(strokeWidth=1.5).encode(
        y=alt.Y("low:Q", title=y_title, axis=alt.Axis(format=y_format)), y2="high:Q"
    )
    line = base.mark_line(strokeWidth=1.2, point=True).encode(
        y=f"{y}:Q",
        order=alt.Order("order:Q"),
        tooltip=[colour, label, alt.Tooltip(f"{x}:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".3f")],
    )
    text = base.mark_text(dx=7, dy=-7, fontSize=10).encode(y=f"{y}:Q", text=f"{label}:N")
    return alt.layer(rules, line, text).properties(width=width, height=height)


def interval_grid(
    frame: pd.DataFrame,
    *,
    y: str = "model",
    colour: str | None = None,
    facet: str = "measure",
    columns: int = 3,
    width: int = 200,
    x_format: str = ".3~f",
) -> alt.FacetChart:
    """A small panel per ``facet`` value (e.g. per measure), ``columns`` to a row, each with its own x scale: a dot per
    ``y`` (e.g. model) at ``value`` with its ``low``–``high`` rule (none where ``low`` is missing), coloured by
    ``colour`` (default ``y``; a column of model names keeps the article's colours, with a legend when it is not
    ``y``). Fits a screen where one panel per measure stacked would not."""
    order, colour = list(dict.fromkeys(frame[y])), colour or y
    colours = list(dict.fromkeys(frame[colour]))
    legend = None if colour == y else alt.Legend(title=colour.replace("_", " "), orient="bottom")
    base = alt.Chart().encode(
        y=alt.Y(f"{y}:N", sort=order, title=None),
        color=alt.Color(f"{colour}:N", scale=model_scale(colours), legend=legend),
    )
    axis = alt.Axis(format=x_format, tickCount=4, grid=True)
    rule = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title=None, scale=alt.Scale(zero=False), axis=axis), x2="high:Q"
    )
    dots = base.mark_point(filled=True, size=55).encode(
        x=alt.X("value:Q"),
        tooltip=[y, facet] + [alt.Tooltip(f"{c}:Q", format=".3f") for c in ("value", "low", "high")],
    )
    layered = alt.layer(rule, dots, data=frame).properties(width=width, height=alt.Step(16))
    sort = list(dict.fromkeys(frame[facet]))
    header = alt.Header(labelFontSize=12, labelFontWeight="bold", title=None)
    chart = layered.facet(facet=alt.Facet(f"{facet}:N", sort=sort, header=header), columns=columns)
    return chart.resolve_scale(x="independent")
