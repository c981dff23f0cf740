"""Build data/austen.txt.gz, memviz's shipped corpus: Jane Austen's six novels, normalised like text8.

Source: the Debian package ``r-cran-janeaustenr`` (Julia Silge's janeaustenr, MIT; the texts are
Project Gutenberg's, public domain). Its ``data/Rdata.rdx`` is a gzipped, serialised R list mapping
each novel's name to ``(offset, length)`` in ``data/Rdata.rdb``; each object there is a 4-byte length
followed by a zlib stream of a serialised R character vector, one element per line of the book.

    apt-get update && apt-get install -y r-cran-janeaustenr
    .venv/bin/pip install rdata   # (the "build-corpus" extra)
    .venv/bin/python scripts/build_austen_corpus.py

Every line is kept (titles, chapter headings included: text8 keeps everything too), lines are
joined with newlines, the novels in publication order, and the whole is normalised by
:func:`memviz.data.corpora.normalize_text`. The output is byte-for-byte reproducible (gzip mtime 0).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import subprocess
import warnings
import zlib
from pathlib import Path

import numpy as np

from memviz.core.paths import DATA_DIR
from memviz.data import DEFAULT_VOCAB_SIZE, Vocabulary, tokenize
from memviz.data.corpora import normalize_text

PACKAGE_DIR = Path("/usr/lib/R/site-library/janeaustenr")
#: (object name in the R package, title), in publication order (1811, 1813, 1814, 1815, 1817, 1817).
NOVELS = (
    ("sensesensibility", "Sense and Sensibility"),
    ("prideprejudice", "Pride and Prejudice"),
    ("mansfieldpark", "Mansfield Park"),
    ("emma", "Emma"),
    ("northangerabbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
)


def _parse_r(data: bytes):
    import rdata

    with warnings.catch_warnings():  # rdata: "Unknown file type: assumed RDS", which is right here
        warnings.simplefilter("ignore")
        return rdata.conversion.convert(rdata.parser.parse_data(data))


def read_novels(package_dir: Path = PACKAGE_DIR) -> dict[str, list[str]]:
    """Each novel's lines, read from the R package's lazy-load database."""
    index = _parse_r(gzip.decompress((package_dir / "data" / "Rdata.rdx").read_bytes()))
    database = (package_dir / "data" / "Rdata.rdb").read_bytes()
    novels = {}
    for name, _ in NOVELS:
        offset, length = (int(v) for v in index["variables"][name])
        blob = database[offset : offset + length]
        assert int.from_bytes(blob[:4], "big") == len(raw := zlib.decompress(blob[4:]))
        novels[name] = [str(line) for line in _parse_r(raw)]
    return novels


def _package_version() -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "r-cran-janeaustenr"], capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path, default=PACKAGE_DIR)
    parser.add_argument("--out", type=Path, default=DATA_DIR / "austen.txt.gz")
    args = parser.parse_args()

    novels = read_novels(args.package_dir)
    print(f"r-cran-janeaustenr {_package_version()} from {args.package_dir}")
    for name, title in NOVELS:
        lines = novels[name]
        print(f"  {title:<22} {len(lines):>6,} lines {sum(map(len, lines)) + len(lines):>9,} characters")
    raw = "\n".join("\n".join(novels[name]) for name, _ in NOVELS)
    normalized = normalize_text(raw)
    print(normalized.summary(top=12))

    text = normalized.text
    data = text.encode("ascii")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(args.out, "wb") as f,
        gzip.GzipFile(filename="austen.txt", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(data)
    tokens = tokenize(text)
    counts = np.sort(tokens.counts())[::-1]
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    print(f"  sha256 of the text: {hashlib.sha256(data).hexdigest()}")
    print(f"  sha256 of the file: {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    print(f"  {len(text):,} characters, {len(tokens.codes):,} words, {len(tokens.distinct):,} distinct words")
    print("  vocabulary size -> share of word tokens covered (the rest is <unknown>):")
    for size in (1024, 2048, 4096, 8192, 16384):
        marker = "  (default)" if size == DEFAULT_VOCAB_SIZE["austen"] else ""
        print(f"    {size:>6,}: {counts[:size].sum() / counts.sum():.2%}{marker}")
    assert len(Vocabulary.build(tokens, DEFAULT_VOCAB_SIZE["austen"])) == DEFAULT_VOCAB_SIZE["austen"] + 2


if __name__ == "__main__":
    main()
