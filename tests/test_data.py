"""memviz.data: the article's autocomplete task, checked value by value."""

from __future__ import annotations

import collections
import hashlib
import random

import numpy as np
import pytest

from memviz import data
from memviz.data import (
    CHARS,
    SEED,
    Vocabulary,
    align,
    chunk_boundaries,
    corpora,
    dataset,
    decode_chars,
    encode_chars,
    split_indices,
)

# The connectivity sample of the article (public/data/connectivity_*.json), 198 characters.
SAMPLE = (
    " context the formal study of grammar is an important part of education from a young age through"
    " advanced learning though the rules taught in schools are not a grammar in the sense most linguists use"
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMVIZ_CACHE", str(tmp_path / "cache"))


def random_text(n_words: int, n_distinct: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    lexicon = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 9))) for _ in range(n_distinct)]
    return " " + " ".join(rng.choice(lexicon[: rng.randint(1, n_distinct)]) for _ in range(n_words))


# -- characters --------------------------------------------------------------------------------------


def test_char_vocabulary():
    assert len(CHARS) == 28 and CHARS[:3] == ("<eos>", " ", "a") and CHARS[-1] == "z"
    assert (data.PAD_ID, data.SPACE_ID, data.UNKNOWN_ID) == (0, 1, 1)
    assert encode_chars(" az").tolist() == [1, 2, 27]
    assert encode_chars(" az").dtype == np.uint8


def test_decode_strips_padding_and_round_trips():
    assert decode_chars([1, 4, 16, 0, 0]) == " co"
    assert decode_chars(encode_chars(SAMPLE)) == SAMPLE
    with pytest.raises(ValueError):
        decode_chars([28])


def test_encode_names_offending_characters():
    with pytest.raises(ValueError, match=r"\['!', 'H', 'é'\]"):
        encode_chars(" Hé!")


# -- alignment -------------------------------------------------------------------------------------


def test_worked_example_context_the():
    vocab = Vocabulary(("<eos>", "<unknown>", "the", "context"))
    source, target = align(" context the", vocab)
    assert source.tolist() == [CHARS.index(c) for c in " context the"]
    assert target.tolist() == [3] * 8 + [2] * 4
    assert target.dtype == np.int32


def test_out_of_vocabulary_word_maps_to_unknown_with_its_space():
    vocab = Vocabulary(("<eos>", "<unknown>", "the"))
    assert align(" the cat", vocab)[1].tolist() == [2, 2, 2, 2, 1, 1, 1, 1]
    assert data.targets_for_text(" the cat", vocab) == ["the"] * 4 + ["<unknown>"] * 4


def test_article_sample_with_article_vocabulary():
    vocab = Vocabulary.article()
    source, target = align(SAMPLE, vocab)
    assert len(source) == 198
    assert not np.any(target == data.UNKNOWN_ID)  # the sample is all in-vocabulary
    words = vocab.decode(target)
    assert words[:12] == ["context"] * 8 + ["the"] * 4
    assert words == data.targets_for_text(SAMPLE, vocab)
    assert words[106] == "learning" and words[141] == "schools"  # the article's walkthrough indices


def test_align_requires_normalised_text():
    vocab = Vocabulary(("<eos>", "<unknown>"))
    for text in ("the", " the ", " the  cat", " The"):
        with pytest.raises(ValueError, match="normalize_text"):
            align(text, vocab)
    source, target = align("", vocab)
    assert source.size == target.size == 0


def test_word_spans():
    assert data.word_spans(" to be") == [(0, 3, "to"), (3, 6, "be")]
    assert data.word_spans("parts of ") == [(0, 5, "parts"), (5, 8, "of")]
    assert data.targets_for_text(" of ", Vocabulary(("<eos>", "<unknown>", "of"))) == ["of"] * 3 + ["<unknown>"]


# -- vocabulary (the article's word_vocabulary) -----------------------------------------------------


def brute_force_vocabulary(words: list[str], size: int, seed: int) -> list[str]:
    counts = collections.Counter(words)
    kept = sorted(counts, key=lambda w: (-counts[w], w))[:size]
    np.random.RandomState(seed).shuffle(kept)
    return ["<eos>", "<unknown>", *kept]


@pytest.mark.parametrize("size", [1, 7, 40, 1000])
def test_vocabulary_matches_brute_force(size):
    text = random_text(3000, 200)  # many ties at every cutoff
    vocab = Vocabulary.build(text, size)
    assert list(vocab.words) == brute_force_vocabulary(text.split(), size, SEED)
    assert vocab == Vocabulary.build(text.split(), size)  # deterministic, and from a word list too
    assert vocab != Vocabulary.build(text, size, seed=1) or size == 1


def test_vocabulary_matches_the_articles_code_when_counts_are_distinct():
    words = [w for i, w in enumerate(["alpha", "beta", "gamma", "delta", "eps", "zeta"]) for _ in range(i + 1)]
    unique, counts = np.unique(words, return_counts=True)  # the article's own recipe
    kept = unique[np.argsort(counts)[::-1]][:4]
    np.random.RandomState(SEED).shuffle(kept)
    assert Vocabulary.build(words, 4).words == ("<eos>", "<unknown>", *kept.tolist())


def test_article_vocabulary():
    vocab = Vocabulary.article()
    assert len(vocab) == 16_386
    assert vocab.words[:6] == ("<eos>", "<unknown>", "talmudic", "metal", "mortal", "area")
    assert vocab.id("context") == 10941 and vocab.id("the") == 12133
    assert vocab.id("qwxzv") == data.UNKNOWN_ID
    assert vocab.encode(["metal", "qwxzv"]).tolist() == [3, 1]
    assert vocab.decode(np.array([[2, 0]])) == ["talmudic", "<eos>"]
    with pytest.raises(IndexError, match="16386 words"):
        vocab.decode([16_386])
    assert "metal" in vocab and "qwxzv" not in vocab
    assert repr(vocab).startswith("Vocabulary(16386 words: '<eos>', '<unknown>', 'talmudic'")


def test_vocabulary_validation():
    with pytest.raises(ValueError, match="starts with"):
        Vocabulary(("the", "<unknown>"))
    with pytest.raises(ValueError, match="distinct"):
        Vocabulary(("<eos>", "<unknown>", "a", "a"))


# -- chunks and splits -------------------------------------------------------------------------------


def article_chunks(word_lengths, max_length):
    """The article's loop, with over-long words skipped instead of emitted."""
    chunks, current, length = [], [], 0
    for i, n in enumerate(word_lengths):
        if n + 1 > max_length:  # skipped; it also closes the current chunk
            if current:
                chunks.append(current)
            current, length = [], 0
            continue
        if length + n + 1 > max_length:
            chunks.append(current)
            current, length = [], 0
        current.append(i)
        length += n + 1
    return chunks + ([current] if current else [])


def test_chunking_hand_checked():
    # pieces 3 3 3 | 6 | 5 | 10 | 2, max 10: " aa bb cc" fills 9 and " eeeee" (6) would make 15
    chunks = chunk_boundaries([2, 2, 2, 5, 4, 9, 1], max_length=10)
    assert chunks.word_start.tolist() == [0, 3, 4, 5, 6]
    assert chunks.word_stop.tolist() == [3, 4, 5, 6, 7]
    assert chunks.lengths.tolist() == [9, 6, 5, 10, 2]  # a 9-letter word fills a chunk of 10 exactly
    assert chunks.char_start.tolist() == [0, 9, 15, 20, 30]
    assert chunks.skipped.size == 0


def test_over_long_word_is_skipped():
    chunks = chunk_boundaries([3, 10, 2, 12], max_length=10)
    assert chunks.skipped.tolist() == [1, 3]
    assert list(zip(chunks.word_start.tolist(), chunks.word_stop.tolist())) == [(0, 1), (2, 3)]


@pytest.mark.parametrize("seed", range(5))
def test_chunking_equals_the_articles_loop(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 25, size=2000)
    lengths[rng.integers(0, 2000, size=5)] = 40  # over-long at max_length 30
    chunks = chunk_boundaries(lengths, max_length=30)
    expected = article_chunks(lengths.tolist(), 30)
    assert [list(range(a, b)) for a, b in zip(chunks.word_start, chunks.word_stop)] == expected
    assert chunks.lengths.max() <= 30
    covered = np.concatenate([np.arange(a, b) for a, b in zip(chunks.word_start, chunks.word_stop)])
    assert np.array_equal(np.sort(np.concatenate([covered, chunks.skipped])), np.arange(2000))


def test_split_sizes_follow_the_floor_rule():
    train, valid, test = split_indices(507_663)
    assert (len(train), len(valid), len(test)) == (456_896, 25_383, 25_384)
    order = np.concatenate([train, valid, test])
    assert np.array_equal(order, np.random.RandomState(SEED).permutation(507_663))
    assert np.array_equal(np.sort(order), np.arange(507_663))
    assert np.array_equal(split_indices(507_663)[2], test)


# -- datasets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_length", [40, 8])  # at 8, the words of 8 and 9 letters are skipped
def test_from_text_builds_consistent_splits(max_length):
    text = random_text(5000, 300, seed=1)
    dataset = data.from_text(text, vocab_size=50, max_length=max_length)
    splits = (dataset.train, dataset.valid, dataset.test)
    n = dataset.stats.n_chunks
    assert [len(s) for s in splits] == [int(n * 0.9), int(n * 0.05), n - int(n * 0.9) - int(n * 0.05)]
    words = []
    for split in splits:
        assert split.source.shape == (len(split), max_length) and split.source.dtype == np.uint8
        assert split.target.dtype == np.int32 and split.lengths.dtype == np.int32
        filled = np.arange(max_length) < split.lengths[:, None]
        assert np.all((split.source != 0) == filled) and np.all((split.target != 0) == filled)
        assert np.all(split.source[:, 0] == data.SPACE_ID)  # every chunk starts with a space
        assert np.array_equal(split.loss_mask(), split.target > 1)
        for i in range(len(split)):
            chunk = split.text(i)
            assert (text + " ").find(chunk + " ") >= 0  # whole words only
            assert dataset.vocab.decode(split.target[i, : split.lengths[i]]) == data.targets_for_text(
                chunk, dataset.vocab
            )
            words += chunk.split()
    fitting = [w for w in text.split() if len(w) < max_length]
    assert collections.Counter(words) == collections.Counter(fitting)  # no word lost or duplicated
    assert dataset.stats.skipped_words == len(text.split()) - len(fitting)
    assert (dataset.stats.skipped_words > 0) == (max_length == 8)
    counts = collections.Counter(text.split())
    oov = sum(n for w, n in counts.items() if w not in dataset.vocab)
    assert dataset.stats.oov_rate == pytest.approx(oov / len(text.split()))


def test_from_text_normalises_and_reports():
    dataset = data.from_text("Hello, World! Café 1811.", vocab_size=10)
    assert dataset.stats.n_words == 7 and dataset.stats.dropped == {",": 1, "!": 1, ".": 1}
    assert dataset.stats.n_distinct_words == 5 and dataset.stats.oov_rate == 0.0
    assert len(dataset.vocab) == 7  # all five words fit: <eos>, <unknown>, then them
    with pytest.warns(UserWarning, match="κ"):
        data.from_text("hello κόσμος world")


@pytest.mark.parametrize("text", ["", "   \n", "!!! 北京 ???"])
def test_from_text_rejects_text_without_letters(text):
    with pytest.raises(ValueError, match="no letters to analyse"):
        data.from_text(text)


def test_from_text_skips_a_word_longer_than_max_length():
    dataset = data.from_text("a " + "x" * 20 + " b", max_length=10)
    assert dataset.stats.skipped_words == 1 and dataset.stats.n_chunks == 2
    texts = sorted(s.text(i) for s in (dataset.train, dataset.valid, dataset.test) for i in range(len(s)))
    assert texts == [" a", " b"]
    with pytest.raises(ValueError, match="every word is longer"):
        data.from_text("x" * 300)


def test_unknown_corpus_name():
    for load in (corpora.load_corpus, data.load_dataset):
        with pytest.raises(ValueError, match=r"'wiki'.*\('austen', 'text8'\)"):
            load("wiki")


def test_austen_corpus_figures():
    text = corpora.load_corpus("austen")
    assert (
        hashlib.sha256(text.encode()).hexdigest() == "d426658edd10da3b93a717db6ba26da613f9e9d4d2cde1c473d99c325ab0cac3"
    )
    dataset = data.load_dataset("austen", cache=False)
    stats = dataset.stats
    assert (stats.n_chars, stats.n_words, stats.n_distinct_words) == (3_873_594, 729_782, 13_732)
    assert (stats.vocab_size, stats.n_chunks, stats.skipped_words) == (4_098, 19_630, 0)
    assert stats.coverage == pytest.approx(0.9661, abs=1e-4)
    assert [len(dataset.train), len(dataset.valid), len(dataset.test)] == [17_667, 981, 982]
    assert text.startswith(" sense and sensibility by jane austen one eight one one chapter one")


def test_cache_returns_the_same_arrays_without_rebuilding(monkeypatch, tmp_path):
    first = data.load_dataset("austen", vocab_size=512)
    files = list((tmp_path / "cache" / "datasets").iterdir())
    assert [f.suffix for f in files] == [".npz"]  # one file, no temporary left behind

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(dataset, "_build", no_rebuild)
    second = data.load_dataset("austen", vocab_size=512)
    for name in ("train", "valid", "test"):
        for part in ("source", "target", "lengths"):
            a, b = getattr(getattr(first, name), part), getattr(getattr(second, name), part)
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert second.vocab == first.vocab and second.stats == first.stats
    with pytest.raises(AssertionError, match="rebuilt"):
        data.load_dataset("austen", vocab_size=256)  # other arguments: another cache entry


def test_a_damaged_cache_file_is_rebuilt(tmp_path):
    first = data.load_dataset("austen", vocab_size=128)
    [path] = (tmp_path / "cache" / "datasets").iterdir()
    path.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="rebuilding"):
        again = data.load_dataset("austen", vocab_size=128)
    assert np.array_equal(again.test.source, first.test.source)
    assert data.load_dataset("austen", vocab_size=128).vocab == first.vocab  # the cache is sound again


def test_split_helpers():
    split = data.from_text(random_text(2000, 100), max_length=30).train
    assert len(split[:5]) == 5 and len(split[np.array([0, 2])]) == 2 and split[3].source.shape == (1, 30)
    batches = list(split.batches(64, seed=0))
    assert sum(len(b) for b in batches) == len(split) and len(batches[0]) == 64
    assert all(len(b) == 64 for b in split.batches(64, drop_remainder=True))
    seen = np.concatenate([b.source for b in batches])
    assert sorted(map(bytes, seen)) == sorted(map(bytes, split.source))  # a permutation of the rows


@pytest.mark.filterwarnings("ignore:letters without an a-z spelling")
def test_random_unicode_through_from_text_stays_in_the_alphabet():
    """Hostile input: random code points (any plane, surrogates excluded) either build a dataset over the
    28 symbols or are refused with the 'no letters' message, never a crash."""
    rng = random.Random(9)
    for _ in range(200):
        points = [rng.choice([rng.randrange(0x20, 0x7F), rng.randrange(0x80, 0xD800), rng.randrange(0xE000, 0x110000)])
                  for _ in range(rng.randrange(0, 80))]  # fmt: skip
        text = "".join(map(chr, points))
        try:
            dataset = data.from_text(text, vocab_size=50, max_length=40)
        except ValueError as error:
            assert "no letters to analyse" in str(error) or "every word is longer" in str(error)
            continue
        for split in (dataset.train, dataset.valid, dataset.test):
            assert split.source.max(initial=0) < len(CHARS)
            assert all(
                set(split.text(i)) <= set(CHARS[1]) | set("abcdefghijklmnopqrstuvwxyz") for i in range(len(split))
            )
