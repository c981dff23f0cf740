"""Charts to files, and the self-contained connectivity explorer (one HTML file, no kernel, no network).

* :func:`save_chart` writes PNG / SVG / PDF (via vl-convert, offline, no browser), HTML (inline JS)
  or the Vega-Lite JSON.
* :func:`explorer_chart` is the connectivity figure with *every* output position in its data; a
  Vega-Lite param ``position`` picks the one drawn, so pointing at a character, a slider or a key
  only recolours in the browser. :func:`explorer_state` wraps it for ``explorer.js``, which drives
  both the notebook widget (``memviz.widgets``) and the standalone page (:func:`explorer_html`).

Data layout of the explorer (compact on purpose): one row per (model, input character) holding the
whole column ``ratio[:, i]`` of the row-normalised matrix as integer per-mille values (causal part
only: from output position ``o = i`` on, trailing zeros dropped). A ``calculate`` transform picks
``r[position - o]`` and maps it to the article's colour. The header (target, top-k) is one row per
(position, rank), filtered by ``position``. For 3 models × 198 positions this is ~0.4 MB of JSON;
the standalone HTML file, with Vega's JavaScript inlined, is ~1.4 MB.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import altair as alt
import numpy as np

from memviz import frontend, reference, viz
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
        chart.save(str(path), inline=True, json_kwds={"cls": frontend.HtmlSafeEncoder})
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
    order: Sequence[str] | None = viz.ARTICLE_ORDER,
    width: int = viz.STRIP_WIDTH,
    chars_per_line: int | None = None,
    crop: int | None = None,
) -> alt.VConcatChart:
    """All models' text panels with every output position in the data, selected by a param.

    Params (Vega signals that the browser sets; nothing is re-drawn in a kernel):
    :data:`POSITION_PARAM` (the output position, initially ``position``, default the middle of the
    text), ``pinned`` (a click fixed it: the title says so) and ``shown`` (characters drawn: the text's
    length, or ``crop`` while the hero animation plays). Every character carries a transparent
    hit box, on top, whose datum (``i``, ``c``) tells :file:`explorer.js` which position the pointer is on.
    Panels in ``order`` as in :func:`memviz.viz.connectivity_panels` (None: as given). The data are
    top-level named datasets, so this chart cannot be nested in another concat/layer chart
    (Vega-Lite allows ``datasets`` at the top level only).
    """
    results = viz.ordered(results, order)
    check_same_text(results)
    length = results[0].length
    position = length // 2 if position is None else viz.check_position(results[0], position)
    p = POSITION_PARAM
    params = [
        alt.param(name=p, value=position),
        alt.param(name="pinned", value=False),
        alt.param(name="shown", value=length),
    ]
    ratio = f"(({p} >= datum.o && {p} - datum.o < length(datum.r)) ? datum.r[{p} - datum.o] / 1000 : 0)"
    char_transforms = [
        {"filter": "datum.i < shown"},
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
        cropped = (
            geom.height
            if crop is None
            else geom.height - (geom.n_lines - 1 - int(geom.lines[:crop].max())) * viz.LINE_HEIGHT
        )
        panels.append(
            viz.strip_layers(
                result.model,
                geom,
                alt.NamedData(name=f"chars-{n}"),
                alt.NamedData(name=f"header-{n}"),
                top_k=len(result.top_words[0]) if length else 3,
                char_transforms=char_transforms,
                header_transforms=header_transforms,
                hit_boxes=True,
                background_bottom={"expr": f"shown < {length} ? {cropped} : {geom.height}"},
            )
        )
    title = alt.Title(
        {"expr": f"'Output position ' + {p} + (pinned ? ' (pinned)' : '')"},
        subtitle="point at a character to select it, click to pin it; green: connectivity of that output's "
        "target-word logit to each input character (row max = 1)",
        anchor="start",
        font=viz.SANS,
        fontSize=13,
        subtitleColor=viz.MUTED_TEXT,
    )
    chart = alt.vconcat(*panels, spacing=8, title=title).add_params(*params)
    chart.datasets = datasets
    return chart


def hero_crop(text: str) -> tuple[int, int, int] | None:
    """``(first, last, characters)`` of the article's hero animation when ``text`` begins with its
    first 70 characters (the article's sample, or that crop), else None."""
    first, last = reference.HERO_RANGE
    if (
        len(text) < reference.HERO_LENGTH
        or text[: reference.HERO_LENGTH] != reference.SAMPLE_TEXT[: reference.HERO_LENGTH]
    ):
        return None
    return first, last, reference.HERO_LENGTH


def explorer_state(
    results: Sequence[ConnectivityResult],
    *,
    position: int | None = None,
    order: Sequence[str] | None = viz.ARTICLE_ORDER,
    width: int = viz.STRIP_WIDTH,
    controls: bool = False,
    walkthrough: Mapping[int, str] | None = None,
) -> dict:
    """What :file:`explorer.js` needs: the chart's spec, the initial state, and the text's layout.

    ``info.controls``: the script draws its own slider, play button and walkthrough buttons (the
    standalone page); the notebook widget has ipywidgets for those instead. ``walkthrough``
    (``position -> caption``): the text's walkthrough buttons and captions; default: the article's
    walkthrough when ``results`` are the article's published models on its sample sentence (labelled as
    the article's), else none.
    """
    results = viz.ordered(results, order)
    text, length = results[0].text, results[0].length
    article = walkthrough is None and text == reference.SAMPLE_TEXT and reference.is_article(results)
    steps = dict(reference.WALKTHROUGH) if article else dict(walkthrough or {})
    label = "the article's walkthrough (its models, text8): " if article else "walkthrough: "
    if position is None:  # the walkthrough's first step, else the middle of the text
        position = next(iter(steps)) if steps else length // 2
    position = viz.check_position(results[0], position)
    hero = hero_crop(text)
    chart = explorer_chart(results, position=position, order=None, width=width, crop=hero[2] if hero else None)
    geom = viz.StripGeometry(text, width, None)
    info = {
        "length": length,
        "lines": geom.lines.tolist(),
        "cols": geom.cols.tolist(),
        "hero": list(hero) if hero else None,
        "interval": reference.HERO_INTERVAL_MS,
        "walkthrough": [[int(t), c] for t, c in steps.items()],
        "walkthrough_label": label,
        "controls": controls,
    }
    return {"spec": chart.to_dict(), "position": position, "pinned": False, "playing": False, "info": info}


def explorer_svg_frames(results: Sequence[ConnectivityResult], **kwargs) -> Callable[[int], str]:
    """``position -> SVG`` of :func:`explorer_chart`, compiled to Vega once (for kernel-side redraws).

    Each call only sets the ``position`` signal and lets vl-convert draw; ``kwargs`` go to
    :func:`explorer_chart`.
    """
    import vl_convert as vlc

    vega = vlc.vegalite_to_vega(explorer_chart(results, **kwargs).to_dict(), vl_version=_vl_version())
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
    """Write the connectivity explorer as ONE self-contained HTML file (no kernel, no network).

    Point at a character to select it, click to pin it; a slider, the arrow keys (Home/End), the
    article's walkthrough buttons (on its sample) and the hero animation (on a text that begins with
    the sample) move it too: the same script as the notebook widget (:mod:`memviz.frontend`).
    Characters are data drawn as Vega text marks (never HTML), and the embedded JSON is escaped so
    no text can close its ``<script>`` element. ``captions``: the text's walkthrough (``position ->
    caption``), as :func:`explorer_state`'s ``walkthrough``.
    """
    state = explorer_state(results, position=position, order=order, width=width, controls=True, walkthrough=captions)
    models = ", ".join(r.model for r in viz.ordered(results, order))
    page = frontend.standalone_page(
        "explorer",
        state,
        title="Connectivity explorer",
        intro=f"{models}. Point at a character of any panel to see which earlier characters that output "
        "depended on; click to pin; arrow keys, Home and End step through the text.",
    )
    path = Path(path).with_suffix(".html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
