"""Explorer latency in the kernel: one slider step of the connectivity explorer, and one SVG redraw.

    python benchmarks/widget_latency.py

Times what tests/test_widgets.py exercises without timing it: the kernel side of a slider step with
the article's three published results (the browser then redraws; the Chromium harness of
tests/test_viz.py counts those redraws), and a redraw with ``renderer="svg"`` (vl-convert in the
kernel). Prints the median and the maximum over the steps.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memviz.data import reference  # noqa: E402
from memviz.frontend import widgets


def timed_steps(explorer, positions) -> list[float]:
    times = []
    for p in positions:
        start = time.perf_counter()
        explorer.slider.value = p
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    results = reference.connectivities()
    for renderer, positions in [("default", range(0, 198, 2)), ("svg", range(0, 198, 22))]:
        explorer = widgets.ConnectivityExplorer(results, **({} if renderer == "default" else {"renderer": renderer}))
        times = timed_steps(explorer, positions)
        print(
            f"{renderer:>8} renderer: {len(times)} slider steps, median {statistics.median(times) * 1e3:.1f} ms, "
            f"max {max(times) * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
