"""The training loss: softmax cross entropy at every position, masked as the article's autocomplete problem."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from memviz.data import loss_mask


def masked_cross_entropy(logits: jax.Array, target: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Softmax cross entropy with the article's mask (its autocomplete problem): neither <eos> nor <unknown> is trained.

    ``logits (..., words)``, ``target (...) int`` → ``(loss (...) float32, mask (...) bool)``;
    ``loss`` is already zero where ``mask`` is False, so ``loss.sum() / mask.sum()`` is the article's
    training loss.
    """
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    loss = -jnp.take_along_axis(log_probs, target[..., None].astype(jnp.int32), axis=-1)[..., 0]
    mask = loss_mask(target)
    return jnp.where(mask, loss, 0.0), mask
