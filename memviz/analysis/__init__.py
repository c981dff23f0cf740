"""The analysis layer: what a model does with its input. Connectivity, the shares of it inside and beyond words,
attributions, interventions (cut context, swapped repeats), memory timescales, autocomplete and the walkthrough.

Imports :mod:`memviz.models`, :mod:`memviz.data` and :mod:`memviz.core`.
"""
