"""How far the attribution methods agree with connectivity, with bootstrap intervals over texts (notebook 07, §4–5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from memviz.analysis import attribution
from memviz.evaluation import stats


def agreement_frame(results: Mapping[str, Sequence[tuple]], state: str) -> pd.DataFrame:
    """Rows ``model, method, measure, state, value, low, high``: per model (``results``: model name ->
    :func:`memviz.analysis.attribution.text_summaries`) and method, the mean over texts of the rank correlation with
    connectivity and of the share inside the word, with a bootstrap interval over texts; ``state`` labels the rows
    (``"trained"``, ``"untrained"``)."""
    rows = []
    for name, items in results.items():
        for method in attribution.METHODS:
            for measure in ("rank correlation", "share in word"):
                interval = stats.bootstrap_mean(np.array([s[method][measure] for s, *_ in items]))
                rows.append({"model": name, "method": method, "measure": measure, "state": state,
                             "value": float(interval.value), "low": float(interval.low), "high": float(interval.high)})  # fmt: skip
    return pd.DataFrame(rows)
