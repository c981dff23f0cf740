"""Interactive views for the notebooks: ipywidgets wired to the pure charts of :mod:`memviz.viz`.

What renders offline in JupyterLab (see ``notes/jupyterlab-rendering`` in the project notes): the
default Altair renderer and ``alt.JupyterChart`` without ``enable_offline()`` load Vega from a CDN
and stay blank; the ``svg``/``png`` renderers (vl-convert, in the kernel) and an offline
``alt.JupyterChart`` do render. Hence:

* :func:`setup_offline` turns on both; :func:`show` draws any chart as SVG/PNG in the kernel, which
  also stays visible in a saved notebook.
* :class:`ConnectivityExplorer` draws :func:`memviz.export.explorer_chart` (every position in its
  data) in an offline ``alt.JupyterChart`` whose ``position`` param is linked to an ``IntSlider``;
  moving the slider only changes that param, and Vega recolours in the browser (no re-render in the
  kernel). ``renderer="svg"`` instead re-draws an SVG in the kernel per position (any frontend, slower).
  :meth:`ConnectivityExplorer.static_chart` is the static twin for saved notebooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import altair as alt
import ipywidgets as widgets
import pandas as pd

from memviz import export, reference, viz, walkthrough
from memviz.results import ConnectivityResult


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


def _is_article(results: Sequence[ConnectivityResult]) -> bool:
    """True when every result is one of the article's published connectivities (not the reader's models)."""
    published = {id(r) for r in reference.connectivities()}
    return all(id(r) in published for r in results)


class ConnectivityExplorer(widgets.VBox):
    """The article's connectivity figure as a widget: slider, walkthrough, hero animation, own text.

    Args:
      results: one :class:`ConnectivityResult` per model, all for the same text, drawn in ``order``
        (default: the article's Nested LSTM, LSTM, GRU, then other models as given; None: as given).
      compute: optional ``text -> results``; when given, a text box and a button compute the
        connectivity of the reader's own text (once per text) and swap it in.
      renderer: ``"vega"`` (offline JupyterChart; the slider drives a Vega param) or ``"svg"``
        (an SVG drawn by vl-convert in the kernel for every position).
      walkthrough: optional ``position -> caption`` for this text's walkthrough buttons (e.g.
        ``memviz.walkthrough.captions(steps)``); the explorer opens on its first position. Default:
        the article's walkthrough when ``results`` are the article's published models on its sample
        sentence (labelled as the article's), else none.

    State: ``position`` (the slider's value), ``results``, ``current_chart()`` (static chart of what
    is drawn), ``current_frame()`` (its data).
    """

    def __init__(
        self,
        results: Sequence[ConnectivityResult],
        compute: Callable[[str], Sequence[ConnectivityResult]] | None = None,
        *,
        position: int | None = None,
        order: Sequence[str] | None = viz.ARTICLE_ORDER,
        renderer: str = "vega",
        width: int = viz.STRIP_WIDTH,
        walkthrough: Mapping[int, str] | None = None,
    ):
        if renderer not in ("vega", "svg"):
            raise ValueError(f"renderer must be 'vega' or 'svg', not {renderer!r}")
        if renderer == "vega":
            alt.JupyterChart.enable_offline()  # once per kernel; without it JupyterLab offline shows nothing
        self.renderer, self.compute, self.order, self.width = renderer, compute, order, width
        self.slider = widgets.IntSlider(description="output position", continuous_update=True,
                                        style={"description_width": "initial"}, layout={"width": "420px"})
        # The hero figure's animation (spec §4.4): Play drives the slider one way, so moving the
        # slider outside the play range does not fight the Play widget's bounds.
        self.play = widgets.Play(interval=reference.HERO_INTERVAL_MS, step=1, repeat=True, description="animate")
        self._ready = False  # False while set_results rewires, so intermediate values draw nothing
        self.play.observe(self._on_play, names="value")
        self.status = widgets.Label()
        self.caption = widgets.HTML(layout={"width": "100%"})  # HTML wraps long captions; a Label does not
        self.walkthrough = widgets.HBox([widgets.Label("walkthrough:")])
        self._walkthroughs: dict[str, dict[int, str]] = {}  # text -> position -> caption
        self.text = widgets.Text(placeholder="your own text (a-z and space)", layout={"width": "420px"})
        self.compute_button = widgets.Button(description="compute", tooltip="compute connectivity for this text")
        self.compute_button.on_click(self._on_compute)
        own_text = widgets.HBox([self.text, self.compute_button], layout={"display": None if compute else "none"})
        self.chart_area = widgets.Box()
        self._param_link = None
        self.slider.observe(self._on_position, names="value")
        super().__init__([widgets.HBox([self.play, self.slider, self.status]), self.walkthrough, self.caption,
                          own_text, self.chart_area])
        self.set_results(results, position=position, walkthrough=walkthrough)

    # -- wiring --------------------------------------------------------------------------------

    def _jump_button(self, index: int, caption: str) -> widgets.Button:
        button = widgets.Button(description=str(index), tooltip=caption, layout={"width": "56px"})
        button.on_click(lambda _: setattr(self.slider, "value", index))
        return button

    @property
    def position(self) -> int:
        return int(self.slider.value)

    @position.setter
    def position(self, value: int) -> None:
        self.slider.value = int(value)

    def set_results(
        self, results: Sequence[ConnectivityResult], *, position: int | None = None,
        walkthrough: Mapping[int, str] | None = None,
    ) -> None:
        """Swap in new results (e.g. another text); the chart's data is built once here. A ``walkthrough``
        given for a text (here or to the constructor) comes back whenever that text is shown again."""
        results = viz.ordered(_check_results(results), self.order)
        text, length = results[0].text, results[0].length
        if walkthrough is not None:
            self._walkthroughs[text] = dict(walkthrough)
        elif text not in self._walkthroughs and _is_article(results):
            self._walkthroughs[text] = dict(reference.WALKTHROUGH)
        steps = self._walkthroughs.get(text, {})
        hero = reference.SAMPLE_TEXT.startswith(text) and length > reference.HERO_RANGE[1]
        lo, hi = reference.HERO_RANGE if hero else (0, length - 1)
        if position is None:  # the walkthrough's first step; the hero's first frame; else the last character
            position = next(iter(steps)) if steps else lo if hero else length - 1
        position = min(max(int(position), 0), length - 1)
        self._ready = False
        if self._param_link is not None:
            self._param_link.unlink()
            self._param_link = None
        self.results = results
        self.play.min, self.play.max = 0, max(hi, 1)  # widen first so that the new min is valid
        self.play.min, self.play.value = lo, lo
        self.slider.max = length - 1
        self.slider.value = position
        self._steps = steps
        label = "the article's walkthrough (its models, text8):" if steps == reference.WALKTHROUGH else "walkthrough:"
        self.walkthrough.children = [widgets.Label(label)] + [self._jump_button(i, c) for i, c in steps.items()]
        self.walkthrough.layout.display = None if steps else "none"
        self.text.value = text.strip()  # the box shows the (normalised) text being drawn
        if self.renderer == "vega":
            self._chart = alt.JupyterChart(
                export.explorer_chart(self.results, position=position, bind=False, width=self.width)
            )
            # Both ways: the slider moves the param, and a param set in the browser moves the slider.
            self._param_link = widgets.link((self.slider, "value"), (self._chart.params, export.POSITION_PARAM))
            self.chart_area.children = [self._chart]
        else:
            self._draw = export.explorer_svg_frames(self.results, position=position, width=self.width)
            self._image = widgets.Image(format="svg+xml")
            self.chart_area.children = [self._image]
        self._ready = True
        self._on_position()

    def _on_play(self, change) -> None:
        if self._ready:
            self.slider.value = change["new"]

    def _on_position(self, change=None) -> None:
        """Slider moved: update the labels, and in ``svg`` mode redraw (``vega`` mode: the param link)."""
        if not self._ready:
            return
        p, first = self.position, self.results[0]
        self.status.value = f"{p}: {first.text[p]!r}, target “{first.targets[p]}”"
        self.caption.value = walkthrough.caption_html(self._steps.get(p, ""))
        if self.renderer == "svg":
            self._image.value = self._draw(p).encode()

    def _on_compute(self, _button=None) -> None:
        self.status.value, self.compute_button.disabled = "computing…", True
        try:
            self.set_results(self.compute(self.text.value))
        except Exception as error:  # shown to the reader instead of lost in the kernel log
            self.status.value = f"could not compute: {error}"
        finally:
            self.compute_button.disabled = False

    # -- what is drawn -------------------------------------------------------------------------

    def current_chart(self) -> alt.VConcatChart:
        """The static chart of what is drawn now (the same panels, drawn for :attr:`position`)."""
        return viz.connectivity_panels(self.results, self.position, width=self.width)

    def static_chart(self) -> alt.VConcatChart:
        """Static twin for saved notebooks: ``widgets.show(explorer.static_chart())``."""
        return self.current_chart()

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
    def chart(self) -> alt.JupyterChart | widgets.Image:
        """The widget that draws the panels (JupyterChart in ``vega`` mode, Image in ``svg`` mode)."""
        return self._chart if self.renderer == "vega" else self._image
