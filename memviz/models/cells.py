"""The recurrent units of the article, as Flax NNX cells, chosen by name from one registry.

Every cell follows Flax's ``RNNCellBase`` contract, ``(carry, x) -> (carry, y)`` with
``initialize_carry``, and splits that step in two so the sequence model can hoist the input
half of the matmul out of the time loop:

* ``project_inputs(x)``: ``x · W_x + b`` for every time step at once, ``(..., in) -> (..., G)``;
* ``step(carry, x_projected)``: the recurrence proper, one time step.

``cell(carry, x)`` computes the same step from the raw input with one matmul over ``[x, h]``, as
TF does (the form the layer-wavefront loop of ``memviz.models.model`` uses): it equals
``cell.step(carry, cell.project_inputs(x))`` up to float rounding.

The conventions are TensorFlow 1.x's, which the article's models used (https://distill.pub/2019/memorization-in-rnns/,
appendix): one fused kernel over ``[x, h]`` with glorot-uniform initialisation over the fused shape; LSTM gate order
``i, j, f, o`` with a constant +1 added to ``f`` at every step; GRU reset gate applied to ``h``
*before* the candidate matmul, gate bias initialised to 1; Nested LSTM with the identity on ``j``
at depth 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import nnx

Array = jax.Array


class RecurrentCell(Protocol):
    """The contract every cell here follows (Flax's ``RNNCellBase`` plus the split step the time loops use)."""

    in_features: int
    hidden_features: int

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None) -> Any:
        """The initial carry for inputs of shape ``(..., in)``."""
        ...

    def project_inputs(self, x: Array) -> Array:
        """``(..., in) -> (..., gates)``: the input half of the step, for every time step at once."""
        ...

    def step(self, carry: Any, x_projected: Array) -> tuple[Any, Array]:
        """One time step from the projected input: ``(carry, output)``."""
        ...

    def __call__(self, carry: Any, x: Array) -> tuple[Any, Array]:
        """One time step from the raw input: ``(carry, output)``."""
        ...


#: TF's BasicLSTMCell adds this to the forget gate pre-activation at every step (not a bias init).
FORGET_BIAS = 1.0

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def check_compute_dtype(compute_dtype: str) -> None:
    """Raise ValueError unless ``compute_dtype`` names one of :data:`COMPUTE_DTYPES`."""
    if compute_dtype not in COMPUTE_DTYPES:
        raise ValueError(f"compute_dtype must be one of {sorted(COMPUTE_DTYPES)}, not {compute_dtype!r}")


def _matmul(x: Array, kernel: Array, compute_dtype: str) -> Array:
    """``x @ kernel`` with operands in ``compute_dtype`` and a float32 result (state stays float32)."""
    dtype = COMPUTE_DTYPES[compute_dtype]
    return jnp.matmul(x.astype(dtype), kernel.astype(dtype), preferred_element_type=jnp.float32)


class _FusedKernelCell(nnx.RNNCellBase):
    """Shared plumbing: one fused kernel ``W: (in + hidden, gates·hidden)`` over ``[x, h]``, as TF stores it."""

    num_gates: int

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        rngs: nnx.Rngs,
        compute_dtype: str = "float32",
        bias_init: float = 0.0,
    ):
        check_compute_dtype(compute_dtype)
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.compute_dtype = compute_dtype
        shape = (in_features + hidden_features, self.num_gates * hidden_features)
        self.kernel = nnx.Param(nnx.initializers.glorot_uniform()(rngs.params(), shape))
        self.bias = nnx.Param(jnp.full((shape[1],), bias_init, jnp.float32))

    def project_inputs(self, x: Array) -> Array:
        """``(..., in) -> (..., gates·hidden)``: the input half of ``[x, h] · W + b``."""
        return _matmul(x, self.kernel[: self.in_features], self.compute_dtype) + self.bias

    def recurrent_gates(self, h: Array) -> Array:
        """``(..., hidden) -> (..., gates·hidden)``: the hidden half of ``[x, h] · W``."""
        return _matmul(h, self.kernel[self.in_features :], self.compute_dtype)

    def fused_gates(self, x: Array, h: Array) -> Array:
        """``[x, h] · W + b`` in one matmul."""
        return _matmul(jnp.concatenate([x, h], axis=-1), self.kernel[...], self.compute_dtype) + self.bias

    def zero_state(self, input_shape: tuple[int, ...]) -> Array:
        """``(..., hidden)`` zeros, float32, for inputs of shape ``(..., in)``: one part of the initial carry."""
        return jnp.zeros((*input_shape[:-1], self.hidden_features), jnp.float32)

    @staticmethod
    def _hidden(carry) -> Array:
        return carry[0] if isinstance(carry, tuple) else carry

    def _update(self, carry, gates: Array):
        """The new ``(carry, output)`` from the gate pre-activations ``[x, h] · W + b``."""
        raise NotImplementedError

    def step(self, carry, x_projected: Array):
        """One time step from the projected input (:meth:`project_inputs`): ``(carry, output)``."""
        return self._update(carry, x_projected + self.recurrent_gates(self._hidden(carry)))

    def __call__(self, carry, x: Array):
        """One time step from the raw input, one matmul over ``[x, h]``: ``(carry, output)``."""
        return self._update(carry, self.fused_gates(x, self._hidden(carry)))

    @property
    def num_feature_axes(self) -> int:
        """Flax's ``RNNCellBase`` contract: one feature axis."""
        return 1


class TanhRNNCell(_FusedKernelCell):
    """The vanilla recurrent unit, the one the article's vanishing-gradient figure is about.

        h_t = tanh([x_t, h_{t−1}] · W + b)

    carry: ``h``, ``(..., hidden)``.
    """

    num_gates = 1

    def initialize_carry(self, input_shape, rngs=None):
        """The zero hidden state ``h``, ``(..., hidden)``, for inputs of shape ``(..., in)`` (``rngs`` unused)."""
        return self.zero_state(input_shape)

    def _update(self, h: Array, gates: Array):
        h = jnp.tanh(gates)
        return h, h


class LSTMCell(_FusedKernelCell):
    """LSTM as TF 1.x ``BasicLSTMCell(forget_bias=1.0)`` (the article's appendix, "Long Short-Term Memory").

        [i, j, f, o] = [x_t, h_{t−1}] · W + b
        c_t = σ(f + 1) ⊙ c_{t−1} + σ(i) ⊙ tanh(j)
        h_t = σ(o) ⊙ tanh(c_t)

    W: ``(in + hidden, 4·hidden)`` glorot-uniform, b = 0. carry: ``(h, c)``, each ``(..., hidden)``.
    """

    num_gates = 4

    def initialize_carry(self, input_shape, rngs=None):
        """``(h, c)``, both zeros ``(..., hidden)``, for inputs of shape ``(..., in)`` (``rngs`` unused)."""
        return (self.zero_state(input_shape), self.zero_state(input_shape))

    def _update(self, carry, gates: Array):
        _, c = carry
        i, j, f, o = jnp.split(gates, 4, axis=-1)
        c = jax.nn.sigmoid(f + FORGET_BIAS) * c + jax.nn.sigmoid(i) * jnp.tanh(j)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h


class GRUCell(nnx.RNNCellBase):
    """GRU as TF 1.x ``GRUCell`` (Cho et al. 2014; the article's appendix, "Gated Recurrent Unit").

        [r, u] = σ([x_t, h_{t−1}] · W_g + b_g)          b_g initialised to 1
        c      = tanh([x_t, r ⊙ h_{t−1}] · W_c + b_c)    b_c initialised to 0
        h_t    = u ⊙ h_{t−1} + (1 − u) ⊙ c

    The reset gate multiplies ``h`` *before* the candidate matmul (Flax's ``nnx.GRUCell`` applies
    it after, the cuDNN form). W_g: ``(in + hidden, 2·hidden)``, W_c: ``(in + hidden, hidden)``.
    carry: ``h``, ``(..., hidden)``.
    """

    def __init__(self, in_features: int, hidden_features: int, *, rngs: nnx.Rngs, compute_dtype: str = "float32"):
        check_compute_dtype(compute_dtype)
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.compute_dtype = compute_dtype
        glorot = nnx.initializers.glorot_uniform()
        fused = in_features + hidden_features
        self.gate_kernel = nnx.Param(glorot(rngs.params(), (fused, 2 * hidden_features)))
        self.gate_bias = nnx.Param(jnp.ones((2 * hidden_features,), jnp.float32))
        self.candidate_kernel = nnx.Param(glorot(rngs.params(), (fused, hidden_features)))
        self.candidate_bias = nnx.Param(jnp.zeros((hidden_features,), jnp.float32))

    def initialize_carry(self, input_shape, rngs=None):
        """The zero hidden state ``h``, ``(..., hidden)``, for inputs of shape ``(..., in)`` (``rngs`` unused)."""
        return jnp.zeros((*input_shape[:-1], self.hidden_features), jnp.float32)

    def project_inputs(self, x: Array) -> Array:
        """``(..., in) -> (..., 3·hidden)``: input halves of the gate and candidate matmuls."""
        n = self.in_features
        gates = _matmul(x, self.gate_kernel[:n], self.compute_dtype) + self.gate_bias
        candidate = _matmul(x, self.candidate_kernel[:n], self.compute_dtype) + self.candidate_bias
        return jnp.concatenate([gates, candidate], axis=-1)

    def step(self, h: Array, x_projected: Array):
        """One time step from the projected input (:meth:`project_inputs`): ``(h, h)``."""
        n, d = self.in_features, self.compute_dtype
        x_gates, x_candidate = jnp.split(x_projected, [2 * self.hidden_features], axis=-1)
        return self._update(
            h,
            x_gates + _matmul(h, self.gate_kernel[n:], d),
            lambda reset_h: x_candidate + _matmul(reset_h, self.candidate_kernel[n:], d),
        )

    def __call__(self, h: Array, x: Array):
        """One time step from the raw input: ``(h, h)``."""
        d = self.compute_dtype

        def fused(kernel: nnx.Param, bias: nnx.Param, h_part: Array) -> Array:
            return _matmul(jnp.concatenate([x, h_part], axis=-1), kernel[...], d) + bias

        return self._update(
            h,
            fused(self.gate_kernel, self.gate_bias, h),
            lambda reset_h: fused(self.candidate_kernel, self.candidate_bias, reset_h),
        )

    @staticmethod
    def _update(h: Array, gates: Array, candidate: Callable[[Array], Array]):
        """The new state from the gate pre-activations and ``r ⊙ h ↦`` the candidate's pre-activation."""
        r, u = jnp.split(jax.nn.sigmoid(gates), 2, axis=-1)
        c = jnp.tanh(candidate(r * h))
        h = u * h + (1.0 - u) * c
        return h, h

    @property
    def num_feature_axes(self) -> int:
        """Flax's ``RNNCellBase`` contract: one feature axis."""
        return 1


class NestedLSTMCell(nnx.RNNCellBase):
    """Nested LSTM of depth 2 as the article's ``BasicNLSTMCell`` (Moniz & Krueger 2018; its appendix, "Nested LSTM").

    Outer cell (depth 0), with the identity in place of tanh on ``j``::

        [i, j, f, o] = [x_t, h_{t−1}] · W0 + b0
        x̃_t    = σ(i) ⊙ j                     inner input
        h̃_prev = σ(f + 1) ⊙ c_{t−1}           inner "previous hidden"

    Inner LSTM (depth 1), ordinary activations, its own memory c̃::

        [ĩ, j̃, f̃, õ] = [x̃_t, h̃_prev] · W1 + b1
        c̃_t = σ(f̃ + 1) ⊙ c̃_{t−1} + σ(ĩ) ⊙ tanh(j̃)
        h̃_t = σ(õ) ⊙ tanh(c̃_t)

    Back in the outer cell: ``c_t = h̃_t`` and ``h_t = σ(o) ⊙ tanh(c_t)``.

    W0: ``(in + hidden, 4·hidden)``, W1: ``(2·hidden, 4·hidden)``, glorot-uniform; biases zero.
    carry: ``(h, c, c̃)``, each ``(..., hidden)``.
    """

    def __init__(self, in_features: int, hidden_features: int, *, rngs: nnx.Rngs, compute_dtype: str = "float32"):
        self.outer = LSTMCell(in_features, hidden_features, rngs=rngs, compute_dtype=compute_dtype)
        self.inner = LSTMCell(hidden_features, hidden_features, rngs=rngs, compute_dtype=compute_dtype)
        self.in_features = in_features
        self.hidden_features = hidden_features

    def initialize_carry(self, input_shape, rngs=None):
        """``(h, c, c̃)``, all zeros ``(..., hidden)``, for inputs of shape ``(..., in)`` (``rngs`` unused)."""
        zeros = self.outer.zero_state(input_shape)
        return (zeros, zeros, zeros)

    def project_inputs(self, x: Array) -> Array:
        """``(..., in) -> (..., 4·hidden)``: the outer cell's input half of ``[x, h] · W0 + b0``."""
        return self.outer.project_inputs(x)

    def step(self, carry, x_projected: Array):
        """One time step from the projected input (:meth:`project_inputs`): ``((h, c, c̃), h)``."""
        return self._update(carry, x_projected + self.outer.recurrent_gates(carry[0]))

    def __call__(self, carry, x: Array):
        """One time step from the raw input, one matmul over ``[x, h]``: ``((h, c, c̃), h)``."""
        return self._update(carry, self.outer.fused_gates(x, carry[0]))

    def _update(self, carry, gates: Array):
        _, c, c_inner = carry
        i, j, f, o = jnp.split(gates, 4, axis=-1)
        inner_input = jax.nn.sigmoid(i) * j  # σ_z = identity at depth 0 (article appendix)
        inner_hidden = jax.nn.sigmoid(f + FORGET_BIAS) * c
        (c, c_inner), _ = self.inner((inner_hidden, c_inner), inner_input)  # one matmul over [x̃, h̃]
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c, c_inner), h

    @property
    def num_feature_axes(self) -> int:
        """Flax's ``RNNCellBase`` contract: one feature axis."""
        return 1


#: The cell registry: a cell type is a name, never a copied file.
CELLS: dict[str, Callable[..., nnx.RNNCellBase]] = {
    "rnn": TanhRNNCell,
    "lstm": LSTMCell,
    "gru": GRUCell,
    "nlstm": NestedLSTMCell,
}


def make_cell(name: str, in_features: int, hidden_features: int, *, rngs: nnx.Rngs, compute_dtype: str = "float32"):
    """Build the cell registered under ``name`` (one of ``CELLS``)."""
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(sorted(CELLS))}")
    return CELLS[name](in_features, hidden_features, rngs=rngs, compute_dtype=compute_dtype)
