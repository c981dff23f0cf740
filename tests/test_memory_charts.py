"""The memory charts: legend order follows the lines, settings of one unit in shades of its model's colour."""

from __future__ import annotations

import numpy as np
import pandas as pd

from memviz.viz import memory as memory_charts
from memviz.viz.style import MODEL_COLOURS, model_colours


def _luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_shades_run_light_to_dark_around_the_colour():
    out = memory_charts.shades(MODEL_COLOURS["GRU"], 3)
    assert out[1].lower() == MODEL_COLOURS["GRU"].lower()
    assert _luminance(out[0]) > _luminance(out[1]) > _luminance(out[2])


def _dial_frame() -> pd.DataFrame:
    d = np.arange(5)
    rows = []
    for model, unit, settings in (
        ("GRU", "GRU: update-gate bias", {"bias 1": 0.5, "bias 3": 0.8, "bias 5": 0.95}),
        ("tanh RNN", "tanh RNN: recurrent weights", {"W_h × 1": 0.3, "W_h × 2": 1.5, "W_h × 1.5": 0.9}),
    ):
        rows += [
            {"model": model, "unit": unit, "setting": s, "distance": k, "g": rate**k}
            for s, rate in settings.items()
            for k in d
        ]
    return pd.DataFrame(rows)


def test_dial_legend_follows_the_lines_and_units_get_their_own_hue():
    spec = memory_charts.dial_chart(_dial_frame(), "distance", "g", x_title="d", y_title="g").to_dict()
    scale = spec["spec"]["encoding"]["color"]["scale"]
    # Within each unit, the setting whose line ends highest comes first.
    assert scale["domain"] == ["bias 5", "bias 3", "bias 1", "W_h × 2", "W_h × 1.5", "W_h × 1"]
    colour = dict(zip(scale["domain"], scale["range"]))
    assert len(set(colour.values())) == 6
    assert colour["bias 3"].lower() == MODEL_COLOURS["GRU"].lower()
    assert colour["W_h × 2"].lower() == model_colours(["tanh RNN"])["tanh RNN"].lower()  # the frame's middle setting
    # "bias 1" and "W_h × 1" (the near-identical pair) now differ in hue, not only in shade.
    assert colour["bias 1"][1:3] != colour["W_h × 1"][1:3] or colour["bias 1"][5:] != colour["W_h × 1"][5:]


def test_timescale_chart_draws_trained_solid_and_initialisation_dashed():
    frame = pd.DataFrame(
        {
            "model": ["GRU"] * 4,
            "stage": ["trained"] * 2 + ["at initialisation"] * 2,
            "unit share": [0, 1, 0, 1],
            "timescale": [2.0, 30.0, 1.5, 4.0],
        }
    )
    spec = memory_charts.timescale_chart(frame).to_dict()
    dash = spec["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["trained", "at initialisation"] and dash["range"][0] == [1, 0]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert spec["encoding"]["color"]["scale"]["range"] == [MODEL_COLOURS["GRU"]]
