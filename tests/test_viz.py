"""memviz.viz / memviz.frontend.export: colours, chart data (read back from the spec), files, standalone HTML."""

import json
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

from memviz import viz
from memviz.core.results import AccuracyCurve, ConnectivityResult
from memviz.data import reference
from memviz.frontend import export
from memviz.viz import style

NASTY = " <script>alert(1)</script> & <b>bold</b>"


def synthetic(text: str, model: str = "tanh RNN", seed: int = 0) -> ConnectivityResult:
    """A causal result with random connectivity; predictions ``w{t}-{j}`` and target ``<t{t}>``."""
    rng = np.random.default_rng(seed)
    n = len(text)
    raw = np.tril(rng.uniform(0.1, 5.0, (n, n)))
    return ConnectivityResult(
        model=model,
        text=text,
        targets=tuple(f"<t{t}>" for t in range(n)),
        raw=raw,
        top_words=tuple((f"w{t}-1", f"w{t}-2", f"w{t}-3") for t in range(n)),
        top_probs=np.tile([0.5, 0.25, 0.125], (n, 1)),
    )


def datasets(chart) -> list[list[dict]]:
    """Every data table of a chart, as Vega-Lite will receive it."""
    spec = chart.to_dict()
    return list(spec.get("datasets", {}).values())


def table_with(chart, *fields) -> list[dict]:
    (table,) = [t for t in datasets(chart) if t and all(f in t[0] for f in fields)]
    return table


@pytest.fixture(scope="module")
def article():
    return reference.connectivities()


# -- colours -----------------------------------------------------------------------------------


def test_connectivity_colour_endpoints():
    assert style.connectivity_colour(0) == "#365d8d" == style.PANEL_BACKGROUND
    assert style.connectivity_colour(1) == "#35b779"
    assert style.connectivity_colour(0.5) == "#228b8d"
    assert style.connectivity_colour(-3) == "#365d8d" and style.connectivity_colour(7) == "#35b779"
    greens = [int(style.connectivity_colour(r)[3:5], 16) for r in np.linspace(0, 1, 50)]
    assert greens == sorted(greens) and greens[0] < greens[-1]


def test_model_colours():
    assert style.MODEL_COLOURS == {"GRU": "#F8766D", "LSTM": "#00BA38", "Nested LSTM": "#619CFF"}
    colours = style.model_colours(["GRU", "tanh RNN", "LSTM", "other", "GRU"])
    assert list(colours) == ["GRU", "tanh RNN", "LSTM", "other"]
    assert colours["GRU"] == "#F8766D" and len(set(colours.values())) == 4


def test_colour_expression_matches_python():
    """The in-browser colour (a Vega expression) equals connectivity_colour, drawn by vl-convert."""
    ratios = [0.0, 0.0004, 0.1, 0.25, 0.5, 0.61, 0.9, 1.0]
    chart = (
        alt.Chart(alt.InlineData(values=[{"i": i, "r": r} for i, r in enumerate(ratios)]))
        .transform_calculate(colour=style.connectivity_colour_expr("datum.r"))
        .mark_rect(width=5, height=5)
        .encode(x=alt.X("i:Q", scale=None), y=alt.value(5), color=alt.Color("colour:N", scale=None))
    )
    fills = re.findall(r'fill="(#[0-9a-f]{6})"', export.chart_svg(chart))
    assert fills[-len(ratios) :] == [style.connectivity_colour(r) for r in ratios]


# -- connectivity strip ------------------------------------------------------------------------


def test_connectivity_frame(article):
    gru = article[0]
    frame = viz.connectivity_frame(gru, 106)
    assert list(frame.columns[:5]) == ["index", "char", "value", "ratio", "selected"]
    assert "".join(frame.char) == reference.SAMPLE_TEXT
    np.testing.assert_allclose(frame.value, gru.raw[106])
    np.testing.assert_allclose(frame.ratio, gru.raw[106] / gru.raw[106].max())
    assert frame.ratio.max() == 1.0 and frame.ratio[107:].eq(0).all()
    assert frame.index[frame.selected].tolist() == [106]
    assert frame.colour[frame.ratio.idxmax()] == "#35b779"
    with pytest.raises(ValueError, match="outside the text"):
        viz.connectivity_frame(gru, 198)


@pytest.mark.parametrize("width", [10, 24, 72])
def test_wrap_text_breaks_between_words(width):
    text = reference.SAMPLE_TEXT
    lines, cols = viz.wrap_text(text, width)
    assert np.all(cols < width) and np.all(np.diff(lines * 1000 + cols) > 0)  # reading order kept
    starts = np.flatnonzero(np.diff(lines)) + 1
    assert all(text[s] == " " for s in starts)  # every new line starts at a word's leading space
    if width >= 12:  # longer than every word: no word is split
        for start in [i for i, c in enumerate(text) if c == " "]:
            end = text.find(" ", start + 1) % (len(text) + 1) or len(text)
            assert len(set(lines[start:end])) == 1


def test_strip_data_is_the_selected_position(article):
    gru = article[0]
    chart = viz.connectivity_strip(gru, 32)
    chars = table_with(chart, "c", "ratio")
    assert "".join(row["c"] for row in chars) == reference.SAMPLE_TEXT
    np.testing.assert_allclose([row["ratio"] for row in chars], gru.normalized()[32], atol=1e-4)
    assert [row["i"] for row in chars if row["selected"]] == [32]
    assert [row["colour"] for row in chars] == [style.connectivity_colour(r) for r in gru.normalized()[32]]
    labels = [row["label"] for row in table_with(chart, "label")]
    assert labels == ["target: grammar", "grammar (36.40%)", "grammars (23.90%)", "grammatical (21.50%)"]
    spec = json.dumps(chart.to_dict())
    assert '"text": "GRU"' in spec and style.PANEL_BACKGROUND in spec and style.MONOSPACE in spec


def test_strip_wraps_onto_lines(article):
    chars = table_with(viz.connectivity_strip(article[0], 0, chars_per_line=40), "c", "y")
    ys = sorted({row["y"] for row in chars})
    assert len(ys) == 6 and max(row["x"] for row in chars) < 40 * style.CHAR_WIDTH + style.PANEL_PADDING


def panel_names(chart) -> list[str]:
    return re.findall(r'"fontWeight": "bold", "text": "([^"]+)"', json.dumps(chart.to_dict(), sort_keys=True))


def test_panels_order_and_checks(article):
    assert [r.model for r in article] == ["GRU", "LSTM", "Nested LSTM"]
    chart = viz.connectivity_panels(article, 106)
    assert panel_names(chart) == ["Nested LSTM", "LSTM", "GRU"]  # the article's order by default
    assert panel_names(viz.connectivity_panels(article, 106, order=None)) == ["GRU", "LSTM", "Nested LSTM"]
    mine = [synthetic(reference.SAMPLE_TEXT, "tanh RNN"), article[0], synthetic(reference.SAMPLE_TEXT, "GRU", 3)]
    assert panel_names(viz.connectivity_panels(mine, 0)) == ["GRU", "GRU", "tanh RNN"]
    assert "target word “learning”" in chart.to_dict()["title"]["text"]
    with pytest.raises(ValueError, match="same text"):
        viz.connectivity_panels([article[0], synthetic(" other")], 0)


def test_text_stays_text_in_the_spec():
    result = synthetic(NASTY)
    chart = viz.connectivity_strip(result, 10)
    assert [row["c"] for row in table_with(chart, "c", "ratio")] == list(NASTY)
    assert {row["label"] for row in table_with(chart, "label")} >= {"target: <t10>"}
    svg = export.chart_svg(chart)
    assert "<script>" not in svg and "<b>" not in svg and "&lt;" in svg


# -- matrix, curves ----------------------------------------------------------------------------


def test_matrix_holds_every_nonzero_cell_without_max_rows(article):
    gru = article[0]
    assert alt.data_transformers.active == "default"
    options = dict(alt.data_transformers.options)
    chart = viz.connectivity_heatmap(gru)
    (rows,) = datasets(chart)  # 198 rows, one per output position, flattened by Vega
    assert len(rows) == 198 and chart.to_dict()["transform"] == [{"flatten": ["i", "ci", "r"]}]
    expected = gru.normalized()
    assert sum(len(row["i"]) for row in rows) == np.count_nonzero(expected) > 5000
    for row in rows[::17]:
        np.testing.assert_allclose(row["r"], expected[row["t"], row["i"]], atol=5e-4)
        assert row["ci"] == [gru.text[i] for i in row["i"]]
    assert alt.data_transformers.options == options  # the user's settings are untouched


def test_accuracy_chart(article):
    chart = viz.accuracy_curves(reference.accuracy_curves(), reference.accuracy_curves())
    spec = chart.to_dict()
    (rows,) = spec["datasets"].values()
    assert len(rows) == 2 * 3 * 3 * 22
    gru0 = [r for r in rows if r["model"] == "GRU" and r["top"] == "top-1" and r["chars_typed"] == 0]
    assert [r["accuracy"] for r in gru0] == pytest.approx([0.16498248] * 2)
    enc = spec["spec"]["encoding"]
    assert enc["x"]["title"] == "characters from word" and enc["y"]["axis"]["format"] == ".0%"
    assert enc["strokeDash"]["scale"]["range"] == [[1, 0], [8, 8], [2, 2]]
    assert dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"])) == style.MODEL_COLOURS
    assert spec["spec"]["height"] == 360 and spec["facet"]["column"]["field"] == "source"
    mine = AccuracyCurve("tanh RNN", np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7]]), counts=np.array([10, 9]))
    single = viz.accuracy_curves([mine]).to_dict()
    assert "facet" not in single and len(next(iter(single["datasets"].values()))) == 6


def test_training_chart():
    frame = reference.training_curves()
    spec = viz.training_curves(frame).to_dict()  # 8,568 points: no MaxRowsError
    (rows,) = spec["datasets"].values()  # one row per line, its points as arrays
    assert spec["spec"]["transform"] == [{"flatten": ["xv", "loss_smooth"]}]
    assert len(rows) == 6 and sum(len(r["xv"]) for r in rows) == 8568
    assert {r["facet"] for r in rows} == {"training", "validation"}
    gru_train = next(r for r in rows if r["model"] == "GRU" and r["facet"] == "training")
    assert gru_train["xv"][-1] == 14271 and gru_train["loss_smooth"][-1] == pytest.approx(2.020)
    assert gru_train["xv"] == sorted(gru_train["xv"])
    assert spec["spec"]["encoding"]["y"]["title"] == "cross entropy loss"
    assert spec["spec"]["encoding"]["y"]["scale"]["domain"] == [0.5, 10.5]
    assert spec["facet"]["row"]["sort"] == ["training", "validation"]
    (rows,) = viz.training_curves(frame, x="sec").to_dict()["datasets"].values()
    assert max(max(r["xv"]) for r in rows) == pytest.approx(22979.7 / 3600, abs=1e-4)
    mine = frame[frame.model == "GRU"].head(50).assign(source="this project")
    both = viz.training_curves(pd.concat([frame.assign(source="article"), mine])).to_dict()
    assert both["spec"]["encoding"]["strokeDash"]["scale"]["domain"] == ["article", "this project"]
    assert len(next(iter(both["datasets"].values()))) == 6 + 2  # + GRU training, validation
    with pytest.raises(ValueError):
        viz.training_curves(frame, x="hours")


def test_line_chart_orders_models_as_the_article_and_ticks_whole_numbers():
    frame = pd.DataFrame(
        {
            "model": ["GRU", "tanh RNN", "LSTM", "Nested LSTM"] * 2,
            "n": [0] * 4 + [1] * 4,
            "v": np.arange(8.0),
            "source": ["a"] * 4 + ["b"] * 4,
        }
    )
    spec = viz.line_chart(frame, "n", "v", x_title="x", y_title="y", dash="source").to_dict()
    encoding = spec["encoding"]
    assert encoding["color"]["scale"]["domain"] == ["Nested LSTM", "LSTM", "GRU", "tanh RNN"]
    assert encoding["color"]["scale"]["range"][:3] == [style.MODEL_COLOURS[m] for m in style.ARTICLE_ORDER]
    assert encoding["x"]["axis"] == {"format": "d", "tickMinStep": 1}
    assert encoding["strokeDash"]["sort"] == ["a", "b"]
    faceted = viz.line_chart(frame, "n", "v", x_title="x", y_title="y", column="source", log_y=True).to_dict()
    assert (
        faceted["facet"]["column"]["field"] == "source" and faceted["spec"]["encoding"]["y"]["scale"]["type"] == "log"
    )


# -- files -------------------------------------------------------------------------------------


def test_save_chart_png_svg_json(tmp_path):
    chart = viz.connectivity_strip(synthetic(" hello world"), 5)
    png = export.save_chart(chart, tmp_path / "strip.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    svg = export.save_chart(chart, tmp_path / "strip.svg").read_text()
    assert svg.startswith("<svg") and "w5-1 (50.00%)" in svg
    assert json.loads(export.save_chart(chart, tmp_path / "strip.json").read_text())["layer"]
    with pytest.raises(ValueError, match="unsupported"):
        export.save_chart(chart, tmp_path / "strip.gif")


def test_explorer_holds_every_position(article):
    chart = viz.explorer_chart(article, position=106)
    spec = chart.to_dict()
    assert spec["params"][0] == {"name": "position", "value": 106}  # set by the page's script, not a Vega binding
    for n, result in enumerate(viz.ordered(article, style.ARTICLE_ORDER)):
        columns = spec["datasets"][f"chars-{n}"]
        rebuilt = np.zeros((198, 198))
        for row in columns:  # column i of the normalised matrix, from output position o on
            rebuilt[row["o"] : row["o"] + len(row["r"]), row["i"]] = np.asarray(row["r"]) / 1000
        np.testing.assert_allclose(rebuilt, result.normalized(), atol=5e-4)
        header = pd.DataFrame(spec["datasets"][f"header-{n}"])
        assert header.groupby("t").size().eq(4).all() and header.t.nunique() == 198


def test_interval_grid_is_one_small_panel_per_measure():
    import pandas as pd

    from memviz.viz import checks

    frame = pd.DataFrame(
        [
            {"model": m, "measure": k, "value": 0.5, "low": None if k == "one text" else 0.4, "high": 0.6}
            for k in ("a", "b", "c", "d", "one text")
            for m in ("GRU", "Transformer")
        ]
    )
    spec = checks.interval_grid(frame).to_dict()
    assert spec["columns"] == 3 and spec["resolve"]["scale"]["x"] == "independent"
    assert spec["facet"]["sort"] == ["a", "b", "c", "d", "one text"]
    assert spec["spec"]["layer"][0]["mark"]["type"] == "rule"  # the intervals, then the dots
