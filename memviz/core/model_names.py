"""The models' names, order and colours: one table, read by the cells' registry, the article's data,
the charts and the shipped models alike.

The article (https://distill.pub/2019/memorization-in-rnns/) compares three recurrent units; its
tables list them GRU, LSTM, Nested LSTM, its connectivity figure stacks them the other way round,
and its accuracy graph colours them with ggplot2's hue palette (``public/visual/accuracy_graph.js``).
memviz adds a tanh RNN, which the article does not show (so it has no colour of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class ModelName(NamedTuple):
    """One recurrent unit: its registry name, the article's label for it and its colour."""

    cell: str  # registry name in memviz.models.cells.CELLS
    display: str  # as the article labels the model
    colour: str | None  # the article's colour; None for a unit the article does not show


#: Every unit memviz knows; the article's three first, in the order of its tables.
MODELS = (
    ModelName("gru", "GRU", "#F8766D"),
    ModelName("lstm", "LSTM", "#00BA38"),
    ModelName("nlstm", "Nested LSTM", "#619CFF"),
    ModelName("rnn", "tanh RNN", None),
)

#: Display name of each registry name.
DISPLAY_NAMES = {m.cell: m.display for m in MODELS}
#: The article's three models in the order of its tables (test metrics, parameter counts).
TABLE_ORDER = tuple(m.display for m in MODELS if m.colour)
#: The order in which the article's connectivity figure stacks its panels (and charts order legends).
ARTICLE_ORDER = TABLE_ORDER[::-1]
#: The same three, by registry name.
ARTICLE_CELLS = tuple(m.cell for m in MODELS if m.colour)[::-1]
#: The article's model colours.
MODEL_COLOURS = {m.display: m.colour for m in MODELS if m.colour}


def display_name(model: str) -> str:
    """``"gru"``, ``"GRU"``, ``"nlstm"``, ``"nested lstm"`` ... -> the display name (``"Nested LSTM"``)."""
    key = model.strip().lower()
    for m in MODELS:
        if key in (m.cell, m.display.lower()):
            return m.display
    valid = ", ".join(f"{m.display!r}/{m.cell!r}" for m in MODELS)
    raise ValueError(f"unknown model {model!r}; the models are {valid}")


def in_order(items: Iterable[T], order: Sequence[str] | None, name: Callable[[T], str] = str) -> list[T]:
    """``items`` with the models named in ``order`` first, in that order; the others after them, as given (stable).
    ``name(item)`` is an item's model name (default: the item itself)."""
    rank = {model: n for n, model in enumerate(order or ())}
    return sorted(items, key=lambda item: rank.get(name(item), len(rank)))


def cell_name(model: str) -> str:
    """The registry name of a display name or registry name: ``"Nested LSTM"`` -> ``"nlstm"``."""
    display = display_name(model)
    return next(m.cell for m in MODELS if m.display == display)
