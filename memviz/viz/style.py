"""Colours, fonts and sizes of memviz's charts: the named constants, in one place.

The article's choices are cited; :mod:`memviz.viz` re-exports everything here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np

from memviz.core.model_names import ARTICLE_ORDER, MODEL_COLOURS, in_order

# ---------------------------------------------------------------------------------------------
# Named constants: colours, fonts, sizes
# ---------------------------------------------------------------------------------------------

#: Colours for other model names (e.g. "tanh RNN"), handed out in order of appearance.
FALLBACK_COLOURS = ("#C77CFF", "#CD9600", "#00BFC4", "#FF61C3", "#7CAE00", "#8C564B")

#: d3's ``interpolateViridis`` ramp (256 colours; data from matplotlib, CC0), entries 74..170:
#: exactly the part the article uses, ``viridis(0.29 + r·(2/3 − 0.29))`` for r in [0, 1].
_VIRIDIS_256_FROM = 74
_VIRIDIS_SLICE = (
    "365d8d355e8d355f8d34608d34618d33628d33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e"
    "2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e"
    "287c8e287d8e277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d"
    "228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a"
    "1f9a8a1e9b8a1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a884"
    "23a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b679"
    "35b779"
)
#: The article's connectivity palette, ratio 0 -> ``#365d8d`` ... ratio 1 -> ``#35b779``.
CONNECTIVITY_PALETTE = tuple("#" + _VIRIDIS_SLICE[i : i + 6] for i in range(0, len(_VIRIDIS_SLICE), 6))
#: The restriction of viridis the article uses (``public/visual/connectivity.js``).
VIRIDIS_LOW, VIRIDIS_HIGH = 0.29, 2 / 3

#: Text panel background: viridis(0.29), the colour of ratio 0, so unconnected characters blend in.
PANEL_BACKGROUND = CONNECTIVITY_PALETTE[0]
PANEL_TEXT = "white"
MONOSPACE = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
SANS = "Helvetica Neue, Helvetica, Arial, Liberation Sans, sans-serif"
PREDICTION_FILL, PREDICTION_HIT_FILL, PREDICTION_TEXT = "#eeeeee", "#c5e8d3", "#222222"
MUTED_TEXT = "#555555"
FAINT_TEXT = "#777777"  # the live demo's timing line

#: Connectivity strip geometry, in pixels.
CHAR_WIDTH, LINE_HEIGHT, CHAR_FONT_SIZE = 9, 22, 14
HEADER_FONT_SIZE, PANEL_PADDING = 12, 6
STRIP_WIDTH = 660  # 72 characters per line: the 198-character sample wraps onto 3 lines
MATRIX_CELL = 3  # pixels per cell of the T×T connectivity heatmap

#: Accuracy and training figures are 360 px tall in the article.
FIGURE_HEIGHT, FIGURE_WIDTH = 360, 330
#: Top-k line styles (``accuracy_graph.js``): top-1 solid, top-2 ``8 8``, top-3 ``2 2``.
TOP_K_DASHES = {1: [1, 0], 2: [8, 8], 3: [2, 2]}
#: The training figure's y range ([0.5, 10.5]; ``training_graph.js``) and dataset facet labels.
LOSS_DOMAIN = (0.5, 10.5)
DATASET_LABELS = {"train": "training", "training": "training", "valid": "validation", "validation": "validation"}


# ---------------------------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------------------------


def percent(prob: float) -> str:
    """A probability as the article prints it: ``"12.34%"``."""
    return f"{100 * float(prob):.2f}%"


def connectivity_colour(ratio: float) -> str:
    """Hex colour of a normalised connectivity ``ratio`` in [0, 1], as d3 computes it.

    ``d3.interpolateViridis(t)`` picks entry ``floor(t·256)`` of a 256-colour ramp, with
    ``t = 0.29 + ratio·(2/3 − 0.29)``. Values outside [0, 1] are clipped.
    """
    t = VIRIDIS_LOW + min(max(float(ratio), 0.0), 1.0) * (VIRIDIS_HIGH - VIRIDIS_LOW)
    return CONNECTIVITY_PALETTE[min(math.floor(t * 256), 255) - _VIRIDIS_256_FROM]


def output_strip_colour(ratio: float) -> str:
    """The article's autocomplete output strip: ``viridis(ratio / 3 + 1/3)`` (ratio = bin max / max)."""
    t = 1 / 3 + min(max(float(ratio), 0.0), 1.0) / 3
    return CONNECTIVITY_PALETTE[min(math.floor(t * 256), 255) - _VIRIDIS_256_FROM]


def connectivity_colour_expr(ratio: str) -> str:
    """The same mapping as a Vega expression of the expression ``ratio`` (for in-browser colouring)."""
    palette = ",".join(f"'{c}'" for c in CONNECTIVITY_PALETTE)
    t = f"({VIRIDIS_LOW} + clamp({ratio}, 0, 1) * {VIRIDIS_HIGH - VIRIDIS_LOW!r})"
    return f"[{palette}][min(floor({t} * 256), 255) - {_VIRIDIS_256_FROM}]"


def connectivity_scale(stops: int = 9) -> alt.Scale:
    """A continuous colour scale for ratios in [0, 1] through the article's palette (with a legend)."""
    ratios = np.linspace(0.0, 1.0, stops)
    return alt.Scale(domain=[float(r) for r in ratios], range=[connectivity_colour(r) for r in ratios])


def model_colours(models: Sequence[str]) -> dict[str, str]:
    """Colour for each model name: the article's three, then :data:`FALLBACK_COLOURS` in order."""
    others = iter(FALLBACK_COLOURS * (1 + len(models) // len(FALLBACK_COLOURS)))
    return {m: MODEL_COLOURS.get(m) or next(others) for m in dict.fromkeys(models)}


def model_scale(models: Sequence[str]) -> alt.Scale:
    """Colour scale (and legend order) of ``models``: the article's order (:data:`ARTICLE_ORDER`) first."""
    colours = model_colours(in_order(dict.fromkeys(models), ARTICLE_ORDER))
    return alt.Scale(domain=list(colours), range=list(colours.values()))
