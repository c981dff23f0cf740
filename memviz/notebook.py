"""Helpers used only by the tutorial notebooks (``notebooks/0*.ipynb``): a few lines each.

* :func:`dataset_for`, :func:`pick`: the dataset a run was trained on; full or smoke-mode sizes.
* :func:`gradient_by_distance` (notebook 02): the vanishing gradient, measured.
* :func:`seen_earlier`, :func:`accuracy_where` (notebook 06): accuracy of repeated vs new words.
* :func:`line_chart`: the small line charts of notebooks 02 and 06 (pure: frame in, chart out).
"""

from __future__ import annotations

import altair as alt
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from memviz import data, metrics, viz
from memviz.presets import RunConfig, smoke_mode


def dataset_for(run_or_config) -> data.Dataset:
    """The dataset (corpus, vocabulary, splits) that a run, or a :class:`RunConfig`, trains on."""
    tc = (run_or_config if isinstance(run_or_config, RunConfig) else run_or_config.config).train
    return data.load_dataset(tc.corpus, vocab_size=tc.vocab_size, max_length=tc.max_length, article_vocab=tc.article_vocab)


def pick(full, smoke):
    """``smoke`` in smoke mode (``MEMVIZ_SMOKE=1``), else ``full``: sizes of the notebooks' work."""
    return smoke if smoke_mode() else full


def gradient_by_distance(model, source) -> np.ndarray:
    """``(T,)``: ‖∂ h_T / ∂ x_{T−d}‖ for d = 0 … T−1, one ``(T,) int`` sequence through ``model.recur``.

    The Frobenius norm of the Jacobian of the top layer's output at the last step with respect to
    the embedded input ``d`` steps earlier: the quantity the article's vanishing-gradient figure draws.
    """
    embedded = model.embed(jnp.asarray(source, jnp.int32)[None])[0]  # (T, embedding)
    jacobian = jax.jacrev(lambda e: model.recur(e[None])[0, -1])(embedded)  # (hidden, T, embedding)
    return np.asarray(jnp.sqrt(jnp.sum(jacobian**2, axis=(0, 2))))[::-1]


def seen_earlier(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(n, T) bool``: the target word was already the target of an earlier word of the same row.

    Every position of a word gets its word's flag; ``<unknown>`` and padding are never "seen".
    """
    source, target = np.asarray(source), np.asarray(target)
    seen = np.zeros(target.shape, bool)
    for row, (s, t) in enumerate(zip(source, target)):
        is_start = s == data.SPACE_ID
        first: dict[int, int] = {}
        flags = np.array([first.setdefault(w, k) < k for k, w in enumerate(t[is_start].tolist())] + [False])
        word = np.cumsum(is_start) - 1  # word index of each position (-1 before the first space)
        seen[row] = flags[word] & (word >= 0) & (t > data.UNKNOWN_ID)
    return seen


def accuracy_where(split, topk_ids: np.ndarray, where: np.ndarray, max_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`memviz.metrics.accuracy_by_chars_typed` restricted to the positions where ``where`` is True.

    Returns ``(accuracy (k, max_chars + 1), counts (max_chars + 1,))``, as that function does.
    """
    typed = metrics.chars_typed(split.source)
    real = np.arange(split.source.shape[1])[None, :] < split.lengths[:, None]
    counted = real & where & (typed <= max_chars)
    hit = (topk_ids == split.target[..., None]).any(axis=-1) & (split.target != data.UNKNOWN_ID)
    ranks = np.where(hit, (topk_ids == split.target[..., None]).argmax(axis=-1), topk_ids.shape[-1])
    counts = np.bincount(typed[counted], minlength=max_chars + 1)
    k = topk_ids.shape[-1]
    by_rank = np.bincount(typed[counted] * (k + 1) + ranks[counted], minlength=(max_chars + 1) * (k + 1))
    correct = np.cumsum(by_rank.reshape(max_chars + 1, k + 1)[:, :k], axis=1).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, correct / counts, np.nan), counts


def line_chart(
    frame: pd.DataFrame, x: str, y: str, *, x_title: str, y_title: str, dash: str | None = None,
    column: str | None = None, colour: str = "model", log_y: bool = False, y_format: str | None = None,
    width: int = viz.FIGURE_WIDTH,
) -> alt.Chart:
    """Lines of ``y`` against ``x``, one colour per ``colour`` value (the article's colours for its
    models), optionally dashed by ``dash`` and faceted by ``column``."""
    encoding = {
        # x counts steps or characters: whole numbers, and no padding beyond the data
        "x": alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False)),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(type="log") if log_y else alt.Undefined,
                   axis=alt.Axis(format=y_format) if y_format else alt.Undefined),
        "color": alt.Color(f"{colour}:N", scale=viz.model_scale(list(frame[colour])), title=colour.replace("_", " ")),
        "tooltip": [c for c in (colour, dash, column, x) if c] + [alt.Tooltip(f"{y}:Q", format=".3g")],
    }
    if dash is not None:
        # The first value in the frame is drawn solid, the next ones dashed.
        encoding["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=dash.replace("_", " "), sort=list(dict.fromkeys(frame[dash])))
    chart = alt.Chart(frame).mark_line(strokeWidth=1.8).encode(**encoding).properties(width=width, height=260)
    return chart.facet(column=alt.Column(f"{column}:N", title=None)) if column else chart
