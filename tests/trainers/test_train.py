"""`tfgen train` end to end: run directory, TensorBoard event files, resume, SIGKILL + resume."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.processes import kill_when, tfgen, tfgen_env
from tfgen.trainers import presets
from tfgen.trainers.cli import main

TINY = ["--set", "batch_size=64", "--set", "model.width=32", "--set", "model.depth=2",
        "--set", "training.steps_per_execution=1"]


def events(run_dir):
    acc = EventAccumulator(str(Path(run_dir) / "logs"), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def fails_in_one_line(argv, message, capsys):
    """`tfgen ARGV` exits with status 2 and one `tfgen: error:` line holding `message`, with no
    traceback."""
    from tfgen.trainers.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("tfgen: error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err, err


def scalar_steps(acc, tag):
    return [e.step for e in acc.Tensors(tag)]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "ring"
    proc = tfgen("train", "--preset", "ring8-gan", "--set", "epochs=2", "--set",
                 "steps_per_epoch=30", *TINY, "--set", "model.ema_decay=0.9", "--run-dir",
                 str(run_dir), "-q")
    assert proc.returncode == 0, proc.stderr
    return run_dir, proc


def test_run_directory_is_complete(ring_run):
    run_dir, proc = ring_run
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "logs", "checkpoints", "samples", "generator.keras", "model.keras",
            "metrics.json"} <= names
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [
        "epoch_0001.png", "epoch_0002.png"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 60 and metrics["epochs"] == 2
    assert metrics["samples_per_s"] > 0 and metrics["wall_time_s"] > 0
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(metrics["final"])
    assert "strategy: DefaultDistributionStrategy, 1 replica" in proc.stderr
    # generator.keras is the EMA generator: it reproduces GAN.sample.
    gan = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    generator = keras.saving.load_model(run_dir / "generator.keras", safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(generator(gan.latent(20, 5))), gan.sample(20, seed=5), atol=1e-6)


def test_config_yaml_feeds_back(ring_run):
    run_dir, _ = ring_run
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert stored["preset"] == "ring8-gan" and stored["steps_per_epoch"] == 30
    cfg = presets.resolve(config_file=run_dir / "config.yaml")
    assert cfg.model.width == 32 and cfg.model.ema_decay == 0.9 and cfg.epochs == 2


def test_tensorboard_scalars_and_pictures(ring_run):
    run_dir, _ = ring_run
    acc = events(run_dir)
    tags = set(acc.Tags()["tensors"])
    for tag in ("train/d_loss", "train/g_loss", "train/d_adversarial", "train/d_real",
                "train/d_fake", "train/d_grad_norm", "train/g_grad_norm",
                "train/learning_rate/g_optimizer", "train/learning_rate/d_optimizer",
                "samples/generated"):
        assert tag in tags, tag
    steps = scalar_steps(acc, "train/g_loss")
    assert steps[0] == 1 and steps[-1] >= 51 and steps == sorted(steps)
    assert scalar_steps(acc, "samples/generated") == [30, 60]  # by generator step, each epoch
    import tensorflow as tf

    first, last = (acc.Tensors("train/learning_rate/g_optimizer")[i] for i in (0, -1))
    # The preset's linear decay over 2 x 30 steps, read at the logged steps.
    assert tf.make_ndarray(first.tensor_proto) == pytest.approx(1e-3 * (1 - first.step / 60), rel=1e-5)
    assert tf.make_ndarray(last.tensor_proto) == pytest.approx(1e-3 * (1 - last.step / 60), rel=1e-5)


def test_resume_continues_steps_and_curves(ring_run, tmp_path):
    run_dir, _ = ring_run
    proc = tfgen("train", "--preset", "ring8-gan", "--set", "epochs=3", "--set",
                 "steps_per_epoch=30", *TINY, "--set", "model.ema_decay=0.9", "--run-dir",
                 str(run_dir), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr and "from epoch 2 (step 60)" in proc.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["steps"] == 90
    acc = events(run_dir)
    assert scalar_steps(acc, "samples/generated") == [30, 60, 90]
    assert max(scalar_steps(acc, "train/d_loss")) >= 81
    # Done: the same command again says so; a changed config is refused, naming the keys.
    again = tfgen("train", "--preset", "ring8-gan", "--set", "epochs=3", "--set",
                  "steps_per_epoch=30", *TINY, "--set", "model.ema_decay=0.9", "--run-dir",
                  str(run_dir), "-q")
    assert again.returncode == 2 and "already completed 3 epochs" in again.stderr
    changed = tfgen("train", "--preset", "ring8-gan", "--set", "epochs=4", "--run-dir",
                    str(run_dir), "-q")
    assert changed.returncode == 2
    assert changed.stderr.count("\n") == 1 and "model.width" in changed.stderr
    assert "different config" in changed.stderr


def kill_mid_run(args, run_dir, after: str, delay: float):
    """Start `tfgen *args --run-dir run_dir`, SIGKILL it `delay` s after checkpoint file `after`
    appears."""
    kill_when([*args, "--run-dir", run_dir], run_dir / "checkpoints" / after, delay)


def _generator_weights(run_dir):
    model = keras.saving.load_model(Path(run_dir) / "model.keras", safe_mode=True)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


KILL_ARGS = ["train", "--preset", "ring8-gan", "--set", "epochs=4", "--set",
             "steps_per_epoch=250", *TINY, "--set", "model.ema_decay=0.99", "--set",
             "training.deterministic=true", "-q"]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    whole = tmp_path_factory.mktemp("whole")
    proc = tfgen(*KILL_ARGS, "--run-dir", str(whole))
    assert proc.returncode == 0, proc.stderr
    return whole


# (slow: 20 s; test_kill_points kills the same kind of run mid-epoch ten times in CI)
@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path, whole_run):
    killed = tmp_path / "killed"
    kill_mid_run(KILL_ARGS, killed, after="ckpt-1.index", delay=0.4)  # into epoch 2
    assert not (killed / "model.keras").exists()  # it really died before the end
    proc = tfgen(*KILL_ARGS, "--run-dir", str(killed))
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr
    for a, b in zip(_generator_weights(whole_run), _generator_weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_sigterm_saves_mid_epoch_and_resume_is_bit_identical(tmp_path, whole_run):
    run_dir = tmp_path / "preempted"
    child = subprocess.Popen([sys.executable, "-m", "tfgen.trainers.cli", *KILL_ARGS,
                              "--run-dir", str(run_dir)], env=tfgen_env(),
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        while not (run_dir / "checkpoints" / "ckpt-1.index").exists():
            assert child.poll() is None and time.time() < deadline
            time.sleep(0.02)
        # At once: epoch 1 has ended, so the stop comes at epoch 2's first step boundary. (A
        # fixed delay here once let this VM at its faster speed finish epoch 2 first.)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 128 + signal.SIGTERM, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("tfgen: stopped by SIGTERM at step ") and ", in epoch 2;" in last
    assert last.endswith(f"; run tfgen train --run-dir {run_dir} to resume from there"), last
    step = int(last.split(" at step ")[1].split(",")[0])
    assert 250 < step < 500
    assert (run_dir / "checkpoints" / "partial").is_dir()
    assert not (run_dir / "model.keras").exists()

    proc = tfgen(*KILL_ARGS, "--run-dir", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert f"from epoch 1 (step {step}), {step - 250} steps into epoch 2" in proc.stderr
    for a, b in zip(_generator_weights(whole_run), _generator_weights(run_dir), strict=True):
        np.testing.assert_array_equal(a, b)
    # The epoch that was cut logs the means of all its steps, as in the run never stopped.
    whole, resumed = (json.loads((d / "epochs.json").read_text()) for d in (whole_run, run_dir))
    assert resumed == whole


# (slow: 31 s; bfloat16 steps are compared with float32 and across replicas in test_precision)
@pytest.mark.slow
def test_bfloat16_sigkill_then_resume_is_bit_identical(tmp_path):
    """mixed_bfloat16 (the TPU's and this CPU's precision) resumes as float32 does: a spectrally
    normalised DCGAN with R1 and EMA, SIGKILLed in epoch 2, ends with the uninterrupted run's
    weights, bit for bit."""
    args = ["train", "--preset", "digits-dcgan", "--set", "epochs=3", "--set",
            "steps_per_epoch=60", "--set", "training.precision=mixed_bfloat16", "--set",
            "model.spectral_norm=true", "--set", "model.regularizers.r1.gamma=1", "--set",
            "model.ema_decay=0.99", "--set", "model.width=16", "--set",
            "training.deterministic=true", "-q"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = tfgen(*args, "--run-dir", str(whole))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((whole / "metrics.json").read_text())["precision"] == "mixed_bfloat16"
    kill_mid_run(args, killed, after="ckpt-1.index", delay=0.3)
    assert not (killed / "model.keras").exists()
    proc = tfgen(*args, "--run-dir", str(killed))
    assert proc.returncode == 0 and "resuming" in proc.stderr, proc.stderr
    for a, b in zip(_generator_weights(whole), _generator_weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)
    a, b = (json.loads((d / "epochs.json").read_text()) for d in (whole, killed))
    assert a == b


def _learning_rates(run_dir):
    return {e.step: float(tf.make_ndarray(e.tensor_proto))
            for e in events(run_dir).Tensors("train/learning_rate/g_optimizer")}


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_more_epochs_continue_the_linear_decay_without_a_jump(tmp_path, capsys):
    """The rule (trainers/train._continue_schedules): raised epochs continue a linear decay from
    the rate reached; a run whose rate had reached 0 restarts at the new plan's rate, saying so.
    Checked against the closed forms, on the learning rates TensorBoard logged."""
    run = tmp_path / "r"
    base = ["train", "--preset", "ring8-gan", "--set", "steps_per_epoch=10", *TINY, "-q",
            "--set", "training.checkpoint_every=1", "--run-dir", str(run)]
    lr = presets.get("ring8-gan").g_optimizer.learning_rate
    assert main([*base, "--set", "epochs=4"]) == 0
    # As if killed after epoch 2 of 4 (rate lr/2 at step 20): keep its first two checkpoints.
    for path in (run / "checkpoints").glob("ckpt-[34]*"):
        path.unlink()
    (run / "checkpoints" / "checkpoint").unlink()
    (run / "metrics.json").unlink()
    shutil.rmtree(run / "logs")  # its later steps would be logged twice
    assert main([*base, "--set", "epochs=8"]) == 0
    assert "epochs 4 -> 8: the learning rate continues from 0.5 of its base value at step 20" in (
        capsys.readouterr().err)
    rates = _learning_rates(run)
    assert min(rates) == 21 and len(rates) >= 5  # logged from the first step after the resume
    for step, rate in rates.items():  # the old plan gave lr·(1 - 20/40) = lr/2 at step 20
        assert rate == pytest.approx(lr * 0.5 * (80 - step) / 60, rel=1e-5), step
    # The run is complete (rate 0): raising epochs again restarts at the new plan's rate.
    assert main([*base, "--set", "epochs=10"]) == 0
    assert "the learning rate had decayed to 0 (the run was complete); it restarts at the new " \
           "plan's 0.2 of its base value" in capsys.readouterr().err
    assert _learning_rates(run)[81] == pytest.approx(lr * (1 - 81 / 100), rel=1e-5)


def test_non_finite_training_stops_with_one_line_and_keeps_the_checkpoint(tmp_path, capsys,
                                                                          monkeypatch):
    run_dir = tmp_path / "nan"
    # Five steps per execution: the step named is still the first non-finite one (6), not the
    # execution's last (10).
    base = ["train", "--preset", "ring8-gan", "--set", "steps_per_epoch=5", *TINY,
            "--set", "training.steps_per_execution=5", "--run-dir", str(run_dir), "-q"]
    assert main([*base, "--set", "epochs=1"]) == 0
    good = (run_dir / "checkpoints" / "checkpoint").read_text()
    capsys.readouterr()

    import tfgen.data

    original = tfgen.data.ArraySource._scale
    monkeypatch.setattr(tfgen.data.ArraySource, "_scale", lambda self, x: original(self, x) * np.nan)
    assert main([*base, "--set", "epochs=2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tfgen: error: non-finite ") and " at step 6;" in err[-1]
    assert (run_dir / "checkpoints" / "checkpoint").read_text() == good
    assert not (run_dir / "checkpoints" / "ckpt-2.index").exists()
    # A run stopped before its final files: sample and export use the last good checkpoint.
    monkeypatch.undo()
    for name in ("model.keras", "generator.keras", "metrics.json"):
        (run_dir / name).unlink()
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "s.npy"), "-q"]) == 0
    assert "using its last good checkpoint: epoch 1, step 5" in capsys.readouterr().err
    assert np.isfinite(np.load(tmp_path / "s.npy")).all()
    assert main(["export", str(run_dir), str(tmp_path / "saved")]) == 0


def test_mixed_float16_run_logs_loss_scales(tmp_path):
    import keras

    run_dir = tmp_path / "mp"
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=1", "--set",
                 "steps_per_epoch=3", *TINY, "--set", "training.precision=mixed_float16",
                 "--run-dir", str(run_dir), "-q"]) == 0
    tags = set(events(run_dir).Tags()["tensors"])
    assert {"train/loss_scale/g_optimizer", "train/loss_scale/d_optimizer"} <= tags
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
