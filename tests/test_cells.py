"""Each recurrent cell against the article's equations (its appendix), written again here in NumPy.

The references below are transcribed from the spec, not from ``memviz/cells.py``; they read only the
cells' weight arrays. Weights are replaced by random normal values (biases included) so that a wrong
gate order, bias or forget-gate handling changes the numbers.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from memviz.models.cells import CELLS, GRUCell, LSTMCell, NestedLSTMCell, TanhRNNCell, make_cell

IN, HIDDEN, BATCH, STEPS = 5, 7, 3, 6
RTOL, ATOL = 1e-5, 1e-5


# ---------------------------------------------------------------- NumPy references (float64)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def ref_rnn(W, b, h, x):
    """h_t = tanh([x_t, h_{t−1}] · W + b)."""
    h = np.tanh(np.concatenate([x, h], -1) @ W + b)
    return h, h


def ref_lstm(W, b, carry, x):
    """TF BasicLSTMCell, forget_bias 1.0, gate order i, j, f, o."""
    h, c = carry
    z = np.concatenate([x, h], -1) @ W + b
    n = h.shape[-1]
    i, j, f, o = z[..., :n], z[..., n : 2 * n], z[..., 2 * n : 3 * n], z[..., 3 * n :]
    c = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(j)
    h = sigmoid(o) * np.tanh(c)
    return (h, c), h


def ref_gru(Wg, bg, Wc, bc, h, x):
    """TF GRUCell: r first then u; r multiplies h before the candidate matmul."""
    n = h.shape[-1]
    g = sigmoid(np.concatenate([x, h], -1) @ Wg + bg)
    r, u = g[..., :n], g[..., n:]
    cand = np.tanh(np.concatenate([x, r * h], -1) @ Wc + bc)
    h = u * h + (1.0 - u) * cand
    return h, h


def ref_gru_reset_after(Wg, bg, Wc, bc, h, x):
    """The cuDNN / Flax form (reset applied after the hidden matmul), the one the article did NOT use."""
    n, m = h.shape[-1], x.shape[-1]
    g = sigmoid(np.concatenate([x, h], -1) @ Wg + bg)
    r, u = g[..., :n], g[..., n:]
    cand = np.tanh(x @ Wc[:m] + bc + r * (h @ Wc[m:]))
    return u * h + (1.0 - u) * cand


def ref_nlstm(W0, b0, W1, b1, carry, x, *, outer_j=lambda j: j, inner_prev=None):
    """Madsen's BasicNLSTMCell, depth 2. ``outer_j`` / ``inner_prev`` let tests build wrong variants."""
    h, c, c_in = carry
    n = h.shape[-1]
    z = np.concatenate([x, h], -1) @ W0 + b0
    i, j, f, o = z[..., :n], z[..., n : 2 * n], z[..., 2 * n : 3 * n], z[..., 3 * n :]
    x_inner = sigmoid(i) * outer_j(j)
    h_prev_inner = sigmoid(f + 1.0) * c if inner_prev is None else inner_prev(h, c, f)
    zi = np.concatenate([x_inner, h_prev_inner], -1) @ W1 + b1
    ii, ji, fi, oi = zi[..., :n], zi[..., n : 2 * n], zi[..., 2 * n : 3 * n], zi[..., 3 * n :]
    c_in = sigmoid(fi + 1.0) * c_in + sigmoid(ii) * np.tanh(ji)
    h_in = sigmoid(oi) * np.tanh(c_in)
    c = h_in
    h = sigmoid(o) * np.tanh(c)
    return (h, c, c_in), h


def f64(a):
    return np.asarray(a, np.float64)


def reference_step(cell, carry, x):
    """Dispatch to the NumPy reference, reading the cell's weights."""
    if isinstance(cell, NestedLSTMCell):
        return ref_nlstm(
            f64(cell.outer.kernel[...]), f64(cell.outer.bias[...]),
            f64(cell.inner.kernel[...]), f64(cell.inner.bias[...]), carry, x,
        )  # fmt: skip
    if isinstance(cell, LSTMCell):
        return ref_lstm(f64(cell.kernel[...]), f64(cell.bias[...]), carry, x)
    if isinstance(cell, GRUCell):
        return ref_gru(
            f64(cell.gate_kernel[...]), f64(cell.gate_bias[...]),
            f64(cell.candidate_kernel[...]), f64(cell.candidate_bias[...]), carry, x,
        )  # fmt: skip
    if isinstance(cell, TanhRNNCell):
        return ref_rnn(f64(cell.kernel[...]), f64(cell.bias[...]), carry, x)
    raise TypeError(type(cell))


# ---------------------------------------------------------------- helpers


def randomize(module, seed: int, scale: float = 0.6):
    """Replace every parameter (kernels and biases) by N(0, scale²)."""
    state = nnx.state(module, nnx.Param)
    leaves, treedef = jax.tree.flatten(state)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    new = [scale * jax.random.normal(k, leaf.shape, jnp.float32) for k, leaf in zip(keys, leaves)]
    nnx.update(module, jax.tree.unflatten(treedef, new))
    return module


def random_carry(cell, rng, batch=BATCH):
    zero = cell.initialize_carry((batch, cell.in_features))
    return jax.tree.map(lambda z: rng.normal(size=z.shape).astype(np.float32), zero)


def assert_tree_close(actual, expected, rtol=RTOL, atol=ATOL):
    a, e = jax.tree.leaves(actual), jax.tree.leaves(expected)
    assert len(a) == len(e)
    for x, y in zip(a, e):
        np.testing.assert_allclose(np.asarray(x, np.float64), y, rtol=rtol, atol=atol)


def build(name, seed=0, compute_dtype="float32", in_features=IN, hidden=HIDDEN):
    return make_cell(name, in_features, hidden, rngs=nnx.Rngs(seed), compute_dtype=compute_dtype)


# ---------------------------------------------------------------- 1. cells == the article's equations


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_matches_numpy_equations_over_steps(name):
    cell = randomize(build(name), seed=1)
    rng = np.random.default_rng(0)
    carry = random_carry(cell, rng)
    ref_carry = jax.tree.map(f64, carry)
    for _ in range(STEPS):
        x = rng.normal(size=(BATCH, IN)).astype(np.float32)
        carry, y = cell(carry, jnp.asarray(x))
        ref_carry, ref_y = reference_step(cell, ref_carry, f64(x))
        assert_tree_close(y, ref_y)
        assert_tree_close(carry, ref_carry)
        assert y.dtype == jnp.float32


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_call_equals_step_of_projected_inputs(name):
    cell = randomize(build(name), seed=2)
    rng = np.random.default_rng(1)
    carry = random_carry(cell, rng)
    x = jnp.asarray(rng.normal(size=(BATCH, IN)), jnp.float32)
    np.testing.assert_array_equal(cell.project_inputs(x[None]).shape[:-1], (1, BATCH))  # any leading axes
    a = cell(carry, x)
    b = cell.step(carry, cell.project_inputs(x))
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_bfloat16_compute_stays_close_and_float32(name):
    f32 = randomize(build(name), seed=3, scale=0.3)
    bf16 = build(name, compute_dtype="bfloat16")
    nnx.update(bf16, nnx.state(f32, nnx.Param))
    rng = np.random.default_rng(2)
    carry32 = carry16 = random_carry(f32, rng)
    for _ in range(3):
        x = jnp.asarray(rng.normal(size=(BATCH, IN)), jnp.float32)
        carry32, y32 = f32(carry32, x)
        carry16, y16 = bf16(carry16, x)
        for leaf in jax.tree.leaves((carry16, y16)):
            assert leaf.dtype == jnp.float32
        np.testing.assert_allclose(y16, y32, atol=5e-2)
        assert not np.array_equal(np.asarray(y16), np.asarray(y32))  # bf16 really was used


@pytest.mark.parametrize("name", sorted(CELLS))
def test_initialize_carry_is_zero_with_expected_structure(name):
    cell = build(name)
    carry = cell.initialize_carry((BATCH, IN))
    n_states = {"rnn": 1, "gru": 1, "lstm": 2, "nlstm": 3}[name]
    leaves = jax.tree.leaves(carry)
    assert len(leaves) == n_states
    for leaf in leaves:
        assert leaf.shape == (BATCH, HIDDEN) and leaf.dtype == jnp.float32
        assert not np.any(np.asarray(leaf))


# ---------------------------------------------------------------- 2. conventions, one per test


def _zero_params(module):
    nnx.update(module, jax.tree.map(jnp.zeros_like, nnx.state(module, nnx.Param)))
    return module


def test_lstm_forget_bias_is_constant_plus_one():
    cell = _zero_params(build("lstm"))
    rng = np.random.default_rng(3)
    h0, c0 = random_carry(cell, rng)
    (h, c), y = cell((h0, c0), jnp.asarray(rng.normal(size=(BATCH, IN)), jnp.float32))
    expected_c = sigmoid(1.0) * f64(c0) + 0.5 * np.tanh(0.0)
    np.testing.assert_allclose(c, expected_c, rtol=1e-6)
    np.testing.assert_allclose(h, 0.5 * np.tanh(expected_c), rtol=1e-6)
    np.testing.assert_array_equal(y, h)


def test_lstm_gate_order_is_i_j_f_o():
    cell = _zero_params(build("lstm"))
    bi, bj, bf, bo = 0.3, -0.7, 1.5, -2.0  # distinct, so any permutation changes c and h
    cell.bias[...] = jnp.repeat(jnp.asarray([bi, bj, bf, bo], jnp.float32), HIDDEN)
    c0 = np.full((1, HIDDEN), 0.8, np.float32)
    (h, c), _ = cell((jnp.zeros((1, HIDDEN)), jnp.asarray(c0)), jnp.zeros((1, IN)))
    expected_c = sigmoid(bf + 1.0) * 0.8 + sigmoid(bi) * np.tanh(bj)
    np.testing.assert_allclose(c, np.full((1, HIDDEN), expected_c), rtol=1e-6)
    np.testing.assert_allclose(h, np.full((1, HIDDEN), sigmoid(bo) * np.tanh(expected_c)), rtol=1e-6)


def test_gru_reset_gate_applied_before_candidate_matmul():
    cell = randomize(build("gru"), seed=4, scale=1.0)
    rng = np.random.default_rng(4)
    h0 = rng.normal(size=(BATCH, HIDDEN))
    x = rng.normal(size=(BATCH, IN))
    params = [f64(p[...]) for p in (cell.gate_kernel, cell.gate_bias, cell.candidate_kernel, cell.candidate_bias)]
    before, _ = ref_gru(*params, h0, x)
    after = ref_gru_reset_after(*params, h0, x)
    assert np.max(np.abs(before - after)) > 1e-2  # the case discriminates
    h, _ = cell(jnp.asarray(h0, jnp.float32), jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(h, before, rtol=RTOL, atol=ATOL)


def test_gru_split_order_is_reset_then_update():
    cell = _zero_params(build("gru"))
    rng = np.random.default_rng(5)
    cell.candidate_kernel[...] = jnp.asarray(rng.normal(size=(IN + HIDDEN, HIDDEN)), jnp.float32)
    br, bu = -3.0, 0.5
    cell.gate_bias[...] = jnp.repeat(jnp.asarray([br, bu], jnp.float32), HIDDEN)
    h0 = rng.normal(size=(1, HIDDEN))
    x = rng.normal(size=(1, IN))
    h, _ = cell(jnp.asarray(h0, jnp.float32), jnp.asarray(x, jnp.float32))
    r, u = sigmoid(br), sigmoid(bu)
    Wc = f64(cell.candidate_kernel[...])
    expected = u * h0 + (1 - u) * np.tanh(np.concatenate([x, r * h0], -1) @ Wc)
    np.testing.assert_allclose(h, expected, rtol=RTOL, atol=ATOL)


def test_gru_default_biases_gate_one_candidate_zero():
    cell = build("gru")
    np.testing.assert_array_equal(cell.gate_bias[...], np.ones(2 * HIDDEN))
    np.testing.assert_array_equal(cell.candidate_bias[...], np.zeros(HIDDEN))
    assert cell.gate_kernel.shape == (IN + HIDDEN, 2 * HIDDEN)
    assert cell.candidate_kernel.shape == (IN + HIDDEN, HIDDEN)


def _nlstm_params(cell):
    return (
        f64(cell.outer.kernel[...]),
        f64(cell.outer.bias[...]),
        f64(cell.inner.kernel[...]),
        f64(cell.inner.bias[...]),
    )


def test_nlstm_depth0_is_identity_on_j_not_tanh():
    cell = randomize(build("nlstm"), seed=6, scale=0.5)
    # A large outer j pre-activation, where j and tanh(j) are far apart.
    bias = np.asarray(cell.outer.bias[...]).copy()
    bias[HIDDEN : 2 * HIDDEN] = 3.0
    cell.outer.bias[...] = jnp.asarray(bias)
    rng = np.random.default_rng(6)
    carry = random_carry(cell, rng)
    x = rng.normal(size=(BATCH, IN))
    ref_carry = jax.tree.map(f64, carry)
    (_, _, _), identity = ref_nlstm(*_nlstm_params(cell), ref_carry, x)
    (_, _, _), with_tanh = ref_nlstm(*_nlstm_params(cell), ref_carry, x, outer_j=np.tanh)
    assert np.max(np.abs(identity - with_tanh)) > 1e-2
    _, y = cell(carry, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(y, identity, rtol=RTOL, atol=ATOL)


def test_nlstm_inner_previous_hidden_is_forget_gated_outer_memory():
    cell = randomize(build("nlstm"), seed=7, scale=0.8)
    rng = np.random.default_rng(7)
    carry = random_carry(cell, rng)
    x = rng.normal(size=(BATCH, IN))
    ref_carry = jax.tree.map(f64, carry)
    params = _nlstm_params(cell)
    (_, _, _), spec = ref_nlstm(*params, ref_carry, x)
    wrong = {
        "c_prev": lambda h, c, f: c,  # no forget gate
        "h_prev": lambda h, c, f: h,  # the outer hidden
        "no_plus_one": lambda h, c, f: sigmoid(f) * c,  # forget gate without the +1
    }
    for variant in wrong.values():
        (_, _, _), y_wrong = ref_nlstm(*params, ref_carry, x, inner_prev=variant)
        assert np.max(np.abs(spec - y_wrong)) > 1e-3
    _, y = cell(carry, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(y, spec, rtol=RTOL, atol=ATOL)


def test_nlstm_outer_memory_is_inner_output_and_carry_is_h_c_cinner():
    cell = randomize(build("nlstm"), seed=8)
    rng = np.random.default_rng(8)
    h0, c0, ci0 = random_carry(cell, rng)
    x = rng.normal(size=(BATCH, IN))
    W0, b0, W1, b1 = _nlstm_params(cell)
    (h, c, c_inner), y = cell((h0, c0, ci0), jnp.asarray(x, jnp.float32))
    n = HIDDEN
    z = np.concatenate([x, f64(h0)], -1) @ W0 + b0
    i, j, f, o = np.split(z, 4, axis=-1)
    # The inner cell is an ordinary LSTM with input σ(i)⊙j, previous hidden σ(f+1)⊙c, memory c̃.
    (h_inner, c_inner_ref), _ = ref_lstm(W1, b1, (sigmoid(f + 1.0) * f64(c0), f64(ci0)), sigmoid(i) * j)
    np.testing.assert_allclose(c, h_inner, rtol=RTOL, atol=ATOL)  # outer memory := inner output
    np.testing.assert_allclose(c_inner, c_inner_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(h, sigmoid(o) * np.tanh(h_inner), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(y, h)
    assert W1.shape == (2 * n, 4 * n)


# ---------------------------------------------------------------- default initialisers


def _fused_kernels(cell):
    if isinstance(cell, NestedLSTMCell):
        return [cell.outer.kernel, cell.inner.kernel]
    if isinstance(cell, GRUCell):
        return [cell.gate_kernel, cell.candidate_kernel]
    return [cell.kernel]


@pytest.mark.parametrize("name", sorted(CELLS))
def test_kernels_are_glorot_uniform_over_fused_shape(name):
    in_features, hidden = 24, 40
    cell = build(name, seed=9, in_features=in_features, hidden=hidden)
    expected_shapes = {
        "rnn": [(in_features + hidden, hidden)],
        "lstm": [(in_features + hidden, 4 * hidden)],
        "gru": [(in_features + hidden, 2 * hidden), (in_features + hidden, hidden)],
        "nlstm": [(in_features + hidden, 4 * hidden), (2 * hidden, 4 * hidden)],
    }[name]
    kernels = _fused_kernels(cell)
    assert [k.shape for k in kernels] == expected_shapes
    for kernel in kernels:
        w = np.asarray(kernel[...], np.float64)
        bound = math.sqrt(6.0 / (w.shape[0] + w.shape[1]))
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.95 * bound  # not a narrower init either
        np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.1)
        assert abs(w.mean()) < 0.05 * bound


@pytest.mark.parametrize("name", ["rnn", "lstm", "nlstm"])
def test_lstm_family_biases_start_at_zero(name):
    cell = build(name)
    biases = [cell.outer.bias, cell.inner.bias] if name == "nlstm" else [cell.bias]
    for bias in biases:
        assert not np.any(np.asarray(bias[...]))


# ---------------------------------------------------------------- bad input


def test_make_cell_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        make_cell("transformer", IN, HIDDEN, rngs=nnx.Rngs(0))
    for name in ("rnn", "lstm", "gru", "nlstm"):
        assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_bad_compute_dtype_raises(name):
    with pytest.raises(ValueError, match="compute_dtype"):
        build(name, compute_dtype="float16")
