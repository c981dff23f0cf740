"""Memory timescales from gates, against a slow reference: a NumPy loop over steps, with the gate equations
written again here from the article's cell definitions (reading only the weight arrays)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from flax import nnx

from memviz.analysis import timescales
from memviz.data import Split
from memviz.models.model import AutocompleteModel, ModelConfig

HIDDEN, LENGTH = 6, 9


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np(param) -> np.ndarray:
    return np.asarray(param[...], np.float64)


def reference_mean_gate(model: AutocompleteModel, source: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mean retention gate per unit of the single layer, one position at a time."""
    table = np.asarray(model.embedding_table(), np.float64)
    cell, total, count = model.layers[0], np.zeros(HIDDEN), 0
    for row, length in zip(source, lengths):
        h, c, c_inner = np.zeros(HIDDEN), np.zeros(HIDDEN), np.zeros(HIDDEN)
        for char in row[:length]:
            x = table[char]
            if model.config.cell == "gru":
                r, u = np.split(sigmoid(np.concatenate([x, h]) @ _np(cell.gate_kernel) + _np(cell.gate_bias)), 2)
                cand = np.tanh(np.concatenate([x, r * h]) @ _np(cell.candidate_kernel) + _np(cell.candidate_bias))
                gate, h = u, u * h + (1 - u) * cand
            else:
                outer = cell.outer if model.config.cell == "nlstm" else cell
                i, j, f, o = np.split(np.concatenate([x, h]) @ _np(outer.kernel) + _np(outer.bias), 4)
                gate = sigmoid(f + 1.0)
                if model.config.cell == "lstm":
                    c = gate * c + sigmoid(i) * np.tanh(j)
                else:  # Nested LSTM: the inner LSTM takes σ(i)·j and σ(f + 1)·c, its output is the new c
                    ii, jj, ff, oo = np.split(
                        np.concatenate([sigmoid(i) * j, gate * c]) @ _np(cell.inner.kernel) + _np(cell.inner.bias), 4
                    )
                    c_inner = sigmoid(ff + 1.0) * c_inner + sigmoid(ii) * np.tanh(jj)
                    c = sigmoid(oo) * np.tanh(c_inner)
                h = sigmoid(o) * np.tanh(c)
            total, count = total + gate, count + 1
    return total / count


@pytest.mark.parametrize("cell", ["lstm", "gru", "nlstm"])
def test_mean_retention_matches_a_step_by_step_reference(cell):
    config = ModelConfig(cell=cell, num_layers=1, hidden_features=HIDDEN, embedding_features=5, num_words=3)
    model = AutocompleteModel(config, rngs=nnx.Rngs(0))
    for _, param in nnx.iter_graph(model):  # random biases too, so a wrong gate or offset changes the numbers
        if isinstance(param, nnx.Param) and param.ndim == 1:
            param[...] = np.random.default_rng(param.size).normal(size=param.shape).astype(np.float32)
    rng = np.random.default_rng(1)
    lengths = np.array([LENGTH, 4, 7], np.int32)
    source = np.where(np.arange(LENGTH) < lengths[:, None], rng.integers(1, 28, (3, LENGTH)), 0).astype(np.uint8)
    split = Split(source=source, target=np.zeros_like(source, np.int32), lengths=lengths)
    (mean,) = timescales.mean_retention(model, split, batch_size=2)  # two batches, the second padded
    np.testing.assert_allclose(mean, reference_mean_gate(model, source, lengths), rtol=1e-5, atol=1e-6)


def test_a_tanh_rnn_has_no_timescale():
    config = ModelConfig(cell="rnn", num_layers=1, hidden_features=HIDDEN, embedding_features=5, num_words=3)
    split = Split(source=np.ones((1, 3), np.uint8), target=np.zeros((1, 3), np.int32), lengths=np.array([3], np.int32))
    with pytest.raises(ValueError, match="no retention gate"):
        timescales.mean_retention(AutocompleteModel(config, rngs=nnx.Rngs(0)), split)


def test_timescale_is_the_e_folding_time():
    np.testing.assert_allclose(
        timescales.timescale([0.5, 0.9, 0.99]), [1 / math.log(2), -1 / math.log(0.9), -1 / math.log(0.99)]
    )
    assert timescales.timescale([1.0])[0] == math.inf
    gate = 0.8  # after τ steps the memory has faded by 1/e
    assert gate ** timescales.timescale([gate])[0] == pytest.approx(math.exp(-1))
    with pytest.raises(ValueError):
        timescales.timescale([0.0])


def test_timescale_frame_ranks_units_shortest_first():
    frame = timescales.timescale_frame({"GRU": np.array([5.0, 1.0, 3.0]), "LSTM": np.array([2.0])}, stage="trained")
    gru = frame[frame.model == "GRU"]
    assert gru["timescale"].tolist() == [1.0, 3.0, 5.0] and gru["unit share"].tolist() == [0.0, 0.5, 1.0]
    assert set(frame.stage) == {"trained"} and len(frame) == 4
