"""Fault injection (issue 14): kills between the last checkpoint and the final files, lost or
corrupt checkpoints, a second process on the same run directory, and bad inputs -- each ends
in a usable run or one line and exit status 2."""

import json
import os
import signal
import subprocess
import sys
import time

import keras_tuner
import pytest

from tests.processes import tfgen_env
from tfgen.fileio import atomic
from tfgen.trainers.cli import main
from tfgen.trainers.rundir import RunDir
from tfgen.tuning.search import make_oracle

SMALL = ["--set", "steps_per_epoch=5", "--set", "batch_size=64", "--set", "model.width=16",
         "--set", "model.depth=2", "--set", "training.steps_per_execution=1", "-q"]


def train(run, epochs, *extra):
    return main(["train", "--preset", "ring8-gan", "--set", f"epochs={epochs}", *SMALL, *extra,
                 "--run-dir", str(run)])


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert err.endswith("\n") and line.startswith("tfgen: error: "), err[-2000:]
    assert len(line) <= 320, len(line)
    for needle in needles:
        assert needle in line, line
    return line


def test_killed_before_the_final_files_is_finished_by_a_rerun(tmp_path, capsys):
    run = tmp_path / "r"
    assert train(run, 2) == 0
    want = json.loads((run / "metrics.json").read_text())
    # The state a kill leaves between the last checkpoint and the final files.
    for name in ("metrics.json", "model.keras", "generator.keras"):
        (run / name).unlink()
    assert train(run, 2) == 0
    assert "finished training (epoch 2); writing its final files" in capsys.readouterr().err
    got = json.loads((run / "metrics.json").read_text())
    assert got["steps"] == want["steps"] == 10 and got["final"] == want["final"]
    assert (run / "model.keras").exists() and (run / "generator.keras").exists()
    assert train(run, 2) == 2  # now complete: the usual message
    one_line_error(capsys, "already completed 2 epochs")


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = str(tmp_path / "model.keras")
    with atomic(path) as tmp:
        open(tmp, "w").write("good")
    with pytest.raises(OSError), atomic(path) as tmp:
        open(tmp, "w").write("half")
        raise OSError(28, "No space left on device")
    assert open(path).read() == "good" and os.listdir(tmp_path) == ["model.keras"]


def test_lost_checkpoint_index_resumes_from_the_files(tmp_path, capsys):
    run = tmp_path / "r"
    assert train(run, 3) == 0
    (run / "checkpoints" / "checkpoint").unlink()
    assert train(run, 4) == 0
    assert "from epoch 3 (step 15)" in capsys.readouterr().err
    assert json.loads((run / "metrics.json").read_text())["steps"] == 20
    names = os.listdir(run / "checkpoints")
    assert {"ckpt-2.index", "ckpt-3.index", "ckpt-4.index"} <= set(names)  # none deleted


def test_corrupt_checkpoints_fall_back_to_an_older_one(tmp_path, capsys):
    run = tmp_path / "r"
    assert train(run, 3) == 0
    data = next((run / "checkpoints").glob("ckpt-3.data-*"))
    data.write_bytes(data.read_bytes()[:40])  # truncated
    (run / "checkpoints" / "checkpoint").write_bytes(b"\x00\xff\x13garbage")  # binary index
    assert train(run, 4) == 0
    err = capsys.readouterr().err
    assert "is unreadable" in err and "ckpt-3 does not read back" in err
    assert "from epoch 2 (step 10)" in err
    assert json.loads((run / "metrics.json").read_text())["steps"] == 20
    # Nothing reads back: refused in one line, nothing deleted.
    for path in (run / "checkpoints").glob("ckpt-*.index"):
        path.unlink()
    for path in (run / "checkpoints").glob("ckpt-*.data-*"):
        path.write_bytes(b"")
    assert train(run, 5) == 2
    one_line_error(capsys, "no checkpoint in", "reads back")


HOLD_LOCK = """
import sys, time
from tfgen.trainers.rundir import RunDir
with RunDir(sys.argv[1]).lock():
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_process_on_the_run_directory_is_refused(tmp_path, capsys):
    run = tmp_path / "r"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run)], env=tfgen_env(),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert train(run, 1) == 2
        one_line_error(capsys, f"in use by pid {holder.pid} on ")
        holder.send_signal(signal.SIGKILL)  # a dead holder leaves no stale lock
        holder.wait()
        assert train(run, 1) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_checkpoints_without_config_are_refused(tmp_path, capsys):
    run = tmp_path / "r"
    assert train(run, 1) == 0
    (run / "config.yaml").unlink()
    assert train(run, 2) == 2
    one_line_error(capsys, "has checkpoints but no config.yaml")


def test_batch_larger_than_the_training_split(tmp_path, capsys):
    assert main(["train", "--preset", "digits-dcgan", "--set", "batch_size=100000", "-q",
                 "--run-dir", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "batch_size", "a step takes 100000 examples", "has 1000")


def test_bad_paths_and_files_are_one_line(tmp_path, capsys):
    binary = tmp_path / "config.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    assert main(["train", "--config", str(binary), "-q"]) == 2
    one_line_error(capsys, str(binary))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert train(a_file, 1) == 2
    one_line_error(capsys, "is a file")
    assert main(["tune", "--preset", "ring8-gan", "--dir", str(a_file), "-q"]) == 2
    one_line_error(capsys, "--dir", "is a file")
    run = tmp_path / "r"
    assert train(run, 1) == 0
    assert main(["sample", str(run), "--out", str(tmp_path / "no" / "s.png"), "-q"]) == 2
    one_line_error(capsys, "does not exist")
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[:1000])  # truncated
    assert main(["sample", str(run), "--out", str(tmp_path / "s.png"), "-q"]) == 2
    one_line_error(capsys, "cannot be loaded")
    huge = "x" * 200_000
    assert main(["train", "--set", f"data.name={huge}", "-q"]) == 2
    one_line_error(capsys, "unknown dataset")


def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import keras

    def no_space(self, *args, **kwargs):
        raise OSError(28, "No space left on device", "model.keras")

    monkeypatch.setattr(keras.Model, "save", no_space)
    assert train(tmp_path / "r", 1) == 2
    one_line_error(capsys, "No space left on device")


def test_tune_seed_zero_is_reproducible():
    def first_values(kind):
        oracle = make_oracle(kind, keras_tuner.Objective("fd", "min"), 5, 3, seed=0)
        oracle.hyperparameters.Float("lr", 1e-4, 1e-1, sampling="log")
        oracle.hyperparameters.Int("width", 8, 256)
        return oracle._random_values()

    for kind in ("random", "bayesian", "hyperband"):
        assert first_values(kind) == first_values(kind)


def test_interrupt_says_how_to_resume(tmp_path):
    run = tmp_path / "r"
    child = subprocess.Popen(
        [sys.executable, "-m", "tfgen.trainers.cli", "train", "--preset", "ring8-gan",
         "--set", "epochs=100000", *SMALL, "--run-dir", str(run)],
        env=tfgen_env(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        while not (run / "checkpoints" / "ckpt-1.index").exists():
            assert child.poll() is None and time.time() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    last = err.strip().splitlines()[-1]
    assert last.startswith("tfgen: stopped by SIGINT at step "), err[-2000:]
    assert last.endswith(f"saved; run tfgen train --run-dir {run} to resume from there"), last
    assert RunDir(run).has_trained()
    assert (run / "checkpoints" / "partial").is_dir()  # the step it stopped at
