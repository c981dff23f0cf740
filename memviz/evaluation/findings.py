"""The article's claims set against the reader's models: a verdict for each, read from intervals.

Each function takes the numbers a notebook measured (intervals over test sequences, as
:class:`memviz.evaluation.stats.Interval` or anything with ``value``, ``low`` and ``high``) and returns a
:class:`Finding`: the claim in the article's words, ``"reproduced"``, ``"not reproduced"`` or ``"cannot tell"``,
and the evidence in words. Nothing is typed in by hand: retrain the models and the verdicts follow them.

The rule is the series' rule throughout: two measures differ only where their 95 % intervals do not overlap
(a difference only where its interval excludes 0), and where the data cannot separate the answers the verdict is
"cannot tell", never a guess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from memviz.evaluation import stats

REPRODUCED, NOT_REPRODUCED, CANNOT_TELL = "reproduced", "not reproduced", "cannot tell"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One of the article's claims against the reader's models."""

    claim: str  # the article's claim, in its words
    verdict: str  # REPRODUCED, NOT_REPRODUCED or CANNOT_TELL
    evidence: str  # the numbers behind the verdict, in words
    where: str  # the section and figure that show it


def above(a, b) -> bool:
    """``a`` is clearly above ``b``: ``a``'s interval lies wholly above ``b``'s."""
    return bool(a.low > b.high)


def _points(x, pct: bool = True) -> str:
    if np.isnan(x.value):
        return "– (no hits)"
    return f"{100 * x.value:.1f} ({100 * x.low:.1f} to {100 * x.high:.1f})" if pct else f"{x.value:.3f}"


def _listing(values: Mapping[str, stats.Interval]) -> str:
    return ", ".join(f"{name} {_points(x)}" for name, x in values.items())


def _and(names: Sequence[str]) -> str:
    """``"A"``, ``"A and the B"``, ``"A, the B and the C"``: names for "the …"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", the ".join(names[:-1]) + " and the " + names[-1]


def _words(k) -> str:
    return f"{k} word{'' if k == 1 else 's'}"


def long_term_use(
    cut_loss: Mapping[str, stats.Interval],
    recall: Mapping[str, stats.Interval],
    effective: Mapping[str, int | str],
    *,
    gru: str = "GRU",
    near: int = 2,
) -> Finding:
    """The article: "the GRU model is better at long-term contextual understanding".

    Long-term use is measurable where a model recalls a repeated word from its earlier occurrence (``recall``: the
    accuracy lost on the repeat when that occurrence is replaced, interval above 0) or where its effective context
    (``effective``: words kept before a cut stops costing accuracy) exceeds ``near`` words. Where no model shows
    either, the verdict is "cannot tell" whatever the models' short-term use (``cut_loss``: accuracy lost when cut to
    the current word). Where some do, the GRU must recall clearly more than each other model.
    """

    def beyond(k: int | str) -> bool:  # an effective context longer than ``near`` words ("more than 8": every cut lost)
        return not isinstance(k, int) or k > near

    far = [n for n in effective if recall[n].low > 0 or beyond(effective[n])]
    others = [n for n in recall if n != gru]
    used = (
        f"recall measured at 0–2 characters typed; effective context {', '.join(f'{n} {_words(k)}' for n, k in effective.items())}; recall lost on "
        f"repeats, in points, {_listing(recall)}"
    )
    short = (
        f"Cut to the current word, the models lose (points) {_listing(cut_loss)}: the {gru} "
        + (
            "loses clearly the most"
            if all(above(cut_loss[gru], cut_loss[n]) for n in others)
            else "does not lose clearly more than every other model"
        )
        + ", and what is cut there is the last one or two words."
    )
    if not far:
        return Finding(
            "The GRU is better at long-term contextual understanding.",
            CANNOT_TELL,
            f"No model uses context more than {_words(near)} back measurably ({used}: every recall interval contains "
            f"0). {short}",
            "07 §1–2: context_length.png, repeat_recall.png",
        )
    if all(above(recall[gru], recall[n]) for n in others):
        verdict = REPRODUCED
    elif any(above(recall[n], recall[gru]) for n in others):
        verdict = NOT_REPRODUCED
    else:
        verdict = CANNOT_TELL
    return Finding(
        "The GRU is better at long-term contextual understanding.",
        verdict,
        f"Long-term use measurable for {', '.join(far)} ({used}). {short}",
        "07 §1–2: context_length.png, repeat_recall.png",
    )


def short_term_crossover(gru_minus_lstm, chars: Sequence[int], *, start: int = 5) -> Finding:
    """The article: "the LSTM model is better at short-term", its LSTM ahead of its GRU from about 7 characters typed.

    ``gru_minus_lstm``: the GRU's top-1 accuracy minus the LSTM's by characters typed ``chars`` (a paired interval
    per entry). Reproduced where the LSTM is clearly ahead somewhere from ``start`` characters on; not reproduced
    where it is nowhere, and the GRU is clearly ahead somewhere there; else cannot tell.
    """
    labels = stats.verdicts(gru_minus_lstm, ("GRU ahead", "LSTM ahead", "no clear difference"))
    late = [(n, label) for n, label in zip(chars, labels) if n >= start]
    lstm = [n for n, label in late if label == "LSTM ahead"]
    gru = [n for n, label in late if label == "GRU ahead"]
    verdict = REPRODUCED if lstm else NOT_REPRODUCED if gru else CANNOT_TELL
    runs = stats.describe_runs(labels, list(chars))
    return Finding(
        "The LSTM is better at the short term: its accuracy curve crosses the GRU's (from about 7 characters typed).",
        verdict,
        f"Top-1 accuracy, GRU minus LSTM, by characters typed: {runs}.",
        "04 §4 (who is ahead where)",
    )


def barely_uses_past(
    cut_loss: Mapping[str, stats.Interval],
    *,
    nested: str = "Nested LSTM",
    matched: Mapping[str, stats.Interval] | None = None,
) -> Finding:
    """The article: the Nested LSTM "barely uses the past".

    ``cut_loss``: accuracy lost when cut to the current word, per model. Reproduced where the Nested LSTM loses
    clearly less than every other model, and (when ``matched`` gives the same measure for the other models at the
    Nested LSTM's accuracy) still clearly less than each of those: otherwise its lower accuracy could explain it.
    """
    others = {n: x for n, x in cut_loss.items() if n != nested}
    evidence = f"Accuracy lost when cut to the current word, points: {_listing(cut_loss)}."
    if matched:
        evidence += f" At the Nested LSTM's accuracy: {_listing(matched)}."
    if any(above(cut_loss[nested], x) for x in others.values()):
        verdict = NOT_REPRODUCED
    elif all(above(x, cut_loss[nested]) for x in others.values()):
        verdict = REPRODUCED
        if matched and not all(above(x, cut_loss[nested]) for x in matched.values()):
            verdict = CANNOT_TELL
            evidence += " At matched accuracy the difference is not clear: its lower accuracy could explain it."
    else:
        verdict = CANNOT_TELL
    return Finding(
        "The Nested LSTM barely uses the past.",
        verdict,
        evidence,
        "07 §1 and §6: context_length.png, matched_accuracy.png",
    )


def memorization_not_understanding(
    reach_far: Mapping[str, stats.Interval],
    loss_far: Mapping[str, stats.Interval],
    *,
    words: int = 2,
    floor: float = 0.001,
) -> Finding:
    """The article: "long-term memorization, but not long-term contextual understanding": connectivity far back
    is not the same as using what is there.

    ``reach_far``: each model's share of connectivity more than ``words`` words back (what a cut to ``words`` words
    removes); ``loss_far``: the accuracy that cut costs, the use of those same characters. Reproduced where some model
    clearly reaches there (the low end of its interval at least ``floor``, 0.1 % of its connectivity) and loses no clear accuracy when they are cut; not reproduced where every
    model that reaches there also clearly uses it; cannot tell where no model clearly reaches there.
    """
    reaching = [n for n, x in reach_far.items() if x.low >= floor]
    unused = [n for n in reaching if loss_far[n].low <= 0]
    evidence = (
        f"Connectivity more than {_words(words)} back, %: {_listing(reach_far)}; accuracy lost when those words are "
        f"cut, points: {_listing(loss_far)}."
    )
    if not reaching:
        verdict = CANNOT_TELL
        evidence += f" No model clearly reaches more than {_words(words)} back."
    elif unused:
        verdict = REPRODUCED
        evidence += f" The {_and(unused)} reach{'es' if len(unused) == 1 else ''} there and lose no clear accuracy without it: reach is not use."
    else:
        verdict = NOT_REPRODUCED
        evidence += " Every model that reaches there loses clearly when it is cut: there, reach is use."
    return Finding(
        "Long-term memorization is not long-term contextual understanding.",
        verdict,
        evidence,
        "07 §1 and §3: context_length.png, reach_vs_loss.png",
    )


def word_start(share_lost_by_chars: Mapping[str, tuple[stats.Interval, stats.Interval]], *, late: int = 3) -> Finding:
    """The article: at a word's first character the model looks at the previous words; as letters are typed it
    moves to the word's own letters.

    ``share_lost_by_chars``: per model, the share of its hits (top-1, full context) that a cut to the current word
    loses, at 0 and at ``late`` characters typed. A share, not points: accuracy at 0 characters is a fraction of
    accuracy at 3, so points lost there are bounded by it. Reproduced where every model loses a clearly larger share
    at 0 characters; not reproduced where some model loses a clearly larger share at ``late``; else cannot tell.
    """
    moves = {}
    for name, x in share_lost_by_chars.items():
        start, later = x[0], x[1]
        moves[name] = "falls" if above(start, later) else "rises" if above(later, start) else "no clear change"
    verdict = (
        NOT_REPRODUCED if "rises" in moves.values() else REPRODUCED if set(moves.values()) == {"falls"} else CANNOT_TELL
    )
    evidence = (
        "Share of the full context's hits lost when cut to the current word, %, at 0 → "
        + f"{late} characters typed: "
        + "; ".join(f"{n} {_points(x[0])} → {_points(x[1])} ({moves[n]})" for n, x in share_lost_by_chars.items())
        + "."
    )
    return Finding(
        "At a word's start the model uses the previous words, then the word's own letters.",
        verdict,
        evidence,
        "07 §9 (computed there); connectivity's side: 06, share_in_word.png",
    )


def table(found: Sequence[Finding]) -> str:
    """The findings as a Markdown table: claim, verdict, evidence, where."""
    rows = ["| the article's claim | on your models | the evidence | where |", "|---|---|---|---|"]
    rows += [f"| {f.claim} | **{f.verdict}** | {f.evidence} | {f.where} |" for f in found]
    return "\n".join(rows)


def counts(found: Sequence[Finding]) -> str:
    """``"2 reproduced, 1 not reproduced, 2 cannot tell"``."""
    verdicts = [f.verdict for f in found]
    return ", ".join(f"{verdicts.count(v)} {v}" for v in (REPRODUCED, NOT_REPRODUCED, CANNOT_TELL))


def scalar(value: float, low: float, high: float) -> stats.Interval:
    """One estimate as an :class:`~memviz.evaluation.stats.Interval` (e.g. a row of a measures table)."""
    return stats.Interval(np.asarray(value, np.float64), np.asarray(low, np.float64), np.asarray(high, np.float64))


def position_power(max_removed: float, rho: Mapping[str, float], *, enough: float = 0.10) -> str:
    """What a within-model correlation (over positions) of the share of connectivity a cut removes with the
    log-probability it costs can tell: little where the cut removes at most ``max_removed`` < ``enough`` of a row."""
    listed = ", ".join(f"{n} {r:+.2f}" for n, r in rho.items())
    if max_removed < enough:
        return (
            f"A cut to 2 words removes at most {max_removed:.1%} of any model's connectivity (mean over positions), "
            f"so the correlations over positions ({listed}) have little power: they cannot tell whether "
            "connectivity follows use position by position."
        )
    strong = [n for n, r in rho.items() if abs(r) >= 0.3]
    return (
        f"A cut to 2 words removes up to {max_removed:.1%} of a model's connectivity; over positions the "
        f"correlations are {listed}: "
        + (
            f"connectivity follows use for {', '.join(strong)}."
            if strong
            else "connectivity does not follow use position by position."
        )
    )


def randomisation(
    similarity: Mapping[str, stats.Interval],
    in_word: Mapping[str, tuple[float, float]],
    untrained_agreement: Mapping[str, float],
) -> str:
    """What the randomisation check says: ``similarity`` (rank correlation of trained with untrained rows, per
    model), ``in_word`` (share of connectivity inside the word, trained and untrained), ``untrained_agreement``
    (rank correlation of the untrained models' other attributions with their connectivity)."""
    values = [x.value for x in similarity.values()]
    shape = f"Trained and untrained connectivity rows rank-correlate at {min(values):.2f}–{max(values):.2f}: " + (
        "most of a row's shape, how it falls off with distance, is there before training, set by the "
        "architecture and not learned."
        if min(values) >= 0.5
        else "training changes the rows' shape, as it should if connectivity reads what was learned."
    )
    moved = ", ".join(f"{n} {100 * (t - u):+.0f}" for n, (t, u) in in_word.items())
    agree = untrained_agreement.values()
    return (
        f"{shape} What training adds shows in the share inside the current word (points, trained minus untrained: "
        f"{moved}). The untrained models' other attributions agree with their connectivity at "
        f"{min(agree):.2f}–{max(agree):.2f} (rank correlation): agreement between methods does not show that any "
        "of them reads what a model learned."
    )


def first_step_below(history, threshold: float) -> int | None:
    """The first logged step at which a run's training loss (``history``: rows ``dataset, step, loss``) is below
    ``threshold``; ``None`` if it never is."""
    train = history[history.dataset == "train"]
    below = train[train.loss < threshold]
    return None if below.empty else int(below.step.iloc[0])


def first_jump(history, factor: float = 1.5) -> tuple[int, float] | None:
    """The first logged step at which a run's training loss (``history``: rows ``dataset, step, loss``) rose above
    ``factor`` × its lowest value so far (a divergence), with that loss; ``None`` if it never did."""
    train = history[history.dataset == "train"]
    loss = train.loss.to_numpy()
    jumps = np.flatnonzero(loss > factor * np.minimum.accumulate(loss))
    return None if not len(jumps) else (int(train.step.iloc[jumps[0]]), float(loss[jumps[0]]))


def context_summary(effective: Mapping[str, int | str], cut_loss: Mapping[str, stats.Interval]) -> str:
    """Section 1's reading: how far back the models' use of context goes, and which of them use it most."""
    ints = [k for k in effective.values() if isinstance(k, int)]
    reach = (
        f"Every model's effective context is at most {_words(max(ints))}: cutting older words costs no clear "
        "accuracy, so what these models use of the past is the last few words."
        if len(ints) == len(effective)
        else "Some model loses accuracy at every cut tried: its use of the past goes beyond the longest cut."
    )
    order = sorted(cut_loss, key=lambda n: cut_loss[n].value)
    steps = [f"{a} {'<' if above(cut_loss[b], cut_loss[a]) else '≈'} {b}" for a, b in zip(order, order[1:])]
    return (
        f"{reach} By the accuracy lost when cut to the current word: {'; '.join(steps)} (< where the intervals "
        "are apart, ≈ where they overlap)."
    )


def agreement_summary(
    rho: Mapping[str, Mapping[str, float]], unreliable: Sequence[str] = (), *, agree: float = 0.6
) -> str:
    """Section 4's reading: ``rho[model][method]``, the mean rank correlation of a method's rows with connectivity;
    ``unreliable``: methods whose figures are not to be read (integrated gradients with a large completeness gap)."""
    methods = list(dict.fromkeys(m for by in rho.values() for m in by))
    always = [m for m in methods if m not in unreliable and all(by[m] >= agree for by in rho.values())]
    not_always = [m for m in methods if m not in unreliable and m not in always]
    parts = []
    if always:
        parts.append(
            f"{', '.join(always)} rank characters as connectivity does (rank correlation ≥ {agree} for "
            "every model): the ranking connectivity shows is not an artefact of squaring the gradient"
        )
    if not_always:
        parts.append(f"{', '.join(not_always)} not for every model")
    if unreliable:
        parts.append(f"{', '.join(unreliable)} is not read here (unreliable: see its completeness gap)")
    return (
        "; ".join(parts) + ". Agreeing on which characters matter most is not agreeing on how much the current word "
        "matters: the shares inside the word differ (the figure)."
    )


def training_diagnosis(history, reference_history, *, uniform: float, reference: str, below: float = 5.0) -> str:
    """What the logged losses can tell about a run that trained poorly (``history``), beside a run that trained
    well (``reference_history``, named ``reference``): when its loss first fell below ``below``, and whether and
    where it jumped (a divergence), against ``uniform``, the loss of a uniform guess (log of the vocabulary size)."""
    mine, theirs = first_step_below(history, below), first_step_below(reference_history, below)
    text = f"Its training loss first fell below {below:g} at step {mine} (the {reference}: step {theirs}). "
    jump = first_jump(history)
    if jump is None:
        text += "It never jumped: it learned slowly from the start. "
    else:
        text += (
            f"At step {jump[0]} it jumped to {jump[1]:.1f}"
            + (f", above the {uniform:.2f} of a uniform guess" if jump[1] > uniform else "")
            + (f", a jump the {reference} does not make" if first_jump(reference_history) is None else "")
            + ": the run diverged early and learned slowly after it. "
        )
    return text + (
        "Why is not diagnosed (the runs kept no gradients); a lower rate or a warm-up is the first thing to try."
    )
