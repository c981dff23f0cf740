"""Numbers a notebook computed, recorded in its executed output so that tests can check its prose.

A notebook's markdown may state a comparison about the reader's models ("the Nested LSTM's deficit
is smallest at 0 characters"). Retraining can make such a sentence false. So the notebook records
the numbers behind it with :func:`record`, a display output of type :data:`MIME` (JSON), and the
tests (``tests/test_claims.py``) state each sentence as a check on those numbers, run against the
*executed* notebook: a sentence that has become wrong fails a test instead of staying wrong.

:class:`memviz.evaluation.stats.Interval` values are recorded as ``{"value", "low", "high"}`` lists.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from memviz.evaluation.stats import Interval

#: The display type of a claims record in an executed notebook.
MIME = "application/vnd.memviz.testing.claims+json"


def jsonable(value):
    """``value`` as plain JSON types: arrays to (nested) lists, NaN to None, intervals to dicts."""
    if isinstance(value, Interval):
        return {"value": jsonable(value.value), "low": jsonable(value.low), "high": jsonable(value.high)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    return value


def record(**values) -> None:
    """Display ``values`` as a claims record (JSON, plus a one-line plain-text note for readers).

    Every record also says whether it was made in smoke mode (``smoke``): claims about the shipped
    models are only checked on a full run.
    """
    from IPython.display import display

    from memviz.training.presets import smoke_mode

    blob = jsonable(values) | {"smoke": smoke_mode()}
    json.dumps(blob)  # fails here, in the notebook, if something is not JSON
    note = f"(recorded for the notebook's claim checks: {', '.join(values)})"
    display({MIME: blob, "text/plain": note}, raw=True)


def read(notebook: str | Path) -> dict:
    """Every claims record of an executed notebook, merged in cell order (later keys win)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    merged: dict = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            blob = output.get("data", {}).get(MIME)
            if blob is not None:
                merged.update(blob)
    return merged
