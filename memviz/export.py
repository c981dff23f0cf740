"""Charts to files, and the self-contained connectivity explorer (one HTML file, no kernel, no network).

* :func:`save_chart` writes PNG / SVG / PDF (via vl-convert, offline, no browser), HTML (inline JS)
  or the Vega-Lite JSON.
* :func:`explorer_chart` is the connectivity figure with *every* output position in its data; a
  Vega-Lite param ``position`` picks the one drawn, so moving a slider only recolours in the browser.
  The same chart drives the notebook widget (``memviz.widgets``) and :func:`explorer_html`.

Data layout of the explorer (compact on purpose): one row per (model, input character) holding the
whole column ``ratio[:, i]`` of the row-normalised matrix as integer per-mille values (causal part
only: from output position ``o = i`` on, trailing zeros dropped). A ``calculate`` transform picks
``r[position - o]`` and maps it to the article's colour. The header (target, top-k) is one row per
(position, rank), filtered by ``position``. For 3 models × 198 positions this is ~0.4 MB of JSON;
the standalone HTML file, with Vega's JavaScript inlined, is ~1.3 MB.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import altair as alt
import numpy as np

from memviz import viz
from memviz.results import ConnectivityResult, check_same_text

#: Name of the Vega-Lite param holding the selected output position (a number).
POSITION_PARAM = "position"


def _vl_version() -> str:
    """The Vega-Lite version vl-convert should use for this Altair (e.g. ``"6.4"``)."""
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_version_for_vl_convert()


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart drawn as SVG text, in-process by vl-convert (no browser, no network)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=_vl_version())


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart drawn as PNG bytes (``scale`` 2 = crisp on high-DPI screens)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_dict(), scale=scale, vl_version=_vl_version())


class _HtmlSafeEncoder(json.JSONEncoder):
    """JSON whose text never contains ``<``, ``>`` or ``&``, so a spec embedded in a ``<script>``
    element cannot close it (``</script>`` inside a character string). They only occur inside JSON
    strings, where ``\\u003c`` etc. decode to the same characters."""

    def iterencode(self, o, _one_shot=False):
        for chunk in super().iterencode(o, _one_shot):
            yield chunk.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write ``chart`` to ``path``; the format is the suffix: .png, .svg, .pdf, .html or .json.

    Images are drawn by vl-convert (offline). HTML embeds Vega's JavaScript (``inline=True``, about
    1 MB) so it opens from ``file://`` without network, with the spec escaped against script injection.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        path.write_bytes(chart_png(chart, scale=scale))
    elif suffix == ".svg":
        path.write_text(chart_svg(chart), encoding="utf-8")
    elif suffix == ".pdf":
        import vl_convert as vlc

        path.write_bytes(vlc.vegalite_to_pdf(chart.to_dict(), vl_version=_vl_version()))  # vector: no scale
    elif suffix == ".html":
        chart.save(str(path), inline=True, json_kwds={"cls": _HtmlSafeEncoder})
    elif suffix == ".json":
        path.write_text(json.dumps(chart.to_dict(), indent=1), encoding="utf-8")
    else:
        raise ValueError(f"unsupported file type {suffix!r}; use .png, .svg, .pdf, .html or .json")
    return path


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


def explorer_chart(
    results: Sequence[ConnectivityResult],
    *,
    position: int | None = None,
    bind: bool = True,
    order: Sequence[str] | None = viz.ARTICLE_ORDER,
    width: int = viz.STRIP_WIDTH,
    chars_per_line: int | None = None,
    captions: Mapping[int, str] | None = None,
) -> alt.VConcatChart:
    """All models' text panels with every output position in the data, selected by a param.

    The param is named :data:`POSITION_PARAM`; with ``bind=True`` it is bound to a range slider
    (for standalone HTML); with ``bind=False`` it is unbound, for a widget to drive
    (``alt.JupyterChart(chart).params.position``). ``position`` is the initial value (default:
    the middle of the text). Panels in ``order`` as in :func:`memviz.viz.connectivity_panels`.
    ``captions`` (``position -> text``, e.g. a walkthrough's, lines separated by ``"\n"``) are
    drawn above the panels while their position is selected. The data are top-level named datasets, so this chart cannot be nested
    in another concat/layer chart (Vega-Lite allows ``datasets`` at the top level only).
    """
    results = viz.ordered(results, order)
    check_same_text(results)
    length = results[0].length
    position = length // 2 if position is None else viz.check_position(results[0], position)
    param = alt.param(
        name=POSITION_PARAM,
        value=position,
        bind=alt.binding_range(min=0, max=length - 1, step=1, name="output position ") if bind else alt.Undefined,
    )
    p = POSITION_PARAM
    ratio = f"(({p} >= datum.o && {p} - datum.o < length(datum.r)) ? datum.r[{p} - datum.o] / 1000 : 0)"
    char_transforms = [
        {"calculate": ratio, "as": "ratio"},
        {"calculate": viz.connectivity_colour_expr("datum.ratio"), "as": "colour"},
        {"calculate": f"datum.i == {p}", "as": "selected"},
    ]
    header_transforms = [{"filter": f"datum.t == {p}"}]
    # Named datasets attached to the top level at the end: Altair deep-copies sub-charts (and any
    # inline data in them) when layering, concatenating and adding params, which took seconds.
    panels, datasets = [], {}
    for n, result in enumerate(results):
        geom = viz.StripGeometry(result.text, width, chars_per_line)
        datasets[f"chars-{n}"] = _column_rows(result, geom)
        datasets[f"header-{n}"] = _header_rows(result, geom)
        panels.append(
            viz.strip_layers(
                result.model, geom, alt.NamedData(name=f"chars-{n}"), alt.NamedData(name=f"header-{n}"),
                top_k=len(result.top_words[0]) if length else 3, char_transforms=char_transforms,
                header_transforms=header_transforms,
            )
        )
    title = alt.Title(
        {"expr": f"'Output position ' + {p} + ' (drag the slider below)'"} if bind else {"expr": f"'Output position ' + {p}"},
        subtitle="green: connectivity of that output's target-word logit to each input character (row max = 1)",
        anchor="start", font=viz.SANS, fontSize=13, subtitleColor=viz.MUTED_TEXT,
    )
    if captions:
        datasets["captions"] = _caption_rows(captions, width)
        panels.insert(0, _caption_panel(datasets["captions"], width))
    chart = alt.vconcat(*panels, spacing=8, title=title).add_params(param)
    chart.datasets = datasets
    return chart


def _caption_rows(captions: Mapping[int, str], width: int) -> list[dict]:
    """One row per displayed line of each caption (wrapped to the panel width)."""
    chars = max(int(width / 6.2), 40)  # ~6.2 px per character at 11 px sans-serif
    rows = []
    for t, text in captions.items():
        lines = [wrapped for line in text.split("\n") for wrapped in textwrap.wrap(line, chars) or [""]]
        rows += [{"t": int(t), "k": k, "line": line} for k, line in enumerate(lines)]
    return rows


def _caption_panel(rows: list[dict], width: int) -> alt.Chart:
    """Text lines of the selected position's caption (empty at positions without one)."""
    lines = max((r["k"] for r in rows), default=0) + 1
    return (
        alt.Chart(alt.NamedData(name="captions"))
        .transform_filter(f"datum.t == {POSITION_PARAM}")
        .mark_text(align="left", baseline="top", font=viz.SANS, fontSize=11, color=viz.MUTED_TEXT)
        .encode(x=alt.value(0), y=alt.Y("k:O", axis=None, scale=alt.Scale(domain=list(range(lines)))), text="line:N")
        .properties(width=width, height=14 * lines)
    )


def explorer_svg_frames(results: Sequence[ConnectivityResult], **kwargs) -> Callable[[int], str]:
    """``position -> SVG`` of :func:`explorer_chart`, compiled to Vega once (for kernel-side redraws).

    Each call only sets the ``position`` signal and lets vl-convert draw; ``kwargs`` go to
    :func:`explorer_chart`.
    """
    import vl_convert as vlc

    vega = vlc.vegalite_to_vega(explorer_chart(results, bind=False, **kwargs).to_dict(), vl_version=_vl_version())
    (signal,) = [s for s in vega["signals"] if s["name"] == POSITION_PARAM]

    def draw(position: int) -> str:
        signal["value"] = int(position)
        return vlc.vega_to_svg(vega)

    return draw


def explorer_html(
    results: Sequence[ConnectivityResult],
    path: str | Path,
    *,
    position: int | None = None,
    order: Sequence[str] | None = viz.ARTICLE_ORDER,
    width: int = viz.STRIP_WIDTH,
    captions: Mapping[int, str] | None = None,
) -> Path:
    """Write the connectivity explorer as ONE self-contained HTML file (slider, no kernel, no network).

    Characters are data drawn as Vega text marks (never HTML), and the embedded JSON is escaped so
    no text can close its ``<script>`` element. ``captions``: as in :func:`explorer_chart`.
    """
    chart = explorer_chart(results, position=position, bind=True, order=order, width=width, captions=captions)
    path = save_chart(chart, Path(path).with_suffix(".html"))
    html = path.read_text(encoding="utf-8")
    # Altair's page styles nothing of Vega's input bindings; make the slider long and sans-serif.
    html = html.replace("</style>", _SLIDER_CSS + "</style>", 1)
    path.write_text(html, encoding="utf-8")
    return path


_SLIDER_CSS = """
    .vega-bind { font-family: Helvetica, Arial, sans-serif; font-size: 13px; margin: 6px 0 0 6px; }
    .vega-bind input[type="range"] { width: 480px; vertical-align: middle; }
"""
