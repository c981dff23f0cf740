"""The training layer: run configurations (presets), the loss, training with optax, checkpoints, the shipped models.

Imports :mod:`memviz.models`, :mod:`memviz.data` and :mod:`memviz.core`.
"""
