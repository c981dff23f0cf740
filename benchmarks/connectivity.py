"""Connectivity at the article's size: batched VJP vs a loop of per-position ``jax.grad`` calls, and peak memory.

    python benchmarks/connectivity.py                       # all three models, timing + memory
    python benchmarks/connectivity.py --models gru --no-memory

For each of ``memviz.models.model.ARTICLE_MODELS`` (600 units, 16,386 words, random initialisation — the
cost does not depend on the weights' values), on the article's 198-character sample:

* ``connectivity_matrix``: the first call (trace + compile + run), then ``--repeats`` timed calls;
* the baseline: ``connectivity_by_definition``, one ``jax.grad`` of the true word's logit per output
  position over the whole text (its row function compiled once per call, the position a traced
  argument), timed whole, ``--loop-rounds`` times, in alternation with the batched calls so that
  load from other processes hits both;
* peak memory for a ~2,000-character text, each model in a fresh process (VmHWM, the peak
  resident set; on a GPU also the device's ``peak_bytes_in_use``).

Runs unchanged on a GPU (it prints ``jax.devices()``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memviz import data  # noqa: E402
from memviz.analysis.connectivity import connectivity_by_definition, connectivity_matrix  # noqa: E402
from memviz.models.model import ARTICLE_MODELS, AutocompleteModel  # noqa: E402

SAMPLE = (
    " context the formal study of grammar is an important part of education from a young age through advanced"
    " learning though the rules taught in schools are not a grammar in the sense most linguists use"
)


def vocabulary() -> data.Vocabulary:
    """The article's word list when shipped; else the sample's own words (any ids do for timing)."""
    try:
        return data.Vocabulary.article()
    except FileNotFoundError:
        words = sorted(set(SAMPLE.split()))
        filler = [f"w{i}" for i in range(16_384 - len(words))]
        return data.Vocabulary(("<eos>", "<unknown>", *words, *filler))


def long_text(length: int) -> str:
    """The sample repeated, cut after the last whole word that fits in ``length`` characters."""
    text = SAMPLE * (length // len(SAMPLE) + 1)
    return text[: text.rindex(" ", 0, length + 1)]


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_model(cell: str, vocab, repeats: int, loop_rounds: int, chunk_size: int) -> dict:
    """Time both ways in alternation, so that a burst of load elsewhere hits both."""
    model = AutocompleteModel(ARTICLE_MODELS[cell], rngs=nnx.Rngs(0))
    source, targets = data.align(SAMPLE, vocab)
    batched = lambda: connectivity_matrix(model, source, targets, chunk_size=chunk_size)  # noqa: E731
    first = seconds(batched)
    runs, loops = [], []
    for round_ in range(max(repeats, loop_rounds)):
        if round_ < repeats:
            runs.append(seconds(batched))
        if round_ < loop_rounds:
            loops.append(seconds(lambda: connectivity_by_definition(model, source, targets)))
    matrix, oracle = batched(), connectivity_by_definition(model, source, targets)
    med, low = float(np.median(runs)), min(runs)
    return {
        "model": cell,
        "T": len(source),
        "first_call_s": first,
        "compile_s": first - low,
        "batched_s": med,
        "batched_min_s": low,
        "loop_s": float(np.median(loops)),
        "loop_min_s": min(loops),
        "speedup": float(np.median(loops)) / med,
        "speedup_min": min(loops) / low,
        "max_rel_diff": float(np.max(np.abs(matrix - oracle)) / np.max(np.abs(oracle))),
    }


def peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM (reset at exec, unlike ru_maxrss, which a child
    started by fork + exec inherits from its parent), else ru_maxrss."""
    try:
        line = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(cell: str, length: int, chunk_size: int) -> None:
    """Run in a fresh process: one connectivity matrix of a ``length``-character text; print the peaks."""
    vocab = vocabulary()
    model = AutocompleteModel(ARTICLE_MODELS[cell], rngs=nnx.Rngs(0))
    source, targets = data.align(long_text(length), vocab)
    before = peak_rss_mib()
    elapsed = seconds(lambda: connectivity_matrix(model, source, targets, chunk_size=chunk_size))
    peak = peak_rss_mib()
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    device_peak = f"{stats['peak_bytes_in_use'] / 2**20:.0f}" if stats and "peak_bytes_in_use" in stats else "n/a"
    print(
        f"MEMORY {cell} T={len(source)} peak_before_MiB={before:.0f} peak_MiB={peak:.0f} "
        f"device_peak_MiB={device_peak} seconds={elapsed:.1f}"
    )


def machine() -> str:
    lines = [
        f"date: {datetime.datetime.now().isoformat(timespec='minutes')}",
        f"python: {platform.python_version()}",
        f"jax {jax.__version__}, devices: {jax.devices()}",
        f"nproc: {os.cpu_count()}",
    ]
    try:
        model = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")]
        lines.append(f"cpu: {model[0] if model else platform.processor()}")
        mem = [ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")]
        lines.append(f"RAM: {int(mem[0]) / 2**20:.1f} GiB")
        lines.append(f"load average (1, 5, 15 min): {os.getloadavg()}")
    except OSError:
        pass
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(ARTICLE_MODELS), choices=list(ARTICLE_MODELS))
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds after the first call")
    parser.add_argument("--loop-rounds", type=int, default=2, help="timed calls of connectivity_by_definition")
    parser.add_argument("--chunk-size", type=int, default=128)
    parser.add_argument("--memory-length", type=int, default=2000, help="characters of the memory test's text")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory test")
    parser.add_argument("--memory-child", metavar="CELL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child, args.memory_length, args.chunk_size)

    print(machine(), flush=True)
    vocab = vocabulary()
    print(
        f"\nconnectivity of the article's sample ({len(SAMPLE)} characters), chunk_size={args.chunk_size}; "
        f"{args.repeats} batched calls and {args.loop_rounds} calls of connectivity_by_definition (its compile "
        f"included), alternating; median (min)"
    )
    header = (
        f"{'model':>6} {'first call':>10} {'compile':>8} {'batched':>16} {'by definition':>18} "
        f"{'speedup':>14} {'max rel diff':>12}"
    )
    print(header, flush=True)
    for cell in args.models:
        r = time_model(cell, vocab, args.repeats, args.loop_rounds, args.chunk_size)
        print(
            f"{cell:>6} {r['first_call_s']:>9.2f}s {r['compile_s']:>7.2f}s "
            f"{r['batched_s']:>7.3f}s ({r['batched_min_s']:.3f}s) "
            f"{r['loop_s']:>8.2f}s ({r['loop_min_s']:.2f}s) {r['speedup']:>5.1f}x ({r['speedup_min']:.1f}x) "
            f"{r['max_rel_diff']:>12.1e}",
            flush=True,
        )

    if not args.no_memory:
        print(f"\npeak memory, ~{args.memory_length}-character text, one fresh process per model")
        for cell in args.models:
            cmd = [
                sys.executable,
                __file__,
                "--memory-child",
                cell,
                "--memory-length",
                str(args.memory_length),
                "--chunk-size",
                str(args.chunk_size),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith("MEMORY")]
            print(lines[0] if lines else f"{cell}: failed\n{out.stderr[-2000:]}", flush=True)


if __name__ == "__main__":
    main()
