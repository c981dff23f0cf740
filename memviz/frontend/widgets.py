"""Interactive views for the notebooks: ipywidgets wired to the pure charts of :mod:`memviz.viz`.

What renders offline in JupyterLab (see ``notes/jupyterlab-rendering`` in the project notes): the
default Altair renderer and ``alt.JupyterChart`` without ``enable_offline()`` load Vega from a CDN
and stay blank; the ``svg``/``png`` renderers (vl-convert, in the kernel) and an offline
``alt.JupyterChart`` do render. Hence:

* :func:`setup_offline` turns on both; :func:`show` draws any chart as SVG/PNG in the kernel, which
  also stays visible in a saved notebook.
* :class:`ConnectivityExplorer` draws :func:`memviz.viz.explorer.explorer_chart` (every position in its
  data) in an :class:`ExplorerView`, an anywidget running ``explorer.js`` with Vega's JavaScript
  bundled (offline): pointing at a character selects it, a click pins it, arrow keys, Home and End
  step, all recoloured in the browser. Its ``position`` is linked to an ``IntSlider`` in the browser
  (``jslink``: the slider follows the pointer with no kernel round trip) and in the kernel, so code
  and the walkthrough buttons move it too. ``renderer="svg"`` instead re-draws an SVG in the kernel
  per position (any frontend, slower). :meth:`ConnectivityExplorer.static_chart` is the static twin
  for saved notebooks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import altair as alt
import anywidget
import ipywidgets as widgets
import pandas as pd
import traitlets

from memviz import viz
from memviz.analysis import autocomplete, connectivity, walkthrough
from memviz.core.model_names import in_order
from memviz.core.results import ConnectivityResult, Suggestions
from memviz.data import reference
from memviz.frontend import export
from memviz.frontend import page as frontend
from memviz.models.protocol import CharacterModel
from memviz.viz import style


def setup_offline(renderer: str = "svg") -> None:
    """Make charts render without network in JupyterLab.

    Loads the JupyterChart JavaScript from vl-convert instead of a CDN (about 0.9 MB, sent once),
    and draws plain ``alt.Chart`` outputs in the kernel as ``renderer`` (``"svg"`` or ``"png"``),
    which a saved notebook keeps.
    """
    alt.JupyterChart.enable_offline()
    alt.renderers.enable(renderer)


def show(chart: alt.TopLevelMixin, format: str = "svg", *, scale: float = 2.0) -> None:
    """Display ``chart`` as an SVG or PNG image drawn in the kernel (offline; kept when saved)."""
    from IPython.display import SVG, Image, display

    if format == "svg":
        display(SVG(export.chart_svg(chart)))
    elif format == "png":
        display(Image(export.chart_png(chart, scale=scale)))
    else:
        raise ValueError(f"format must be 'svg' or 'png', not {format!r}")


def _check_results(results: Sequence[ConnectivityResult]) -> list[ConnectivityResult]:
    results = list(results)
    if not results:
        raise ValueError("need at least one ConnectivityResult")
    if len({r.text for r in results}) != 1:
        raise ValueError("all results must be for the same text")
    return results


class ExplorerView(anywidget.AnyWidget):
    """The explorer's panels in the browser (``explorer.js``): the state of :func:`export.explorer_state`.

    ``position`` (the selected output), ``pinned`` (fixed by a click) and ``playing`` (the hero
    animation: the panels show the first 70 characters) are synced both ways; ``spec`` and ``info``
    are what is drawn. Vega's JavaScript (~0.9 MB, from vl-convert) travels with the widget.
    """

    _css = """
    .memviz-explorer:focus { outline: 2px solid #9BC0DB; outline-offset: 2px; }
    .memviz-explorer:focus:not(:focus-visible) { outline: none; }
    """
    spec = traitlets.Dict().tag(sync=True)
    info = traitlets.Dict().tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    pinned = traitlets.Bool(False).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)

    def __init__(self, state: dict, **kwargs):
        if "_esm" not in type(self).__dict__:  # built once per class, from a disk cache after the first time
            type(self)._esm = frontend.widget_module("explorer")
        super().__init__(**state, **kwargs)


def _from_browser(widget: widgets.Widget, name: str) -> bool:
    """True while ``widget`` applies a value the browser sent (ipywidgets locks the property then).

    The browser's links (``jslink``) already passed such a change on; passing it on again from the
    kernel would send the browser a value that may be stale by the time it arrives.
    """
    return name in widget._property_lock


def own_text(models: Mapping[str, CharacterModel], vocab) -> Callable[[str], Iterator[ConnectivityResult]]:
    """The explorer's ``compute`` for ``{display name: model}``: a reader's text → one
    :func:`~memviz.analysis.connectivity.compute_connectivity` result per model, yielded as each finishes (the
    progress bar counts them). Any :class:`~memviz.models.protocol.CharacterModel`: memviz's own, a Transformer,
    flax's ``nnx.RNN``, a plain function; ``vocab``: the vocabulary they output."""
    models = dict(models)

    def compute(text: str) -> Iterator[ConnectivityResult]:
        for name, model in models.items():
            yield connectivity.compute_connectivity(model, text, vocab, name=name)

    return compute


class ConnectivityExplorer(widgets.VBox):
    """The article's connectivity figure as a widget: point, slider, walkthrough, hero animation, own text.

    Args:
      results: one :class:`ConnectivityResult` per model, all for the same text, drawn in ``order``
        (default: the article's Nested LSTM, LSTM, GRU, then other models as given; None: as given).
      compute: optional ``text -> results``; when given, a text box and a button compute the
        connectivity of the reader's own text (once per text) and swap it in; "back to the
        walkthrough" returns to the first results. ``own_text(models, vocab)`` makes one for any models.
      renderer: ``"vega"`` (in the browser: point at a character to select it, click to pin it, arrow
        keys, Home/End) or ``"svg"`` (an SVG drawn by vl-convert in the kernel for every position).
      walkthrough: optional ``position -> caption`` for this text's walkthrough buttons (e.g.
        ``memviz.analysis.walkthrough.captions(steps)``); the explorer opens on its first position. Default:
        the article's walkthrough when ``results`` are the article's published models on its sample
        sentence (labelled as the article's), else none.

    State: ``position`` (the slider's value), ``results``, ``static_chart()`` (static chart of what
    is drawn), ``current_frame()`` (its data).
    """

    def __init__(
        self,
        results: Sequence[ConnectivityResult],
        compute: Callable[[str], Sequence[ConnectivityResult]] | None = None,
        *,
        position: int | None = None,
        order: Sequence[str] | None = style.ARTICLE_ORDER,
        renderer: str = "vega",
        width: int = style.STRIP_WIDTH,
        walkthrough: Mapping[int, str] | None = None,
    ):
        if renderer not in ("vega", "svg"):
            raise ValueError(f"renderer must be 'vega' or 'svg', not {renderer!r}")
        self.renderer, self.compute, self.order, self.width = renderer, compute, order, width
        self._ready = False  # False while set_results rewires, so intermediate values draw nothing
        self._links: list = []
        self._walkthroughs: dict[str, dict[int, str]] = {}  # text -> position -> caption
        super().__init__(self._controls(show_own_text=compute is not None))
        self.set_results(results, position=position, walkthrough=walkthrough)
        self._first_results = self.results

    def _controls(self, *, show_own_text: bool) -> list[widgets.Widget]:
        """The widget's rows: Play, slider and status; walkthrough buttons; caption; own-text box; the chart."""
        self.slider = widgets.IntSlider(
            description="output position",
            continuous_update=True,
            style={"description_width": "initial"},
            layout={"width": "420px"},
        )
        # The hero figure's animation (the article's opening figure): Play drives the slider one way,
        # so moving the slider outside the play range does not fight the Play widget's bounds.
        self.play = widgets.Play(
            interval=reference.HERO_INTERVAL_MS,
            step=1,
            repeat=True,
            description="animate",
            tooltip="the article's hero animation (its first 70 characters)",
        )
        self.play.observe(self._on_play, names="value")
        self.play.observe(self._on_playing, names="playing")
        self.status = widgets.Label()
        self.caption = widgets.HTML(layout={"width": "100%"})  # HTML wraps long captions; a Label does not
        self.walkthrough = widgets.HBox([widgets.Label("walkthrough:")])
        self.text = widgets.Text(placeholder="your own text (a-z and space)", layout={"width": "420px"})
        self.compute_button = widgets.Button(description="compute", tooltip="compute connectivity for this text")
        self.compute_button.on_click(self._on_compute)
        self.back_button = widgets.Button(
            description="back to the walkthrough",
            layout={"width": "auto", "display": "none"},
            tooltip="show the first text again",
        )
        self.back_button.on_click(lambda _: self.set_results(self._first_results))
        self.progress = widgets.IntProgress(
            min=0, max=1, value=0, bar_style="info", layout={"width": "120px", "display": "none"}
        )
        own_text = widgets.HBox(
            [self.text, self.compute_button, self.progress, self.back_button],
            layout={"display": None if show_own_text else "none"},
        )
        self.chart_area = widgets.Box()
        self.slider.observe(self._on_position, names="value")
        return [
            widgets.HBox([self.play, self.slider, self.status]),
            self.walkthrough,
            self.caption,
            own_text,
            self.chart_area,
        ]

    # -- wiring --------------------------------------------------------------------------------

    def _jump_button(self, index: int, caption: str) -> widgets.Button:
        button = widgets.Button(description=str(index), tooltip=caption, layout={"width": "56px"})
        button.on_click(lambda _: setattr(self.slider, "value", index))
        return button

    @property
    def position(self) -> int:
        """The selected output position (the slider's value); setting it selects that position."""
        return int(self.slider.value)

    @position.setter
    def position(self, value: int) -> None:
        """Select output position ``value``."""
        self.slider.value = int(value)

    def set_results(
        self,
        results: Sequence[ConnectivityResult],
        *,
        position: int | None = None,
        walkthrough: Mapping[int, str] | None = None,
    ) -> None:
        """Swap in new results (e.g. another text); the chart's data is built once here. A ``walkthrough``
        given for a text (here or to the constructor) comes back whenever that text is shown again."""
        results = viz.ordered(_check_results(results), self.order)
        text, length = results[0].text, results[0].length
        if walkthrough is not None:
            self._walkthroughs[text] = dict(walkthrough)
        spec = export.explorer_spec(results, position=position, walkthrough=self._walkthroughs.get(text))
        steps, position = spec.steps, spec.position
        lo, hi = spec.hero[:2] if spec.hero else (0, length - 1)
        self._ready = False
        for link in self._links:
            link.unlink()
        self._links = []
        self.results = results
        self.play.playing = False
        self.play.min, self.play.max = 0, max(hi, 1)  # widen first so that the new min is valid
        self.play.min, self.play.value = lo, lo
        self.slider.max = length - 1
        self.slider.value = position
        self._steps = steps
        self.walkthrough.children = [widgets.Label(spec.label)] + [self._jump_button(i, c) for i, c in steps.items()]
        self.walkthrough.layout.display = None if steps else "none"
        self.text.value = text.strip()  # the box shows the (normalised) text being drawn
        first = getattr(self, "_first_results", results)
        self.back_button.layout.display = "none" if results[0].text == first[0].text else None
        if self.renderer == "vega":
            state = export.explorer_state(
                self.results, position=position, order=None, width=self.width, walkthrough=steps
            )
            self._view = ExplorerView(state)
            # In the browser, with no kernel round trip: the slider follows the pointer and the keys,
            # the view follows the slider, and Play stops when the reader points. (Play's frames go
            # through the kernel, _on_play: a browser link would copy Play's value, the animation's
            # first frame, onto the slider as soon as it is made.)
            self._links = [
                widgets.jslink((self.slider, "value"), (self._view, "position")),
                widgets.jslink((self.play, "playing"), (self._view, "playing")),
            ]
            self._view.observe(self._on_view_position, names="position")
            self._view.observe(self._on_view_playing, names="playing")
            self.chart_area.children = [self._view]
        else:
            self._draw = export.explorer_svg_frames(self.results, position=position, width=self.width, order=None)
            self._image = widgets.Image(format="svg+xml")
            self.chart_area.children = [self._image]
        self._ready = True
        self._on_position()

    def _on_play(self, change) -> None:
        if self._ready:
            self.slider.value = change["new"]

    def _on_playing(self, change) -> None:
        """Play pressed: resume from the reader's position when it lies in the animation's range."""
        if change["new"] and self.play.min <= self.position <= self.play.max:
            self.play.value = self.position
        if self.renderer == "vega" and not _from_browser(self.play, "playing"):
            self._view.playing = change["new"]

    def _on_view_playing(self, change) -> None:
        if not _from_browser(self._view, "playing"):
            self.play.playing = change["new"]

    def _on_view_position(self, change) -> None:
        if self._ready and not _from_browser(self._view, "position"):
            self.slider.value = change["new"]

    def _on_position(self, change=None) -> None:
        """Slider moved: update the labels and the view (in ``svg`` mode: redraw)."""
        if not self._ready:
            return
        p, first = self.position, self.results[0]
        self.status.value = f"{p}: {first.text[p]!r}, target “{first.targets[p]}”"
        self.caption.value = walkthrough.caption_html(self._steps.get(p, ""))
        if self.renderer == "svg":
            self._image.value = self._draw(p).encode()
        elif not _from_browser(self.slider, "value"):
            self._view.position = p

    def _on_compute(self, _button=None) -> None:
        """Compute the box's text; ``compute`` may return a list or yield one result per model (then
        the progress bar counts the models as they finish)."""
        self.compute_button.disabled = True
        self.status.value = f"computing the connectivity of {len(self.text.value)} characters…"
        self.progress.layout.display, self.progress.value, self.progress.max = None, 0, max(1, len(self.results))
        try:
            results = []
            for result in self.compute(self.text.value):  # type: ignore[misc]  # the button exists only with compute
                results.append(result)
                self.progress.value = len(results)
                self.status.value = f"computed {len(results)} of {self.progress.max} models…"
            self.set_results(results)
        except Exception as error:  # shown to the reader instead of lost in the kernel log
            self.status.value = f"could not compute: {error}"
        finally:
            self.compute_button.disabled = False
            self.progress.layout.display = "none"

    # -- what is drawn -------------------------------------------------------------------------

    def static_chart(self) -> alt.VConcatChart:
        """The static twin of what is drawn now (the same panels at :attr:`position`), for saved
        notebooks: ``widgets.show(explorer.static_chart())``."""
        return viz.connectivity_panels(self.results, self.position, order=None, width=self.width)

    def current_frame(self) -> pd.DataFrame:
        """The data drawn at :attr:`position`: :func:`viz.connectivity_frame` of every model, with ``model``."""
        return pd.concat(
            [viz.connectivity_frame(r, self.position).assign(model=r.model) for r in self.results], ignore_index=True
        )

    @property
    def steps(self) -> dict[int, str]:
        """The walkthrough of the text shown: ``position -> caption`` (empty when it has none)."""
        return dict(self._steps)

    @property
    def chart(self) -> ExplorerView | widgets.Image:
        """The widget that draws the panels (ExplorerView in ``vega`` mode, Image in ``svg`` mode)."""
        return self._view if self.renderer == "vega" else self._image


class AutocompleteDemo(anywidget.AnyWidget):
    """The article's autocomplete demo, live: type, and every model suggests the word being typed.

    A text box (in the browser); at every keystroke each model reads the text (the kernel runs
    :func:`memviz.analysis.autocomplete.suggest`: no recompilation as the text grows, the lengths are
    bucketed) and the view shows, per model in the article's layout, the text with the connectivity
    of its last output (green), the output layer compressed into a strip, and the top-k words
    ``word (xx.xx%)``. Keystrokes are coalesced (one request in flight; the newest text goes next).

    Args:
      models: ``{display name: model}``, e.g. ``{run.name: run.model for run in runs.values()}``; any
        :class:`~memviz.models.protocol.CharacterModel` (a Transformer, flax's ``nnx.RNN``, a plain function).
      vocab: the models' vocabulary.
      text: the first text shown (the article's demo types "parts of north af").

    State: ``text`` (the box), ``suggestions`` (one :class:`~memviz.core.results.Suggestions` per model),
    ``compute_ms`` (the kernel's time for the last text), ``static_chart()`` (the static twin).
    """

    _css = f"""
    .memviz-autocomplete {{ font-family: {style.SANS}; font-size: 13px; max-width: 700px; }}
    .memviz-autocomplete-input {{ font: 15px {style.MONOSPACE}; width: 460px; padding: 4px 6px; }}
    .memviz-autocomplete-timing {{ color: {style.FAINT_TEXT}; margin-left: 10px; font-size: 12px; }}
    .memviz-autocomplete-row {{ margin: 10px 0 4px; }}
    .memviz-autocomplete-name {{ font-weight: bold; margin-bottom: 2px; }}
    .memviz-autocomplete-text {{ font: {style.CHAR_FONT_SIZE}px {style.MONOSPACE}; color: {style.PANEL_TEXT};
      background: {style.PANEL_BACKGROUND}; padding: 4px 6px; border-radius: 3px; white-space: pre-wrap;
      word-break: break-all; }}
    .memviz-autocomplete-strip {{ display: flex; height: 10px; margin: 3px 0; }}
    .memviz-autocomplete-strip span {{ flex: 1; }}
    .memviz-autocomplete-words {{ display: flex; gap: 6px; }}
    .memviz-autocomplete-word {{ flex: 1; background: {style.PREDICTION_FILL}; color: {style.PREDICTION_TEXT};
      padding: 3px 6px; border-radius: 2px; }}
    """
    text = traitlets.Unicode("").tag(sync=True)
    request = traitlets.Dict().tag(sync=True)  # {seq, text}: set by the browser at a keystroke
    result = traitlets.Dict().tag(sync=True)  # what the browser draws

    def __init__(
        self,
        models: Mapping[str, CharacterModel],
        vocab,
        *,
        text: str = "parts of north af",
        k: int = 3,
        order: Sequence[str] | None = style.ARTICLE_ORDER,
    ):
        if not models:
            raise ValueError("need at least one model")
        if "_esm" not in type(self).__dict__:
            type(self)._esm = frontend.widget_module("autocomplete", vega=False)
        self._models = dict(in_order(models.items(), order, lambda item: item[0]))
        self._vocab, self._k = vocab, k
        self.suggestions: list[Suggestions] = []
        self.compute_ms = 0.0
        super().__init__(text=text)
        self.update(text)

    @traitlets.observe("request")
    def _on_request(self, change) -> None:
        self.update(change["new"].get("text", ""), seq=int(change["new"].get("seq", 0)))

    @traitlets.observe("text")
    def _on_text(self, change) -> None:
        if not _from_browser(self, "text"):
            self.update(change["new"])

    def update(self, text: str, *, seq: int = 0) -> None:
        """Suggest for ``text`` and send the view its panels (``seq``: the browser's request number)."""
        start = time.perf_counter()
        try:
            self.suggestions = autocomplete.suggest_all(self._models, text, self._vocab, k=self._k)
        except Exception as error:  # shown in the widget instead of lost in the kernel log
            self.result = {"seq": seq, "error": f"could not suggest: {error}"}
            return
        self.compute_ms = 1000 * (time.perf_counter() - start)
        colours = style.model_colours(list(self._models))
        self.result = {
            "seq": seq,
            "text": self.suggestions[0].text,
            "compute_ms": round(self.compute_ms, 1),
            "panels": [_autocomplete_panel(s, colours[s.model]) for s in self.suggestions],
        }

    def static_chart(self) -> alt.VConcatChart:
        """The static twin (drawn in the kernel, kept in a saved notebook): ``widgets.show(demo.static_chart())``."""
        return viz.autocomplete_panels(self.suggestions, order=None)


def _autocomplete_panel(s: Suggestions, colour: str) -> dict:
    """One model's row of the demo, as plain JSON for ``autocomplete.js``."""
    strip = autocomplete.output_strip(s.output)
    peak = float(strip.max()) or 1.0
    ratio = s.normalized()
    return {
        "model": s.model,
        "colour": colour,
        "typed": s.typed,
        "chars": [[c, style.connectivity_colour(r)] for c, r in zip(s.text, ratio)],
        "suggestions": [[w, style.percent(p)] for w, p in zip(s.words, s.probs)],
        "strip": [style.output_strip_colour(v / peak) for v in strip],
    }
