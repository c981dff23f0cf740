"""The explorer and the autocomplete demo in a real browser: Debian's headless Chromium, driven by Playwright.

Real pointer and keyboard events, read back from the page: the selected position (the explorer's
``data-position``), the slider, the SVG Vega drew (labels, fills). Every test fails on a console
error or an uncaught exception, and the pages may only reach ``file://`` and 127.0.0.1. JupyterLab
runs on 127.0.0.1 (a free port, a token) with notebooks 05 and 08 in smoke mode.

Select or leave out with ``-m browser`` / ``-m "not browser"``. ``scripts/test.sh`` installs Chromium
where it can (root and apt); the tests are skipped, saying why, only where it is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from memviz import viz
from memviz.core.results import ConnectivityResult
from memviz.data import reference
from memviz.frontend import export
from memviz.testing.lab import running as running_lab
from memviz.viz import style

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (apt-get install chromium; scripts/test.sh does it as root)",
    ),
]
GREEN = style.connectivity_colour(1.0)  # the article's colour of the row's strongest input


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page that records console errors and uncaught exceptions, and reaches only file:// and 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    context.route("**/*", lambda route: route.continue_() if _local(route.request.url) else route.abort())
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(f"uncaught: {error}"))
    page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    page.close(run_before_unload=False)  # a notebook with a live kernel would ask before leaving
    context.close()


def _local(url: str) -> bool:
    return url.startswith(("file:", "data:", "blob:", "about:", "http://127.0.0.1", "ws://127.0.0.1"))


# -- reading and pointing at the explorer -----------------------------------------------------------

_HIT_BOX = """([root, i, panel]) => {
  // The transparent box over character i in one panel (negative: from the end): Vega's SVG renderer keeps
  // each scenegraph item on its element as __data__. Scrolled into view first (a notebook's explorer can sit
  // below the fold), then its centre on the screen.
  const el = document.querySelectorAll('.memviz-explorer')[root];
  const boxes = [...el.querySelectorAll('path')].filter(p => p.__data__ && p.__data__.datum
    && p.__data__.datum.i === i && p.__data__.mark.marktype === 'rect' && p.__data__.opacity === 0);
  if (!boxes.length) return null;
  const box = boxes[panel < 0 ? boxes.length + panel : panel];
  box.scrollIntoView({block: 'center', inline: 'nearest'});
  const r = box.getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2];
}"""

_FILLS = """([root, panel]) => {
  // Input position -> fill of its connectivity cell in one panel: the rect marks filled with their
  // datum's colour (cells of ratio 0 are not drawn; the underline is white).
  const el = document.querySelectorAll('.memviz-explorer')[root];
  const isCell = (p) => p.__data__ && p.__data__.datum && p.__data__.datum.colour && p.getAttribute('fill') === p.__data__.datum.colour;
  const groups = [...el.querySelectorAll('g.mark-rect')].filter(g => [...g.querySelectorAll('path')].some(isCell));
  const fills = {};
  for (const p of groups[panel < 0 ? groups.length + panel : panel].querySelectorAll('path')) if (isCell(p)) fills[p.__data__.datum.i] = p.getAttribute('fill');
  return fills;
}"""


_LETTERS = """(root) => [...document.querySelectorAll('.memviz-explorer')[root].querySelectorAll('text')]
  .filter(t => t.__data__ && t.__data__.datum && typeof t.__data__.datum.c === 'string').length"""


def point_at(page, i: int, *, panel: int = -1, root: int = 0, click: bool = False) -> None:
    centre = page.evaluate(_HIT_BOX, [root, i, panel])
    assert centre, f"no box for character {i}"
    x, y = centre
    page.mouse.move(x, y, steps=3)
    if click:
        page.mouse.click(x, y)


def position(page, root: int = 0) -> int:
    return int(page.locator(".memviz-explorer").nth(root).get_attribute("data-position"))


def wait_for_position(page, expected: int, root: int = 0) -> None:
    page.wait_for_function(
        "([root, p]) => document.querySelectorAll('.memviz-explorer')[root]?.dataset.position === String(p)",
        arg=[root, expected],
        timeout=10_000,
    )


def svg_text(page, root: int = 0) -> str:
    return page.locator(".memviz-explorer").nth(root).locator("svg").first.inner_html()


# -- the standalone page ------------------------------------------------------------------------------


def test_standalone_explorer_follows_pointer_slider_keys_and_play(page, tmp_path):
    article = reference.connectivities()
    gru = next(r for r in article if r.model == "GRU")
    path = export.explorer_html(article, tmp_path / "explorer.html", position=106)
    page.goto(path.as_uri())
    wait_for_position(page, 106)
    slider = page.locator(".memviz-slider")
    chart_top = page.locator(".memviz-explorer svg").first.bounding_box()["y"]

    point_at(page, 150)  # hover a character of the GRU panel (the last one)
    wait_for_position(page, 150)
    # 106 has a walkthrough caption and 150 none: the chart must not move under the pointer
    assert page.locator(".memviz-explorer svg").first.bounding_box()["y"] == chart_top
    assert slider.input_value() == "150" and "output position 150" in page.locator(".memviz-label").text_content()
    assert f"target: {gru.targets[150]}" in svg_text(page)
    fills = page.evaluate(_FILLS, [0, -1])  # the GRU panel recoloured for position 150
    strongest = int(np.argmax(gru.normalized()[150]))
    assert fills[str(strongest)] == GREEN and all(int(i) <= 150 for i in fills)

    point_at(page, 40, panel=0, click=True)  # a click in the Nested LSTM panel pins 40
    wait_for_position(page, 40)
    point_at(page, 90)
    page.wait_for_timeout(300)
    assert position(page) == 40 and page.locator(".memviz-explorer").get_attribute("data-pinned") == "true"

    geom = viz.StripGeometry(gru.text, style.STRIP_WIDTH, None)
    below_first = int(np.flatnonzero(geom.lines == 1)[0])  # the first character of the second line
    page.locator(".memviz-explorer").focus()  # the keyboard, without a mouse
    for key, expected in [("ArrowLeft", 39), ("ArrowRight", 40), ("End", 197), ("Home", 0), ("ArrowDown", below_first)]:
        page.keyboard.press(key)
        wait_for_position(page, expected)
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelector('.memviz-explorer').dataset.pinned === 'false'")

    slider.focus()
    page.keyboard.press("ArrowRight")  # the slider's own keys
    wait_for_position(page, below_first + 1)
    page.get_by_role("button", name="159").click()  # the article's walkthrough
    wait_for_position(page, 159)
    assert reference.WALKTHROUGH[159] in page.locator(".memviz-caption").text_content()

    page.locator(".memviz-play").click()  # the hero animation: the first 70 characters, 12 -> 35
    page.wait_for_function(
        "(() => { const p = +document.querySelector('.memviz-explorer').dataset.position; return p >= 13 && p <= 35; })()"
    )
    assert page.evaluate(_LETTERS, 0) == 3 * reference.HERO_LENGTH  # the crop: 70 characters a panel
    page.wait_for_timeout(250)
    point_at(page, 20)  # pointing stops it
    wait_for_position(page, 20)
    assert "stop" not in page.locator(".memviz-play").text_content()
    assert page.evaluate(_LETTERS, 0) == 3 * 198
    assert not page.errors, page.errors


def test_standalone_explorer_keeps_text_as_text(page, tmp_path):
    nasty = " <script>alert(1)</script> & <b>bold</b>"
    n = len(nasty)
    results = [
        ConnectivityResult(
            model=m,
            text=nasty,
            targets=tuple(f"<t{t}>" for t in range(n)),
            raw=np.tril(np.ones((n, n))),
            top_words=tuple((f"w{t}", "x", "y") for t in range(n)),
            top_probs=np.tile([0.5, 0.2, 0.1], (n, 1)),
        )
        for m in ("GRU", "LSTM")
    ]
    path = export.explorer_html(results, tmp_path / "nasty.html", position=12)
    assert "<script>alert" not in path.read_text() and "<b>bold" not in path.read_text()
    page.goto(path.as_uri())
    wait_for_position(page, 12)
    assert page.locator("b").count() == 0 and page.locator("#memviz-root script").count() == 0
    assert "target: &lt;t12&gt;" in svg_text(page) and "&lt;" in svg_text(page)
    point_at(page, 3)
    wait_for_position(page, 3)
    assert not page.errors, page.errors


# -- JupyterLab --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 (free port, random token) serving copies of notebooks 05 and 08, smoke mode."""
    work = tmp_path_factory.mktemp("lab")
    for name in ("05_connectivity_explorer.ipynb", "08_autocomplete_live.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, work / name)
    with running_lab(work, env={"MEMVIZ_SMOKE": "1", "MEMVIZ_OUTPUT_DIR": str(work / "figures")}) as server:
        yield server


def run_notebook_in_lab(page, lab, name: str) -> None:
    """Open ``name`` in JupyterLab, run all its cells, and fail on any error output."""
    url, token = lab
    page.goto(f"{url}/lab/tree/{name}?token={token}")
    page.wait_for_function(
        f"window.jupyterapp?.shell.currentWidget?.context?.path === '{name}' && window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel",
        timeout=120_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => { const prompts = [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent);
                   return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t)); }""",
        timeout=900_000,
        polling=1000,
    )
    errors = page.evaluate(
        """() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells; const out = [];
                   for (let i = 0; i < cells.length; i++) { const c = cells.get(i);
                     if (c.type === 'code') for (const o of c.outputs.toJSON()) if (o.output_type === 'error') out.push([i, c.sharedModel.getSource(), o.ename + ': ' + o.evalue, (o.traceback || []).slice(-2).join(' | ')]); }
                   return out; }"""
    )
    assert not errors, f"{name}: {errors}"


def test_explorer_in_jupyterlab(page, lab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    run_notebook_in_lab(page, lab, "05_connectivity_explorer.ipynb")
    explorer = page.locator(".memviz-explorer").first  # the walkthrough on Austen test text
    explorer.scroll_into_view_if_needed()
    before, length = position(page), int(explorer.get_attribute("data-length"))
    target = length // 2 if before != length // 2 else length // 2 - 10
    # Hovering selects, and the ipywidgets slider follows (linked in the browser). JupyterLab may still be laying
    # out the notebook (and re-attaching the view) when the last cell has run: point again if the first pointer
    # event landed before the view listened.
    for attempt in range(3):
        point_at(page, target)
        try:
            wait_for_position(page, target)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.mouse.move(0, 0)
    page.wait_for_function(
        f"document.querySelector('.widget-readout').textContent.trim() === '{target}'", timeout=10_000
    )
    explorer.focus()
    page.keyboard.press("ArrowRight")  # keys move it, and JupyterLab's own arrow shortcuts stay out
    wait_for_position(page, target + 1)
    assert page.evaluate(_LETTERS, 0) == 3 * length  # every character of the three panels
    assert not page.errors, page.errors


def test_autocomplete_in_jupyterlab(page, lab):
    run_notebook_in_lab(page, lab, "08_autocomplete_live.ipynb")
    box = page.locator(".memviz-autocomplete-input")
    box.scroll_into_view_if_needed()
    demo = page.locator(".memviz-autocomplete")
    page.wait_for_function("document.querySelector('.memviz-autocomplete')?.dataset.text !== undefined", timeout=30_000)
    box.click()
    box.press("End")
    box.press_sequentially(" the ca", delay=80)  # real keystrokes
    page.wait_for_function(
        "document.querySelector('.memviz-autocomplete').dataset.text.endsWith(' the ca')", timeout=30_000
    )
    panels = demo.locator(".memviz-autocomplete-row")
    assert panels.count() == 3
    for n in range(3):
        words = panels.nth(n).locator(".memviz-autocomplete-word").all_text_contents()
        assert len(words) == 3 and all(w.endswith("%)") for w in words), words
        assert panels.nth(n).locator(".memviz-autocomplete-text span").count() == len(demo.get_attribute("data-text"))
    latencies = page.evaluate(
        "JSON.parse(document.querySelector('.memviz-autocomplete').parentElement.dataset.latencies || '[]')"
    )
    assert len(latencies) == len(" the ca")  # every keystroke reached a drawn answer
    assert "ms after the keystroke" in demo.locator(".memviz-autocomplete-timing").text_content()
    assert not page.errors, page.errors
