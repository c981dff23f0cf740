"""The article's figures as pure functions: results -> tidy DataFrame -> returned Altair chart.

Nothing here displays anything or knows about models; every chart is drawn from the plain
containers of :mod:`memviz.core.results` (or frames), so the article's published data
(:mod:`memviz.data.reference`) and the reader's own results go through the same code.
Colours, fonts and sizes are the named constants of :mod:`memviz.viz.style`.

Data volume: Altair refuses DataFrames over 5,000 rows (``MaxRowsError``) unless the *global*
data transformer is changed. The charts with more points (the connectivity matrix, the training
curves) instead pass one row per line / per matrix row holding its points as arrays
(``alt.InlineData``, which that check does not apply to), expanded in the browser by a ``flatten``
transform: compact, quick to validate, and the user's global settings stay untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import altair as alt
import numpy as np
import pandas as pd

from memviz.core.model_names import in_order
from memviz.core.results import AccuracyCurve, ConnectivityResult, Suggestions, check_same_text
from memviz.viz import style

_Named = TypeVar("_Named", ConnectivityResult, Suggestions)

__all__ = [
    "crop",
    "check_position",
    "connectivity_frame",
    "wrap_text",
    "StripGeometry",
    "prediction_rows",
    "strip_layers",
    "Interactive",
    "STATIC",
    "connectivity_strip",
    "ordered",
    "panel_title",
    "connectivity_panels",
    "suggestion_label",
    "autocomplete_panels",
    "connectivity_heatmap",
    "attribution_heatmaps",
    "accuracy_frame",
    "accuracy_curves",
    "training_curves",
    "line_chart",
]

# ---------------------------------------------------------------------------------------------
# Connectivity: one model's text panel
# ---------------------------------------------------------------------------------------------


def crop(result: ConnectivityResult, length: int) -> ConnectivityResult:
    """The first ``length`` characters only, e.g. the hero figure's 70 (the article's opening figure).

    Exact for a causal model: outputs before ``length`` never depend on later inputs, and the row
    maxima are then taken over the kept characters, as the article's hero figure does.
    """
    return dataclasses.replace(
        result,
        text=result.text[:length],
        targets=result.targets[:length],
        raw=result.raw[:length, :length],
        top_words=result.top_words[:length],
        top_probs=result.top_probs[:length],
    )


def check_position(result: ConnectivityResult, position: int) -> int:
    """``position`` as an int; ValueError unless it indexes a character of ``result.text``."""
    if not 0 <= int(position) < result.length:
        raise ValueError(f"position {position} is outside the text (0 … {result.length - 1})")
    return int(position)


def connectivity_frame(result: ConnectivityResult, position: int) -> pd.DataFrame:
    """One row per input character for output ``position``.

    Columns: ``index``, ``char``, ``value`` (raw connectivity ``raw[position, index]``), ``ratio``
    (value / row max, as the article displays it), ``selected`` (index == position), ``colour``.
    """
    position = check_position(result, position)
    ratio = result.normalized()[position]
    return pd.DataFrame(
        {
            "index": np.arange(result.length),
            "char": list(result.text),
            "value": np.asarray(result.raw[position], dtype=np.float64),
            "ratio": ratio,
            "selected": np.arange(result.length) == position,
            "colour": [style.connectivity_colour(r) for r in ratio],
        }
    )


def wrap_text(text: str, chars_per_line: int) -> tuple[np.ndarray, np.ndarray]:
    """(line, column) of every character, wrapping between words.

    Words keep their leading space (the article's unit: a word's targets start at the space
    before it), so a wrapped line starts with that space; a word longer than a line is split.
    """
    if chars_per_line < 1:
        raise ValueError("chars_per_line must be at least 1")
    starts = [i for i, c in enumerate(text) if i == 0 or c == " "] + [len(text)]
    lines, cols = np.zeros(len(text), dtype=int), np.zeros(len(text), dtype=int)
    line = col = 0
    for start, stop in zip(starts[:-1], starts[1:]):
        if col > 0 and col + (stop - start) > chars_per_line:
            line, col = line + 1, 0
        for i in range(start, stop):
            if col >= chars_per_line:
                line, col = line + 1, 0
            lines[i], cols[i] = line, col
            col += 1
    return lines, cols


class StripGeometry:
    """Pixel layout of one panel: two header rows (name + target, predictions), then the text."""

    def __init__(self, text: str, width: int, chars_per_line: int | None):
        self.chars_per_line = chars_per_line or max(1, (width - 2 * style.PANEL_PADDING) // style.CHAR_WIDTH)
        self.width = max(width, self.chars_per_line * style.CHAR_WIDTH + 2 * style.PANEL_PADDING)
        self.lines, self.cols = wrap_text(text, self.chars_per_line)
        self.n_lines = int(self.lines.max()) + 1 if len(text) else 1
        self.panel_top = 2 * style.LINE_HEIGHT + 4
        self.height = self.panel_top + self.n_lines * style.LINE_HEIGHT + 2 * style.PANEL_PADDING

    def char_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel centres ``(x, y)`` of every character of the text, each ``(len(text),)``."""
        x = style.PANEL_PADDING + (self.cols + 0.5) * style.CHAR_WIDTH
        y = self.panel_top + style.PANEL_PADDING + (self.lines + 0.5) * style.LINE_HEIGHT
        return x, y

    def box(self, rank: int, k: int) -> tuple[float, float]:
        """Horizontal extent of the prediction box of ``rank`` (0-based) out of ``k``."""
        gap = 6
        w = (self.width - (k - 1) * gap) / k
        return rank * (w + gap), rank * (w + gap) + w


def prediction_rows(result: ConnectivityResult, position: int, geom: StripGeometry) -> list[dict]:
    """Header rows for one position: rank 0 is the target, ranks 1..k the top-k predictions."""
    k = len(result.top_words[position])
    target = result.targets[position]
    rows = [{"k": 0, "label": f"target: {target}", "hit": False, "x0": 0.0, "x1": 0.0}]
    for j, (word, prob) in enumerate(zip(result.top_words[position], result.top_probs[position])):
        x0, x1 = geom.box(j, k)
        rows.append({"k": j + 1, "label": suggestion_label(word, prob), "hit": word == target, "x0": x0, "x1": x1})
    return rows


def _xy(field_x: str = "x", field_y: str = "y") -> dict:
    return {"x": alt.X(f"{field_x}:Q", scale=None, axis=None), "y": alt.Y(f"{field_y}:Q", scale=None, axis=None)}


@dataclasses.dataclass(frozen=True)
class Interactive:
    """What the in-browser explorer adds to a panel (:func:`strip_layers`): Vega-Lite transforms that pick the
    position's values from data holding every position, a transparent hit box over every character (on top, for
    pointing at it; pointing selects the character, so no tooltip then), and the panel's bottom edge (a number or a
    Vega-Lite ``{"expr"}``; default the geometry's height)."""

    char_transforms: Sequence[dict] = ()
    header_transforms: Sequence[dict] = ()
    hit_boxes: bool = True
    background_bottom: float | dict | None = None


def _with_transforms(chart: alt.Chart, transforms: Sequence[dict]) -> alt.Chart:
    chart.transform = list(transforms) or alt.Undefined
    return chart


def _header_layers(model: str, geom: StripGeometry, header: alt.Data, top_k: int, live: Interactive) -> list:
    """The panel's header: the model's name, the true target (``k == 0``) and the top-k prediction boxes."""
    text_kw = {"font": style.SANS, "fontSize": style.HEADER_FONT_SIZE, "baseline": "middle"}

    def header_chart(condition: str) -> alt.Chart:
        return _with_transforms(alt.Chart(header), [*live.header_transforms, {"filter": condition}])

    name = alt.Chart(alt.InlineData(values=[{}])).mark_text(
        **{**text_kw, "fontSize": style.HEADER_FONT_SIZE + 1},
        text=model,
        x=2,
        y=style.LINE_HEIGHT / 2,
        align="left",
        fontWeight="bold",
        color=style.model_colours([model])[model],
    )
    target = (
        header_chart("datum.k == 0")
        .mark_text(**text_kw, align="right", color=style.MUTED_TEXT)
        .encode(text="label:N", x=alt.value(geom.width - 2), y=alt.value(style.LINE_HEIGHT / 2))
    )
    boxes = (
        header_chart("datum.k > 0")
        .mark_rect(cornerRadius=2)
        .encode(
            x=alt.X("x0:Q", scale=None, axis=None),
            x2="x1:Q",
            y=alt.value(style.LINE_HEIGHT + 2),
            y2=alt.value(2 * style.LINE_HEIGHT),
            color=alt.condition("datum.hit", alt.value(style.PREDICTION_HIT_FILL), alt.value(style.PREDICTION_FILL)),
        )
    )
    limit = geom.box(0, max(top_k, 1))[1] - 12
    labels = (
        header_chart("datum.k > 0")
        .mark_text(**text_kw, align="left", dx=6, color=style.PREDICTION_TEXT, limit=limit)
        .encode(text="label:N", x=alt.X("x0:Q", scale=None, axis=None), y=alt.value(1.5 * style.LINE_HEIGHT + 1))
    )
    return [name, target, boxes, labels]


def _char_layers(chars: alt.Data, live: Interactive) -> list:
    """The text: each character's connectivity colour, the letters, the selected character's underline, and (for
    the explorer) the hit boxes on top."""
    transforms = live.char_transforms
    tooltip = [
        alt.Tooltip("i:Q", title="input position"),
        alt.Tooltip("c:N", title="character"),
        alt.Tooltip("ratio:Q", title="connectivity / row max", format=".3f"),
    ]
    # Ratio-0 cells are the panel colour already: skip them (half the marks, for a causal model).
    # No per-character ARIA labels: the text itself is the content, and they double the SVG.
    cells = (
        _with_transforms(alt.Chart(chars), [*transforms, {"filter": "datum.ratio > 0"}])
        .mark_rect(width=style.CHAR_WIDTH, height=style.LINE_HEIGHT, aria=False)
        .encode(**_xy(), color=alt.Color("colour:N", scale=None))
    )
    letters = (
        _with_transforms(alt.Chart(chars), transforms)
        .mark_text(
            font=style.MONOSPACE,
            fontSize=style.CHAR_FONT_SIZE,
            color=style.PANEL_TEXT,
            baseline="middle",
            align="center",
            aria=False,
        )
        .encode(**_xy(), text="c:N", **({} if live.hit_boxes else {"tooltip": tooltip}))
    )
    underline = (
        _with_transforms(alt.Chart(chars), [*transforms, {"filter": "datum.selected"}])
        .mark_rect(width=style.CHAR_WIDTH - 2, height=2.5, yOffset=0.38 * style.LINE_HEIGHT, color=style.PANEL_TEXT)
        .encode(**_xy())
    )
    layers = [cells, letters, underline]
    if live.hit_boxes:  # on top, never re-filtered by the position: the pointer meets the same box until it leaves
        layers.append(
            _with_transforms(alt.Chart(chars), transforms)
            .mark_rect(width=style.CHAR_WIDTH, height=style.LINE_HEIGHT, opacity=0, cursor="pointer")
            .encode(**_xy())
        )
    return layers


#: A static panel: its data holds the one position drawn; no hit boxes.
STATIC = Interactive(hit_boxes=False)


def strip_layers(
    model: str, geom: StripGeometry, chars: alt.Data, header: alt.Data, top_k: int = 3, live: Interactive = STATIC
) -> alt.LayerChart:
    """The panel's marks, shared by the static strip and the in-browser explorer (``live``).

    ``chars`` rows carry ``i``, ``c``, ``x``, ``y`` and (given, or made by ``live.char_transforms``)
    ``ratio``, ``colour``, ``selected``; ``header`` rows carry ``k``, ``label``, ``hit``, ``x0``, ``x1``.
    """
    background = alt.Chart(alt.InlineData(values=[{}])).mark_rect(
        x=0,
        x2=geom.width,
        y=geom.panel_top,
        y2=geom.height if live.background_bottom is None else live.background_bottom,
        fill=style.PANEL_BACKGROUND,
        cornerRadius=3,
    )
    layers = [background, *_header_layers(model, geom, header, top_k, live), *_char_layers(chars, live)]
    return alt.layer(*layers).properties(width=geom.width, height=geom.height, view=alt.ViewBackground(stroke=None))


def connectivity_strip(
    result: ConnectivityResult,
    position: int,
    *,
    width: int = style.STRIP_WIDTH,
    chars_per_line: int | None = None,
) -> alt.LayerChart:
    """The article's text panel for one model at output ``position``.

    White monospace characters on ``#365d8d``, wrapped between words (``chars_per_line`` defaults to
    what fits in ``width`` pixels); each character's background is its normalised connectivity to
    ``position``; the selected character is underlined. Above: the model name, the true target word
    and the model's top-k predictions there as ``word (xx.xx%)`` (green when it is the target).
    """
    position = check_position(result, position)
    geom = StripGeometry(result.text, width, chars_per_line)
    frame = connectivity_frame(result, position)
    x, y = geom.char_xy()
    chars = [
        {
            "i": int(r.index),
            "c": r.char,
            "x": float(x[r.index]),
            "y": float(y[r.index]),
            "ratio": round(float(r.ratio), 4),
            "colour": r.colour,
            "selected": bool(r.selected),
        }
        for r in frame.itertuples()
    ]
    header = prediction_rows(result, position, geom)
    top_k = len(result.top_words[position])
    return strip_layers(result.model, geom, alt.InlineData(values=chars), alt.InlineData(values=header), top_k=top_k)


def _position_title(result: ConnectivityResult, position: int) -> alt.Title:
    char = result.text[position]
    return panel_title(
        f"Output position {position}: {char!r}, target word “{result.targets[position]}”",
        "green: connectivity of that output's target-word logit to each input character (row max = 1)",
    )


def panel_title(text, subtitle: str) -> alt.Title:
    """The title of a connectivity or suggestions figure, in the series' style (``text`` may be a Vega expression)."""
    return alt.Title(
        text, subtitle=subtitle, anchor="start", font=style.SANS, fontSize=13, subtitleColor=style.MUTED_TEXT
    )


def ordered(results: Sequence[_Named], order: Sequence[str] | None) -> list[_Named]:
    """Results (or suggestions) of the models named in ``order`` first, in that order; the others after them."""
    return in_order(results, order, lambda r: r.model)


def connectivity_panels(
    results: Sequence[ConnectivityResult],
    position: int,
    *,
    order: Sequence[str] | None = style.ARTICLE_ORDER,
    width: int = style.STRIP_WIDTH,
    chars_per_line: int | None = None,
) -> alt.VConcatChart:
    """One :func:`connectivity_strip` per model, stacked, for the same output ``position``.

    Drawn in the article's order (Nested LSTM, LSTM, GRU; other models after them, as given);
    ``order=None`` keeps the order given. All results must hold the same text.
    """
    results = ordered(results, order)
    if not results:
        raise ValueError("need at least one ConnectivityResult")
    check_same_text(results)
    strips = [connectivity_strip(r, position, width=width, chars_per_line=chars_per_line) for r in results]
    return alt.vconcat(*strips, spacing=8, title=_position_title(results[0], position))


def suggestion_label(word: str, prob: float) -> str:
    """``word (xx.xx%)``, as the article labels its predictions."""
    return f"{word} ({style.percent(prob)})"


def autocomplete_panels(
    suggestions: Sequence[Suggestions],
    *,
    order: Sequence[str] | None = style.ARTICLE_ORDER,
    width: int = style.STRIP_WIDTH,
) -> alt.VConcatChart:
    """The article's autocomplete demo, drawn once: per model, the text it read with the connectivity
    of its last output (green), the word typed so far, and its top-k suggestions ``word (xx.xx%)``.

    The static twin of ``memviz.frontend.widgets.AutocompleteDemo``; the panels are the connectivity figure's.
    """
    suggestions = ordered(suggestions, order)
    if not suggestions or len({s.text for s in suggestions}) != 1:
        raise ValueError("need one or more Suggestions for the same text")
    strips = []
    for s in suggestions:
        geom = StripGeometry(s.text, width, None)
        x, y = geom.char_xy()
        ratio = s.normalized()
        last = len(s.text) - 1
        chars = [
            {
                "i": i,
                "c": c,
                "x": float(x[i]),
                "y": float(y[i]),
                "ratio": round(float(ratio[i]), 4),
                "colour": style.connectivity_colour(ratio[i]),
                "selected": i == last,
            }
            for i, c in enumerate(s.text)
        ]
        header = [{"k": 0, "label": f"typed: “{s.typed}”", "hit": False, "x0": 0.0, "x1": 0.0}]
        for j, (word, prob) in enumerate(zip(s.words, s.probs)):
            x0, x1 = geom.box(j, len(s.words))
            header.append({"k": j + 1, "label": suggestion_label(word, prob), "hit": False, "x0": x0, "x1": x1})
        strips.append(
            strip_layers(s.model, geom, alt.InlineData(values=chars), alt.InlineData(values=header), top_k=len(s.words))
        )
    title = panel_title(
        f"Suggestions for the word being typed: “{suggestions[0].text.strip()}”",
        "green: connectivity of the top suggestion's logit at the last character to each input character (max = 1)",
    )
    return alt.vconcat(*strips, spacing=8, title=title)


# ---------------------------------------------------------------------------------------------
# Connectivity matrix
# ---------------------------------------------------------------------------------------------


def connectivity_heatmap(result: ConnectivityResult, *, cell: int = style.MATRIX_CELL) -> alt.Chart:
    """The T×T heatmap of normalised connectivity: output position t̃ (rows) by input position t.

    Data layout (deliberate, see the module docstring): one row per output position holding only its
    nonzero cells as arrays (``i``: input positions, ``r``: ratios to 3 d.p.), expanded by Vega
    by a ``flatten`` transform. For the 198-character sample that is 198 rows instead of 39,204 cells,
    no ``MaxRowsError`` and no change to the global data transformer. Zero cells (including the causal
    upper triangle) are not drawn; the view is filled with the ratio-0 colour instead.
    """
    return _matrix_chart(
        _matrix_rows(result.normalized(), result.text),
        result.length,
        cell=cell,
        color=alt.Color("r:Q", scale=style.connectivity_scale(), title=["connectivity", "(row max = 1)"]),
        value_title="connectivity / row max",
        title=f"{result.model}: connectivity matrix",
    )


def _matrix_rows(exact: np.ndarray, text: str) -> list[dict]:
    """One row per output position of a ``(T, T)`` matrix: its nonzero cells as arrays (``i`` input positions,
    ``ci`` their characters, ``r`` the values to 3 d.p.), for ``_matrix_chart``'s ``flatten``."""
    ratio = np.round(exact, 3)
    rows = []
    for t_out in range(len(text)):
        (nonzero,) = np.nonzero(exact[t_out])
        rows.append(
            {
                "t": t_out,
                "c": text[t_out],
                "i": nonzero.tolist(),
                "ci": [text[i] for i in nonzero],
                "r": ratio[t_out, nonzero].tolist(),
            }
        )
    return rows


def _matrix_chart(
    rows: list[dict],
    length: int,
    *,
    cell: int,
    color: alt.Color,
    value_title: str,
    title: str,
    background: str = style.PANEL_BACKGROUND,
):
    """A T×T heatmap of ``_matrix_rows``: output position (rows) by input position, coloured by ``color``, on
    ``background`` (the colour of the cells not drawn, zero)."""
    side = length * cell
    axis = {"titleFont": style.SANS, "labelFont": style.SANS, "grid": False}
    return (
        alt.Chart(alt.InlineData(values=rows))
        .transform_flatten(["i", "ci", "r"])
        .mark_rect()
        .encode(
            x=alt.X(
                "i:O",
                title="input position t",
                axis=alt.Axis(values=list(range(0, length, 20)), labelAngle=0, **axis),
            ),
            y=alt.Y("t:O", title="output position t̃", axis=alt.Axis(values=list(range(0, length, 20)), **axis)),
            color=color,
            tooltip=[
                alt.Tooltip("t:Q", title="output position"),
                alt.Tooltip("c:N", title="output char"),
                alt.Tooltip("i:Q", title="input position"),
                alt.Tooltip("ci:N", title="input char"),
                alt.Tooltip("r:Q", title=value_title, format=".3f"),
            ],
        )
        .properties(
            width=side,
            height=side,
            title=alt.Title(title, anchor="start", font=style.SANS),
            view=alt.ViewBackground(fill=background, stroke=None),
        )
    )


def attribution_heatmaps(
    matrices: Mapping[str, np.ndarray], text: str, model: str, *, cell: int = style.MATRIX_CELL
) -> alt.HConcatChart:
    """One T×T heatmap per attribution method (``matrices``: method -> ``(T, T)`` ``[t_out, t_in]``, as
    :func:`memviz.analysis.attribution.attributions` returns them), side by side, each drawn as
    :func:`connectivity_heatmap`: every row divided by its largest magnitude. An unsigned method (all values
    ≥ 0, such as connectivity) takes the connectivity palette on [0, 1]; a signed one a diverging palette on
    [−1, 1] (red: the character raised the true word's logit, blue: lowered it). Zero cells are not drawn: they
    show the panel's background, the colour of zero."""
    panels = []
    for method, matrix in matrices.items():
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (len(text), len(text)):
            raise ValueError(f"{method}: a {matrix.shape} matrix for a text of {len(text)} characters")
        peak = np.abs(matrix).max(axis=1, keepdims=True)
        scaled = np.divide(matrix, peak, out=np.zeros_like(matrix), where=peak > 0)
        signed = bool((matrix < 0).any())
        scale = alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True) if signed else style.connectivity_scale()
        panels.append(
            _matrix_chart(
                _matrix_rows(scaled, text),
                len(text),
                cell=cell,
                color=alt.Color("r:Q", scale=scale, title=["attribution", "(row max |·| = 1)"]),
                value_title="attribution / row max |·|",
                title=method,
                background="#f7f7f7" if signed else style.PANEL_BACKGROUND,  # the diverging palette's zero
            )
        )
    return (
        alt.hconcat(*panels)
        .resolve_scale(color="independent")
        .properties(title=alt.Title(f"{model}: attributions of the true word's logit", anchor="start", font=style.SANS))
    )


# ---------------------------------------------------------------------------------------------
# Accuracy by characters typed, and training curves
# ---------------------------------------------------------------------------------------------


def accuracy_frame(curves: Sequence[AccuracyCurve], source: str | None = None) -> pd.DataFrame:
    """Tidy frame of several curves (``AccuracyCurve.to_frame`` stacked), plus ``source`` if given."""
    frame = pd.concat([c.to_frame() for c in curves], ignore_index=True)
    if source is not None:
        frame["source"] = source
    return frame


def accuracy_curves(
    curves: Sequence[AccuracyCurve],
    reference: Sequence[AccuracyCurve] | None = None,
    *,
    labels: tuple[str, str] = ("this project", "article (Madsen 2019)"),
) -> alt.Chart:
    """Top-k accuracy by characters of the word typed (the article's accuracy graph, its "Future work" section).

    x: characters from word (0 = only the space before it); y: accuracy 0–100 %; colour: model;
    dash: top-k. With ``reference`` (e.g. ``memviz.data.reference.accuracy_curves()``) the two are drawn
    side by side, ``labels`` naming the facets, on the same axes.
    """
    frame = accuracy_frame(curves, labels[0])
    if reference is not None:
        frame = pd.concat([frame, accuracy_frame(reference, labels[1])], ignore_index=True)
    frame["top"] = "top-" + frame["top_k"].astype(str)
    tops = sorted(frame["top_k"].unique())
    longest = int(frame["chars_typed"].max())
    chart = (
        alt.Chart(frame[["model", "chars_typed", "top", "accuracy", "source"]])
        .mark_line(strokeWidth=1.8)
        .encode(
            x=alt.X(
                "chars_typed:Q",
                title="characters from word",
                axis=alt.Axis(values=list(range(longest + 1))),
                scale=alt.Scale(domain=[-1, longest], nice=False),
            ),
            y=alt.Y("accuracy:Q", title="accuracy", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", scale=style.model_scale(list(frame["model"])), title="model"),
            strokeDash=alt.StrokeDash(
                "top:N",
                title="",
                scale=alt.Scale(
                    domain=[f"top-{k}" for k in tops], range=[style.TOP_K_DASHES.get(k, [4, 2]) for k in tops]
                ),
                legend=alt.Legend(symbolType="stroke", symbolSize=1200, symbolStrokeWidth=2),  # long enough to show 8 8
            ),
            detail="source:N",
            tooltip=["source:N", "model:N", "top:N", "chars_typed:Q", alt.Tooltip("accuracy:Q", format=".2%")],
        )
        .properties(
            width=style.FIGURE_WIDTH if reference is not None else 2 * style.FIGURE_WIDTH, height=style.FIGURE_HEIGHT
        )
    )
    if reference is None:
        return chart
    return chart.facet(
        column=alt.Column("source:N", title=None, sort=list(labels), header=alt.Header(labelFontSize=13))
    )


def training_curves(frame: pd.DataFrame, x: str = "step", *, y: str = "loss_smooth") -> alt.FacetChart:
    """Cross-entropy loss during training (the article's training graph, its appendix).

    ``frame`` has the columns of ``memviz.data.reference.training_curves()`` (``model``, ``dataset``
    (train|valid), ``sec``, ``step``, ``loss``, ``loss_smooth``); an optional ``source`` column
    (e.g. "article" / "this project") draws each source with its own dash. ``x`` is ``"step"``
    (mini-batches) or ``"sec"`` (drawn in hours). Facets: training above validation.
    """
    if x not in ("step", "sec"):
        raise ValueError(f"x must be 'step' or 'sec', not {x!r}")
    data = frame.dropna(subset=[x, y]).copy()
    data["facet"] = data["dataset"].map(lambda d: style.DATASET_LABELS.get(str(d), str(d)))
    data["xv"] = data[x] / 3600.0 if x == "sec" else data[x]
    has_source = "source" in data and data["source"].nunique() > 1
    keys = ["model", "facet"] + (["source"] if has_source else [])
    # One row per line holding its points as arrays, flattened by Vega: the article's file alone has
    # 8,568 points, over Altair's 5,000-row check and slow to validate row by row.
    values = [
        {
            **dict(zip(keys, key)),
            "xv": np.round(group["xv"].to_numpy(float), 4).tolist(),
            y: np.round(group[y].to_numpy(float), 4).tolist(),
        }
        for key, group in data.sort_values("xv").groupby(keys, sort=False)
    ]
    lo, hi = float(data[y].min()), float(data[y].max())
    y_domain = (
        list(style.LOSS_DOMAIN)
        if style.LOSS_DOMAIN[0] <= lo and hi <= style.LOSS_DOMAIN[1]
        else [min(0.0, lo), hi * 1.05]
    )
    span = float(data["xv"].max() - data["xv"].min()) or 1.0
    x_domain = [float(data["xv"].min()) - 0.014 * span, float(data["xv"].max()) + 0.014 * span]
    encoding: dict[str, Any] = {
        "x": alt.X(
            "xv:Q",
            title="time (hours)" if x == "sec" else "mini-batches",
            scale=alt.Scale(domain=x_domain, nice=False),
            axis=alt.Undefined if x == "sec" else alt.Axis(tickMinStep=1, format=",d"),
        ),  # whole mini-batches
        "y": alt.Y(f"{y}:Q", title="cross entropy loss", scale=alt.Scale(domain=y_domain)),
        "color": alt.Color("model:N", scale=style.model_scale(list(data["model"])), title="model"),
    }
    if has_source:
        sources = list(dict.fromkeys(data["source"]))
        encoding["strokeDash"] = alt.StrokeDash(
            "source:N", scale=alt.Scale(domain=sources, range=[[1, 0], [5, 3], [2, 2]][: len(sources)])
        )
        encoding["detail"] = "source:N"
    facet_height = (style.FIGURE_HEIGHT - 40) // 2
    return (
        alt.Chart(alt.InlineData(values=values))
        .transform_flatten(["xv", y])
        .mark_line(strokeWidth=1.2)
        .encode(**encoding)
        .properties(width=2 * style.FIGURE_WIDTH, height=facet_height)
        .facet(row=alt.Row("facet:N", title=None, sort=["training", "validation"], header=alt.Header(labelFontSize=13)))
    )


# ---------------------------------------------------------------------------------------------
# Small line charts (the notebooks' gaps, shares and reach-back curves)
# ---------------------------------------------------------------------------------------------


def line_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_title: str,
    y_title: str,
    dash: str | None = None,
    column: str | None = None,
    colour: str = "model",
    log_y: bool = False,
    y_format: str | None = None,
    width: int = style.FIGURE_WIDTH,
    height: int = 260,
) -> alt.Chart | alt.FacetChart:
    """Lines of ``y`` against a whole-number ``x`` (steps, characters), one colour per ``colour`` value
    (the article's colours and order for its models), optionally dashed by ``dash`` (the frame's first
    value solid) and faceted by ``column``."""
    encoding = {
        # x counts steps or characters: whole-number ticks, and no padding beyond the data
        "x": alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False)),
        "y": alt.Y(
            f"{y}:Q",
            title=y_title,
            scale=alt.Scale(type="log") if log_y else alt.Undefined,
            axis=alt.Axis(format=y_format) if y_format else alt.Undefined,
        ),
        "color": alt.Color(f"{colour}:N", scale=style.model_scale(list(frame[colour])), title=colour.replace("_", " ")),
        "tooltip": [c for c in (colour, dash, column, x) if c] + [alt.Tooltip(f"{y}:Q", format=".3g")],
    }
    if dash is not None:
        encoding["strokeDash"] = alt.StrokeDash(
            f"{dash}:N", title=dash.replace("_", " "), sort=list(dict.fromkeys(frame[dash]))
        )
    chart = alt.Chart(frame).mark_line(strokeWidth=1.8).encode(**encoding).properties(width=width, height=height)
    return chart.facet(column=alt.Column(f"{column}:N", title=None)) if column else chart
