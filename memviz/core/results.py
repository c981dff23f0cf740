"""Plain result containers shared by analysis, reference data and charts.

These hold arrays and strings only (never models), so every chart in `memviz.viz` can be drawn
from a saved result or from the article's published data alike.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from memviz.core.files import write_text


@dataclasses.dataclass(frozen=True)
class ConnectivityResult:
    """Connectivity of one text under one model (article §"Connectivity").

    Attributes:
      model: display name of the model, e.g. ``"GRU"``.
      text: the input characters, length T (the article's sample starts with a space).
      targets: the true target word at every position, length T (``"<unknown>"`` for OOV).
      raw: ``(T, T)`` float array; ``raw[t_out, t_in]`` is the connectivity of output position
        ``t_out`` to input position ``t_in``; zero for ``t_in > t_out`` (causal).
      top_words: ``(T, k)`` the model's k most probable words at each position.
      top_probs: ``(T, k)`` their softmax probabilities.
      squared: True when ``raw`` holds the squared L2 norm (the article's code), False for the norm.
    """

    model: str
    text: str
    targets: tuple[str, ...]
    raw: np.ndarray
    top_words: tuple[tuple[str, ...], ...]
    top_probs: np.ndarray
    squared: bool = True

    def __post_init__(self):
        n = len(self.text)
        if self.raw.shape != (n, n):
            raise ValueError(f"raw has shape {self.raw.shape}; expected ({n}, {n}) for a text of {n} characters")
        if len(self.targets) != n or len(self.top_words) != n:
            raise ValueError("targets and top_words need one entry per character of text")

    @property
    def length(self) -> int:
        """Number of characters of ``text``."""
        return len(self.text)

    def normalized(self) -> np.ndarray:
        """Each row divided by its maximum, as the article displays it (all-zero rows stay zero)."""
        peak = self.raw.max(axis=1, keepdims=True)
        return np.divide(self.raw, peak, out=np.zeros_like(self.raw, dtype=np.float64), where=peak > 0)

    def save(self, path: str | Path) -> None:
        """Write as JSON in the article's per-position record layout (plus a header)."""
        records = [
            {
                "char": self.text[t],
                "target": self.targets[t],
                "predict": list(self.top_words[t]),
                "probability": [float(p) for p in self.top_probs[t]],
                "connectivity": [float(v) for v in self.raw[t]],
            }
            for t in range(self.length)
        ]
        write_text(path, json.dumps({"model": self.model, "squared": self.squared, "records": records}))

    @classmethod
    def from_records(cls, records: list[dict], model: str, squared: bool = True) -> ConnectivityResult:
        """Build from the article's JSON layout: a list of per-position records."""
        return cls(
            model=model,
            text="".join(r["char"] for r in records),
            targets=tuple(r["target"] for r in records),
            raw=np.asarray([r["connectivity"] for r in records], dtype=np.float64),
            top_words=tuple(tuple(r["predict"]) for r in records),
            top_probs=np.asarray([r["probability"] for r in records], dtype=np.float64),
            squared=squared,
        )

    @classmethod
    def load(cls, path: str | Path) -> ConnectivityResult:
        """Read a file written by :meth:`save`."""
        blob = json.loads(Path(path).read_text())
        return cls.from_records(blob["records"], model=blob["model"], squared=blob["squared"])


def check_same_text(results) -> None:
    """Raise ValueError unless there is at least one result and all are of one text (panels side by side)."""
    texts = {r.text for r in results}
    if len(texts) != 1:
        raise ValueError(f"need one or more ConnectivityResults, all of the same text (got {len(texts)} texts)")


@dataclasses.dataclass(frozen=True)
class AccuracyCurve:
    """Autocomplete accuracy by characters of the current word typed (article §"Future work").

    Attributes:
      model: display name of the model.
      accuracy: ``(k, L)``; ``accuracy[j, n]`` is the top-(j+1) accuracy after n characters of the
        word were typed (n = 0: only the space before it). Cumulative in j.
      counts: ``(L,)`` number of positions behind each column (None for published data).
    """

    model: str
    accuracy: np.ndarray
    counts: np.ndarray | None = None

    def to_frame(self):
        """Tidy frame: model, chars_typed, top_k, accuracy, count."""
        import pandas as pd

        k, length = self.accuracy.shape
        rows = [
            {
                "model": self.model,
                "chars_typed": n,
                "top_k": j + 1,
                "accuracy": float(self.accuracy[j, n]),
                "count": None if self.counts is None else int(self.counts[n]),
            }
            for j in range(k)
            for n in range(length)
        ]
        return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class Suggestions:
    """One model's suggestions for the word being typed at the end of ``text`` (the article's
    autocomplete demo; made by ``memviz.analysis.autocomplete.suggest``).

    Attributes:
      model: display name.
      text: what the model read (normalised, leading space).
      typed: the letters of the word typed so far ("" right after a space).
      words, probs: the top-k words at the last character, most probable first, and their softmax
        probabilities ``(k,)``.
      output: the whole softmax there, ``(words,)``.
      connectivity: ``(T,)`` the squared gradient norm of the top word's logit at the last character
        with respect to each input character (a text being typed has no true target yet).
    """

    model: str
    text: str
    typed: str
    words: tuple[str, ...]
    probs: np.ndarray
    output: np.ndarray
    connectivity: np.ndarray

    def normalized(self) -> np.ndarray:
        """Connectivity divided by its maximum (the article's display)."""
        peak = float(np.max(self.connectivity, initial=0.0))
        return self.connectivity / peak if peak > 0 else np.zeros_like(self.connectivity)
