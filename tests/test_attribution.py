"""Attributions against the slow definitions: loops of per-position gradients, a Riemann sum, occluded copies."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from scipy import stats as scipy_stats

from memviz import data
from memviz.analysis import attribution, connectivity, shares
from memviz.models.model import NUM_CHARS, AutocompleteModel, ModelConfig

TIME, WORDS = 11, 13


def tiny_model(cell: str, seed: int = 0) -> AutocompleteModel:
    config = ModelConfig(cell=cell, num_layers=1, hidden_features=8, embedding_features=6, num_words=WORDS)
    model = AutocompleteModel(config, rngs=nnx.Rngs(seed))
    state = nnx.state(model.layers, nnx.Param)  # larger recurrent weights: far inputs still matter
    nnx.update(model.layers, jax.tree.map(lambda p: 1.5 * p, state))
    return model


def sequence(seed: int = 0):
    rng = np.random.default_rng(seed)
    source = rng.integers(1, NUM_CHARS, TIME)
    source[[0, 5]] = data.SPACE_ID
    return source, rng.integers(2, WORDS, TIME)


def true_logit(model, embedded, targets, t_out):
    """The logit of the true word at ``t_out`` from an embedded text ``(T, embedding)``."""
    return model.logits(model.recur(embedded[None]))[0, t_out, targets[t_out]]


_COMPILED = {}


def compiled(model, targets):
    """``(logit(e, t), grad(e, t))`` of one position's true logit, jitted once per model (the position is traced)."""
    key = (id(model), tuple(np.asarray(targets).tolist()))
    if key not in _COMPILED:
        targets = jnp.asarray(targets)
        _COMPILED[key] = tuple(
            jax.jit(f)
            for f in (
                lambda e, t: true_logit(model, e, targets, t),
                jax.grad(lambda e, t: true_logit(model, e, targets, t)),
            )
        )
    return _COMPILED[key]


def gradient_rows(model, embedded, targets) -> np.ndarray:
    """``(T_out, T_in, embedding)``: one ``jax.grad`` per output position."""
    grad = compiled(model, targets)[1]
    return np.stack([np.asarray(grad(embedded, t)) for t in range(len(targets))])


@pytest.fixture(scope="module", params=["gru", "lstm", "nlstm"])
def case(request):
    model = tiny_model(request.param)
    source, targets = sequence()
    return model, source, targets, attribution.attributions(model, source, targets, steps=64)


def test_connectivity_is_the_articles(case):
    model, source, targets, result = case
    np.testing.assert_allclose(
        result["connectivity"], connectivity.connectivity_matrix(model, source, targets), rtol=1e-4, atol=1e-9
    )


def test_gradient_times_input_against_a_loop(case):
    model, source, targets, result = case
    embedded = model.embedding_table()[jnp.asarray(source)]
    want = np.sum(gradient_rows(model, embedded, targets) * np.asarray(embedded)[None], axis=-1)
    np.testing.assert_allclose(result["gradient × input"], want, rtol=1e-4, atol=1e-7)
    assert np.all(np.triu(result["gradient × input"], k=1) == 0)  # causal, exactly


def test_integrated_gradients_against_a_riemann_sum(case):
    model, source, targets, result = case
    embedded = model.embedding_table()[jnp.asarray(source)]
    steps = 48  # trapezoid rule over per-position gradients along the path 0 → e (error ~ 1/steps²)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    total = sum(w * gradient_rows(model, (i / steps) * embedded, targets) for i, w in enumerate(weights))
    want = np.sum(total * np.asarray(embedded)[None], axis=-1)
    scale = np.abs(want).max()
    np.testing.assert_allclose(result["integrated gradients"], want, atol=5e-3 * scale)
    # completeness: each row sums to the change of its logit from the all-padding text to the text
    zero, logit = jnp.zeros_like(embedded), compiled(model, targets)[0]
    change = [float(logit(embedded, t) - logit(zero, t)) for t in range(TIME)]
    np.testing.assert_allclose(result["integrated gradients"].sum(axis=1), change, atol=2e-3 * np.abs(change).max())


def test_occlusion_against_a_loop(case):
    model, source, targets, result = case
    embedded = np.asarray(model.embedding_table()[jnp.asarray(source)])
    want, logit = np.zeros((TIME, TIME)), compiled(model, targets)[0]
    for t_in in range(TIME):
        occluded = embedded.copy()
        occluded[t_in] = 0.0  # the padding character's embedding
        for t_out in range(t_in, TIME):
            want[t_out, t_in] = float(logit(embedded, t_out) - logit(occluded, t_out))
    np.testing.assert_allclose(result["occlusion (replace)"], want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
    assert np.abs(np.diag(result["occlusion (replace)"])).min() > 0  # the character itself always matters


def test_occlusion_by_removal_against_a_loop(case):
    model, source, targets, result = case
    full = np.asarray(model.logits(model.recur(model.embedding_table()[jnp.asarray(source)][None])))[0]
    want = np.zeros((TIME, TIME))
    for t_in in range(TIME):
        shorter = np.delete(np.asarray(source), t_in)  # the text without character t_in, closed up
        logits = np.asarray(model.logits(model.recur(model.embedding_table()[jnp.asarray(shorter)][None])))[0]
        for t_out in range(t_in, TIME):
            if t_out == 0:  # nothing left: the zero state, whose logits are the output layer's bias
                without = float(model.dense.bias[...][targets[0]])
            else:  # the same output character, one position earlier in the shorter text
                without = float(logits[t_out - 1, targets[t_out]])
            want[t_out, t_in] = full[t_out, targets[t_out]] - without
    np.testing.assert_allclose(result["occlusion (remove)"], want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
    # removing the last character is reading the output one step earlier
    np.testing.assert_allclose(np.diag(result["occlusion (remove)"])[1:],
                               full[np.arange(1, TIME), targets[1:]] - full[np.arange(TIME - 1), targets[1:]], rtol=1e-4, atol=1e-6)  # fmt: skip


def test_row_rank_correlation_and_share_in_word():
    rng = np.random.default_rng(1)
    a, b = np.tril(rng.random((8, 8))), np.tril(rng.random((8, 8)))
    rho = attribution.row_rank_correlation(a, -b)  # magnitudes: the sign does not matter
    assert np.isnan(rho[:2]).all()
    for t in range(2, 8):
        assert rho[t] == pytest.approx(scipy_stats.spearmanr(a[t, : t + 1], b[t, : t + 1]).statistic)
    assert attribution.row_rank_correlation(a, a)[2:] == pytest.approx(1.0)
    text = " ab cde f"
    source = data.encode_chars(text)
    m = np.tril(rng.random((9, 9)))
    np.testing.assert_allclose(attribution.share_in_word(-m, source), shares.connectivity_share_in_word(m, text))


def test_bad_input_is_refused():
    model = tiny_model("gru")
    with pytest.raises(ValueError, match="same shape|one shape"):
        attribution.attributions(model, np.ones(4, int), np.ones(5, int))
    with pytest.raises(ValueError, match="steps"):
        attribution.attributions(model, np.ones(4, int), np.ones(4, int), steps=0)


def test_completeness_gap(case):
    model, source, targets, result = case
    gap = attribution.completeness_gap(model, source, targets, result["integrated gradients"])
    assert gap.shape == (TIME,) and np.nanmax(gap) < 0.05  # 64 steps on a small model: close to complete
    far = attribution.completeness_gap(model, source, targets, np.zeros((TIME, TIME)))
    np.testing.assert_allclose(far, 1.0)  # nothing attributed: the whole change is missing


def test_completeness_by_steps_is_the_gap_of_that_many_steps(case):
    model, source, targets, _ = case
    by_steps, _ = attribution.completeness_by_steps(model, source, targets, steps=(64, 3))
    assert list(by_steps) == [64, 3]
    for steps in (3, 64):
        integrated = attribution.attributions(model, source, targets, steps=steps)["integrated gradients"]
        want = attribution.completeness_gap(model, source, targets, integrated)
        np.testing.assert_allclose(by_steps[steps], want, rtol=1e-3, atol=1e-5)
    assert np.nanmedian(by_steps[64]) < np.nanmedian(by_steps[3])  # a smooth small model converges


def test_peakiness_against_finite_differences():
    model, (source, targets) = tiny_model("gru"), sequence()
    _, peak = attribution.completeness_by_steps(model, source, targets, steps=(8, 256))
    assert peak.shape == (TIME,) and np.all(peak >= 1 - 1e-6)
    embedded = model.embedding_table()[jnp.asarray(source)]
    logit = compiled(model, targets)[0]
    t = TIME - 1  # the slow way: finite differences of the logit along the path
    values = np.array([float(logit(a * embedded, t)) for a in np.linspace(0, 1, 2049)])
    slope = np.abs(np.diff(values) * 2048)
    assert peak[t] == pytest.approx(slope.max() / slope.mean(), rel=0.05)
