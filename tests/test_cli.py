"""The command line under bad input: one ``error:`` line and a non-zero exit, nothing saved lost."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from memviz import cli, data
from memviz.data.text8 import DownloadError
from memviz.training import checkpoint, train


@pytest.fixture(scope="module")
def tiny_dataset():
    """A corpus the ``tiny`` preset can train on (512 words and more): random words, built in memory."""
    rng = random.Random(0)
    lexicon = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7))) for _ in range(700)]
    return data.from_text(" ".join(rng.choice(lexicon) for _ in range(40_000)), vocab_size=512)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_dataset):
    """A finished 4-step ``tiny`` GRU run, trained by the CLI."""
    out = tmp_path_factory.mktemp("trained") / "gru"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "dataset_for", lambda config: tiny_dataset)
        assert cli.main(["train", "--cell", "gru", "--preset", "tiny", "--out", str(out), "--no-evaluate"]) == 0
    return out


@pytest.fixture
def run_dir(trained, tmp_path, tiny_dataset, monkeypatch):
    """A copy of ``trained`` for one test to change."""
    monkeypatch.setattr(train, "dataset_for", lambda config: tiny_dataset)
    return Path(shutil.copytree(trained, tmp_path / "gru"))


def _steps(directory) -> list[int]:
    return sorted(int(p.name) for p in (directory / checkpoint.CHECKPOINT_DIR).iterdir() if p.name.isdigit())


def _one_error_line(err: str) -> str:
    """The stderr of a refused command: an ``error:`` line, no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return err


def test_resume_refuses_another_cell_or_size_naming_the_fields(run_dir, capsys):
    before = (run_dir / checkpoint.CONFIG_FILE).read_text()
    assert cli.main(["train", "--cell", "lstm", "--preset", "tiny", "--out", str(run_dir), "--resume"]) == 2
    assert "model.cell: 'gru' -> 'lstm'" in _one_error_line(capsys.readouterr().err)
    assert (
        cli.main(["train", "--cell", "gru", "--preset", "tiny", "--hidden", "64", "--out", str(run_dir), "--resume"])
        == 2
    )
    err = _one_error_line(capsys.readouterr().err)
    assert "model.hidden_features: 32 -> 64" in err and "model.embedding_features: 16 -> 64" in err
    assert (run_dir / checkpoint.CONFIG_FILE).read_text() == before and _steps(run_dir) == [2, 4]


def test_resume_refuses_fewer_steps_than_trained(run_dir, capsys):
    before = (run_dir / checkpoint.CONFIG_FILE).read_text()
    assert (
        cli.main(["train", "--cell", "gru", "--preset", "tiny", "--steps", "2", "--out", str(run_dir), "--resume"]) == 2
    )
    assert "already trained 4 steps" in _one_error_line(capsys.readouterr().err)
    assert (run_dir / checkpoint.CONFIG_FILE).read_text() == before and _steps(run_dir) == [2, 4]


def test_resume_for_longer_continues_the_same_run(run_dir, capsys):
    args = [
        "train",
        "--cell",
        "gru",
        "--preset",
        "tiny",
        "--steps",
        "6",
        "--out",
        str(run_dir),
        "--resume",
        "--no-evaluate",
    ]
    assert cli.main(args) == 0
    assert checkpoint.read_config(run_dir).train.steps == 6 and _steps(run_dir) == [2, 4, 6]
    history = checkpoint.read_history(run_dir)
    assert history[history.dataset == "train"].step.tolist() == [1, 2, 3, 4, 5, 6]


def _save_non_finite(directory, run) -> None:
    """Overwrite the newest checkpoint's parameters with NaN (what a diverged run would have saved)."""
    _, params = nnx.split(run.model, nnx.Param)
    nan = jax.tree.map(lambda x: np.full(x.shape, np.nan, x.dtype), params)
    mngr = checkpoint.manager(directory, 5)
    checkpoint.save(mngr, run.step + 1, {"params": nan})


def test_a_non_finite_checkpoint_is_refused_by_load_evaluate_and_connectivity(run_dir, capsys, tmp_path):
    _save_non_finite(run_dir, train.load_run(run_dir))
    with pytest.raises(checkpoint.CheckpointError, match="non-finite"):
        train.load_run(run_dir)
    assert cli.main(["evaluate", str(run_dir)]) == 2
    assert "non-finite" in _one_error_line(capsys.readouterr().err)
    assert not (run_dir / checkpoint.METRICS_FILE).exists()
    out = tmp_path / "conn.json"
    assert cli.main(["connectivity", str(run_dir), "--text", "the cat", "--out", str(out)]) == 2
    assert "non-finite" in _one_error_line(capsys.readouterr().err) and not out.exists()


def test_os_error_is_one_line(run_dir, capsys, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    assert (
        cli.main(["connectivity", str(run_dir), "--text", "the cat", "--out", str(tmp_path / "afile" / "c.json")]) == 2
    )
    assert "afile" in _one_error_line(capsys.readouterr().err)


def test_download_error_is_one_line(tmp_path, capsys, monkeypatch):
    def offline(config):
        raise DownloadError("Could not get text8 from http://127.0.0.1:9/text8.zip: refused\nDownload it by hand")

    monkeypatch.setattr(train, "dataset_for", offline)
    assert (
        cli.main(["train", "--cell", "gru", "--preset", "tiny", "--corpus", "text8", "--out", str(tmp_path / "r")]) == 2
    )
    assert "Could not get text8" in _one_error_line(capsys.readouterr().err)


def test_connectivity_out_follows_one_rule(run_dir, capsys, tmp_path):
    assert cli.main(["connectivity", str(run_dir), "--text", "the cat", "--out", str(tmp_path / "x.txt")]) == 2
    assert ".json or .html" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "x.txt").exists()
    nested = tmp_path / "missing" / "dir" / "x.json"  # folders are created, as for the HTML export
    assert cli.main(["connectivity", str(run_dir), "--text", "the cat", "--out", str(nested)]) == 0
    assert json.loads(nested.read_text())["records"][0]["char"] == " "


@pytest.mark.parametrize("text", ["", "?!,;", "北京"])
def test_connectivity_of_text_without_letters(run_dir, capsys, tmp_path, text):
    assert cli.main(["connectivity", str(run_dir), "--text", text, "--out", str(tmp_path / "c.json")]) == 2
    assert "no letters to analyse" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_follow_the_umask(tmp_path, tiny_dataset, monkeypatch, umask):
    monkeypatch.setattr(train, "dataset_for", lambda config: tiny_dataset)
    old = os.umask(umask)
    try:
        out = tmp_path / "run"
        assert cli.main(["train", "--cell", "gru", "--preset", "tiny", "--steps", "2", "--out", str(out)]) == 0
    finally:
        os.umask(old)
    for name in (checkpoint.CONFIG_FILE, checkpoint.HISTORY_FILE, checkpoint.METRICS_FILE):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~umask, name


def test_choices_are_checked_by_the_parser(capsys):
    for flag, bad, listed in [
        ("--cell", "transformer", "gru"),
        ("--preset", "huge", "tiny"),
        ("--corpus", "wiki", "text8"),
    ]:
        args = ["train", "--cell", "gru", "--out", "x", flag, bad]
        with pytest.raises(SystemExit) as exit_:
            cli.main(args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "invalid choice" in err and listed in err


def test_seed_is_saved_and_a_resume_with_another_is_refused(tmp_path, tiny_dataset, monkeypatch, capsys):
    monkeypatch.setattr(train, "dataset_for", lambda config: tiny_dataset)
    out = tmp_path / "seed7"
    assert (
        cli.main(["train", "--cell", "gru", "--preset", "tiny", "--seed", "7", "--out", str(out), "--no-evaluate"]) == 0
    )
    saved = checkpoint.read_config(out)
    assert saved.train.seed == 7 and saved.preset == "tiny+custom"
    assert cli.main(["train", "--cell", "gru", "--preset", "tiny", "--seed", "8", "--out", str(out), "--resume"]) == 2
    assert "train.seed: 7 -> 8" in _one_error_line(capsys.readouterr().err)


def test_evaluate_never_changes_the_run(run_dir, capsys, tmp_path):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    assert cli.main(["evaluate", str(run_dir), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {"accuracy", "cross_entropy", "model", "steps"} <= set(printed)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before  # metrics.json untouched
    out = tmp_path / "results" / "gru.json"
    assert cli.main(["evaluate", str(run_dir), "--out", str(out)]) == 0
    assert (
        json.loads(out.read_text()) == printed
        and {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    )


def test_shipped_models_by_name(run_dir, capsys, monkeypatch, tmp_path):
    from memviz.training import pretrained

    asked = []
    monkeypatch.setattr(pretrained, "load", lambda cell, **kw: asked.append(cell) or train.load_run(run_dir))
    assert cli.main(["evaluate", "lstm"]) == 0 and asked == ["lstm"]
    out = tmp_path / "c.json"
    assert cli.main(["connectivity", "nlstm", "--text", "the cat", "--out", str(out)]) == 0 and asked[-1] == "nlstm"
    capsys.readouterr()
    assert cli.main(["evaluate", "no-such-run"]) == 2
    assert "neither a run directory nor a shipped model" in _one_error_line(capsys.readouterr().err)


def test_no_squared_is_the_api_s_squared_false(run_dir, tmp_path):
    from memviz.core.results import ConnectivityResult

    squared, plain = tmp_path / "s.json", tmp_path / "p.json"
    assert cli.main(["connectivity", str(run_dir), "--text", "the cat sat", "--out", str(squared)]) == 0
    assert cli.main(["connectivity", str(run_dir), "--text", "the cat sat", "--out", str(plain), "--no-squared"]) == 0
    a, b = ConnectivityResult.load(squared), ConnectivityResult.load(plain)
    assert a.squared and not b.squared
    np.testing.assert_allclose(np.sqrt(a.raw), b.raw, rtol=1e-5)


def test_what_a_user_means_by_preset_steps_and_corpus():
    args = cli.build_parser().parse_args(
        ["train", "--cell", "gru", "--preset", "tiny", "--out", "x", "--steps", "1500"]
    )
    config = cli._config_from_args(args)
    assert config.train.steps == 1500 and config.train.checkpoint_every == 150  # ten checkpoints, not 750
    args = cli.build_parser().parse_args(
        ["train", "--cell", "gru", "--preset", "tiny", "--out", "x", "--corpus", "austen"]
    )
    assert cli._config_from_args(args).preset == "tiny"  # the preset's own corpus is no change
