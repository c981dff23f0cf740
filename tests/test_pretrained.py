"""What the notebooks say about the shipped models comes from the models' own configs and records."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path

import pandas as pd
import pytest

from memviz import data
from memviz.core.paths import DATA_DIR
from memviz.training import checkpoint, presets, pretrained, train
from memviz.training.train import Run


def _run(cell: str, *, steps: int, units: int, minutes: float) -> Run:
    config = presets.get_preset("cpu", cell)
    config = dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, hidden_features=units, embedding_features=units),
        train=dataclasses.replace(config.train, steps=steps),
    )
    history = pd.DataFrame(
        {"model": [cell], "dataset": ["train"], "sec": [minutes * 60], "step": [steps], "loss": [1.0]}
    )
    return Run(model=None, config=config, history=history, step=steps)


def test_differences_name_width_and_training_length():
    text = pretrained.differences(
        [_run("nlstm", steps=1100, units=192, minutes=7.0), _run("gru", steps=1200, units=256, minutes=8.0)]
    )
    assert "the Nested LSTM has 192 units per layer" in text and "the GRU has 256 units per layer" in text
    assert "1,100 and 1,200 steps" in text and "7.0 and 8.0 minutes" in text
    same = pretrained.differences(
        [_run("lstm", steps=500, units=64, minutes=1.0), _run("gru", steps=500, units=64, minutes=1.0)]
    )
    assert "units" not in same and "steps" not in same


def test_describe_reads_the_shipped_records():
    row = pretrained.describe(pretrained.load("gru"))  # the shipped model: MEMVIZ_SMOKE is not set in the tests
    recorded = json.loads((DATA_DIR / "pretrained" / "gru" / "metrics.json").read_text())
    assert row["machine"] == recorded["machine"] and row["steps"] == recorded["steps"]
    assert abs(row["training minutes"] * 60 - recorded["train_wall_s"]) < 1


def test_memviz_runs_dir_loads_your_own_runs(monkeypatch, tmp_path):
    shipped = DATA_DIR / "pretrained" / "gru"
    mine = tmp_path / "gru"
    mine.mkdir()
    for name in (checkpoint.CONFIG_FILE, "history.csv", checkpoint.METRICS_FILE):  # a copy stands in for your run
        (mine / name).write_bytes((shipped / name).read_bytes())
    (mine / checkpoint.CHECKPOINT_DIR).symlink_to(shipped / checkpoint.CHECKPOINT_DIR)
    monkeypatch.setenv(pretrained.RUNS_ENV, str(tmp_path))
    run = pretrained.load("gru")
    assert run.directory == mine and run.step == json.loads((shipped / "metrics.json").read_text())["steps"]
    monkeypatch.setenv(pretrained.RUNS_ENV, str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match=pretrained.RUNS_ENV):
        pretrained.load("gru")


@pytest.fixture
def never_trains(monkeypatch):
    """Loading must restore, never train."""

    def refuse(*args, **kwargs):
        raise AssertionError("load trained a model instead of restoring it")

    monkeypatch.setattr(train, "train", refuse)


@pytest.mark.parametrize("shipped", ["gru", "matched/gru"])  # matched/gru: exported at step 210 of 1,200
def test_memviz_runs_dir_loads_a_copy_of_the_shipped_models(shipped, monkeypatch, tmp_path, never_trains):
    mine = Path(shutil.copytree(DATA_DIR / "pretrained" / shipped, tmp_path / "gru"))
    monkeypatch.setenv(pretrained.RUNS_ENV, str(tmp_path))
    run = pretrained.load("gru")
    assert checkpoint.run_kind(mine) == "export"
    assert run.directory == mine and run.step == checkpoint.checkpoint_steps(mine)[-1]
    assert pretrained.load_run(mine).step == run.step


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished 4-step ``tiny`` GRU training run (checkpoints with the optimiser state) in ``<runs>/gru``."""
    rng = random.Random(0)
    lexicon = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7))) for _ in range(700)]
    dataset = data.from_text(" ".join(rng.choice(lexicon) for _ in range(40_000)), vocab_size=512)
    directory = tmp_path_factory.mktemp("runs") / "gru"
    train.train(presets.get_preset("tiny", "gru"), directory, dataset=dataset, progress=False)
    return directory


def test_memviz_runs_dir_loads_a_training_run(tiny_run, monkeypatch, never_trains):
    monkeypatch.setenv(pretrained.RUNS_ENV, str(tiny_run.parent))
    run = pretrained.load("gru")
    assert checkpoint.run_kind(tiny_run) == "training" and run.directory == tiny_run and run.step == 4
    assert pretrained.load_run(tiny_run).step == 4


def test_load_run_says_what_a_folder_lacks(tmp_path, tiny_run):
    with pytest.raises(FileNotFoundError, match="holds no memviz run"):
        pretrained.load_run(tmp_path)
    (tmp_path / checkpoint.CONFIG_FILE).write_bytes((tiny_run / checkpoint.CONFIG_FILE).read_bytes())
    with pytest.raises(FileNotFoundError, match="no checkpoint yet"):
        pretrained.load_run(tmp_path)
