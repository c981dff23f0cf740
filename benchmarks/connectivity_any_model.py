"""Connectivity of a model without a recurrence: the batched path (one VJP per chunk of rows) against the per-position
loop of ``jax.grad`` calls, for a small causal Transformer in Flax NNX, on the article's 198-character sample.

    python benchmarks/connectivity_any_model.py                 # 2 blocks of width 64, 4,098 output words
    python benchmarks/connectivity_any_model.py --repeats 5 --chunk-size 64

Both compute the same matrix (checked here to float rounding): the batched path is
``memviz.analysis.connectivity.connectivity_matrix`` on a :class:`memviz.models.protocol.EmbedRecurrentModel`
(first call: trace, compile and run; then ``--repeats`` timed calls); the baseline is ``connectivity_by_definition``,
one ``jax.grad`` of the true word's logit per output position, timed whole, alternating with the batched calls so that
load from other processes hits both. For scale, memviz's own GRU of the ``cpu`` preset on the same text through its
recurrent fast path.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memviz import data  # noqa: E402
from memviz.analysis.connectivity import connectivity_by_definition, connectivity_matrix  # noqa: E402
from memviz.data import reference  # noqa: E402
from memviz.models.model import NUM_CHARS, AutocompleteModel  # noqa: E402
from memviz.models.protocol import EmbedRecurrentModel  # noqa: E402
from memviz.training.presets import get_preset  # noqa: E402


class Blocks(nnx.Module):
    """``depth`` pre-norm causal self-attention blocks with an MLP, learned positions: ``(B, T, W) -> (B, T, W)``."""

    def __init__(self, width: int, depth: int, heads: int, length: int, *, rngs: nnx.Rngs):
        self.position = nnx.Param(0.02 * jax.random.normal(rngs.params(), (length, width)))
        self.norms = nnx.List([nnx.LayerNorm(width, rngs=rngs) for _ in range(2 * depth)])
        self.attention = nnx.List([nnx.MultiHeadAttention(heads, width, decode=False, rngs=rngs) for _ in range(depth)])
        self.mlp = nnx.List([nnx.Linear(width, width, rngs=rngs) for _ in range(depth)])

    def __call__(self, x):
        x = x + self.position[: x.shape[1]]
        mask = nnx.make_causal_mask(jnp.ones(x.shape[:2]))
        for i, (attention, mlp) in enumerate(zip(self.attention, self.mlp)):
            x = x + attention(self.norms[2 * i](x), mask=mask)
            x = x + jax.nn.gelu(mlp(self.norms[2 * i + 1](x)))
        return x


def seconds(fn) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--words", type=int, default=4098)
    parser.add_argument("--chunk-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {jax.devices()}; jax {jax.__version__}")  # fmt: skip
    rngs = nnx.Rngs(0)
    model = EmbedRecurrentModel(
        nnx.Embed(NUM_CHARS, args.width, rngs=rngs),
        Blocks(args.width, args.depth, 4, 256, rngs=rngs),
        nnx.Linear(args.width, args.words, rngs=rngs),
        name="Transformer",
    )
    source = data.encode_chars(reference.SAMPLE_TEXT)
    targets = np.random.default_rng(0).integers(2, args.words, len(source))
    first = seconds(lambda: connectivity_matrix(model, source, targets, chunk_size=args.chunk_size))
    batched, loop = [], []
    for _ in range(args.repeats):
        batched.append(seconds(lambda: connectivity_matrix(model, source, targets, chunk_size=args.chunk_size)))
        loop.append(seconds(lambda: connectivity_by_definition(model, source, targets)))
    a = connectivity_matrix(model, source, targets, chunk_size=args.chunk_size)
    b = connectivity_by_definition(model, source, targets)
    error = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
    print(f"Transformer ({args.depth} blocks, width {args.width}, {args.words:,} words), T = {len(source)}, "
          f"chunk {args.chunk_size}: batched first call {first:.2f} s, then median {np.median(batched):.3f} s; "
          f"per-position loop median {np.median(loop):.3f} s; loop / batched {np.median(loop) / np.median(batched):.1f}x; "
          f"largest difference {error:.1e} of the largest value")  # fmt: skip
    gru = AutocompleteModel(get_preset("cpu", "gru").model, rngs=nnx.Rngs(0))
    gru_targets = np.random.default_rng(0).integers(2, gru.num_words, len(source))
    seconds(lambda: connectivity_matrix(gru, source, gru_targets))
    fast = np.median([seconds(lambda: connectivity_matrix(gru, source, gru_targets)) for _ in range(args.repeats)])
    print(
        f"for scale: memviz's GRU (cpu preset, 256 units, {gru.num_words:,} words) by its recurrent fast path: "
        f"median {fast:.3f} s"
    )


if __name__ == "__main__":
    main()
