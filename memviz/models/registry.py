"""Your own model in memviz's trainer: register how to build it under a name, and ``ModelConfig(cell=name)`` trains,
checkpoints, resumes and loads it like memviz's own cells.

    def build(config: ModelConfig, rngs: nnx.Rngs) -> CharacterModel: ...   # any nnx.Module of the protocol
    register_model("mingru", build, display="minGRU")
    run = train(RunConfig(model=ModelConfig(cell="mingru", ...), train=TrainConfig(...)), "runs/mingru")

The builder reads what it needs from the config (``hidden_features``, ``embedding_features``, ``num_layers``,
``num_words``) and draws its parameters from ``rngs``, so that a seed gives the same model every time (resume is
bit-exact). A saved run records only the name: register the same builder again before loading it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

#: A builder: ``(ModelConfig, nnx.Rngs) -> a model of the CharacterModel protocol`` (an nnx.Module).
Builder = Callable[[Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered model: its registry name, how charts label it and its builder."""

    name: str
    display: str
    build: Builder
    defaults: tuple[tuple[str, Any], ...] = ()  # ModelConfig fields every preset sets for this model


_REGISTRY: dict[str, Architecture] = {}


class UnknownModel(ValueError):
    """A config names a model that is neither one of memviz's cells nor registered in this session."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def register_model(
    name: str, build: Builder, *, display: str | None = None, defaults: dict[str, Any] | None = None
) -> Architecture:
    """Register ``build`` under ``name`` (lower-case letters, digits, ``-`` and ``_``); ``display`` labels the model
    in charts (default: ``name``); ``defaults`` are :class:`~memviz.models.model.ModelConfig` fields that every
    preset sets for it (e.g. ``{"num_layers": 2}`` for a Transformer, where the presets' recurrent models have 1).
    Registering a name again replaces its builder (a notebook cell run twice); memviz's own cells' names are taken."""
    from memviz.models.cells import CELLS

    if not name or not all(c.isalnum() or c in "-_" for c in name) or name != name.lower():
        raise ValueError(f"a model's name is lower-case letters, digits, '-' or '_', not {name!r}")
    if name in CELLS:
        raise ValueError(f"{name!r} is memviz's own {name} cell; register your model under another name")
    if not callable(build):
        raise TypeError(f"build must be a function (ModelConfig, nnx.Rngs) -> model, not {type(build).__name__}")
    arch = Architecture(name, display or name, build, tuple(sorted((defaults or {}).items())))
    _REGISTRY[name] = arch
    return arch


def unregister_model(name: str) -> None:
    """Forget the model registered under ``name`` (nothing if there is none)."""
    _REGISTRY.pop(name, None)


def registered(name: str) -> Architecture | None:
    """The model registered under ``name``, or None."""
    return _REGISTRY.get(name)


def registered_names() -> tuple[str, ...]:
    """The names registered so far, sorted."""
    return tuple(sorted(_REGISTRY))
