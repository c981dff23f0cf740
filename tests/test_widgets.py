"""memviz.frontend.widgets: the explorer's wiring (slider, walkthrough, play, own text) and what it draws."""

from unittest import mock

import altair as alt
import numpy as np
import pytest

from memviz import viz
from memviz.core.results import ConnectivityResult
from memviz.data import reference
from memviz.frontend import export, widgets
from memviz.viz import style


def synthetic(text: str, model: str, seed: int = 0) -> ConnectivityResult:
    rng = np.random.default_rng(seed)
    n = len(text)
    return ConnectivityResult(
        model=model,
        text=text,
        targets=tuple(f"t{t}" for t in range(n)),
        raw=np.tril(rng.uniform(0.1, 5, (n, n))),
        top_words=tuple((f"w{t}a", f"w{t}b", f"w{t}c") for t in range(n)),
        top_probs=np.tile([0.5, 0.2, 0.1], (n, 1)),
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
    assert explorer.position == 106 == explorer.chart.position
    assert isinstance(explorer.chart, widgets.ExplorerView)
    assert "window.vegaEmbed=" in explorer.chart._esm and "renderExplorer" in explorer.chart._esm  # offline bundle
    assert explorer.chart.info["walkthrough"][0][0] == 106 and explorer.chart.info["hero"] == [12, 35, 70]
    assert explorer.slider.max == 197 and "learning" in explorer.status.value
    assert explorer.walkthrough.layout.display is None  # the article's text: walkthrough shown


def test_slider_drives_the_drawn_position(explorer):
    explorer.slider.value = 32
    assert explorer.chart.position == 32  # the Vega signal the browser draws from
    gru = reference.connectivity("GRU")
    np.testing.assert_allclose(frame_of(explorer, "GRU").ratio, gru.normalized()[32])
    assert frame_of(explorer, "LSTM").selected.idxmax() == 32
    drawn = explorer.static_chart().to_dict()
    labels = {row["label"] for table in drawn["datasets"].values() for row in table if "label" in row}
    assert {"grammar (36.40%)", "grammatical (36.80%)", "grammy (16.10%)"} <= labels
    assert "32: 'm'" in explorer.status.value and explorer.caption.value == reference.WALKTHROUGH[32]
    explorer.chart.position = 141  # set from code on the view: the slider follows
    assert explorer.position == 141


def test_changes_from_the_browser_are_not_sent_back(explorer):
    """The browser's links already moved the slider: the kernel must not echo a maybe-stale value."""
    sent = []
    with mock.patch.object(type(explorer.chart), "send_state", lambda self, key=None: sent.append(key)):
        explorer.chart.set_state({"position": 50})  # as the comm does when the reader points at 50
        assert explorer.chart.position == 50 and sent == []
        explorer.slider.set_state({"value": 51})  # the browser's jslink moved the slider too
        assert explorer.position == 51 and explorer.chart.position == 50 and sent == []
        explorer.slider.value = 60  # from code: the view must follow
        assert explorer.chart.position == 60 and sent


def test_walkthrough_buttons(explorer):
    buttons = {b.description: b for b in explorer.walkthrough.children[1:]}
    assert list(buttons) == ["106", "32", "159", "162", "141"]
    buttons["159"].click()
    assert explorer.position == 159 == explorer.chart.position
    assert explorer.caption.value == reference.WALKTHROUGH[159]
    assert buttons["141"].tooltip == reference.WALKTHROUGH[141]


def test_play_is_the_hero_animation(explorer):
    assert (explorer.play.min, explorer.play.max) == reference.HERO_RANGE and explorer.play.interval == 200
    explorer.play.value = 20
    assert explorer.position == 20 == explorer.chart.position
    explorer.slider.value = 150  # outside the play range: allowed, play keeps its own value
    assert explorer.position == 150 and explorer.play.value == 20
    explorer.play.playing = True  # resumes from its last frame: the reader is outside the range
    assert explorer.play.value == 20 and explorer.chart.playing  # the view shows the hero crop
    explorer.play.playing = False
    explorer.slider.value = 30
    explorer.play.playing = True  # inside the range: resumes from where the reader is
    assert explorer.play.value == 30
    explorer.play.playing = False


def test_order_none_keeps_the_order_given():
    given = [r for r in reference.connectivities() if r.model != "LSTM"]
    assert [r.model for r in given] == ["GRU", "Nested LSTM"]  # not the article's order
    explorer = widgets.ConnectivityExplorer(given, order=None, renderer="svg")
    assert [r.model for r in explorer.results] == ["GRU", "Nested LSTM"]

    def names(spec):
        return [
            layer["mark"]["text"]
            for panel in spec["vconcat"]
            for layer in panel["layer"]
            if layer["mark"].get("fontWeight") == "bold"
        ]

    assert names(explorer.static_chart().to_dict()) == ["GRU", "Nested LSTM"]
    assert "GRU" in bytes(explorer.chart.value).decode().split("Nested LSTM")[0]  # the SVG draws GRU first
    view = widgets.ConnectivityExplorer(given, order=None)
    assert names(view.chart.spec) == ["GRU", "Nested LSTM"]
    assert names(widgets.ConnectivityExplorer(given).chart.spec) == ["Nested LSTM", "GRU"]  # default: the article's


def test_static_twin(explorer):
    explorer.slider.value = 162
    static = explorer.static_chart().to_dict()
    assert "Output position 162" in static["title"]["text"]
    assert len(static["vconcat"]) == 3
    assert not hasattr(explorer, "current_chart")  # one name for it


def test_compute_swaps_in_the_readers_text():
    explorer = widgets.ConnectivityExplorer(reference.connectivities(), compute=fake_compute)
    first_chart = explorer.chart
    assert explorer.back_button.layout.display == "none"  # already showing the first text
    explorer.text.value = "Hello World"
    explorer.compute_button.click()
    assert [r.model for r in explorer.results] == ["LSTM", "GRU"]  # the article's order
    assert explorer.back_button.layout.display is None and explorer.progress.layout.display == "none"
    assert explorer.results[0].text == " hello world" and explorer.text.value == "hello world"
    explorer.set_results(fake_compute("good day"))  # set from code: the box follows the text shown
    assert explorer.text.value == "good day"
    explorer.set_results(fake_compute("hello world"))
    assert explorer.slider.max == 11 and explorer.position == 11  # last character by default
    assert explorer.walkthrough.layout.display == "none" and explorer.caption.value == ""
    assert (explorer.play.min, explorer.play.max) == (0, 11)
    assert explorer.chart is not first_chart
    explorer.slider.value = 3  # the new chart is linked, the old one is not
    assert explorer.chart.position == 3 and first_chart.position != 3
    np.testing.assert_allclose(frame_of(explorer, "LSTM").ratio, explorer.results[0].normalized()[3])
    explorer.text.value = "route 66"
    explorer.compute_button.click()
    assert "could not compute: only a-z" in explorer.status.value
    assert explorer.results[0].text == " hello world"  # the old results stay
    explorer.back_button.click()  # back to the walkthrough text
    assert explorer.results[0].text == reference.SAMPLE_TEXT and explorer.position == 106
    assert explorer.walkthrough.layout.display is None and explorer.back_button.layout.display == "none"


def test_compute_reports_progress_per_model():
    seen = []
    explorer = widgets.ConnectivityExplorer(
        fake_compute("a b"),
        compute=lambda text: (seen.append(explorer.progress.value) or r for r in fake_compute(text)),
    )
    explorer.text.value = "one two"
    explorer.compute_button.click()
    assert seen == [0, 1] and explorer.results[0].text == " one two" and "computed 2 of 2" not in explorer.status.value


def test_own_text_box_only_with_compute():
    results = [synthetic(" a b", "GRU")]
    hidden = widgets.ConnectivityExplorer(results, renderer="svg")
    own_text_row = hidden.children[3]
    assert own_text_row.layout.display == "none" and hidden.text in own_text_row.children


def test_svg_renderer_redraws_each_position():
    explorer = widgets.ConnectivityExplorer(fake_compute("the cat sat"), renderer="svg")
    assert isinstance(explorer.chart, widgets.widgets.Image) and explorer.chart.format == "svg+xml"
    assert b"w11a (50.00%)" in bytes(explorer.chart.value)
    explorer.slider.value = 4
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
    assert viz.POSITION_PARAM == "position"


def test_explorer_state_for_the_script():
    results = fake_compute("the cat sat on the mat")
    state = export.explorer_state(results, position=5)
    assert state["position"] == 5 and not state["pinned"] and not state["playing"]
    info = state["info"]
    assert info["length"] == 23 and info["hero"] is None and info["walkthrough"] == [] and not info["controls"]
    assert len(info["lines"]) == len(info["cols"]) == 23 and info["cols"][:3] == [0, 1, 2]
    params = {p["name"]: p["value"] for p in state["spec"]["params"]}
    assert params == {"position": 5, "pinned": False, "shown": 23}
    sample = export.explorer_state(reference.connectivities(), controls=True)
    assert sample["info"]["hero"] == [12, 35, 70] and sample["info"]["controls"] and sample["position"] == 106
    assert [k for k, _ in sample["info"]["walkthrough"]] == [106, 32, 159, 162, 141]  # the article's order
    assert sample["info"]["walkthrough_label"].startswith("the article's walkthrough")  # labelled as the article's


def test_widget_and_page_open_on_the_same_spec():
    """One spec for both explorers: the same walkthrough, label and first position, and the same error out of range."""
    own = fake_compute("the cat sat on the mat")
    cases = [(reference.connectivities(), None), (own, None), (own, {4: "four", 9: "nine"})]
    for results, steps in cases:
        widget = widgets.ConnectivityExplorer(results, walkthrough=steps, renderer="svg")
        state = export.explorer_state(results, walkthrough=steps)
        assert widget.position == state["position"]
        assert dict(widget._steps) == {int(k): c for k, c in state["info"]["walkthrough"]}
        assert widget.walkthrough.children[0].value == state["info"]["walkthrough_label"].strip()
    assert export.explorer_state(own)["position"] == 22  # no walkthrough, no hero: the last character
    for position in (23, -1):
        with pytest.raises(ValueError, match="position"):
            export.explorer_state(own, position=position)
        with pytest.raises(ValueError, match="position"):
            widgets.ConnectivityExplorer(own, position=position, renderer="svg")
    widget = widgets.ConnectivityExplorer(reference.connectivities(), renderer="svg")
    widget.set_results(own)
    widget.set_results(reference.connectivities())  # the article's text again: its walkthrough, labelled as its
    assert widget.walkthrough.children[0].value.startswith("the article's walkthrough") and widget.position == 106


def test_autocomplete_demo_answers_each_request():
    from flax import nnx

    from memviz import data
    from memviz.analysis import autocomplete
    from memviz.models.model import AutocompleteModel, ModelConfig

    vocab = data.Vocabulary(("<eos>", "<unknown>", *(f"w{i}" for i in range(20))))
    config = ModelConfig(cell="gru", num_layers=1, hidden_features=8, embedding_features=6, num_words=len(vocab))
    models = {
        "GRU": AutocompleteModel(config, rngs=nnx.Rngs(0)),
        "Nested LSTM": AutocompleteModel(config, rngs=nnx.Rngs(1)),
    }
    demo = widgets.AutocompleteDemo(models, vocab, text="a b")
    assert "renderAutocomplete" in demo._esm and "window.vegaEmbed" not in demo._esm  # no Vega needed
    assert [p["model"] for p in demo.result["panels"]] == ["Nested LSTM", "GRU"]  # the article's order
    demo.request = {"seq": 4, "text": "Parts of no"}  # as the browser sends a keystroke
    expected = autocomplete.suggest(models["GRU"], "parts of no", vocab)
    panel = demo.result["panels"][1]
    assert demo.result["seq"] == 4 and demo.result["text"] == " parts of no" and panel["typed"] == "no"
    assert panel["suggestions"][0] == [expected.words[0], f"{100 * expected.probs[0]:.2f}%"]
    assert [c for c, _ in panel["chars"]] == list(" parts of no") and len(panel["strip"]) == 22  # fewer words than bins
    assert [colour for _, colour in panel["chars"]] == [style.connectivity_colour(r) for r in expected.normalized()]
    demo.text = "a cat "  # set from code: answered at once
    assert demo.result["text"] == " a cat " and demo.suggestions[0].typed == ""
    assert "a cat" in demo.static_chart().to_dict()["title"]["text"]
    with mock.patch.object(autocomplete, "suggest_all", side_effect=RuntimeError("boom")):
        demo.request = {"seq": 5, "text": "x"}
    assert demo.result == {"seq": 5, "error": "could not suggest: boom"}
