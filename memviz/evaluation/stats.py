"""Uncertainty over test sequences: percentile bootstrap intervals for means and ratios of sums.

A test split is a sample of sequences, not of independent positions (the characters of one sequence
share its context), so every interval here resamples whole sequences. Resampling is done with
multinomial weights, ``(resamples, n) @ (n, ...)``, so one call covers a whole curve or table.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

#: Default number of bootstrap resamples and confidence level used across memviz.
RESAMPLES, LEVEL = 1000, 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval, elementwise: ``low ≤ value ≤ high`` (where defined)."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float = LEVEL

    def overlaps(self, other: Interval) -> np.ndarray:
        """``bool`` (elementwise): the two intervals overlap, i.e. there is no clear difference."""
        return (self.low <= other.high) & (other.low <= self.high)

    def __getitem__(self, index) -> Interval:
        """The interval of some elements: ``curve[0, 3]``, ``table[:, 1:]``."""
        return Interval(value=self.value[index], low=self.low[index], high=self.high[index], level=self.level)

    def text(self, index=(), fmt: str = ".1%") -> str:
        """One element as text: ``"54.1% (53.0% to 55.2%)"``; ``"–"`` where it is undefined (NaN)."""
        value, low, high = (np.asarray(a)[index] for a in (self.value, self.low, self.high))
        if np.isnan(value):
            return "–"
        return f"{value:{fmt}} ({low:{fmt}} to {high:{fmt}})"


def overlap(a, b) -> bool:
    """Two intervals (anything with ``low`` and ``high``: :class:`Interval` elements, rows of a measures table)
    overlap: there is no clear difference between them."""
    return bool(a.low <= b.high and b.low <= a.high)


def verdicts(
    difference: Interval, names: tuple[str, str, str] = ("higher", "lower", "no clear difference")
) -> np.ndarray:
    """``(...) str``: for an interval of a difference A − B, "higher" where it lies above 0, "lower"
    where below, else "no clear difference" (the interval contains 0)."""
    low, high = np.asarray(difference.low), np.asarray(difference.high)
    return np.where(low > 0, names[0], np.where(high < 0, names[1], names[2]))


def describe_runs(labels, x) -> str:
    """Consecutive equal ``labels`` over ``x`` as text: ``"higher at 0–3, no clear difference at 4–14"``."""
    parts, start = [], 0
    labels, x = list(labels), list(x)
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            where = f"{x[start]}" if i - 1 == start else f"{x[start]}–{x[i - 1]}"
            parts.append(f"{labels[start]} at {where}")
            start = i
    return ", ".join(parts)


def _resample_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n) float64``: how often each sequence is drawn in each resample (rows sum to n)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def _percentiles(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = 100 * (1 - level) / 2
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN elements (no position counted) stay NaN
        low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return low, high


def bootstrap_ratio(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> Interval:
    """Interval for ``numerator.sum(0) / denominator.sum(0)``, resampling the first axis (sequences).

    ``numerator, denominator: (n, ...)`` per-sequence sums, e.g. hits and counts by characters typed
    of each test sequence. The value is NaN where the denominator sums to 0, and a resample whose
    denominator is 0 there is left out of that element's percentiles.
    """
    num = np.asarray(numerator, np.float64)
    den = np.asarray(denominator, np.float64)
    if num.shape != den.shape or num.ndim == 0 or num.shape[0] == 0:
        raise ValueError(f"numerator {num.shape} and denominator {den.shape} need the same shape (n, ...), n ≥ 1")
    n, rest = num.shape[0], num.shape[1:]
    weights = _resample_weights(n, resamples, seed)
    num_b = (weights @ num.reshape(n, -1)).reshape(resamples, *rest)
    den_b = (weights @ den.reshape(n, -1)).reshape(resamples, *rest)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den.sum(0) > 0, num.sum(0) / den.sum(0), np.nan)
        samples = np.where(den_b > 0, num_b / den_b, np.nan)
    low, high = _percentiles(samples, level)
    return Interval(value=value, low=low, high=high, level=level)


def wilson(hits: np.ndarray, n: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval ``(low, high)`` of a proportion of ``hits`` in ``n`` (elementwise; NaN where n = 0):
    honest at 0 and at n hits, where a percentile bootstrap collapses to a point."""
    from statistics import NormalDist

    hits, n = np.asarray(hits, np.float64), np.asarray(n, np.float64)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (hits + z**2 / 2) / (n + z**2)
        half = z / (n + z**2) * np.sqrt(hits * (n - hits) / n + z**2 / 4)
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def proportion_interval(
    hits: np.ndarray, counts: np.ndarray, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> Interval:
    """A proportion (``hits.sum(0) / counts.sum(0)``, per-sequence sums ``(n, ...)``) with its bootstrap interval over
    sequences, widened to at least the Wilson interval where no or every position is a hit: there the bootstrap
    interval has zero width (every resample gives 0 %), which says nothing about how rare a hit is."""
    boot = bootstrap_ratio(hits, counts, resamples=resamples, level=level, seed=seed)
    total, n = np.asarray(hits, np.float64).sum(0), np.asarray(counts, np.float64).sum(0)
    low, high = wilson(total, n, level)
    edge = (total == 0) | (total == n)
    return Interval(
        value=boot.value,
        low=np.where(edge, np.fmin(boot.low, low), boot.low),
        high=np.where(edge, np.fmax(boot.high, high), boot.high),
        level=level,
    )


def bootstrap_mean(values: np.ndarray, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0) -> Interval:
    """Interval for the mean over the first axis of ``values (n, ...)`` (one value per sequence)."""
    values = np.asarray(values, np.float64)
    return bootstrap_ratio(values, np.ones_like(values), resamples=resamples, level=level, seed=seed)
