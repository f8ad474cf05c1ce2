"""Randomized SIGKILLs (issue 14): one run directory killed at 10 random moments -- during
training, at checkpoints and while the final files are written -- then finished, ends with the
same weights, epoch logs and metrics as a run never killed. The moments are drawn from a fixed
seed, relative to the phases of an uninterrupted run, and printed with the phase each one hit,
so a failure names the moment that broke it."""

import json
import random
import time

import keras
import numpy as np
import pytest

from tests.processes import kill_after, start

EPOCHS = 8
ARGS = ["train", "--preset", "ring8-gan", "--set", f"epochs={EPOCHS}", "--set",
        "steps_per_epoch=150", "--set", "batch_size=64", "--set", "model.width=16", "--set",
        "model.depth=2", "--set", "model.ema_decay=0.95", "--set", "training.deterministic=true",
        "--set", "training.steps_per_execution=1", "-q"]
VOLATILE = {"wall_time_s", "steps_per_s", "samples_per_s", "steps_this_run", "final_stages_s"}


def timed_run(run_dir) -> dict:
    """An uninterrupted run and the times (s) of its phases: until its first checkpoint, per
    epoch, and from its last checkpoint to its `metrics.json` (the final evaluation and files,
    written last)."""
    begin, child = time.time(), start([*ARGS, "--run-dir", run_dir])
    seen, end = {}, None
    while child.poll() is None:
        for epoch in range(1, EPOCHS + 1):
            if epoch not in seen and (run_dir / "checkpoints" / f"ckpt-{epoch}.index").exists():
                seen[epoch] = time.time() - begin
        if end is None and (run_dir / "metrics.json").exists():
            end = time.time() - begin
        time.sleep(0.002)
    assert child.returncode == 0, child.stderr.read()[-2000:]
    return {"first": seen[1], "epoch": (seen[EPOCHS] - seen[1]) / (EPOCHS - 1),
            "final": (end or time.time() - begin) - seen[EPOCHS]}


def phase(run_dir) -> str:
    if (run_dir / "metrics.json").exists():
        return "finished"
    if (run_dir / "model.keras").exists() or (run_dir / "generator.keras").exists():
        return "final files"
    if (run_dir / "checkpoints" / f"ckpt-{EPOCHS}.index").exists():
        return "after the last checkpoint"
    done = sorted((run_dir / "checkpoints").glob("ckpt-*.index"))
    return f"training (checkpoints: {len(done)})" if done else "start-up or epoch 1"


def weights(path):
    model = keras.saving.load_model(path, safe_mode=True)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_ten_random_kills_then_finish_is_bit_identical(tmp_path, capsys):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    t = timed_run(whole)
    start_up = t["first"] - t["epoch"]
    rng = random.Random(14)
    ckpt = killed / "checkpoints"
    # Ten kill points: one in the start-up, six at random moments of epochs 2-7 (each anchored
    # to the checkpoint before it, so the run advances one epoch per kill; the delays reach the
    # next checkpoint's write), one the moment the last checkpoint is in place (before the final
    # evaluation and files), one the moment the first final file is in place, one at a random
    # moment of the re-run that finishes an interrupted end. (The final phase lasts about 0.1 s:
    # a random delay drawn from a measured length missed it when the machine was busy.)
    plan = [(None, rng.uniform(0.3, 0.9) * start_up)]
    plan += [(ckpt / f"ckpt-{k}.index", rng.uniform(0.0, 1.1) * t["epoch"]) for k in range(1, 7)]
    plan += [(ckpt / f"ckpt-{EPOCHS}.index", 0.0), (killed / "model.keras", 0.0),
             (None, rng.uniform(0.5, 1.0) * start_up)]
    hits = []
    for i, (after, delay) in enumerate(plan):
        state = kill_after([*ARGS, "--run-dir", killed], delay, lambda: phase(killed),
                           after=after)
        anchor = f" after {after.name}" if after is not None else ""
        hits.append(f"kill {i + 1} {delay:.2f} s{anchor}: {state}")
    with capsys.disabled():
        print(f"\nphases of an uninterrupted run: {t}\n" + "\n".join(hits))
    child = start([*ARGS, "--run-dir", killed])
    _, err = child.communicate(timeout=300)
    assert child.returncode in (0, 2), err[-2000:]  # 2: it had already completed all epochs
    if child.returncode == 2:
        assert f"already completed {EPOCHS} epochs" in err, err
    for name in ("model.keras", "generator.keras"):
        for a, b in zip(weights(whole / name), weights(killed / name), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert json.loads((killed / "epochs.json").read_text()) == json.loads(
        (whole / "epochs.json").read_text())
    got, want = (json.loads((d / "metrics.json").read_text()) for d in (killed, whole))
    assert {k: v for k, v in got.items() if k not in VOLATILE} == {
        k: v for k, v in want.items() if k not in VOLATILE}
    # The kills hit training and the end of the run, not only the start-up.
    states = " ".join(hits)
    assert "training (checkpoints" in states
    assert "final files" in states or "after the last checkpoint" in states
