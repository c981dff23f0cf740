"""The connectivity explorer's chart: every output position in its data, the one drawn picked by a Vega-Lite param.

Data layout (compact on purpose): one row per (model, input character) holding the whole column ``ratio[:, i]`` of
the row-normalised matrix as integer per-mille values (causal part only: from output position ``o = i`` on, trailing
zeros dropped). A ``calculate`` transform picks ``r[position - o]`` and maps it to the article's colour. The header
(target, top-k) is one row per (position, rank), filtered by ``position``. For 3 models × 198 positions this is
~0.4 MB of JSON. :mod:`memviz.frontend.export` wraps it for the notebook widget and the standalone page.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np

from memviz.core.results import ConnectivityResult, check_same_text
from memviz.viz import charts as viz
from memviz.viz import style

#: Name of the Vega-Lite param holding the selected output position (a number).
POSITION_PARAM = "position"


def _column_rows(result: ConnectivityResult, geom) -> list[dict]:
    """Per input character: position, layout and its column of per-mille ratios (see module doc)."""
    ratio = np.rint(result.normalized() * 1000).astype(int)
    causal = not np.triu(ratio, k=1).any()
    x, y = geom.char_xy()
    rows = []
    for i, char in enumerate(result.text):
        offset = i if causal else 0
        column = ratio[offset:, i]
        (nonzero,) = np.nonzero(column)
        column = column[: nonzero[-1] + 1] if len(nonzero) else column[:0]
        rows.append({"i": i, "c": char, "x": float(x[i]), "y": float(y[i]), "o": offset, "r": column.tolist()})
    return rows


def _header_rows(result: ConnectivityResult, geom) -> list[dict]:
    rows = []
    for t in range(result.length):
        rows += [{"t": t, **row} for row in viz.prediction_rows(result, t, geom)]
    return rows


def _live(geom: viz.StripGeometry, length: int, crop: int | None) -> viz.Interactive:
    """The explorer's transforms: each character's ratio and colour at the selected position, read from its column
    (see the module docstring), the header rows of that position, and the panel cut to ``shown`` characters."""
    p = POSITION_PARAM
    ratio = f"(({p} >= datum.o && {p} - datum.o < length(datum.r)) ? datum.r[{p} - datum.o] / 1000 : 0)"
    char_transforms = [
        {"filter": "datum.i < shown"},
        {"calculate": ratio, "as": "ratio"},
        {"calculate": style.connectivity_colour_expr("datum.ratio"), "as": "colour"},
        {"calculate": f"datum.i == {p}", "as": "selected"},
    ]
    cropped = (
        geom.height
        if crop is None
        else geom.height - (geom.n_lines - 1 - int(geom.lines[:crop].max())) * style.LINE_HEIGHT
    )
    bottom = {"expr": f"shown < {length} ? {cropped} : {geom.height}"}
    return viz.Interactive(char_transforms, [{"filter": f"datum.t == {p}"}], background_bottom=bottom)


def _panel(result: ConnectivityResult, n: int, geom: viz.StripGeometry, crop: int | None) -> alt.LayerChart:
    """Model ``n``'s panel, drawn from the named datasets ``chars-n`` and ``header-n``."""
    top_k = len(result.top_words[0]) if result.length else 3
    chars, header = alt.NamedData(name=f"chars-{n}"), alt.NamedData(name=f"header-{n}")
    return viz.strip_layers(result.model, geom, chars, header, top_k=top_k, live=_live(geom, result.length, crop))


def explorer_chart(
    results: Sequence[ConnectivityResult],
    *,
    position: int | None = None,
    order: Sequence[str] | None = style.ARTICLE_ORDER,
    width: int = style.STRIP_WIDTH,
    chars_per_line: int | None = None,
    crop: int | None = None,
) -> alt.VConcatChart:
    """All models' text panels with every output position in the data, selected by a param.

    Params (Vega signals that the browser sets; nothing is re-drawn in a kernel):
    :data:`POSITION_PARAM` (the output position, initially ``position``, default the last character),
    ``pinned`` (a click fixed it: the title says so) and ``shown`` (characters drawn: the text's
    length, or ``crop`` while the hero animation plays). Every character carries a transparent
    hit box, on top, whose datum (``i``, ``c``) tells :file:`explorer.js` which position the pointer is on.
    Panels in ``order`` as in :func:`memviz.viz.connectivity_panels` (None: as given). The data are
    top-level named datasets, so this chart cannot be nested in another concat/layer chart
    (Vega-Lite allows ``datasets`` at the top level only).
    """
    results = viz.ordered(results, order)
    check_same_text(results)
    length = results[0].length
    position = length - 1 if position is None else viz.check_position(results[0], position)
    p = POSITION_PARAM
    params = [
        alt.param(name=p, value=position),
        alt.param(name="pinned", value=False),
        alt.param(name="shown", value=length),
    ]
    # Named datasets attached to the top level at the end: Altair deep-copies sub-charts (and any
    # inline data in them) when layering, concatenating and adding params, which took seconds.
    panels, datasets = [], {}
    for n, result in enumerate(results):
        geom = viz.StripGeometry(result.text, width, chars_per_line)
        datasets[f"chars-{n}"] = _column_rows(result, geom)
        datasets[f"header-{n}"] = _header_rows(result, geom)
        panels.append(_panel(result, n, geom, crop))
    title = viz.panel_title(
        {"expr": f"'Output position ' + {p} + (pinned ? ' (pinned)' : '')"},
        "point at a character to select it, click to pin it; green: connectivity of that output's "
        "target-word logit to each input character (row max = 1)",
    )
    chart = alt.vconcat(*panels, spacing=8, title=title).add_params(*params)
    chart.datasets = datasets
    return chart
