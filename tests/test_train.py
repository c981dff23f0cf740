"""Training end to end on a tiny model: train, save, restore, resume, and every way it must refuse."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from memviz import cli, data
from memviz.models.model import ModelConfig
from memviz.training import checkpoint, train
from memviz.training.presets import RunConfig, TrainConfig

WORDS = "the cat sat on a mat while her sister read a long letter from the country house".split()


def _text(n_words: int = 6000, seed: int = 0) -> str:
    rng = np.random.RandomState(seed)
    return " ".join(rng.choice(WORDS, n_words))


@pytest.fixture(scope="module")
def dataset():
    return data.from_text(_text(), vocab_size=12)


def _config(steps: int = 4, **train_changes) -> RunConfig:
    return RunConfig(
        model=ModelConfig(cell="gru", num_layers=1, hidden_features=16, embedding_features=8, num_words=14),
        train=TrainConfig(
            vocab_size=12, batch_size=4, steps=steps, checkpoint_every=2, eval_every=2, log_every=1, **train_changes
        ),
        preset="test",
    )


def _params(model) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]


def test_train_save_restore(tmp_path, dataset):
    run = train.train(_config(), tmp_path, dataset=dataset, progress=False)
    assert run.step == 4
    restored = train.load_run(tmp_path)
    for a, b in zip(_params(run.model), _params(restored.model)):
        np.testing.assert_array_equal(a, b)
    assert restored.config == run.config
    assert json.loads((tmp_path / "config.json").read_text())["model"]["cell"] == "gru"
    history = checkpoint.read_history(tmp_path)
    assert list(history.columns) == checkpoint.HISTORY_COLUMNS
    assert sorted(history[history.dataset == "train"].step) == [1, 2, 3, 4]
    assert sorted(history[history.dataset == "valid"].step) == [1, 2, 4]
    # Training lowers the loss from ln(classes) on this very repetitive text.
    assert history.loss.iloc[0] == pytest.approx(np.log(14), abs=0.3)


def test_a_tiny_run_learns(dataset):
    """Forty steps on a 14-word text: the validation loss falls well below its start (ln 14 ≈ 2.6)."""
    config = _config(steps=40, learning_rate=0.01)
    history = train.train(config, None, dataset=dataset, progress=False).history
    valid = history[history.dataset == "valid"].loss.to_numpy()
    assert valid[-1] < 0.8 * valid[0]


def test_resume_equals_uninterrupted(tmp_path, dataset):
    straight = train.train(_config(steps=4), tmp_path / "a", dataset=dataset, progress=False)
    train.train(_config(steps=2), tmp_path / "b", dataset=dataset, progress=False)  # "interrupted" after 2 steps
    resumed = train.train(_config(steps=4), tmp_path / "b", dataset=dataset, progress=False)
    assert resumed.step == 4
    for a, b in zip(_params(straight.model), _params(resumed.model)):
        np.testing.assert_array_equal(a, b)
    h = checkpoint.read_history(tmp_path / "b")
    assert h[h.dataset == "train"].step.tolist() == [1, 2, 3, 4]  # no duplicated or lost rows


def test_load_or_train_restores_without_training(tmp_path, dataset, monkeypatch):
    first = train.load_or_train(_config(), tmp_path, dataset=dataset, progress=False)
    monkeypatch.setattr(train, "train", lambda *a, **k: pytest.fail("load_or_train trained a finished run"))
    again = train.load_or_train(_config(), tmp_path)
    for a, b in zip(_params(first.model), _params(again.model)):
        np.testing.assert_array_equal(a, b)


def test_other_configuration_is_refused_with_the_differing_fields(tmp_path, dataset):
    train.train(_config(), tmp_path, dataset=dataset, progress=False)
    other = dataclasses.replace(_config(), train=dataclasses.replace(_config().train, learning_rate=0.01, batch_size=2))
    with pytest.raises(checkpoint.CheckpointError) as err:
        train.train(other, tmp_path, dataset=dataset, progress=False)
    assert "train.learning_rate: 0.001 -> 0.01" in str(err.value)
    assert "train.batch_size: 4 -> 2" in str(err.value)


def test_corrupt_checkpoint_is_an_error_not_a_reinitialisation(tmp_path, dataset):
    train.train(_config(), tmp_path, dataset=dataset, progress=False)
    latest = tmp_path / checkpoint.CHECKPOINT_DIR / "4"
    for f in latest.rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "metadata" not in f.name.lower():
            f.write_bytes(b"\0garbage" * 4)
    with pytest.raises(checkpoint.CheckpointError, match="could not be restored"):
        train.load_run(tmp_path)
    with pytest.raises(checkpoint.CheckpointError):
        train.train(_config(steps=6), tmp_path, dataset=dataset, progress=False)


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path, dataset, monkeypatch):
    """Three good steps, then a learning rate of 1e30: the third step's checkpoint is the last good one."""
    import optax

    monkeypatch.setattr(train, "_optimizer", lambda config: optax.adam(lambda n: jnp.where(n < 3, 1e-3, 1e30)))
    config = _config(steps=50)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, checkpoint_every=1))
    with pytest.raises(train.TrainingDiverged, match="last good checkpoint") as err:
        train.train(config, tmp_path, dataset=dataset, progress=False)
    run = train.load_run(tmp_path)
    assert run.step == 3 and "(step 3)" in str(err.value)
    assert all(np.isfinite(p).all() for p in _params(run.model))
    assert np.isfinite(np.asarray(run.model(jnp.asarray(dataset.valid.source[:4], jnp.int32)))).all()  # it predicts


def test_finite_parameters_that_predict_nan_are_never_saved(tmp_path, dataset):
    """Learning rate 1e30: step 1's update is finite, but the model it makes outputs NaN. Neither that state nor any
    later one is saved; the error says why (it used to be kept as the "last good" checkpoint)."""
    config = _config(steps=50, learning_rate=1e30)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, checkpoint_every=1))
    with pytest.raises(train.TrainingDiverged, match="parameters are finite but the model's outputs are not") as err:
        train.train(config, tmp_path, dataset=dataset, progress=False)
    assert "nothing was saved" in str(err.value)
    assert not any((tmp_path / checkpoint.CHECKPOINT_DIR).glob("[0-9]*"))


def test_a_non_finite_state_is_never_saved(tmp_path, dataset):
    """An infinite learning rate makes step 1's update non-finite (its loss is still finite): nothing is saved."""
    config = _config(steps=5, learning_rate=float("inf"))
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, checkpoint_every=1))
    with pytest.raises(train.TrainingDiverged, match="diverged at step 1") as err:
        train.train(config, tmp_path, dataset=dataset, progress=False)
    assert "nothing was saved" in str(err.value)
    assert "compute_dtype" not in str(err.value)  # it is float32 already: no hint to switch to it
    assert not any((tmp_path / checkpoint.CHECKPOINT_DIR).glob("[0-9]*"))


class _Killed(BaseException):
    """Stands for kill -9: no handler runs (only ``finally`` blocks, which write nothing)."""


@pytest.mark.parametrize("target, when", [("write_history", "before"), ("save", "before"), ("save", "after")])
def test_history_and_checkpoint_agree_after_a_kill(tmp_path, dataset, monkeypatch, target, when):
    """Killed while saving step 4 (before or after one of the two files is written): the run as loaded
    has history up to its checkpoint, and the resumed run has every step once and equals an
    uninterrupted run bit for bit."""
    straight = train.train(_config(steps=6), tmp_path / "a", dataset=dataset, progress=False)
    real = getattr(checkpoint, target)

    def killed_at_step_4(*args):
        step = args[1].step.max() if target == "write_history" else args[1]
        if when == "before" and step == 4:
            raise _Killed
        real(*args)
        if when == "after" and step == 4:
            raise _Killed

    monkeypatch.setattr(checkpoint, target, killed_at_step_4)
    with pytest.raises(_Killed):
        train.train(_config(steps=6), tmp_path / "b", dataset=dataset, progress=False)
    monkeypatch.undo()
    loaded = train.load_run(tmp_path / "b")
    assert loaded.history.step.max() == loaded.step
    resumed = train.train(_config(steps=6), tmp_path / "b", dataset=dataset, progress=False)
    history = checkpoint.read_history(tmp_path / "b")
    assert history[history.dataset == "train"].step.tolist() == [1, 2, 3, 4, 5, 6]
    assert history[history.dataset == "valid"].step.tolist() == [1, 2, 4, 6]
    for a, b in zip(_params(straight.model), _params(resumed.model)):
        np.testing.assert_array_equal(a, b)


def test_corpus_too_small_for_one_batch(tmp_path):
    tiny = data.from_text(_text(300), vocab_size=12)
    config = _config()
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, batch_size=64))
    with pytest.raises(ValueError, match="too small for one batch"):
        train.train(config, tmp_path, dataset=tiny, progress=False)


def test_batch_order_is_a_seeded_permutation_per_epoch():
    n, b = 23, 5
    epoch = np.concatenate([train.batch_indices(n, b, s, seed=7) for s in range(n // b)])
    assert len(set(epoch)) == len(epoch) == 20  # no repeats, no partial batch
    again = np.concatenate([train.batch_indices(n, b, s, seed=7) for s in range(n // b)])
    np.testing.assert_array_equal(epoch, again)
    assert not np.array_equal(train.batch_indices(n, b, 0, seed=7), train.batch_indices(n, b, n // b, seed=7))


DATA_PARALLEL = textwrap.dedent(
    """
    import sys, numpy as np, jax
    from flax import nnx
    sys.path.insert(0, {tests!r})
    from test_train import _config, _text
    from memviz import data
    from memviz.training import train
    assert len(jax.local_devices()) == {devices}, jax.local_devices()
    run = train.train(_config(steps=3), None, dataset=data.from_text(_text(), vocab_size=12), progress=False)
    np.savez({out!r}, *[np.asarray(x) for x in jax.tree.leaves(nnx.state(run.model, nnx.Param))])
    """
)


def _train_on_devices(devices: int, out: Path) -> list[np.ndarray]:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
    script = DATA_PARALLEL.format(tests=str(Path(__file__).parent), devices=devices, out=str(out))
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=300)
    with np.load(out) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def test_data_parallel_matches_one_device(tmp_path):
    one = _train_on_devices(1, tmp_path / "one.npz")
    two = _train_on_devices(2, tmp_path / "two.npz")
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert any(not np.allclose(a, 0) for a in one)


def test_config_names_a_bad_value():
    with pytest.raises(ValueError, match="vocab_size must be at least 1"):
        TrainConfig(vocab_size=0)


def test_cli_refuses_to_overwrite_a_run_without_resume(tmp_path, dataset, capsys):
    train.train(_config(), tmp_path, dataset=dataset, progress=False)
    assert cli.main(["train", "--cell", "gru", "--preset", "tiny", "--out", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (tmp_path / checkpoint.CHECKPOINT_DIR / "4").exists()  # nothing lost


def test_cli_connectivity_writes_the_article_layout(tmp_path, dataset):
    from memviz.core.results import ConnectivityResult

    config = dataclasses.replace(_config(), train=dataclasses.replace(_config().train, corpus="austen"))
    train.train(config, tmp_path / "run", dataset=data.from_text(_text(), vocab_size=12), progress=False)
    out = tmp_path / "conn.json"
    assert cli.main(["connectivity", str(tmp_path / "run"), "--text", "The cat sat!", "--out", str(out)]) == 0
    result = ConnectivityResult.load(out)
    assert result.text == " the cat sat" and result.raw.shape == (12, 12)
    assert np.all(np.triu(result.raw, 1) == 0) and np.all(np.diag(result.raw) > 0)


def test_cosine_schedule_decays_to_zero_and_pins_the_length(tmp_path, dataset):
    config = _config(steps=4, lr_schedule="cosine", learning_rate=0.01)
    # With a constant gradient Adam's normalised step is 1, so each update is minus the scheduled rate.
    tx, param = train._optimizer(config), jnp.zeros(3)
    state, steps = tx.init(param), []
    for _ in range(5):
        update, state = tx.update(jnp.ones(3), state, param)
        steps.append(-float(update[0]))
    expected = [0.01 * 0.5 * (1 + np.cos(np.pi * k / 4)) for k in range(5)]
    np.testing.assert_allclose(steps, expected, rtol=1e-4, atol=1e-9)  # 0.01, …, 0 at `steps`
    constant = train._optimizer(_config(learning_rate=0.01))
    state = constant.init(param)
    for _ in range(5):
        update, state = constant.update(jnp.ones(3), state, param)
    assert -float(update[0]) == pytest.approx(0.01, rel=1e-4)
    train.train(config, tmp_path, dataset=dataset, progress=False)
    # A constant-rate run may be resumed for longer; a decaying one may not: its decay is laid out over `steps`.
    with pytest.raises(checkpoint.CheckpointError, match=r"train.steps: 4 -> 6"):
        train.train(
            _config(steps=6, lr_schedule="cosine", learning_rate=0.01), tmp_path, dataset=dataset, progress=False
        )
    with pytest.raises(ValueError, match="choose one of constant, cosine"):
        _config(lr_schedule="linear")


def test_export_is_half_precision_and_never_mixes_with_an_older_export(tmp_path, dataset):
    longer = train.train(_config(steps=4), tmp_path / "a", dataset=dataset, progress=False)
    shorter = train.train(_config(steps=2), tmp_path / "b", dataset=dataset, progress=False)
    checkpoint.export_params(longer, tmp_path / "export")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        checkpoint.export_params(shorter, tmp_path / "export")
    assert train.load_run(tmp_path / "export").step == 4  # the refused export changed nothing
    checkpoint.export_params(shorter, tmp_path / "export", overwrite=True)
    restored = train.load_run(tmp_path / "export")
    assert restored.step == 2  # not the older export's step 4, which would otherwise load as the newest
    for a, b in zip(_params(shorter.model), _params(restored.model)):
        np.testing.assert_allclose(b, a.astype(np.float16).astype(np.float32), rtol=0, atol=0)


OTHER_CONFIGURATION = textwrap.dedent(
    """
    import dataclasses, sys
    sys.path.insert(0, {tests!r})
    from test_train import _config, _text
    from memviz import data
    from memviz.training import checkpoint, train
    run_dir = {run_dir!r}
    dataset = data.from_text(_text(), vocab_size=12)
    train.train(_config(), run_dir, dataset=dataset, progress=False)
    bigger = dataclasses.replace(_config(), model=dataclasses.replace(_config().model, hidden_features=32))
    checkpoint.write_config(run_dir, bigger)  # as if edited by hand
    for attempt in [lambda: train.load_run(run_dir), lambda: train.train(bigger, run_dir, dataset=dataset)] * 4:
        try:
            attempt()
        except checkpoint.CheckpointError as err:
            print("refused:", err)
    """
)


def test_restoring_into_another_configuration_prints_only_the_error(tmp_path):
    """The refusal names the shapes; no stray asyncio tracebacks from reads still in flight (they came
    at random, so the script tries eight times)."""
    script = OTHER_CONFIGURATION.format(tests=str(Path(__file__).parent), run_dir=str(tmp_path / "run"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "refused:" in done.stdout and "(16," in done.stdout and "(32," in done.stdout, done.stdout + done.stderr
    assert "Event loop is closed" not in done.stderr and "Traceback" not in done.stderr, done.stderr
