"""The variants of the shipped models: one table for their configurations, their measures, and what ships."""

from __future__ import annotations

import argparse

import jax
import numpy as np
import pandas as pd
import pytest
from flax import nnx

from memviz import cli, data
from memviz.analysis import interventions
from memviz.evaluation import variants
from memviz.models.model import AutocompleteModel, ModelConfig
from memviz.training import checkpoint
from memviz.training.presets import get_preset

TEXT = (
    "the cat sat on the mat and the cat ate the rat then the dog sat on the cat "
    "a man and a maid sat at the table the man ate and the maid sang then they sat "
) * 6


def _cli_config(arguments):
    """The configuration ``memviz train <arguments>`` would train (the CLI's own parser and overrides)."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli._train_parser(sub)
    return cli._config_from_args(parser.parse_args(["train", *arguments, "--out", "unused"]))


@pytest.mark.parametrize("name", list(variants.VARIANTS))
def test_a_variant_is_what_its_train_command_trains(name):
    variant = variants.VARIANTS[name]
    config = variant.config()
    assert _cli_config(variant.train_arguments()) == config
    shipped = get_preset("cpu", variant.cell)
    differences = shipped.differences(config)
    if variant.kind == "seed":
        assert differences == [f"train.seed: {shipped.train.seed!r} -> {config.train.seed!r}"]
    else:  # one width: units and embedding together, as `--hidden`, and perhaps another seed
        changed = {line.split(":")[0] for line in differences}
        assert changed - {"train.seed"} == {"model.hidden_features", "model.embedding_features"}


def test_matched_parameter_variants_are_within_one_percent_of_the_nested_lstm():
    def count(config):
        return variants.parameter_count(AutocompleteModel(config.model, rngs=nnx.Rngs(0)))

    nested = count(get_preset("cpu", "nlstm"))
    matched = [name for name, v in variants.VARIANTS.items() if v.kind == "parameters"]
    assert {variants.VARIANTS[name].cell for name in matched} == {"gru", "lstm"}
    for name in matched:
        assert abs(count(variants.VARIANTS[name].config()) / nested - 1) < 0.01, name
    for cell in ("gru", "lstm"):  # and the shipped ones are not: that is why the variants exist
        assert count(get_preset("cpu", cell)) / nested - 1 > 0.04


def test_measure_is_its_parts():
    from memviz.evaluation import context_use, metrics

    dataset = data.from_text(TEXT, vocab_size=20, max_length=60)
    config = ModelConfig(
        cell="gru", num_layers=1, hidden_features=12, embedding_features=8, num_words=len(dataset.vocab)
    )
    model = AutocompleteModel(config, rngs=nnx.Rngs(3))
    nnx.update(model.layers, jax.tree.map(lambda p: 1.5 * p, nnx.state(model.layers, nnx.Param)))
    settings = variants.SETTINGS | {"test_sequences": 3, "repeat_sequences": 4, "connectivity_sequences": 2,
                                    "skip_most_frequent": 2}  # fmt: skip
    swaps = variants.repeated_words(dataset, settings)
    counts = data.word_counts(dataset.train, len(dataset.vocab))
    want_swaps = interventions.swap_earlier_occurrences(dataset.test[:4], dataset.vocab, counts, skip_most_frequent=2)
    np.testing.assert_array_equal(swaps.swapped.source, want_swaps.swapped.source)
    frame = variants.measure(model, dataset, swaps, settings)
    assert tuple(frame.measure) == variants.MEASURES
    assert (frame.low <= frame.value + 1e-12).all() and (frame.value <= frame.high + 1e-12).all()
    value = frame.set_index("measure").value
    evaluated = metrics.evaluate(model, dataset.test)
    assert value["test accuracy"] == pytest.approx(evaluated["accuracy"], rel=1e-6)
    assert value["test cross-entropy"] == pytest.approx(evaluated["cross_entropy"], rel=1e-5)
    use = context_use.context_use(model, dataset.test[:3], swaps, n_connectivity=2, max_chars=6).set_index("measure")
    pd.testing.assert_series_equal(value[use.index], use.value, check_names=False)


def test_seed_spread_against_a_hand_computation():
    rows = []
    for run, kind, values in [("shipped-gru", "shipped", (0.50, 2.0)), ("gru-seed1", "seed", (0.54, 2.2)),
                              ("gru-248", "parameters", (0.90, 9.0))]:  # fmt: skip
        for measure, value in zip(("test accuracy", "test cross-entropy"), values):
            rows.append({"run": run, "cell": "gru", "kind": kind, "measure": measure, "value": value,
                         "low": value - 0.01, "high": value + 0.03})  # fmt: skip
    spread = variants.seed_spread(pd.DataFrame(rows)).set_index("measure")
    assert spread.runs["test accuracy"] == 2  # the parameter-matched run is not a seed
    assert spread.seed_sd["test accuracy"] == pytest.approx(np.std([0.50, 0.54], ddof=1))
    assert (spread.low["test accuracy"], spread.high["test accuracy"]) == (0.50, 0.54)
    assert spread.bootstrap_half_width["test cross-entropy"] == pytest.approx(0.02)


def test_read_says_how_to_make_a_missing_file_and_refuses_unknown_measures(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/variants.py measure"):
        variants.read(tmp_path / "measures.csv")
    path = tmp_path / "odd.csv"
    pd.DataFrame([{"run": "x", "measure": "loudness", "value": 1.0}]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="loudness"):
        variants.read(path)


@pytest.mark.skipif(not variants.MEASURES_FILE.exists(), reason="no shipped variant measures")
def test_the_shipped_measures_are_of_the_variants_as_configured():
    frame = variants.read()
    assert set(frame.measure) == set(variants.MEASURES)
    assert {f"shipped-{cell}" for cell in ("gru", "lstm", "nlstm")} <= set(frame.run)
    for name in {"matched-gru", "matched-lstm"} & set(frame.run):
        matched = variants.DATA_DIR / "pretrained" / "matched" / name.split("-")[1]
        rows = frame[frame.run == name]
        assert (rows.kind == "matched accuracy").all() and (
            rows.step == checkpoint.read_metrics(matched)["steps"]
        ).all()
    for name in set(frame.run) - {"shipped-gru", "shipped-lstm", "shipped-nlstm", "matched-gru", "matched-lstm"}:
        variant = variants.VARIANTS[name]
        saved = checkpoint.read_config(variants.VARIANTS_DIR / name)
        assert saved == variant.config(), name
        rows = frame[frame.run == name]
        assert (rows.kind == variant.kind).all() and (rows.seed == saved.train.seed).all()
        assert (rows.step == saved.train.steps).all()  # measured at the end of the run
        metrics = checkpoint.read_metrics(variants.VARIANTS_DIR / name)
        accuracy = rows.set_index("measure").value["test accuracy"]
        assert accuracy == pytest.approx(metrics["accuracy"], abs=1e-5)  # the run's own test evaluation
    assert not list(variants.VARIANTS_DIR.rglob("*.safetensors")) and not list(
        variants.VARIANTS_DIR.rglob("checkpoints")
    )
