"""Time memviz.data's preprocessing on a synthetic text of text8's size, and a warm load_dataset("austen").

    .venv/bin/python benchmarks/preprocess.py            # 10^8 characters, as text8
    .venv/bin/python benchmarks/preprocess.py --chars 1e7

The text is made in a child process and handed over as a file, so this process's peak resident
memory (``ru_maxrss``) is that of the pipeline plus the text itself. Words are drawn from a Zipf
law (exponent 1) over a generated lexicon of 260,000 words whose lengths grow with the rank, which
gives about 17 M words and ~250 k distinct words per 10^8 characters, like text8.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from memviz import data
from memviz.data import corpora


def synthetic_text(n_chars: int, seed: int = 0, lexicon_size: int = 260_000) -> str:
    """A normalised text of exactly ``n_chars`` characters (cut at a word boundary, then one ``" aaa…"`` word)."""
    rng = np.random.default_rng(seed)
    rank = np.arange(1, lexicon_size + 1)
    lengths = np.clip(np.round(1.2 + 0.6 * np.log(rank) + rng.normal(0, 1, lexicon_size)), 1, 30).astype(int)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    flat = letters[rng.integers(0, 26, lengths.sum())].tobytes().decode()
    ends = np.cumsum(lengths)
    lexicon = list(dict.fromkeys(flat[e - n : e] for e, n in zip(ends.tolist(), lengths.tolist())))
    p = 1.0 / np.arange(1, len(lexicon) + 1)
    p /= p.sum()
    mean_piece = float(p @ (np.array([len(w) for w in lexicon]) + 1))
    ids = rng.choice(len(lexicon), size=int(n_chars / mean_piece * 1.02), p=p)
    text = " " + " ".join([lexicon[i] for i in ids])
    text = text[: text.rfind(" ", 0, n_chars - 1)]  # leaves room for at least " a"
    return text + " " + "a" * (n_chars - len(text) - 1)


def _write_text(path: str, n_chars: int) -> None:
    Path(path).write_text(synthetic_text(n_chars), encoding="ascii")


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=float, default=1e8)
    parser.add_argument("--vocab-size", type=int, default=16_384)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "text.txt")
        child = multiprocessing.get_context("spawn").Process(target=_write_text, args=(path, int(args.chars)))
        child.start()
        child.join()
        text = Path(path).read_text(encoding="ascii")
    print(f"synthetic text: {len(text):,} characters; peak RSS before preprocessing {peak_gb():.2f} GB")

    times = {}

    def timed(name, f, *a, **k):
        start = time.perf_counter()
        result = f(*a, **k)
        times[name] = time.perf_counter() - start
        return result

    assert timed("check normalised", corpora.is_normalized, text)
    tokens = timed("tokenize", data.tokenize, text)
    counts = tokens.counts()
    vocab = timed("vocabulary", data.Vocabulary.from_counts, tokens.distinct, counts, args.vocab_size)
    source, target = timed("align", data.align, text, vocab, tokens=tokens)
    chunks = timed("chunk", data.chunk_boundaries, tokens.lengths(), data.MAX_LENGTH)
    whole = timed("pad", data.pad, chunks, source, target)
    splits = timed("split", lambda padded: [padded[i] for i in data.split_indices(len(padded))], whole)
    total = sum(times.values())

    oov = counts[vocab.encode(tokens.distinct) == data.UNKNOWN_ID].sum() / counts.sum()
    print(f"{len(tokens.codes):,} words, {len(tokens.distinct):,} distinct; vocabulary {len(vocab):,}, OOV {oov:.2%}")
    print(f"{len(whole):,} chunks (train/valid/test {' / '.join(f'{len(s):,}' for s in splits)}), "
          f"{len(chunks.skipped)} skipped words, mean length {whole.lengths.mean():.1f}")  # fmt: skip
    print("stage               seconds")
    for name, seconds in times.items():
        print(f"  {name:<17} {seconds:7.2f}")
    print(f"  {'total':<17} {total:7.2f}")
    print(f"peak RSS: {peak_gb():.2f} GB")

    # The .npz cache of a text8-sized dataset: what a second load_dataset("text8") reads.
    stats = data.DatasetStats(len(text), len(tokens.codes), len(tokens.distinct), len(vocab), float(oov),
                              len(whole), float(whole.lengths.mean()), len(chunks.skipped))  # fmt: skip
    dataset = data.Dataset("synthetic", vocab, *splits, max_length=data.MAX_LENGTH, seed=data.SEED, stats=stats)
    del tokens, source, target, whole
    with tempfile.TemporaryDirectory() as cache:
        path = Path(cache) / "synthetic.npz"
        write = _time(dataset._save, dataset, path)
        read = min(_time(dataset._load, path) for _ in range(3))
        print(f"cache: write {write:.2f} s, read {read:.2f} s ({path.stat().st_size / 1e6:,.0f} MB)")

    with tempfile.TemporaryDirectory() as cache:
        os.environ["MEMVIZ_CACHE"] = cache
        start = time.perf_counter()
        data.load_dataset("austen")
        cold = time.perf_counter() - start
        warm = min(_time(data.load_dataset, "austen") for _ in range(5))
    print(f'load_dataset("austen"): cold (build + write cache) {cold:.2f} s, warm (cached) {warm:.3f} s')
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}")


def _time(f, *a) -> float:
    start = time.perf_counter()
    f(*a)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
