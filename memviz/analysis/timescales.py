"""Gates read as memory timescales: for how many steps each unit keeps what it holds.

A gated unit carries its memory from one step to the next multiplied, unit by unit, by a gate in (0, 1):

* LSTM: the forget gate ``σ(f + 1)`` on ``c`` (``c_t = σ(f + 1) ⊙ c_{t−1} + …``);
* Nested LSTM: the outer forget gate ``σ(f + 1)`` on ``c`` (what the inner LSTM receives as its previous state);
* GRU: the update gate ``u`` on ``h`` (``h_t = u ⊙ h_{t−1} + (1 − u) ⊙ c``).

If a unit's gate averages ``g`` over real text, what it holds fades like ``g^k`` after ``k`` steps (along
that path), so ``τ = −1 / ln g`` steps is its characteristic memory length, the e-folding time:
``g = 0.5`` → 1.4 steps, ``0.9`` → 9.5, ``0.99`` → 99.5. The tanh RNN has no gate: it has no timescale here.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from flax import nnx

from memviz.models.cells import FORGET_BIAS, GRUCell, LSTMCell, NestedLSTMCell, RecurrentCell
from memviz.models.model import AutocompleteModel, scan_over_time

#: The gate read as retention, per cell (``memviz.models.cells`` registry names).
RETENTION_GATES = {"lstm": "forget gate σ(f + 1)", "nlstm": "outer forget gate σ(f + 1)", "gru": "update gate u"}


def retention_gate(cell: nnx.Module, carry, x: jax.Array) -> jax.Array:
    """``(..., hidden)``: the gate that multiplies the cell's memory at this step, from the raw input ``x (..., in)``."""
    if isinstance(cell, NestedLSTMCell):
        cell, h = cell.outer, carry[0]
    elif isinstance(cell, LSTMCell):
        h = carry[0]
    elif isinstance(cell, GRUCell):
        gates = jnp.concatenate([x, carry], axis=-1) @ cell.gate_kernel[...] + cell.gate_bias[...]
        _, u = jnp.split(gates, 2, axis=-1)  # [r, u]
        return jax.nn.sigmoid(u)
    else:
        raise TypeError(f"{type(cell).__name__} has no retention gate; gated cells: {', '.join(RETENTION_GATES)}")
    _, _, f, _ = jnp.split(jnp.concatenate([x, h], axis=-1) @ cell.kernel[...] + cell.bias[...], 4, axis=-1)
    return jax.nn.sigmoid(f + FORGET_BIAS)


def _scan_with_gate(layer: RecurrentCell, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(batch, time, in)`` → the layer's outputs ``(batch, time, hidden)`` and its retention gate, same shape."""

    def step(cell, carry, x_t):
        gate = retention_gate(cell, carry, x_t)
        carry, y = cell(carry, x_t)
        return carry, (y, gate)

    return scan_over_time(layer, x, step)


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _gate_sums(graphdef, state, source, lengths):
    """Per layer, ``(hidden,)`` sums of the gate over the real positions of one batch."""
    model = nnx.merge(graphdef, state)
    real = (jnp.arange(source.shape[1])[None, :] < lengths[:, None]).astype(jnp.float32)[..., None]
    x, sums = model.embed(source), []
    for layer in model.layers:
        x, gates = _scan_with_gate(layer, x)
        sums.append(jnp.sum(gates * real, axis=(0, 1)))
    return sums


def mean_retention(model: AutocompleteModel, split, *, batch_size: int = 32) -> list[np.ndarray]:
    """Per layer, ``(hidden,) float64``: each unit's retention gate averaged over every real position of ``split``.

    memviz's own recurrent models only (:class:`~memviz.models.model.AutocompleteModel`): a gate is a part of a
    recurrent cell, which another :class:`~memviz.models.protocol.CharacterModel` need not have (a ``TypeError``).
    """
    if not isinstance(model, AutocompleteModel):
        raise TypeError(
            f"mean_retention reads the gates of memviz's own recurrent cells (an AutocompleteModel), and "
            f"{getattr(model, 'name', type(model).__name__)} ({type(model).__name__}) has none to read: memory "
            "timescales are for gated recurrent models; connectivity, attributions and interventions take any model"
        )
    if model.config.cell not in RETENTION_GATES:
        raise ValueError(
            f"a {model.config.display_name} has no retention gate; gated cells: {', '.join(RETENTION_GATES)}"
        )
    graphdef, state = nnx.split(model)
    totals = [np.zeros(model.config.hidden_features) for _ in model.layers]
    for start in range(0, len(split.lengths), batch_size):
        rows = slice(start, start + batch_size)
        source, lengths = (jnp.asarray(np.asarray(a[rows]), jnp.int32) for a in (split.source, split.lengths))
        for total, layer_sum in zip(totals, _gate_sums(graphdef, state, source, lengths)):
            total += np.asarray(layer_sum, np.float64)
    positions = float(np.sum(split.lengths))
    return [total / positions for total in totals]


def timescale(mean_gate: np.ndarray) -> np.ndarray:
    """``τ = −1 / ln g`` steps, elementwise, for mean gates ``g`` in (0, 1) (``inf`` at ``g = 1``)."""
    gate = np.asarray(mean_gate, np.float64)
    if np.any((gate <= 0) | (gate > 1)):
        raise ValueError("gates must lie in (0, 1]")
    with np.errstate(divide="ignore"):
        return np.where(gate < 1, -1.0 / np.log(gate), np.inf)


def timescale_frame(timescales: dict[str, np.ndarray], **labels) -> pd.DataFrame:
    """Tidy rows, one per unit: ``model``, ``unit share`` (rank among the model's units, 0 … 1, shortest first),
    ``timescale`` (steps), and the constant columns ``labels`` (e.g. ``stage="trained"``)."""
    rows = []
    for model, taus in timescales.items():
        ordered = np.sort(np.asarray(taus, np.float64))
        share = np.linspace(0.0, 1.0, len(ordered)) if len(ordered) > 1 else np.zeros(1)
        rows += [{"model": model, **labels, "unit share": s, "timescale": t} for s, t in zip(share, ordered)]
    return pd.DataFrame(rows)
