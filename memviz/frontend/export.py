"""Charts to files, and the self-contained connectivity explorer (one HTML file, no kernel, no network).

* :func:`save_chart` writes PNG / SVG / PDF (via vl-convert, offline, no browser), HTML (inline JS)
  or the Vega-Lite JSON.
* :func:`explorer_state` wraps :func:`memviz.viz.explorer.explorer_chart` (the connectivity figure with *every*
  output position in its data, so that pointing at a character, a slider or a key only recolours in the browser)
  for ``explorer.js``, which drives
  both the notebook widget (``memviz.frontend.widgets``) and the standalone page (:func:`explorer_html`).

Data layout of the explorer (compact on purpose): one row per (model, input character) holding the
whole column ``ratio[:, i]`` of the row-normalised matrix as integer per-mille values (causal part
only: from output position ``o = i`` on, trailing zeros dropped). A ``calculate`` transform picks
``r[position - o]`` and maps it to the article's colour. The header (target, top-k) is one row per
(position, rank), filtered by ``position``. For 3 models × 198 positions this is ~0.4 MB of JSON;
the standalone HTML file, with Vega's JavaScript inlined, is ~1.4 MB.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import altair as alt

from memviz import viz
from memviz.core import files
from memviz.core.results import ConnectivityResult
from memviz.data import reference
from memviz.frontend import page as frontend
from memviz.viz import style
from memviz.viz.explorer import POSITION_PARAM, explorer_chart


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart drawn as SVG text, in-process by vl-convert (no browser, no network)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=frontend.vl_version())


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart drawn as PNG bytes (``scale`` 2 = crisp on high-DPI screens)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_dict(), scale=scale, vl_version=frontend.vl_version())


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write ``chart`` to ``path``; the format is the suffix: .png, .svg, .pdf, .html or .json.

    Images are drawn by vl-convert (offline). HTML embeds Vega's JavaScript (``inline=True``, about
    1 MB) so it opens from ``file://`` without network, with the spec escaped against script injection.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    files.make_parents(path)
    if suffix == ".png":
        path.write_bytes(chart_png(chart, scale=scale))
    elif suffix == ".svg":
        path.write_text(chart_svg(chart), encoding="utf-8")
    elif suffix == ".pdf":
        import vl_convert as vlc

        path.write_bytes(vlc.vegalite_to_pdf(chart.to_dict(), vl_version=frontend.vl_version()))  # vector: no scale
    elif suffix == ".html":
        chart.save(str(path), inline=True, json_kwds={"cls": frontend.HtmlSafeEncoder})
    elif suffix == ".json":
        path.write_text(json.dumps(chart.to_dict(), indent=1), encoding="utf-8")
    else:
        raise ValueError(f"unsupported file type {suffix!r}; use .png, .svg, .pdf, .html or .json")
    return path


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


@dataclasses.dataclass(frozen=True)
class ExplorerSpec:
    """What the notebook widget and the standalone page both open on, decided in one place (:func:`explorer_spec`)."""

    steps: dict[int, str]  # the walkthrough: position -> caption (empty: none)
    label: str  # the walkthrough's label
    position: int  # the first position shown
    hero: tuple[int, int, int] | None  # the hero animation's (first, last, characters), where the text has it


def explorer_spec(
    results: Sequence[ConnectivityResult], *, position: int | None = None, walkthrough: Mapping[int, str] | None = None
) -> ExplorerSpec:
    """The explorer's opening state for ``results`` (one text, in the order drawn).

    ``walkthrough`` (``position -> caption``): the text's walkthrough; default: the article's walkthrough when
    ``results`` are the article's published models on its sample sentence (labelled as the article's), else none.
    ``position``: default the walkthrough's first step, else the hero animation's first frame, else the last
    character; a position outside the text raises ``ValueError``.
    """
    first = results[0]
    article = walkthrough is None and first.text == reference.SAMPLE_TEXT and reference.is_article(results)
    steps = dict(reference.WALKTHROUGH) if article else dict(walkthrough or {})
    label = "the article's walkthrough (its models, text8):" if article else "walkthrough:"
    hero = hero_crop(first.text)
    if position is None:
        position = next(iter(steps)) if steps else hero[0] if hero else first.length - 1
    return ExplorerSpec(steps, label, viz.check_position(first, position), hero)


def explorer_state(
    results: Sequence[ConnectivityResult],
    *,
    position: int | None = None,
    order: Sequence[str] | None = style.ARTICLE_ORDER,
    width: int = style.STRIP_WIDTH,
    controls: bool = False,
    walkthrough: Mapping[int, str] | None = None,
) -> dict:
    """What :file:`explorer.js` needs: the chart's spec, the initial state, and the text's layout.

    ``info.controls``: the script draws its own slider, play button and walkthrough buttons (the
    standalone page); the notebook widget has ipywidgets for those instead. ``position`` and ``walkthrough``
    as :func:`explorer_spec`.
    """
    results = viz.ordered(results, order)
    spec = explorer_spec(results, position=position, walkthrough=walkthrough)
    text, length = results[0].text, results[0].length
    hero = spec.hero
    chart = explorer_chart(results, position=spec.position, order=None, width=width, crop=hero[2] if hero else None)
    geom = viz.StripGeometry(text, width, None)
    info = {
        "length": length,
        "lines": geom.lines.tolist(),
        "cols": geom.cols.tolist(),
        "hero": list(hero) if hero else None,
        "interval": reference.HERO_INTERVAL_MS,
        "walkthrough": [[int(t), c] for t, c in spec.steps.items()],
        "walkthrough_label": spec.label + " ",
        "controls": controls,
    }
    return {"spec": chart.to_dict(), "position": spec.position, "pinned": False, "playing": False, "info": info}


def explorer_svg_frames(results: Sequence[ConnectivityResult], **kwargs) -> Callable[[int], str]:
    """``position -> SVG`` of :func:`explorer_chart`, compiled to Vega once (for kernel-side redraws).

    Each call only sets the ``position`` signal and lets vl-convert draw; ``kwargs`` go to
    :func:`explorer_chart`.
    """
    import vl_convert as vlc

    vega = vlc.vegalite_to_vega(explorer_chart(results, **kwargs).to_dict(), vl_version=frontend.vl_version())
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
    order: Sequence[str] | None = style.ARTICLE_ORDER,
    width: int = style.STRIP_WIDTH,
    walkthrough: Mapping[int, str] | None = None,
) -> Path:
    """Write the connectivity explorer as ONE self-contained HTML file (no kernel, no network).

    Point at a character to select it, click to pin it; a slider, the arrow keys (Home/End), the
    article's walkthrough buttons (on its sample) and the hero animation (on a text that begins with
    the sample) move it too: the same script as the notebook widget (:mod:`memviz.frontend.page`).
    Characters are data drawn as Vega text marks (never HTML), and the embedded JSON is escaped so
    no text can close its ``<script>`` element. ``position`` and ``walkthrough`` (``position -> caption``) as
    :func:`explorer_spec`.
    """
    state = explorer_state(results, position=position, order=order, width=width, controls=True, walkthrough=walkthrough)
    models = ", ".join(r.model for r in viz.ordered(results, order))
    page = frontend.standalone_page(
        "explorer",
        state,
        title="Connectivity explorer",
        intro=f"{models}. Point at a character of any panel to see which earlier characters that output "
        "depended on; click to pin; arrow keys, Home and End step through the text.",
    )
    path = Path(path).with_suffix(".html")
    files.make_parents(path)
    path.write_text(page, encoding="utf-8")
    return path
