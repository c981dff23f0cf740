"""The tutorial notebooks run top to bottom in smoke mode and export the figures the README shows.

Each notebook is executed headless by ``scripts/run_notebooks.py``'s ``execute`` (nbclient, kernel
``python3``, working directory ``notebooks/``) with ``MEMVIZ_SMOKE=1`` (tiny models trained in
seconds and cached in the user cache, data slices) and ``MEMVIZ_OUTPUT_DIR`` pointing at a
temporary folder. A cell that raises fails the test.
"""

from __future__ import annotations

import http.server
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Figures each notebook must export (the README gallery uses the first names).
FIGURES = {
    "01_autocomplete_data.ipynb": [],
    "02_recurrent_units.ipynb": [
        "vanishing_gradient.png",
        "memory_dial.png",
        "trained_gradient.png",
        "memory_timescales.png",
    ],
    "03_training.ipynb": ["training_curves.png", "context_by_step.png"],
    "04_autocomplete_accuracy.ipynb": ["accuracy_curves.png", "accuracy_baselines.png"],
    "05_connectivity_explorer.ipynb": ["connectivity_walkthrough_106.png", "explorer.html", "explorer_austen.html"],
    "06_memorization_vs_understanding.ipynb": ["seen_earlier.png", "share_in_word.png", "reach_back.png"],
    "07_what_connectivity_measures.ipynb": [
        "context_length.png",
        "repeat_recall.png",
        "reach_vs_loss.png",
        "attribution_agreement.png",
        "randomisation_check.png",
        "matched_accuracy.png",
        "matched_parameters.png",
        "matched_parameters_training.png",
        "seeds.png",
    ],
    "08_autocomplete_live.ipynb": ["autocomplete_demo.png"],
    "09_your_own_model.ipynb": [
        "own_models_connectivity.png",
        "explorer_own_models.html",
        "own_models_measures.png",
        "own_models_accuracy.png",
    ],
}


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _runner():
    return _load("run_notebooks", ROOT / "scripts" / "run_notebooks.py")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outputs")


def test_the_series_is_complete():
    assert [p.name for p in NOTEBOOKS] == list(FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs before committing"
    # Shape of every notebook (STYLE.md): a title, numbered sections, a recap and what to try next.
    assert nb.cells[0].source.startswith(f"# {path.name[:2]} · ")
    headings = [
        line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")
    ]
    assert headings[0].startswith("## 1. ") and {"## Recap", "## What to try next"} <= set(headings)
    # Short cells; nothing read from outside the repository.
    assert max(len(c.source.splitlines()) for c in code) <= 20
    assert not any("shared/" in c.source for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_in_smoke_mode(path, outputs, monkeypatch):
    monkeypatch.setenv("MEMVIZ_SMOKE", "1")
    monkeypatch.setenv("MEMVIZ_OUTPUT_DIR", str(outputs / "figures"))
    _runner().execute(path, outputs / "notebooks", timeout=600)  # raises CellExecutionError on any error

    executed = nbformat.read(outputs / "notebooks" / path.name, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    kinds = {key for c in code for out in c.outputs for key in out.get("data", {})}
    assert "image/svg+xml" in kinds  # static charts: a saved notebook is never blank
    # progress bars leave their final state as text (a tqdm widget keeps only its first state, "0/40", when saved)
    bars = [out.get("data", {}) for c in code for out in c.outputs if "%|" in out.get("data", {}).get("text/plain", "")]
    widget_bars = [bar["text/plain"] for bar in bars if "application/vnd.jupyter.widget-view+json" in bar]
    assert all("100%|" in bar["text/plain"] for bar in bars), [bar["text/plain"] for bar in bars]
    assert widget_bars == [], "a tqdm widget bar: use memviz.progress_bar"
    # signed on this machine: JupyterLab draws an untrusted notebook's SVG outputs as their text instead
    assert NotebookNotary().check_signature(executed)
    for name in FIGURES[path.name]:
        figure = outputs / "figures" / name
        assert figure.exists() and figure.stat().st_size > 5_000, f"{name} was not exported"
        if name.endswith(".png"):
            assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The numbers the prose's claims read are recorded (tests/test_claims.py checks them on a full run).
    from memviz.testing import claims

    _load("test_claims", ROOT / "tests" / "test_claims.py").check_smoke_record(
        path.name[:2], claims.read(outputs / "notebooks" / path.name)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_control_characters(path):
    """A backslash lost to a non-raw Python string (``\\tanh`` -> TAB + "anh", ``\\frac`` -> form feed) fails here."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        bad = sorted({repr(ch) for ch in cell.source if ord(ch) < 32 and ch != "\n"})
        assert not bad, f"cell {index} contains control characters {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_bracket_after_aligned_or_line_break(path):
    """MathJax reads ``[`` right after ``\\begin{aligned}`` or ``\\\\`` as an optional argument: write ``{}[``."""
    import re

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            assert not re.search(r"(\\begin\{aligned\}|\\\\)\s*\[", cell.source), f"cell {index}"


def test_a_plain_run_leaves_the_gallery_alone(monkeypatch, tmp_path):
    """``run_all.sh`` must leave ``git status`` clean: only ``--update-gallery`` copies into docs/gallery/."""
    runner = _runner()
    monkeypatch.setenv("MEMVIZ_OUTPUT_DIR", str(tmp_path))  # main() sets it: monkeypatch restores it afterwards
    monkeypatch.delenv("MEMVIZ_SMOKE", raising=False)
    copied = []
    monkeypatch.setattr(runner, "notebooks", lambda prefixes: [])
    monkeypatch.setattr(runner, "update_gallery", lambda figures, gallery: copied.append(gallery))
    assert runner.main(["--out", str(tmp_path)]) == 0
    assert copied == []
    assert runner.main(["--out", str(tmp_path), "--update-gallery"]) == 0
    assert copied == [ROOT / "docs" / "gallery"]
    with pytest.raises(SystemExit):  # a partial or smoke run must not overwrite the README's figures
        runner.main(["--out", str(tmp_path), "--update-gallery", "--smoke"])


def _try_next_snippets(path: Path) -> list[str]:
    """The fenced ``python`` blocks of a notebook's "What to try next" section."""
    import re

    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    section = text.split("## What to try next", 1)[-1] if "## What to try next" in text else ""
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _try_next_snippets(p)], ids=lambda p: p.stem)
def test_what_to_try_next_runs_as_written(path, monkeypatch, capsys):
    """A snippet the reader is told to paste must run on its own, with its own imports (in smoke mode)."""
    monkeypatch.setenv("MEMVIZ_SMOKE", "1")
    for snippet in _try_next_snippets(path):
        exec(compile(snippet, f"{path.name}: What to try next", "exec"), {})  # noqa: S102 — a fresh namespace: nothing predefined
        assert capsys.readouterr().out.strip(), "the snippet should show a result"


# -- the static site of the executed series, opened in a real browser ------------------------------------


@pytest.mark.browser
def test_static_site(outputs):
    """``scripts/build_site.py`` on the smoke-mode run above: every page opens offline in Chromium with
    no console error, no broken image, no blank chart, the explorers live in their standalone pages."""
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; scripts/test.sh does it as root)")
    from playwright.sync_api import sync_playwright

    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    build_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_site)
    executed = outputs / "notebooks"
    if sorted(p.name for p in executed.glob("*.ipynb")) != list(FIGURES):  # run alone: execute the series first
        run = _runner()
        for path in NOTEBOOKS:
            with pytest.MonkeyPatch.context() as env:
                env.setenv("MEMVIZ_SMOKE", "1")
                env.setenv("MEMVIZ_OUTPUT_DIR", str(outputs / "figures"))
                run.execute(path, executed, timeout=600)
    pages = build_site.build(executed, outputs / "figures", outputs / "site")
    assert [p.name for p in pages] == ["index.html"] + [name.replace(".ipynb", ".html") for name in FIGURES]

    # Served as a web host would (MathJax's web fonts are refused from file:// by Chromium's CORS rules).
    import functools
    import threading

    handler = functools.partial(QuietHandler, directory=str(outputs / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        errors = []
        local = ("data:", "blob:", "about:", base)
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(local)
                else (errors.append(f"network: {route.request.url}"), route.abort())
            ),
        )
        page = context.new_page()
        page.on(
            "console",
            lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: errors.append(f"{page.url}: uncaught {e}"))
        page.goto(base + "index.html")
        links = page.locator("ol a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert links == [p.name for p in pages[1:]]  # the index lists every page, in order
        for path in pages[1:]:
            page.goto(base + path.name)
            page.wait_for_load_state("load")
            broken = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))"
            )
            assert not broken, f"{path.name}: broken images {broken}"
            # Charts are SVG images (data URIs, drawn in the kernel): count the marks inside each one.
            marks = page.evaluate("""[...document.images].filter(i => i.src.startsWith('data:image/svg+xml'))
                .map(i => { const [head, body] = i.src.split(','); const svg = head.endsWith(';base64') ? atob(body) : decodeURIComponent(body);
                            return (svg.match(/<(path|text|rect|line)[ >]/g) || []).length; })""")
            assert all(n > 10 for n in marks), f"{path.name}: a blank chart ({marks})"
            assert marks or page.locator("img").count() or path.name.startswith("01"), f"{path.name}: no figure"
            for frame in page.locator("iframe.memviz-site-explorer").all():
                frame.scroll_into_view_if_needed()
                inner = frame.element_handle().content_frame()
                inner.wait_for_selector(".memviz-explorer[data-position]", timeout=30_000)
                assert inner.locator("svg text").count() > 100, f"{path.name}: an explorer drew nothing"
            assert page.locator("text=model not found").count() == 0
            pages = [frame.get_attribute("src") for frame in page.locator("iframe.memviz-site-explorer").all()]
            expected = build_site.EXPLORER_PAGES.get(path.name.replace(".html", ".ipynb"), [])
            assert pages == [f"figures/{name}" for name in expected], (
                f"{path.name}: explorers {pages}"
            )  # in section order
            if path.name.startswith("05"):
                page.wait_for_function(
                    "document.querySelectorAll('.MathJax, .MathJax_Display, mjx-container').length > 0", timeout=30_000
                )
            if path.name.startswith("08"):
                assert "static twin is drawn below" in page.content() and marks
        browser.close()
    server.shutdown()
    assert not errors, errors


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no access log in the test output
        pass
