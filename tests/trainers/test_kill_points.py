"""Randomized SIGKILLs (issue 14): one run directory killed at 10 random moments -- during
training, at checkpoints and while the final files are written -- then finished, ends with the
same weights, epoch logs and metrics as a run never killed. The kill times are drawn from a
fixed seed and printed, so a failure names the moment that broke it."""

import json
import random
import time

import keras
import numpy as np

from tests.processes import kill_after, start

ARGS = ["train", "--preset", "ring8-gan", "--set", "epochs=4", "--set", "steps_per_epoch=60",
        "--set", "batch_size=64", "--set", "model.width=16", "--set", "model.depth=2",
        "--set", "model.ema_decay=0.95", "--set", "training.deterministic=true",
        "--set", "training.steps_per_execution=1", "-q"]
KILLS = 10
VOLATILE = {"wall_time_s", "steps_per_s", "samples_per_s", "steps_this_run"}


def timed_run(run_dir) -> tuple[float, float]:
    """An uninterrupted run: (seconds until its first checkpoint, seconds until it ended)."""
    begin, child, first = time.time(), start([*ARGS, "--run-dir", run_dir]), None
    while child.poll() is None:
        if first is None and (run_dir / "checkpoints" / "ckpt-1.index").exists():
            first = time.time() - begin
        time.sleep(0.02)
    assert child.returncode == 0, child.stderr.read()[-2000:]
    return first, time.time() - begin


def phase(run_dir) -> str:
    if (run_dir / "metrics.json").exists():
        return "finished"
    if (run_dir / "model.keras").exists() or (run_dir / "generator.keras").exists():
        return "final files"
    if (run_dir / "checkpoints" / "ckpt-4.index").exists():
        return "after the last checkpoint"
    if (run_dir / "checkpoints").exists():
        return "training"
    return "start-up"


def weights(path):
    model = keras.saving.load_model(path, safe_mode=True)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def test_ten_random_kills_then_finish_is_bit_identical(tmp_path, capsys):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    first, total = timed_run(whole)
    rng = random.Random(14)
    hits = []
    for i in range(KILLS):
        # Between just before the first checkpoint and just after an uninterrupted run's end
        # (a resumed process skips the epochs already done, so late draws reach the final
        # writes); the last three draws aim at the end of training and the final files.
        low = 0.8 * first if i < KILLS - 3 else 0.85 * total
        delay = rng.uniform(low, total + 0.5)
        state = kill_after([*ARGS, "--run-dir", killed], delay, lambda: phase(killed))
        hits.append(f"kill {i + 1} at {delay:.2f} s: {state}")
    with capsys.disabled():
        print("\n" + "\n".join(hits))
    child = start([*ARGS, "--run-dir", killed])
    _, err = child.communicate(timeout=300)
    assert child.returncode in (0, 2), err[-2000:]  # 2: it had already completed all epochs
    if child.returncode == 2:
        assert "already completed 4 epochs" in err, err
    for name in ("model.keras", "generator.keras"):
        for a, b in zip(weights(whole / name), weights(killed / name), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert json.loads((killed / "epochs.json").read_text()) == json.loads(
        (whole / "epochs.json").read_text())
    got, want = (json.loads((d / "metrics.json").read_text()) for d in (killed, whole))
    assert {k: v for k, v in got.items() if k not in VOLATILE} == {
        k: v for k, v in want.items() if k not in VOLATILE}
    # The draws reached training and the end of the run, not only the start-up.
    states = " ".join(hits)
    assert "training" in states and ("final files" in states or "after the last" in states)
