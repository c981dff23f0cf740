"""The viz layer: the article's figures as pure functions of results (Altair charts), and their style.

``memviz.viz`` itself is :mod:`memviz.viz.charts` (connectivity panels and matrix, accuracy and training curves)
plus :func:`~memviz.viz.explorer.explorer_chart`; its submodules :mod:`~memviz.viz.style` (colours, fonts, sizes),
:mod:`~memviz.viz.checks` (the randomisation and attribution-check figures), :mod:`~memviz.viz.memory` (memory
timescales and the gradient by distance) and :mod:`~memviz.viz.explorer` are imported by name. Imports only
:mod:`memviz.core`.
"""

from memviz.viz import checks, memory, style
from memviz.viz.charts import *  # noqa: F403
from memviz.viz.charts import __all__ as _charts
from memviz.viz.explorer import POSITION_PARAM, explorer_chart

__all__ = [*_charts, "POSITION_PARAM", "explorer_chart", "checks", "memory", "style"]
