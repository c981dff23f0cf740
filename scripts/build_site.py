"""Build a static site of the executed notebook series: read it without running anything.

    python scripts/build_site.py              # executes the series (as run_all.sh does), then builds
    python scripts/build_site.py --smoke      # tiny configuration (what the tests build)
    python scripts/build_site.py --reuse      # use the executed notebooks already in outputs/ (no run)

Writes ``outputs/site/``: ``index.html`` (the series in order), one page per notebook (nbconvert's
``lab`` template, figures inline as SVG/PNG, MathJax served from the site itself), ``figures/``
(everything the notebooks exported, including the standalone explorer pages) and ``mathjax/``
(from the ``jupyter-server-mathjax`` package). Everything works from ``file://`` without a network or
a kernel. Interactive widgets need a kernel, so on the site each connectivity explorer is replaced by
its standalone page (embedded), and the live autocomplete demo by a note: its static twin follows it.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
WIDGET = "application/vnd.jupyter.widget-view+json"
#: The standalone page (exported by the notebook, in ``figures/``) of each explorer the notebook shows, in order.
EXPLORER_PAGES = {
    "05_connectivity_explorer.ipynb": [
        "explorer_austen.html",
        "explorer.html",
    ],  # section 3 (Austen), then 5 (article's)
    "09_your_own_model.ipynb": ["explorer_own_models.html"],
}
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
#: jupyter-server-mathjax ships MathJax 2.7 with the STIX-Web fonts only (as the classic notebook used it). Its
#: HTML-CSS output declares a blank font at ``url('about:blank')`` to test font loading against, which Chromium
#: refuses with two console errors on every page with maths; ``local()`` names a font that is equally absent and
#: requests nothing. The icon link keeps the browser from asking the host for a ``favicon.ico`` it does not have.
MATHJAX_FONTS = """<link rel="icon" href="data:,">
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
  styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}}});
</script>"""


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def title_and_summary(nb) -> tuple[str, str]:
    """The notebook's title (its first heading) and first paragraph, as plain text."""
    lines = nb.cells[0].source.split("\n\n")
    title = lines[0].lstrip("# ").strip()
    summary = re.sub(r"[*_`]", "", lines[1].replace("\n", " ")) if len(lines) > 1 else ""
    return title, summary


def replace_widgets(nb, name: str) -> None:
    """Widget outputs (they need a kernel) become what a reader can use without one."""
    pages = list(EXPLORER_PAGES.get(name, []))
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET not in data:
                continue
            text = data.get("text/plain", "")
            if text.startswith("ConnectivityExplorer("):
                if not pages:
                    raise RuntimeError(f"{name} shows more explorers than EXPLORER_PAGES names")
                page = pages.pop(0)
                data.clear()
                data["text/html"] = (
                    f'<p class="memviz-site-note">The explorer, as its standalone page (no kernel needed; '
                    f'<a href="figures/{page}">open it alone</a>):</p>'
                    f'<iframe class="memviz-site-explorer" src="figures/{page}" title="connectivity explorer" '
                    f'loading="lazy" style="width: 100%; height: 720px; border: 1px solid #ddd;"></iframe>'
                )
            elif "AutocompleteDemo" in text:
                data.clear()
                data["text/html"] = (
                    '<p class="memviz-site-note">The live demo needs a running kernel '
                    "(run this notebook in JupyterLab); its static twin is drawn below.</p>"
                )
            else:  # progress bars and other widgets: their plain-text form
                data.pop(WIDGET)
    if pages:
        raise RuntimeError(f"{name}: no explorer output found for {pages}")
    nb.metadata.pop("widgets", None)


def navigation(names: list[str], index: int) -> str:
    links = ["[all notebooks](index.html)"]
    if index > 0:
        links.append(f"← [{names[index - 1][:-6]}]({names[index - 1][:-6]}.html)")
    if index + 1 < len(names):
        links.append(f"[{names[index + 1][:-6]}]({names[index + 1][:-6]}.html) →")
    return " · ".join(links)


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>memviz: visualizing memorization in RNNs</title>
<style>
body {{ font-family: Helvetica Neue, Helvetica, Arial, sans-serif; max-width: 760px; margin: 32px auto; color: #222; line-height: 1.45; }}
li {{ margin: 0 0 12px; }} .summary {{ color: #555; font-size: 14px; }}
</style></head><body>
<h1>memviz: visualizing memorization in RNNs</h1>
<p>The notebook series reproducing the Distill article <em>Visualizing memorization in RNNs</em> (Madsen, 2019) in
JAX, executed{mode}. Read it in order; each page is a notebook as it ran, with its figures. The interactive
connectivity explorers open without a kernel: {explorers}.</p>
<ol>
{items}
</ol>
</body></html>
"""


def build(executed: Path, figures: Path, site: Path) -> list[Path]:
    """Convert the executed notebooks in ``executed`` into ``site``; returns the pages written."""
    names = sorted(p.name for p in executed.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        raise FileNotFoundError(f"no executed notebooks in {executed}; run scripts/run_all.sh or drop --reuse")
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    shutil.copytree(figures, site / "figures")
    import jupyter_server_mathjax

    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", site / "mathjax")
    exporter = HTMLExporter(template_name="lab", mathjax_url=MATHJAX_URL, embed_images=True)
    exporter.require_js_url = (
        "data:text/javascript,"  # the lab template asks for require.js (a CDN); nothing here needs it
    )
    pages, items = [], []
    for index, name in enumerate(names):
        nb = nbformat.read(executed / name, as_version=4)
        title, summary = title_and_summary(nb)
        replace_widgets(nb, name)
        nav = navigation(names, index)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(nav))
        nb.cells.append(nbformat.v4.new_markdown_cell(nav))
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        page = site / f"{name[:-6]}.html"
        page.write_text(body.replace("<head>", "<head>\n" + MATHJAX_FONTS, 1), encoding="utf-8")
        pages.append(page)
        items.append(
            f'<li><a href="{page.name}">{html.escape(title)}</a><div class="summary">{html.escape(summary)}</div></li>'
        )
    explorers = ", ".join(
        f'<a href="figures/{p}">{p}</a>' for ps in EXPLORER_PAGES.values() for p in ps if (figures / p).exists()
    )
    mode = (
        " in smoke mode (tiny models: the figures show the pipeline, not trained results)"
        if os.environ.get("MEMVIZ_SMOKE")
        else ""
    )
    index_page = site / "index.html"
    index_page.write_text(
        _INDEX.format(mode=mode, explorers=explorers or "none exported", items="\n".join(items)), encoding="utf-8"
    )
    return [index_page, *pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny configuration (MEMVIZ_SMOKE=1)")
    parser.add_argument("--reuse", action="store_true", help="build from the executed notebooks already in --out")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "outputs", help="executed notebooks, figures and site/ go here"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        os.environ["MEMVIZ_SMOKE"] = "1"
    if not args.reuse:
        _runner().main([*(["--smoke"] if args.smoke else []), "--out", str(args.out)])
    pages = build(args.out / "notebooks", args.out / "figures", args.out / "site")
    print(f"site: {len(pages)} pages in {args.out / 'site'}; open {pages[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
