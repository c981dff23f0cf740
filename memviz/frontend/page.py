"""The browser side: Vega's JavaScript for offline use, and memviz's own scripts around it.

The same script drives a view in JupyterLab (as an anywidget's ES module) and in a standalone HTML
page (with a stand-in for the widget model), so the two behave alike. Vega, Vega-Lite and
vega-embed come from vl-convert's bundle (no network, no CDN); building it takes seconds, so it is
cached on disk per vl-convert version.

* :func:`widget_module` — the ES module of an anywidget: the bundle, one script, ``export default``.
* :func:`standalone_page` — one self-contained HTML file: the bundle, the script, the model's state
  as JSON (escaped so that no text can close its ``<script>`` element), and the stand-in model.
"""

from __future__ import annotations

import functools
import html
import json
from importlib import resources

from memviz.core import paths

#: memviz's scripts (files beside this module) and the render function each defines.
SCRIPTS = {"explorer": "renderExplorer", "autocomplete": "renderAutocomplete"}


def vl_version() -> str:
    """The Vega-Lite version vl-convert should use for this Altair (e.g. ``"6.4"``)."""
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_version_for_vl_convert()


@functools.cache
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script that sets ``window.vegaEmbed`` (~0.9 MB)."""
    import vl_convert as vlc

    version = f"{getattr(vlc, '__version__', 'unknown')}-{vl_version()}"
    cached = paths.cache_dir() / "js" / f"vega-bundle-{version}.js"
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    bundle = vlc.javascript_bundle(vl_version=vl_version())  # type: ignore[call-arg]  # snippet defaults to None
    if "</script" in bundle.lower():  # it is inlined in a <script> element
        raise RuntimeError("the Vega bundle contains '</script': it cannot be inlined")
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{id(bundle)}.part")
    partial.write_text(bundle, encoding="utf-8")
    partial.replace(cached)  # atomic: a concurrent reader sees the whole file or none
    return bundle


def script(name: str) -> str:
    """The source of one of memviz's scripts (``"explorer"`` or ``"autocomplete"``)."""
    if name not in SCRIPTS:
        raise ValueError(f"unknown script {name!r}; choose one of {sorted(SCRIPTS)}")
    return resources.files("memviz.frontend").joinpath(f"{name}.js").read_text(encoding="utf-8")


def widget_module(name: str, *, vega: bool = True) -> str:
    """The ES module of an anywidget whose ``render`` is the script's render function (with Vega
    bundled in front of it when ``vega``)."""
    bundle = vega_bundle() if vega else ""
    return f"{bundle}\n{script(name)}\nexport default {{ render: {SCRIPTS[name]} }};\n"


class HtmlSafeEncoder(json.JSONEncoder):
    """JSON whose text never contains ``<``, ``>`` or ``&``, so it cannot close a ``<script>`` element
    (``</script>`` inside a character string). They only occur inside JSON strings, where ``\\u003c``
    etc. decode to the same characters."""

    def iterencode(self, o, _one_shot=False):
        """The JSON text of ``o`` in chunks, ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e``, ``\\u0026``."""
        for chunk in super().iterencode(o, _one_shot):
            yield chunk.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def safe_json(value) -> str:
    """``value`` as JSON that is safe to embed in a ``<script>`` element (see :class:`HtmlSafeEncoder`)."""
    return json.dumps(value, cls=HtmlSafeEncoder)


_PAGE_MODEL = """
// A stand-in for the widget model: the state lives in the page.
function memvizPageModel(state) {
  const listeners = {};
  return {
    get: (name) => state[name],
    set: (name, value) => { const old = state[name]; state[name] = value;
      if (old !== value) for (const f of listeners["change:" + name] || []) f(); },
    save_changes: () => {},
    on: (event, f) => { (listeners[event] = listeners[event] || []).push(f); },
  };
}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="memviz: Vega, Vega-Lite and vega-embed inlined (vl-convert), no network needed">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<h1>{title}</h1>
<p class="memviz-intro">{intro}</p>
<div id="memviz-root"></div>
<script type="application/json" id="memviz-state">{state}</script>
<script type="module">
{bundle}
{script}
{page_model}
const state = JSON.parse(document.getElementById("memviz-state").textContent);
{render}({{ model: memvizPageModel(state), el: document.getElementById("memviz-root") }})
  .catch((error) => {{ console.error(error); document.body.dataset.failure = String(error); }});
</script>
</body>
</html>
"""

PAGE_CSS = """
body { font-family: Helvetica Neue, Helvetica, Arial, sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 20px; font-weight: 600; margin: 0 0 4px; }
.memviz-intro { color: #555; font-size: 13px; margin: 0 0 10px; max-width: 680px; }
.memviz-explorer:focus { outline: 2px solid #9BC0DB; outline-offset: 2px; }
.memviz-controls { font-size: 13px; margin: 0 0 6px; }
.memviz-controls button { font: inherit; margin: 2px 4px 2px 0; cursor: pointer; }
.memviz-slider { width: 400px; vertical-align: middle; }
.memviz-label { margin-left: 8px; color: #333; display: inline-block; min-width: 260px; }
.memviz-caption { color: #555; height: 2.8em; overflow: hidden; max-width: 680px; }  /* fixed: the chart must not move under the pointer */
"""


def standalone_page(name: str, state: dict, *, title: str, intro: str = "") -> str:
    """One self-contained HTML page running script ``name`` on ``state`` (no kernel, no network)."""
    return _PAGE.format(
        title=html.escape(title),
        intro=html.escape(intro),
        css=PAGE_CSS,
        state=safe_json(state),
        bundle=vega_bundle(),
        script=script(name),
        page_model=_PAGE_MODEL,
        render=SCRIPTS[name],
    )
