"""A model of the reader's own in memviz's trainer (memviz.models.registry): registered under a name, it trains,
checkpoints, resumes bit-exactly and loads like memviz's cells; what does not fit is a clear error. And notebook 09's
two models (notebooks/own_models.py): minGRU's connectivity equals the closed form built from its gates."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from memviz import data
from memviz.analysis import connectivity
from memviz.models import registry
from memviz.models.model import NUM_CHARS, ModelConfig
from memviz.models.protocol import EmbedRecurrentModel
from memviz.training import checkpoint, presets
from memviz.training.train import load_run, train

ROOT = Path(__file__).resolve().parent.parent


def _own_models():
    spec = importlib.util.spec_from_file_location("own_models", ROOT / "notebooks" / "own_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["own_models"] = module
    spec.loader.exec_module(module)
    return module


def _build_dense(config: ModelConfig, rngs: nnx.Rngs) -> EmbedRecurrentModel:
    """A causal model with no recurrence at all: each position reads its own character."""
    return EmbedRecurrentModel(
        nnx.Embed(NUM_CHARS, config.embedding_features, rngs=rngs),
        nnx.Linear(config.embedding_features, config.hidden_features, rngs=rngs),
        nnx.Linear(config.hidden_features, config.num_words, rngs=rngs),
        name="per character",
    )


@pytest.fixture
def dense():
    registry.register_model("per-char", _build_dense, display="per character", defaults={"hidden_features": 24})
    yield presets.get_preset("tiny", "per-char")
    registry.unregister_model("per-char")


def _params(model) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]


def test_a_registered_model_trains_resumes_and_loads(dense, tmp_path):
    assert dense.model.cell == "per-char" and dense.model.hidden_features == 24  # the registered defaults
    assert dense.model.display_name == "per character"
    whole = train(dataclasses.replace(dense, train=dataclasses.replace(dense.train, steps=4)), None, progress=False)
    half = dataclasses.replace(dense, train=dataclasses.replace(dense.train, steps=2))
    train(half, tmp_path / "run", progress=False)
    resumed = train(dense, tmp_path / "run", progress=False)  # the remaining 2 steps from the checkpoint
    assert resumed.step == 4 and resumed.name == "per character"
    for a, b in zip(_params(whole.model), _params(resumed.model)):
        np.testing.assert_array_equal(a, b)
    loaded = load_run(tmp_path / "run")
    for a, b in zip(_params(loaded.model), _params(resumed.model)):
        np.testing.assert_array_equal(a, b)
    assert loaded.config == resumed.config


def test_a_saved_run_of_an_unregistered_model_says_what_to_do(dense, tmp_path):
    train(dense, tmp_path / "run", progress=False)
    registry.unregister_model("per-char")
    with pytest.raises(checkpoint.CheckpointError, match="not registered in this session"):
        load_run(tmp_path / "run")


def test_what_does_not_fit_is_a_clear_error(dense):
    with pytest.raises(ValueError, match="memviz's own gru cell"):
        registry.register_model("gru", _build_dense)
    with pytest.raises(ValueError, match="lower-case letters"):
        registry.register_model("My Model", _build_dense)
    with pytest.raises(TypeError, match="must be a function"):
        registry.register_model("broken", object())
    registry.register_model("not-a-model", lambda config, rngs: "a string")
    try:
        config = presets.get_preset("tiny", "not-a-model")
        with pytest.raises(TypeError, match="must return an nnx.Module"):
            train(config, None, progress=False)
    finally:
        registry.unregister_model("not-a-model")
    registry.register_model("wrong-words", lambda c, rngs: _build_dense(dataclasses.replace(c, num_words=9), rngs))
    try:
        with pytest.raises(ValueError, match="outputs 9"):
            train(presets.get_preset("tiny", "wrong-words"), None, progress=False)
    finally:
        registry.unregister_model("wrong-words")
    with pytest.raises(ValueError, match="unknown cell 'nope'"):
        presets.get_preset("cpu", "nope")


@pytest.mark.parametrize("trained", [False, True])
def test_mingru_connectivity_equals_its_gates(trained, tmp_path):
    own = _own_models()
    own.register()
    config = presets.get_preset("tiny", "mingru")
    model = train(config, None, progress=False).model if trained else own.build_mingru(config.model, nnx.Rngs(1))
    text = " it was a truth universally acknowledged that a single man"
    vocab = data.load_dataset("austen", vocab_size=512).vocab
    source, targets = data.align(text, vocab)
    exact = own.mingru_connectivity(model, source, targets)
    measured = connectivity.connectivity_matrix(model, source, targets, chunk_size=16)
    np.testing.assert_allclose(measured, exact, rtol=1e-4, atol=1e-6 * exact.max())
    assert np.all(np.triu(exact, 1) == 0) and exact.max() > 0


def test_the_transformer_is_causal_and_refuses_what_it_cannot_read():
    own = _own_models()
    own.register()
    config = presets.get_preset("tiny", "transformer")
    assert config.model.num_layers == 2 and config.model.hidden_features == 128
    model = own.build_transformer(config.model, nnx.Rngs(0))
    source = data.encode_chars(" the cat sat on the mat")
    matrix = connectivity.connectivity_matrix(model, source, np.full(len(source), 2))
    assert np.all(np.triu(matrix, 1) == 0) and np.all(
        matrix[np.tril_indices(len(source))] > 0
    )  # reads every earlier char
    with pytest.raises(ValueError, match="positions for 512 characters"):
        model.logits_from_embedded(model.embedding_table()[np.zeros((1, 600), int)])
