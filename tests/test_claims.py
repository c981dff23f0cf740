"""The prose's claims about the reader's models, checked against the numbers the executed notebooks recorded.

Each :class:`Claim` quotes a phrase of a notebook's markdown (or of the README) and states it as a check
on that notebook's claims record (:mod:`memviz.testing.claims`). The checks run on the executed copies of a
full run (``python scripts/run_notebooks.py``, written to ``outputs/notebooks/``, or the folder in
``MEMVIZ_EXECUTED_DIR``): retrain the models, rerun the notebooks, and a sentence that became false
fails here. They are skipped when no full run is there (the smoke run's tiny models say nothing about
the shipped ones; ``tests/test_notebooks.py`` checks that a smoke run records every number they need).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest

from memviz.testing import claims

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = Path(os.environ.get("MEMVIZ_EXECUTED_DIR", ROOT / "outputs" / "notebooks"))


@dataclasses.dataclass(frozen=True)
class Claim:
    notebook: str  # the notebook whose record the check reads, by its number: "04"
    quote: str  # words of the prose that the check backs (must appear in ``source``)
    check: Callable[[dict], bool]
    source: str = ""  # where the quote is: "" for the notebook's markdown, else a file such as "README.md"


def _iv(record: dict, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An interval recorded by ``claims.record``: (value, low, high) arrays, NaN for missing."""
    blob = record[key]
    return tuple(np.array(blob[k], dtype=float) for k in ("value", "low", "high"))


def _nested_deficit_least_at_zero(record: dict) -> bool:
    _, low, high = _iv(record, "nested_minus_lstm")
    return bool(high[0] < 0 and low[0] > np.nanmax(high[1:11]))  # at 0: behind, and clearly less than at 1–10


def _zero_is_hardest(record: dict) -> bool:
    return all(
        np.array(blob["value"], float)[0] < np.nanmin(np.array(blob["value"], float)[1:])
        for blob in record["top1"].values()
    )


def _most_positions_early(record: dict) -> bool:
    positions = np.array(record["positions"], float)
    return bool(positions[:5].sum() > 0.5 * positions.sum())


def _unknown_rises(record: dict) -> bool:
    share = np.array(record["unknown_share"], float)
    return bool(np.nanmin(share[8:]) > np.nanmax(share[:4]))


def _gru_several_times(record: dict) -> bool:
    share = record["share_on_advanced_106"]
    return share["GRU"] >= 3 * max(v for m, v in share.items() if m != "GRU")


def _none_predicts_learning(record: dict) -> bool:
    return all(words[0] != "learning" for words in record["top_106"].values())


def _guess_le_words(record: dict) -> bool:
    return all(words[0] != "learning" and words[0].startswith("le") for words in record["top_106"].values())


def _only_106_in_vocabulary(record: dict) -> bool:
    return sorted(record["unknown_walkthrough_positions"]) == [32, 141, 159, 162]


def _learning_is_rare(record: dict) -> bool:
    return record["words_above_learning"] >= 1000


def _walkthrough_complete(record: dict) -> bool:
    return [s["story"] for s in record["steps"]] == ["context", "recall", "far back, still wrong"]


def _explorer_opens_on_it(record: dict) -> bool:
    positions = [s["position"] for s in record["steps"]]
    opens_on_first = not positions or record["explorer_position"] == positions[0]
    return opens_on_first and record["explorer_steps"] == positions


def _nested_smaller_and_shorter(record: dict) -> bool:
    # the article's Nested LSTM: 600 units, 14,278 steps (its appendix)
    return record["units"]["Nested LSTM"] < 600 and record["steps"]["Nested LSTM"] < 14_278


def _no_reach_back_gain_at_zero(record: dict) -> bool:
    return all(verdicts[0] == "no clear difference" for verdicts in record["reach_verdicts"].values())


def _repeated_words_more_frequent(record: dict) -> bool:
    return record["median_rank"]["seen earlier"] < record["median_rank"]["new"]  # rank 0: the most frequent


def _share_rises(record: dict) -> bool:
    rises = []
    for blob in record["inside"].values():
        value = np.array(blob["value"], float)
        rises.append(bool(np.all(np.diff(value) >= -0.005) and value[-1] > value[0]))
    return all(rises)


def _mrs_elton_in_training(record: dict) -> bool:
    return record["mrs_elton"] >= 20


def _shipped_measures_reproduced(record: dict) -> bool:
    # within 2 % of each interval's width: float rounding on another CPU may flip a near-tie, a retrained model moves more
    return bool(record["shipped_models"] and record["shipped_measures_difference"] < 0.02)


def _mingru_exact(record: dict) -> bool:
    return record["mingru_kernel_gap"] < 1e-4


def _finding(claim: str, verdict: str) -> Callable[[dict], bool]:
    """07 section 9's verdict on one of the article's claims, as recorded (``findings``: claim -> verdict)."""
    return lambda record: record["findings"][claim] == verdict


#: The README's table of 07's verdicts on the shipped models: (the article's claim, the verdict).
FINDINGS = [
    ("The GRU is better at long-term contextual understanding.", "cannot tell"),
    (
        "The LSTM is better at the short term: its accuracy curve crosses the GRU's (from about 7 characters typed).",
        "not reproduced",
    ),
    ("The Nested LSTM barely uses the past.", "reproduced"),
    ("Long-term memorization is not long-term contextual understanding.", "reproduced"),
    ("At a word's start the model uses the previous words, then the word's own letters.", "reproduced"),
]

CLAIMS = [
    Claim("04", "trails the LSTM by the least at 0 characters", _nested_deficit_least_at_zero),
    Claim("04", "and by more once letters are typed", _nested_deficit_least_at_zero),
    Claim("04", "and the hardest point of the curve", _zero_is_hardest),
    Claim("04", "most sit at\n0–4 characters typed", _most_positions_early),
    Claim("04", "and more of them are out of vocabulary", _unknown_rises),
    Claim("05", "the shipped GRU has the\nlargest, several times the others'", _gru_several_times),
    Claim("05", "guess frequent words that start with *le*", _guess_le_words),
    Claim("05", "One of the article's positions is in Austen's vocabulary: 106", _only_106_in_vocabulary),
    Claim("05", "*learning* is rare in Austen", _learning_is_rare),
    Claim("05", "finds one position\nfor each story", _walkthrough_complete),
    Claim("05", "It opens on the walkthrough.", _explorer_opens_on_it),
    Claim(
        "05",
        'the GRU\'s row reaches back to "advanced" (several times the share\nof the LSTM or the Nested LSTM)',
        _gru_several_times,
        source="README.md",
    ),
    Claim("05", 'none of them predicts "learning"', _none_predicts_learning, source="README.md"),
    Claim(
        "06",
        "the shipped Nested LSTM\nis a different model (fewer units, a shorter training)",
        _nested_smaller_and_shorter,
    ),
    Claim(
        "06",
        "Repeated words are still more frequent than new ones, even without the top 100",
        _repeated_words_more_frequent,
    ),
    Claim("06", "with every letter typed the share inside rises", _share_rises),
    Claim(
        "06",
        "For the shipped models that is the verdict\nfor all three at 0 characters typed",
        _no_reach_back_gain_at_zero,
    ),
    Claim("06", 'the pair "mrs elton" occurs again and again in *Emma*\'s training chunks', _mrs_elton_in_training),
    Claim(
        "07",
        "The measures of the shipped models in\n`data/variants/measures.csv` are the ones this notebook computes for them",
        _shipped_measures_reproduced,
    ),
    *[
        Claim("07", f"| {claim} | **{verdict}** |", _finding(claim, verdict), source="README.md")
        for claim, verdict in FINDINGS
    ],
    Claim(
        "09", "For minGRU the connectivity equals a closed form built from its gates, to float rounding", _mingru_exact
    ),
]

#: Claims that hold by construction, whatever the models: checked on the smoke run's records too.
STRUCTURAL = {_explorer_opens_on_it, _mingru_exact}


def failures(claims_: list[Claim], record: dict) -> list[str]:
    """The quotes of the claims that do not hold for ``record`` (a missing number raises KeyError)."""
    return [claim.quote for claim in claims_ if not claim.check(record)]


def notebook_path(prefix: str, folder: Path) -> Path:
    (path,) = sorted(folder.glob(f"{prefix}_*.ipynb")) or [folder / f"{prefix}_missing.ipynb"]
    return path


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def prose(claim: Claim) -> str:
    if claim.source:
        return (ROOT / claim.source).read_text(encoding="utf-8")
    nb = nbformat.read(notebook_path(claim.notebook, ROOT / "notebooks"), as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.notebook}:{c.quote[:30]}")
def test_every_claim_quotes_the_prose(claim):
    """A claim whose sentence was edited away fails here, so checks and prose stay together."""
    assert _normalise(claim.quote) in _normalise(prose(claim)), f"{claim.quote!r} is no longer in the prose"


@pytest.mark.parametrize("prefix", sorted({c.notebook for c in CLAIMS}))
def test_claims_hold_in_the_executed_notebook(prefix):
    path = notebook_path(prefix, EXECUTED)
    if not path.exists():
        pytest.skip(f"no executed {prefix} notebook in {EXECUTED}: run `python scripts/run_notebooks.py` first")
    record = claims.read(path)
    if record.get("smoke", True):
        pytest.skip(f"{path} was executed in smoke mode: its tiny models say nothing about the shipped ones")
    assert failures([c for c in CLAIMS if c.notebook == prefix], record) == []


def check_smoke_record(prefix: str, record: dict) -> None:
    """For the notebook tests: a smoke run records every number the claims read, and the structural claims hold."""
    mine = [c for c in CLAIMS if c.notebook == prefix]
    for claim in mine:
        claim.check(record)  # KeyError if the notebook stopped recording a number a claim reads
    assert failures([c for c in mine if c.check in STRUCTURAL], record) == []


def test_a_claim_made_false_fails():
    """The mechanism can fail: the same check passes on numbers that back the sentence and fails on numbers that do not."""
    gap = {"value": [-0.05, -0.10, -0.11], "low": [-0.052, -0.11, -0.12], "high": [-0.045, -0.09, -0.10]}
    claim = [c for c in CLAIMS if c.check is _nested_deficit_least_at_zero][:1]
    assert failures(claim, {"nested_minus_lstm": gap}) == []
    retrained = {**gap, "low": [-0.095, -0.11, -0.12], "value": [-0.09, -0.10, -0.11]}  # intervals now overlap
    assert failures(claim, {"nested_minus_lstm": retrained}) == [claim[0].quote]
    readme = [c for c in CLAIMS if c.check is _gru_several_times]
    assert failures(readme, {"share_on_advanced_106": {"GRU": 0.34, "LSTM": 0.05, "Nested LSTM": 0.04}}) == []
    assert failures(readme, {"share_on_advanced_106": {"GRU": 0.34, "LSTM": 0.2, "Nested LSTM": 0.04}}) != []


def test_a_false_claim_in_an_executed_notebook_fails(tmp_path):
    """End to end: a record written into an executed notebook's outputs is read back, and a false claim fails."""
    nb = nbformat.v4.new_notebook()
    shares = {"GRU": 0.02, "LSTM": 0.3, "Nested LSTM": 0.0}  # the LSTM, not the GRU, reaches back
    output = nbformat.v4.new_output(
        "display_data", data={claims.MIME: {"share_on_advanced_106": shares, "smoke": False}}
    )
    nb.cells = [nbformat.v4.new_code_cell("claims.record(...)", outputs=[output])]
    nbformat.write(nb, tmp_path / "05_connectivity_explorer.ipynb")
    record = claims.read(notebook_path("05", tmp_path))
    assert record["smoke"] is False
    assert failures([c for c in CLAIMS if c.check is _gru_several_times], record) != []


def test_the_executed_explorer_notebook_stays_small():
    """A full run's executed 05 stays under 5 MB (it was 19 MB: an SVG matrix and widget state per chart)."""
    path = notebook_path("05", EXECUTED)
    if not path.exists() or claims.read(path).get("smoke", True):
        pytest.skip(f"no executed full-mode 05 notebook in {EXECUTED}")
    assert path.stat().st_size <= 5_000_000, f"{path} is {path.stat().st_size / 1e6:.1f} MB"
