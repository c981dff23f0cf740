"""The command line under bad input: one ``error:`` line and a non-zero exit, nothing saved lost."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
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
    """The stderr of a refused command: a ``memviz: error:`` line, no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("memviz: error:")]
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


def test_os_error_is_one_line(run_dir, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("some").mkdir()
    Path("some/afile").write_text("not a folder")
    for command in (["connectivity", str(run_dir), "--text", "the cat"], ["evaluate", str(run_dir)]):
        assert cli.main([*command, "--out", "some/afile/x.json"]) == 2
        err = _one_error_line(capsys.readouterr().err)
        assert err == "memviz: error: cannot write some/afile/x.json: 'some/afile' is a file, not a folder\n"


def test_an_unwritable_folder_names_the_file_asked_for(run_dir, capsys, tmp_path, monkeypatch):
    import tempfile

    def read_only(prefix, suffix, dir):  # as the OS refuses a read-only folder (the tests may run as root)
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}abc{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "metrics.json"
    assert cli.main(["evaluate", str(run_dir), "--out", str(out)]) == 2
    err = _one_error_line(capsys.readouterr().err)
    assert f"cannot write {out}: no permission to write in the folder '{tmp_path}'" in err and ".part" not in err


def _damage(step_dir: Path) -> None:
    """Garble every data file of a checkpoint (its metadata stays readable, so the arrays' reads fail)."""
    for f in step_dir.rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "metadata" not in f.name.lower():
            f.write_bytes(b"\0garbage" * 4)


def test_a_damaged_checkpoint_is_a_short_error_saying_what_to_do(run_dir, capsys):
    _damage(run_dir / checkpoint.CHECKPOINT_DIR / "4")
    with pytest.raises(checkpoint.CheckpointError) as err:
        train.load_run(run_dir)
    message = str(err.value)
    assert len(message) < 400 and "tensorstore" not in message.lower(), message
    assert f"step 4 of the run in {run_dir} is damaged" in message
    assert f"Delete its folder {run_dir / checkpoint.CHECKPOINT_DIR / '4'}" in message and "train" in message
    assert err.value.__cause__ is not None  # orbax's own error, for whoever debugs it
    assert cli.main(["evaluate", str(run_dir)]) == 2
    assert "is damaged" in _one_error_line(capsys.readouterr().err)
    shutil.rmtree(run_dir / checkpoint.CHECKPOINT_DIR / "4")  # what the message says to do
    assert cli.main(["evaluate", str(run_dir), "--json"]) == 0 and json.loads(capsys.readouterr().out)["steps"] == 2


DAMAGED = """
import sys
from memviz import cli
for _ in range(3):
    assert cli.main(["evaluate", sys.argv[1]]) == 2
"""


def test_a_damaged_checkpoint_prints_nothing_else(run_dir):
    """The reads a failed restore leaves in flight print no "Event loop is closed" or TensorStore spec (they came
    at random, so the command runs three times)."""
    _damage(run_dir / checkpoint.CHECKPOINT_DIR / "4")
    done = subprocess.run([sys.executable, "-c", DAMAGED, str(run_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert sum(line.startswith("memviz: error: the checkpoint") for line in lines) == 3, done.stderr
    for noise in ("tensorstore", "Event loop is closed", "Traceback", "never retrieved", "was never awaited"):
        assert noise.lower() not in done.stderr.lower(), done.stderr


def test_an_exported_run_loads_but_is_not_resumed(run_dir, tmp_path, capsys):
    exported = tmp_path / "exported"
    checkpoint.export_params(train.load_run(run_dir), exported)
    assert checkpoint.run_kind(exported) == "export" and checkpoint.run_kind(run_dir) == "training"
    assert cli.main(["evaluate", str(exported), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 4
    args = ["train", "--cell", "gru", "--preset", "tiny", "--steps", "6", "--out", str(exported), "--resume"]
    assert cli.main(args) == 2
    assert "holds an exported model" in _one_error_line(capsys.readouterr().err)


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
    assert "use .json or .csv (the data), .html, .png or .svg (a chart)" in _one_error_line(capsys.readouterr().err)
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


@pytest.mark.parametrize("command", ["accuracy", "attributions", "connectivity"])
def test_an_unknown_extension_is_refused_before_any_work(command, capsys, tmp_path):
    text = [] if command == "accuracy" else ["--text", "the cat"]
    assert cli.main([command, "no-such-run", *text, "--out", str(tmp_path / "x.pdf")]) == 2  # the run isn't read
    err = _one_error_line(capsys.readouterr().err)
    assert "unsupported file type '.pdf'; use .json or .csv (the data), .html, .png or .svg (a chart)" in err
    assert list(tmp_path.iterdir()) == []


def test_accuracy_writes_the_curves_as_data_and_chart(run_dir, tmp_path, capsys):
    out = tmp_path / "acc.json"
    assert cli.main(["accuracy", str(run_dir), "--out", str(out)]) == 0
    blob = json.loads(out.read_text())
    (curve,) = blob["curves"]
    assert blob["split"] == "test" and curve["model"] == "GRU" and curve["top_k"] == [1, 2, 3]
    accuracy = np.array(curve["accuracy"])
    assert accuracy.shape == (3, len(curve["counts"])) and np.all(np.diff(accuracy, axis=0) >= 0)  # top-3 ≥ top-1
    table, other = tmp_path / "acc.csv", shutil.copytree(run_dir, tmp_path / "other")
    assert cli.main(["accuracy", str(run_dir), str(other), "--split", "valid", "--out", str(table)]) == 0
    frame = pd.read_csv(table)
    assert {"model", "chars_typed", "top_k", "accuracy", "count", "split"} <= set(frame.columns)
    assert list(frame.model.unique()) == [f"GRU ({run_dir})", f"GRU ({other})"]  # two runs of one name told apart
    assert (frame.split == "valid").all()
    chart = tmp_path / "acc.svg"
    assert cli.main(["accuracy", str(run_dir), "--out", str(chart)]) == 0
    assert chart.read_text().lstrip().startswith("<svg") and "characters from word" in chart.read_text()
    assert f"to {chart}" in capsys.readouterr().out


def test_attributions_writes_five_methods(run_dir, tmp_path):
    from memviz.analysis.attribution import METHODS

    out = tmp_path / "attr.json"
    assert cli.main(["attributions", str(run_dir), "--text", "The cat sat", "--out", str(out), "--steps", "2"]) == 0
    blob = json.loads(out.read_text())
    assert blob["text"] == " the cat sat" and len(blob["targets"]) == 12 and list(blob["methods"]) == list(METHODS)
    for matrix in blob["methods"].values():
        matrix = np.array(matrix)
        assert matrix.shape == (12, 12) and np.all(np.triu(matrix, 1) == 0)  # causal
    table = tmp_path / "attr.csv"
    assert cli.main(["attributions", str(run_dir), "--text", "the cat", "--out", str(table), "--steps", "2"]) == 0
    frame = pd.read_csv(table, keep_default_na=False)
    assert len(frame) == len(METHODS) * 8 * 9 // 2 and set(frame.method) == set(METHODS)
    assert (frame.input_position <= frame.output_position).all()
    image = tmp_path / "attr.png"
    assert cli.main(["attributions", str(run_dir), "--text", "the cat", "--out", str(image), "--steps", "2"]) == 0
    assert image.read_bytes().startswith(b"\x89PNG")


def test_connectivity_writes_csv_svg_and_html(run_dir, tmp_path):
    for name in ("c.csv", "c.svg", "c.html"):
        assert cli.main(["connectivity", str(run_dir), "--text", "the cat", "--out", str(tmp_path / name)]) == 0
    frame = pd.read_csv(tmp_path / "c.csv", keep_default_na=False)
    assert len(frame) == 8 * 9 // 2 and {"connectivity", "normalized"} <= set(frame.columns)
    assert frame.groupby("output_position").normalized.max().eq(1).all()
    svg = (tmp_path / "c.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "connectivity matrix" in svg
    assert "<html" in (tmp_path / "c.html").read_text()[:500].lower()
