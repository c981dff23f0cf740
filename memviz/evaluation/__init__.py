"""The evaluation layer: numbers about models, with intervals. Metrics and accuracy curves, baselines, bootstrap
statistics, memorization, context use and the variants of the shipped models.

Imports :mod:`memviz.analysis`, :mod:`memviz.training`, :mod:`memviz.models`, :mod:`memviz.data` and :mod:`memviz.core`.
"""
