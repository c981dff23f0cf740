"""A walkthrough of the reader's own models, chosen by a rule and captioned from their outputs.

The article walks through five positions of one text8 sentence with captions written for its own
models. Most of that sentence is out of vocabulary for a model trained on Austen, so memviz chooses
a walkthrough that the reader's models can answer, on Austen test text, by the rule below (never by
hand), and writes each caption from the models' outputs (top-3 words with probabilities, where the
connectivity lies), so retraining the models updates the walkthrough.

**The rule.** Only positions whose target is an in-vocabulary word of at least :data:`MIN_LETTERS`
letters count (no ``<unknown>`` target, no *the*/*and*), and not one of the ``common`` words (the
notebooks pass the :data:`COMMON` most frequent words of the training text, so that a story is not
about *have* or *been*). One position per story of the article:

1. ``"context"`` -- a word predicted from context before its letters: 0 characters typed (the
   word's leading space) and at least one model's top-1 is right; the one where a right model is
   most confident.
2. ``"recall"`` -- a repeated word at its first letter: the word was already a target earlier in the
   sequence, 1 character typed, and at least one model's top-1 is right; the one where a right model
   is most confident. Whether the models *recalled* it is read from them: its title says so only where
   a model puts at least :data:`RECALLED` of its connectivity on the earlier occurrence
   (:func:`story_title`).
3. ``"far back, still wrong"`` -- a model connects far back and still predicts wrong: 0 or 1
   characters typed, a model's top-1 is wrong; the (position, model) with the largest share of
   connectivity further back than the previous word.

Ties go to the earliest position. :func:`choose_sequence` picks the test sequence from top-k
predictions alone (cheap): the sequences where the most stories have candidates (all three for the
shipped models), then the fewest ``<unknown>`` targets, the most repeated-word candidates, the
lowest index.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from memviz.core.results import ConnectivityResult
from memviz.data.chars import UNKNOWN_ID, UNKNOWN_WORD, chars_typed, encode_chars, seen_earlier, word_start

#: Shortest target word a walkthrough position may have (leaves out *the*, *and*, *her* ...).
MIN_LETTERS = 4

#: How many of the most frequent training words the notebooks leave out of the walkthrough.
COMMON = 100

#: The article's three stories, in the order the walkthrough tells them.
STORIES = {
    "context": "a word predicted from context, before its letters",
    "recall": "a repeated word at its first letter: recalled from its earlier occurrence, or not",
    "far back, still wrong": "a model connects far back and still predicts wrong",
}


#: The share of a row's connectivity on a word's earlier occurrence from which a caption says "recalled".
RECALLED = 0.01


@dataclasses.dataclass(frozen=True)
class Step:
    """One walkthrough position: ``story`` (a key of :data:`STORIES`), its ``caption``, and for the
    far-back story the ``model`` that predicts wrong."""

    position: int
    story: str
    caption: str
    model: str | None = None


# ----------------------------------------------------------------------------------------------
# Where the connectivity of one position lies
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Regions:
    """Shares of one position's connectivity (each sums over input characters, total 1):
    ``word`` (from the word's leading space to the position), ``previous`` (the word before),
    ``further`` (everything before that) and ``earlier`` (the characters of earlier occurrences of
    the same target word, part of ``previous``/``further``)."""

    word: float
    previous: float
    further: float
    earlier: float


def regions(result: ConnectivityResult, position: int) -> Regions:
    """Where the connectivity of ``position`` lies (NaN shares when its row is all zero)."""
    row = np.asarray(result.raw[position, : position + 1], np.float64)
    total = row.sum()
    if total <= 0:
        return Regions(*(4 * [float("nan")]))
    start = word_start(encode_chars(result.text))
    s = int(start[position])
    s_prev = int(start[s - 1]) if s > 0 else 0
    target = result.targets[position]
    earlier = [q for q in range(s) if result.targets[q] == target and target != UNKNOWN_WORD]
    return Regions(
        word=float(row[s:].sum() / total),
        previous=float(row[s_prev:s].sum() / total),
        further=float(row[:s_prev].sum() / total),
        earlier=float(row[earlier].sum() / total),
    )


# ----------------------------------------------------------------------------------------------
# Captions
# ----------------------------------------------------------------------------------------------


def _what(result: ConnectivityResult, position: int) -> str:
    """``the space before 'emma'`` or ``'el' of 'elton'``."""
    s = int(word_start(encode_chars(result.text))[position])
    word = result.targets[position]
    typed = result.text[s + 1 : position + 1] if result.text[s] == " " else result.text[s : position + 1]
    return f"the space before “{word}”" if not typed else f"“{typed}” of “{word}”"


def percent(p: float) -> str:
    """A probability for a caption: whole percents, one decimal below 10 % (``"57%"``, ``"0.4%"``)."""
    return f"{p:.0%}" if p >= 0.095 else f"{p:.1%}"


def model_line(result: ConnectivityResult, position: int, *, recall: bool = False) -> str:
    """One model's part of a caption: its top-3 with probabilities, right or wrong, and where its
    connectivity lies (with ``recall``, also the share on the word's earlier occurrences)."""
    top = ", ".join(f"{w} {percent(p)}" for w, p in zip(result.top_words[position], result.top_probs[position]))
    verdict = "right" if result.top_words[position][0] == result.targets[position] else "wrong"
    r = regions(result, position)
    if np.isnan(r.word):
        where = "no connectivity"
    else:
        where = f"connectivity {r.word:.0%} in the word, {r.previous:.0%} on the previous word, {r.further:.0%} further back"
        if recall:
            where += f" ({r.earlier:.0%} on the word's earlier occurrence)"
    return f"{result.model}: {top} (top-1 {verdict}); {where}"


def story_title(results: Sequence[ConnectivityResult], position: int, story: str) -> str:
    """The story's title at ``position``, as the models' outputs bear it out: for ``"recall"``, "recalled" only for
    the models that put at least :data:`RECALLED` of their connectivity on the word's earlier occurrence."""
    if story != "recall":
        return STORIES[story]
    shares = {r.model: regions(r, position).earlier for r in results}
    recalling = [m for m, share in shares.items() if share >= RECALLED]
    if not recalling:
        return (
            f"a repeated word predicted at its first letter, not recalled: no model puts {RECALLED:.0%} of its "
            "connectivity on the earlier occurrence"
        )
    names = recalling[0] if len(recalling) == 1 else ", ".join(recalling[:-1]) + " and " + recalling[-1]
    verb, its = ("puts", "its") if len(recalling) == 1 else ("put", "their")
    return (
        f"a repeated word recalled from its first letter: the {names} {verb} at least {RECALLED:.0%} of {its} "
        "connectivity on the earlier occurrence"
    )


def caption(results: Sequence[ConnectivityResult], position: int, story: str | None = None) -> str:
    """A caption generated from the models' outputs at ``position``: a header line, then one line per model."""
    first = results[0]
    header = f"{position}: {_what(first, position)}"
    recall = story == "recall"
    if recall:
        s = int(word_start(encode_chars(first.text))[position])
        earlier = [q for q in range(s) if first.targets[q] == first.targets[position]]
        if earlier:
            header += f", a word that appeared earlier (from position {earlier[0]})"
    if story is not None:
        title = story_title(results, position, story)
        header = f"{title[0].upper()}{title[1:]}. {header}"
    return "\n".join([header] + [model_line(r, position, recall=recall) for r in results])


def caption_html(text: str) -> str:
    """A caption as HTML for a wrapping widget: escaped, one line per model."""
    return "<br>".join(html.escape(line, quote=False) for line in text.split("\n"))


# ----------------------------------------------------------------------------------------------
# The rule
# ----------------------------------------------------------------------------------------------


def _candidates(results: Sequence[ConnectivityResult], common: Collection[str]) -> dict[str, np.ndarray]:
    """Per story, ``(T,) bool`` positions that satisfy its conditions (see the module docstring)."""
    first = results[0]
    source = encode_chars(first.text)
    typed = chars_typed(source)
    targets = np.array(first.targets, dtype=object)
    common = set(common)
    long_known = np.array([not t.startswith("<") and len(t) >= MIN_LETTERS and t not in common for t in first.targets])
    right = np.array([[r.top_words[t][0] == r.targets[t] for t in range(first.length)] for r in results])  # (m, T)
    ids = np.unique(targets, return_inverse=True)[1].reshape(-1) + UNKNOWN_ID + 1  # any ids > UNKNOWN_ID
    repeated = seen_earlier(source[None], np.where(long_known, ids, UNKNOWN_ID)[None])[0]
    return {
        "context": long_known & (typed == 0) & right.any(0),
        "recall": long_known & repeated & (typed == 1) & right.any(0),
        "far back, still wrong": long_known & (typed <= 1) & (~right).any(0),
    }


def choose_steps(results: Sequence[ConnectivityResult], common: Collection[str] = ()) -> list[Step]:
    """The walkthrough of one text: one :class:`Step` per story that has a candidate, in story order.

    ``results``: one :class:`ConnectivityResult` per model, all for the same text; ``common``: words
    left out (e.g. the :data:`COMMON` most frequent words of the training text).
    """
    results = list(results)
    if not results or len({r.text for r in results}) != 1:
        raise ValueError("need one or more ConnectivityResults for the same text")
    candidates = _candidates(results, common)
    steps = []
    for story in ("context", "recall"):
        best: int | None = None
        score = -1.0
        for t in np.flatnonzero(candidates[story]).tolist():
            p = max(float(r.top_probs[t][0]) for r in results if r.top_words[t][0] == r.targets[t])
            if p > score:
                best, score = t, p
        if best is not None:
            steps.append(Step(best, story, caption(results, best, story)))
    far: tuple[int, str] | None = None
    score = -1.0
    for t in np.flatnonzero(candidates["far back, still wrong"]).tolist():
        for r in results:
            further = regions(r, t).further
            if r.top_words[t][0] != r.targets[t] and further > score:  # NaN never wins
                far, score = (t, r.model), further
    if far is not None:
        story = "far back, still wrong"
        steps.append(Step(far[0], story, caption(results, far[0], story), model=far[1]))
    return steps


def captions(steps: Sequence[Step]) -> dict[int, str]:
    """``position -> caption`` for the explorer's walkthrough buttons."""
    return {step.position: step.caption for step in steps}


def choose_sequence(
    split, topk: Mapping[str, np.ndarray], word_lengths: np.ndarray, common_ids: Collection[int] = ()
) -> int:
    """The test sequence for the walkthrough (see the module docstring), from top-k predictions alone.

    ``split``: a :class:`memviz.data.Split`; ``topk``: model name -> ``(n, T, k)`` word ids
    (:func:`memviz.evaluation.metrics.predict_topk`); ``word_lengths``: ``(num_words,)`` letters of each word id
    (0 for ``<eos>`` and ``<unknown>``); ``common_ids``: word ids left out, as ``common`` in
    :func:`choose_steps`.
    """
    source, target = np.asarray(split.source), np.asarray(split.target)
    real = np.arange(source.shape[1])[None, :] < np.asarray(split.lengths)[:, None]
    typed = chars_typed(source)
    long_known = real & (target > UNKNOWN_ID) & (np.asarray(word_lengths)[target] >= MIN_LETTERS)
    long_known &= ~np.isin(target, list(common_ids))
    top1 = np.stack([np.asarray(ids)[..., 0] for ids in topk.values()])  # (m, n, T)
    right, wrong = (top1 == target).any(0), (top1 != target).any(0)
    recall = long_known & seen_earlier(source, target) & (typed == 1) & right
    stories = (
        (long_known & (typed == 0) & right).any(1).astype(int)
        + recall.any(1)
        + (long_known & (typed <= 1) & wrong).any(1)
    )
    if not stories.any():
        raise ValueError("no sequence of this split has a candidate for any story; try a larger split")
    unknowns = ((target == UNKNOWN_ID) & real).sum(1)
    order = np.lexsort((np.arange(len(stories)), -recall.sum(1), unknowns, -stories))
    return int(order[0])
