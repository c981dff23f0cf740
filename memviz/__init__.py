"""memviz: see when a recurrent unit uses short-term and when long-term context (Madsen, Distill 2019, in JAX).

The names a reader uses, imported on first use (``import memviz`` itself is instant):

Models
    ``load_model(cell)`` the shipped GRU / LSTM / Nested LSTM (a :class:`~memviz.training.train.Run`: ``.model``,
    ``.config``, ``.history``, ``.dataset()``); ``load_models()`` all three; ``load_run(directory)`` a run you
    trained; ``train_model(config, directory)``; ``get_preset(name, cell)`` a configuration; ``parameter_counts``.
Your own model
    ``CharacterModel`` (the protocol every analysis takes), the adapters ``FunctionModel`` (a plain function of its
    parameters) and ``EmbedRecurrentModel`` (embedding, causal body, head: ``nnx.RNN``, a Transformer...), and
    ``register_model(name, build)`` to train it with ``train_model`` under ``ModelConfig(cell=name)``.
Data
    ``load_dataset(corpus)``, ``from_text(text)``, and the module ``data`` (characters, words, splits).
Analysis
    ``compute_connectivity(model, text, vocab)`` (a :class:`ConnectivityResult`), ``connectivity_matrix(model,
    source, targets)`` (the array), ``attributions``, ``autocomplete_accuracy``, ``evaluate``.
Drawing and exploring
    the module ``viz`` (Altair charts of results), ``show(chart)``, ``setup_offline()``, ``save_chart``,
    ``ConnectivityExplorer(results)``, ``AutocompleteDemo(models)``, ``explorer_html``, ``progress_bar`` (a bar
    whose final state stays in a saved notebook).
Topic modules
    as the notebooks use them: ``connectivity``, ``attribution``, ``interventions``, ``shares``, ``timescales``,
    ``autocomplete``, ``walkthrough``, ``metrics``, ``baselines``, ``stats``, ``intervals``, ``memorization``,
    ``context_use``, ``variants``, ``reference`` (the article's published data), ``corpora``, ``text8``,
    ``cells``, ``model``, ``protocol``, ``registry``, ``presets``, ``checkpoint``, ``train``, ``pretrained``, ``style``, ``widgets``,
    ``export``, ``paths``, ``model_names``.

The package is in layers, each importing only those below it (checked by ``lint-imports`` in the tests):
``core`` ← ``data``, ``models`` ← ``training``, ``analysis`` ← ``evaluation``; ``core`` ← ``viz`` ←
``frontend`` (which also reads ``analysis`` and ``data``); ``cli`` on top. ``memviz.testing`` holds the
test scaffolding, apart from this API.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> ``"module"`` (a module) or ``"module:attribute"``.
_PUBLIC = {
    # models and runs
    "load_model": "memviz.training.pretrained:load",
    "load_models": "memviz.training.pretrained:load_all",
    "load_run": "memviz.training.pretrained:load_run",
    "train_model": "memviz.training.train:train",
    "get_preset": "memviz.training.presets:get_preset",
    "parameter_counts": "memviz.models.model:parameter_counts",
    # your own model
    "CharacterModel": "memviz.models.protocol:CharacterModel",
    "FunctionModel": "memviz.models.protocol:FunctionModel",
    "EmbedRecurrentModel": "memviz.models.protocol:EmbedRecurrentModel",
    "register_model": "memviz.models.registry:register_model",
    # data
    "load_dataset": "memviz.data.dataset:load_dataset",
    "from_text": "memviz.data.dataset:from_text",
    # analysis and evaluation
    "compute_connectivity": "memviz.analysis.connectivity:compute_connectivity",
    "connectivity_matrix": "memviz.analysis.connectivity:connectivity_matrix",
    "attributions": "memviz.analysis.attribution:attributions",
    "autocomplete_accuracy": "memviz.evaluation.metrics:autocomplete_accuracy",
    "evaluate": "memviz.evaluation.metrics:evaluate",
    # results
    "ConnectivityResult": "memviz.core.results:ConnectivityResult",
    "AccuracyCurve": "memviz.core.results:AccuracyCurve",
    # drawing and exploring
    "show": "memviz.frontend.widgets:show",
    "setup_offline": "memviz.frontend.widgets:setup_offline",
    "ConnectivityExplorer": "memviz.frontend.widgets:ConnectivityExplorer",
    "AutocompleteDemo": "memviz.frontend.widgets:AutocompleteDemo",
    "save_chart": "memviz.frontend.export:save_chart",
    "progress_bar": "memviz.core.progress:progress_bar",
    "explorer_html": "memviz.frontend.export:explorer_html",
    # topic modules
    "data": "memviz.data",
    "viz": "memviz.viz",
    "paths": "memviz.core.paths",
    "model_names": "memviz.core.model_names",
    "corpora": "memviz.data.corpora",
    "text8": "memviz.data.text8",
    "reference": "memviz.data.reference",
    "cells": "memviz.models.cells",
    "model": "memviz.models.model",
    "protocol": "memviz.models.protocol",
    "registry": "memviz.models.registry",
    "presets": "memviz.training.presets",
    "checkpoint": "memviz.training.checkpoint",
    "train": "memviz.training.train",
    "pretrained": "memviz.training.pretrained",
    "connectivity": "memviz.analysis.connectivity",
    "attribution": "memviz.analysis.attribution",
    "interventions": "memviz.analysis.interventions",
    "shares": "memviz.analysis.shares",
    "timescales": "memviz.analysis.timescales",
    "autocomplete": "memviz.analysis.autocomplete",
    "walkthrough": "memviz.analysis.walkthrough",
    "metrics": "memviz.evaluation.metrics",
    "baselines": "memviz.evaluation.baselines",
    "stats": "memviz.evaluation.stats",
    "intervals": "memviz.evaluation.intervals",
    "memorization": "memviz.evaluation.memorization",
    "context_use": "memviz.evaluation.context_use",
    "variants": "memviz.evaluation.variants",
    "style": "memviz.viz.style",
    "widgets": "memviz.frontend.widgets",
    "export": "memviz.frontend.export",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    target = _PUBLIC.get(name)
    if target is None:
        raise AttributeError(f"module 'memviz' has no attribute {name!r}; its public names are in memviz.__all__")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
