"""memviz.data.reference: the article's published data, checked against the spec's numbers."""

from pathlib import Path

import numpy as np
import pytest

from memviz.core.model_names import TABLE_ORDER
from memviz.core.paths import DATA_DIR
from memviz.data import reference


@pytest.fixture(scope="module")
def results():
    return {m: reference.connectivity(m) for m in TABLE_ORDER}


def test_shipped_files_and_attribution():
    folder = DATA_DIR / "distill-2019"
    assert reference.REFERENCE_DIR == folder
    for name in (
        "autocomplete.json",
        "autocomplete-training.csv",
        "word-length-results.json",
        "connectivity_gru.json",
        "connectivity_lstm.json",
        "connectivity_nlstm.json",
    ):
        assert (folder / name).stat().st_size > 1000, name
    readme = (folder / "README.md").read_text()
    assert "MIT" in readme and "nearForm" in readme and "2d3ca6c" in readme
    assert "## distill-2019" in (DATA_DIR / "README.md").read_text()


def test_package_does_not_read_the_shared_folder():
    import memviz

    modules = sorted(Path(memviz.__file__).parent.rglob("*.py"))
    assert len(modules) > 40  # every module of every layer
    for module in modules:
        source = module.read_text()
        assert "../shared" not in source and "/work/shared" not in source and "shared/" not in source, module


@pytest.mark.parametrize("name", TABLE_ORDER)
def test_connectivity_shapes_and_causality(results, name):
    result = results[name]
    assert result.model == name and result.squared
    assert result.raw.shape == (198, 198) and result.top_probs.shape == (198, 3)
    assert np.all(np.triu(result.raw, k=1) == 0)  # no output depends on later input
    assert np.all(result.raw >= 0) and np.all(np.diag(result.raw) > 0)
    assert result.text == reference.SAMPLE_TEXT


def test_spec_value_ranges(results):
    # the published files: max ≈ 3526 (GRU), 562 (LSTM), 3209 (NLSTM)
    assert results["GRU"].raw.max() == pytest.approx(3526, rel=1e-3)
    assert results["LSTM"].raw.max() == pytest.approx(562, rel=1e-3)
    assert results["Nested LSTM"].raw.max() == pytest.approx(3209, rel=1e-3)


def test_model_name_aliases():
    assert reference.connectivity("gru") is reference.connectivity("GRU")
    assert reference.connectivity("nlstm").model == "Nested LSTM"
    assert reference.connectivity(" nested lstm ").model == "Nested LSTM"
    with pytest.raises(ValueError, match="no connectivity for 'tanh RNN'; its models are GRU, LSTM, Nested LSTM"):
        reference.connectivity("tanh RNN")
    with pytest.raises(ValueError, match="'GRU'/'gru'.*'Nested LSTM'/'nlstm'"):
        reference.connectivity("transformer")


def test_cached_results_are_read_only():
    with pytest.raises(ValueError):
        reference.connectivity("LSTM").raw[5, 0] = 1.0


def test_sample_text():
    text = reference.SAMPLE_TEXT
    assert len(text) == 198 and text.startswith(" context the formal") and text.endswith("linguists use")
    assert len(text.split()) == 35
    assert text[: reference.HERO_LENGTH] == " context the formal study of grammar is an important part of education"
    lo, hi = reference.HERO_RANGE
    assert text[lo : hi + 1] == " formal study of grammar"  # space before "formal" .. last 'r' of "grammar"


def test_walkthrough_targets_and_predictions(results):
    gru = results["GRU"]
    expected = {106: "learning", 32: "grammar", 159: "grammar", 162: "grammar", 141: "schools"}
    assert set(reference.WALKTHROUGH) == set(expected) and reference.DEFAULT_INDEX == 106
    for index, word in expected.items():
        assert all(results[m].targets[index] == word for m in TABLE_ORDER)
    # the walkthrough's positions
    assert gru.top_words[106] == ("learning", "legal", "length")
    np.testing.assert_allclose(gru.top_probs[106], [0.575, 0.076, 0.044], atol=5e-4)
    assert results["LSTM"].top_words[162] == ("grammatical", "grammar", "gram")
    assert results["Nested LSTM"].top_words[162][0] == "grammy"
    assert gru.text[106] == "e" and gru.text[141] == "s"


def test_accuracy_curves_match_the_spec_table():
    curves = {c.model: c for c in reference.accuracy_curves()}
    assert list(curves) == list(TABLE_ORDER)
    for curve in curves.values():
        assert curve.accuracy.shape == (3, 22) and curve.counts is None
        assert np.all(np.diff(curve.accuracy, axis=0) >= 0)  # cumulative top-k
        assert np.all(curve.accuracy[:, 19:] == 0)
    assert curves["GRU"].accuracy[0, 0] == pytest.approx(0.16498248)
    assert curves["GRU"].accuracy[2, 4] == pytest.approx(0.8199, abs=5e-5)
    assert curves["LSTM"].accuracy[0, 7] == pytest.approx(0.6692, abs=5e-5)
    assert curves["Nested LSTM"].accuracy[1, 5] == pytest.approx(0.7450, abs=5e-5)
    assert curves["Nested LSTM"].accuracy[0, 18] == pytest.approx(0.0366, abs=5e-5)


def test_training_curves():
    frame = reference.training_curves()
    assert list(frame.columns) == ["model", "dataset", "sec", "step", "loss", "loss_smooth"]
    assert len(frame) == 8568
    assert frame.groupby(["model", "dataset"]).size().eq(1428).all()
    last = frame[(frame.model == "GRU") & (frame.step == 14271)].set_index("dataset")
    assert last.loc["train", "loss"] == pytest.approx(1.949) and last.loc["valid", "loss"] == pytest.approx(1.998)
    assert last.loc["train", "loss_smooth"] == pytest.approx(2.020)
    assert last.loc["train", "sec"] == pytest.approx(22381.7)
    assert frame.loss.iloc[0] == pytest.approx(9.704)  # ln(16386)


def test_tables():
    metrics = reference.TEST_METRICS.set_index("model")
    assert metrics.loc["GRU", "cross_entropy"] == 2.1170 and metrics.loc["GRU", "accuracy"] == 0.5201
    assert metrics.loc["LSTM"].tolist() == [2.1713, 0.5140]
    assert metrics.loc["Nested LSTM"].tolist() == [2.4950, 0.4710]
    params = reference.PARAMETER_COUNTS.set_index("model")
    assert params.loc["GRU", "recurrent"] == 2 * (1200 * 1200 + 1200 + 1200 * 600 + 600)
    assert params.loc["LSTM", "recurrent"] == 2 * (1200 * 2400 + 2400)
    assert params.loc["Nested LSTM", "recurrent"] == 2 * (1200 * 2400 + 2400)
    assert (params["dense"] == 600 * 16386 + 16386).all() and (params["embedding"] == 27 * 600).all()
    assert params.loc["Nested LSTM", "depth"] == 2 and params["depth"].isna().sum() == 2


def test_maps():
    words, chars = reference.word_map(), reference.char_map()
    assert len(words) == 16386 and words[:4] == ("<eos>", "<unknown>", "talmudic", "metal")
    assert chars == ("<eos>", " ", *"abcdefghijklmnopqrstuvwxyz")
    assert {"learning", "grammar", "schools"} <= set(words)


def test_far_reach_of_the_articles_models():
    """The far reach (share of each row's connectivity more than two words before the word being typed, averaged over
    rows) of the article's published connectivity: the figures issue 16 sets as targets for the shipped models."""
    from memviz.analysis import shares

    reach = {name: shares.result_far_reach(reference.connectivity(name)) for name in TABLE_ORDER}
    assert reach["GRU"] == pytest.approx(0.1493, abs=5e-5)
    assert reach["LSTM"] == pytest.approx(0.0917, abs=5e-5)
    assert reach["Nested LSTM"] == pytest.approx(0.000127, abs=5e-6)


def test_far_reach_counts_only_what_lies_before_the_two_previous_words():
    from memviz.analysis import shares
    from memviz.data import encode_chars

    text = " aa bb cc dd"  # words start at 0, 3, 6, 9
    source = encode_chars(text)
    matrix = np.zeros((len(text), len(text)))
    matrix[10, 1] = 3.0  # row 10 ("d" of dd): a, three words back: beyond the two previous words
    matrix[10, 4] = 1.0  # b, two words back: near
    matrix[7, 1] = 2.0  # row 7 ("c" of cc): a is two words back: near
    np.testing.assert_allclose(shares.share_before_cut(matrix, source, 2)[[7, 10]], [0.0, 0.75])
    assert shares.far_reach(matrix, source) == pytest.approx(0.375)  # rows 7 and 10; the all-zero rows are skipped
    assert shares.far_reach(matrix, source, rows=np.arange(len(text)) == 10) == pytest.approx(0.75)
