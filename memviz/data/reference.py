"""The article's published data: connectivity, accuracy and training curves (Madsen, Distill 2019).

The files in ``DATA_DIR / "distill-2019"`` are copied unchanged from the article's repository
(``distillpub/post--memorization-in-rnns``, ``public/data/``, commit ``2d3ca6c``; MIT, (c) 2018 nearForm).
They come from models trained on text8. They are reference curves to draw beside the project's own
results, not targets that a model trained on another corpus should match.

Everything here returns the plain containers of :mod:`memviz.core.results` or tidy DataFrames, so
:mod:`memviz.viz` draws the article's data and the reader's own results with the same functions.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from memviz import data
from memviz.core.model_names import TABLE_ORDER, cell_name, display_name
from memviz.core.paths import DATA_DIR, data_file
from memviz.core.results import AccuracyCurve, ConnectivityResult

#: Folder of the article's published data.
REFERENCE_DIR = DATA_DIR / "distill-2019"

#: The article's fixed connectivity sample (its connectivity figure): 35 words, 198 positions, leading space.
SAMPLE_TEXT = (
    " context the formal study of grammar is an important part of education from a young age through"
    " advanced learning though the rules taught in schools are not a grammar in the sense most linguists use"
)

#: The connectivity figure's walkthrough: output position -> what the article points out there.
WALKTHROUGH = {
    106: "'le' of learning: the Nested LSTM barely uses the past and guesses common 'l' words; "
    "the LSTM and GRU suggest 'learning', the GRU more confidently and more connected to 'advanced'.",
    32: "'gram': the first 'grammar' needs 4 characters in every model.",
    159: "'g': the second 'grammar'; the GRU already predicts it from 1 character.",
    162: "'gram': the LSTM and the Nested LSTM need 4 characters for the second 'grammar'.",
    141: "'s' of schools: the GRU uses past context better; the LSTM connects to almost the whole "
    "sentence but predicts wrongly (long-term memorization, not long-term understanding).",
}

#: The connectivity figure's default output position (the 'e' of "learning"; the connectivity figure).
DEFAULT_INDEX = 106

#: The hero figure's animation: output positions 12 -> 35 (space before "formal" to the last 'r' of
#: "grammar"), every 200 ms, looping (the hero figure at the article's top).
HERO_RANGE = (12, 35)

#: The hero figure shows only the first 70 characters of the sample.
HERO_LENGTH = 70

#: The hero animation's step interval in milliseconds.
HERO_INTERVAL_MS = 200

#: Test-split results of the article's appendix "Model testing"; accuracy as a fraction.
TEST_METRICS = pd.DataFrame(
    {
        "model": list(TABLE_ORDER),
        "cross_entropy": [2.1170, 2.1713, 2.4950],
        "accuracy": [0.5201, 0.5140, 0.4710],
    }
)

#: The article's model configurations and parameter counts (its appendix).
PARAMETER_COUNTS = pd.DataFrame(
    {
        "model": list(TABLE_ORDER),
        "units": [600, 600, 600],
        "layers": [2, 2, 1],
        "depth": [pd.NA, pd.NA, 2],
        "embedding": [16_200, 16_200, 16_200],
        "recurrent": [4_323_600, 5_764_800, 5_764_800],
        "dense": [9_847_986, 9_847_986, 9_847_986],
    }
).astype({"depth": "Int64"})


def _file(name: str) -> Path:
    """A file of the article's data, or an error that says where memviz looked and how to point it elsewhere."""
    return data_file("distill-2019", name)


@functools.cache
def _connectivity(name: str) -> ConnectivityResult:
    records = json.loads(_file(f"connectivity_{cell_name(name)}.json").read_text())
    result = ConnectivityResult.from_records(records, model=name, squared=True)
    # Cached and shared between callers, so make the arrays read-only rather than copy them.
    result.raw.setflags(write=False)
    result.top_probs.setflags(write=False)
    return result


def connectivity(model: str) -> ConnectivityResult:
    """The article's connectivity of :data:`SAMPLE_TEXT` under ``model`` (198×198, squared norm).

    ``model`` is a display name or a file key: ``"GRU"``/``"gru"``, ``"LSTM"``/``"lstm"``,
    ``"Nested LSTM"``/``"nlstm"``. Top-3 probabilities are rounded to 3 d.p. in the source.
    """
    name = display_name(model)
    if name not in TABLE_ORDER:
        raise ValueError(
            f"the article published no connectivity for {model!r}; its models are {', '.join(TABLE_ORDER)}"
        )
    return _connectivity(name)


def connectivities(models: tuple[str, ...] = TABLE_ORDER) -> list[ConnectivityResult]:
    """:func:`connectivity` for several models (default: all three, in the order of the article's tables)."""
    return [connectivity(m) for m in models]


def accuracy_curves() -> list[AccuracyCurve]:
    """The accuracy-by-characters-typed curves ("Future work"): one ``(3, 22)`` curve per model, top-1..3."""
    blob = json.loads(_file("word-length-results.json").read_text())
    return [AccuracyCurve(model=name, accuracy=np.asarray(blob[name], dtype=np.float64)) for name in TABLE_ORDER]


def training_curves() -> pd.DataFrame:
    """The article's training graph data (its appendix) as a tidy frame.

    Columns: ``model``, ``dataset`` (``"train"`` | ``"valid"``), ``sec``, ``step``, ``loss``,
    ``loss_smooth`` (the article's ewm(alpha=0.25) over interleaved train/valid rows; it is what the
    article plots). Every 10th step, 1,428 rows per model and dataset.
    """
    frame = pd.read_csv(_file("autocomplete-training.csv"))
    frame = frame.rename(columns={"loss smooth": "loss_smooth"})
    return frame.astype({"model": str, "dataset": str, "sec": float, "step": int, "loss": float, "loss_smooth": float})


def word_map() -> tuple[str, ...]:
    """The article's 16,386 output classes in their exact order (``<eos>``, ``<unknown>``, then words)."""
    return data.article_maps()["word_map"]


def char_map() -> tuple[str, ...]:
    """The 28 input symbols: ``<eos>`` (padding, id 0), space, a-z."""
    return data.article_maps()["char_map"]


def is_article(results) -> bool:
    """True when every result is one of the article's published connectivities (not the reader's models)."""
    published = {id(r) for r in connectivities()}
    return all(id(r) in published for r in results)
