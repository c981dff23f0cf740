"""The long-context sweep (scripts/long_context.py): its runs extend the ``cpu`` preset and can be trained longer, and
one segment trains, resumes and is measured (on the tiny preset's sizes)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from memviz.training.presets import get_preset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("long_context", ROOT / "scripts" / "long_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_run_is_the_cpu_preset_with_an_extendable_schedule(sweep):
    for name, config in sweep.RUNS.items():
        base = get_preset("cpu", config.model.cell)
        assert config.train.lr_schedule == "constant", name  # a constant rate: a finished segment can train longer
        longer = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=config.train.steps + 1000))
        assert config.differences(longer) == []  # resuming for more steps is the same run
        changed = {
            f
            for f in ("learning_rate", "lr_schedule", "batch_size", "vocab_size")
            if getattr(config.train, f) != getattr(base.train, f)
        }
        assert changed <= {"learning_rate", "lr_schedule"}, name
        assert config.model == base.model, name


def test_a_segment_trains_resumes_and_is_measured(sweep, tmp_path, monkeypatch):
    tiny = get_preset("tiny", "gru")
    config = dataclasses.replace(
        tiny, train=dataclasses.replace(tiny.train, lr_schedule="constant", checkpoint_every=2)
    )
    monkeypatch.setattr(sweep, "RUNS_DIR", tmp_path)
    monkeypatch.setattr(sweep, "RUNS", {"tiny": config})
    small = {"test_sequences": 4, "repeat_sequences": 8, "connectivity_sequences": 2, "max_chars": 4,
             "skip_most_frequent": 5, "swap_seed": 0}  # fmt: skip
    monkeypatch.setattr(sweep, "SETTINGS", small)
    sweep.train_segments("tiny", until=4, segment=2)
    measures = pd.read_csv(tmp_path / "tiny" / sweep.MEASURES)
    assert sorted(set(measures.step)) == [2, 4]  # each segment measured once
    assert "far reach, article's sentence" in set(measures.measure) and "recall lost on repeats" in set(
        measures.measure
    )
    sweep.train_segments("tiny", until=6, segment=2)  # resumed, one more segment
    assert sorted(set(pd.read_csv(tmp_path / "tiny" / sweep.MEASURES).step)) == [2, 4, 6]
