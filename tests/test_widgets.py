"""memviz.widgets: the explorer's wiring (slider, walkthrough, play, own text) and what it draws."""

from unittest import mock

import altair as alt
import numpy as np
import pytest

from memviz import export, reference, viz, widgets
from memviz.results import ConnectivityResult


def synthetic(text: str, model: str, seed: int = 0) -> ConnectivityResult:
    rng = np.random.default_rng(seed)
    n = len(text)
    return ConnectivityResult(
        model=model, text=text, targets=tuple(f"t{t}" for t in range(n)), raw=np.tril(rng.uniform(0.1, 5, (n, n))),
        top_words=tuple((f"w{t}a", f"w{t}b", f"w{t}c") for t in range(n)), top_probs=np.tile([0.5, 0.2, 0.1], (n, 1)),
    )


def fake_compute(text: str) -> list[ConnectivityResult]:
    """Stands in for the model: lower-cases, prepends a space, rejects digits."""
    if any(c.isdigit() for c in text):
        raise ValueError("only a-z and space")
    text = " " + text.lower()
    return [synthetic(text, "GRU", 1), synthetic(text, "LSTM", 2)]


@pytest.fixture(scope="module")
def explorer():
    return widgets.ConnectivityExplorer(reference.connectivities(), compute=fake_compute)


def frame_of(explorer, model):
    frame = explorer.current_frame()
    return frame[frame.model == model].reset_index(drop=True)


def test_starts_at_the_article_default(explorer):
    assert explorer.position == 106 == explorer.chart.params.position
    assert isinstance(explorer.chart, alt.JupyterChart) and alt.JupyterChart._is_offline
    assert explorer.slider.max == 197 and "learning" in explorer.status.value
    assert explorer.walkthrough.layout.display is None  # the article's text: walkthrough shown


def test_slider_drives_the_drawn_position(explorer):
    explorer.slider.value = 32
    assert explorer.chart.params.position == 32  # the Vega param the browser draws from
    gru = reference.connectivity("GRU")
    np.testing.assert_allclose(frame_of(explorer, "GRU").ratio, gru.normalized()[32])
    assert frame_of(explorer, "LSTM").selected.idxmax() == 32
    drawn = explorer.current_chart().to_dict()
    labels = {row["label"] for table in drawn["datasets"].values() for row in table if "label" in row}
    assert {"grammar (36.40%)", "grammatical (36.80%)", "grammy (16.10%)"} <= labels
    assert "32: 'm'" in explorer.status.value and explorer.caption.value == reference.WALKTHROUGH[32]
    explorer.chart.params.position = 141.0  # moved in the browser: comes back as a float
    assert explorer.position == 141


def test_slider_steps_reach_the_chart(explorer):
    for p in range(0, 198, 2):  # how long this takes: benchmarks/widget_latency.py
        explorer.slider.value = p
        assert explorer.chart.params.position == p


def test_walkthrough_buttons(explorer):
    buttons = {b.description: b for b in explorer.walkthrough.children[1:]}
    assert list(buttons) == ["106", "32", "159", "162", "141"]
    buttons["159"].click()
    assert explorer.position == 159 == explorer.chart.params.position
    assert explorer.caption.value == reference.WALKTHROUGH[159]
    assert buttons["141"].tooltip == reference.WALKTHROUGH[141]


def test_play_is_the_hero_animation(explorer):
    assert (explorer.play.min, explorer.play.max) == reference.HERO_RANGE and explorer.play.interval == 200
    explorer.play.value = 20
    assert explorer.position == 20 == explorer.chart.params.position
    explorer.slider.value = 150  # outside the play range: allowed, play keeps its own value
    assert explorer.position == 150 and explorer.play.value == 20


def test_static_twin(explorer):
    explorer.slider.value = 162
    static = explorer.static_chart().to_dict()
    assert "Output position 162" in static["title"]["text"]
    assert len(static["vconcat"]) == 3


def test_compute_swaps_in_the_readers_text():
    explorer = widgets.ConnectivityExplorer(reference.connectivities(), compute=fake_compute)
    first_chart = explorer.chart
    explorer.text.value = "Hello World"
    explorer.compute_button.click()
    assert [r.model for r in explorer.results] == ["LSTM", "GRU"]  # the article's order
    assert explorer.results[0].text == " hello world" and explorer.text.value == "hello world"
    explorer.set_results(fake_compute("good day"))  # set from code: the box follows the text shown
    assert explorer.text.value == "good day"
    explorer.set_results(fake_compute("hello world"))
    assert explorer.slider.max == 11 and explorer.position == 11  # last character by default
    assert explorer.walkthrough.layout.display == "none" and explorer.caption.value == ""
    assert (explorer.play.min, explorer.play.max) == (0, 11)
    assert explorer.chart is not first_chart
    explorer.slider.value = 3  # the new chart is linked, the old one is not
    assert explorer.chart.params.position == 3 and first_chart.params.position != 3
    np.testing.assert_allclose(frame_of(explorer, "LSTM").ratio, explorer.results[0].normalized()[3])
    explorer.text.value = "route 66"
    explorer.compute_button.click()
    assert "could not compute: only a-z" in explorer.status.value
    assert explorer.results[0].text == " hello world"  # the old results stay


def test_own_text_box_only_with_compute():
    results = [synthetic(" a b", "GRU")]
    hidden = widgets.ConnectivityExplorer(results, renderer="svg")
    own_text_row = hidden.children[3]
    assert own_text_row.layout.display == "none" and hidden.text in own_text_row.children


def test_svg_renderer_redraws_each_position():
    explorer = widgets.ConnectivityExplorer(fake_compute("the cat sat"), renderer="svg")
    assert isinstance(explorer.chart, widgets.widgets.Image) and explorer.chart.format == "svg+xml"
    assert b"w11a (50.00%)" in bytes(explorer.chart.value)
    explorer.slider.value = 4  # how long the redraw takes: benchmarks/widget_latency.py
    svg = bytes(explorer.chart.value).decode()
    assert svg.startswith("<svg") and "w4a (50.00%)" in svg and "w11a (50.00%)" not in svg


def test_hero_figure():
    hero = [viz.crop(r, reference.HERO_LENGTH) for r in reference.connectivities()]
    assert hero[0].text == reference.SAMPLE_TEXT[:70] and hero[0].raw.shape == (70, 70)
    np.testing.assert_allclose(hero[0].normalized()[28], reference.connectivity("GRU").normalized()[28, :70])
    explorer = widgets.ConnectivityExplorer(hero, renderer="svg")
    assert [r.model for r in explorer.results] == ["Nested LSTM", "LSTM", "GRU"]
    assert explorer.position == 12 and (explorer.play.min, explorer.play.max) == reference.HERO_RANGE
    assert explorer.walkthrough.layout.display == "none"  # 106 etc. are not in the first 70 characters
    explorer.play.value = 28
    assert "the (29.40%)" in bytes(explorer.chart.value).decode()  # GRU at the space before "grammar"


def test_show_and_setup_offline():
    chart = viz.connectivity_strip(synthetic(" hi", "GRU"), 1)
    with mock.patch("IPython.display.display") as display:
        widgets.show(chart)
        widgets.show(chart, "png")
    svg, png = (call.args[0] for call in display.call_args_list)
    assert svg.data.startswith("<svg") and "w1a (50.00%)" in svg.data
    assert png.data[:4] == b"\x89PNG"
    with pytest.raises(ValueError):
        widgets.show(chart, "gif")
    previous = alt.renderers.active
    try:
        widgets.setup_offline()
        assert alt.renderers.active == "svg" and alt.JupyterChart._is_offline
    finally:
        alt.renderers.enable(previous)


def test_rejects_mixed_texts():
    with pytest.raises(ValueError, match="same text"):
        widgets.ConnectivityExplorer([synthetic(" a", "GRU"), synthetic(" b", "LSTM")], renderer="svg")
    with pytest.raises(ValueError, match="renderer"):
        widgets.ConnectivityExplorer([synthetic(" a", "GRU")], renderer="canvas")
    assert export.POSITION_PARAM == "position"
