"""Run directories and data on a remote file system: TensorFlow's in-memory `ram://` stands in
for `gs://` (the same `tf.io.gfile` path, no network). Before, checkpoints and TensorBoard went
remote but `.lock`, `config.yaml`, `epochs.json` and the pictures went to a local
`./ram:/...`, the final export crashed on `os.replace`, and `folder:`/`idx:`/`npz:` refused the
path."""

import gzip
import io
import json
import signal
import uuid

import numpy as np
import pytest
from PIL import Image

from tfgen import data, fileio
from tfgen.callbacks import Preemption
from tfgen.callbacks.common import model_step
from tfgen.trainers.cli import main

TINY = ["--set", "batch_size=64", "--set", "model.width=32", "--set", "model.depth=2",
        "--set", "training.steps_per_execution=1", "--set", "evaluation.num=200"]


@pytest.fixture
def bucket(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    yield f"ram://tfgen-{uuid.uuid4().hex[:8]}"
    assert list(tmp_path.iterdir()) == []


def test_train_stop_resume_sample_evaluate_export_in_a_remote_run_directory(bucket, monkeypatch,
                                                                             capsys):
    run = f"{bucket}/runs/ring8"
    args = ["train", "--preset", "ring8-gan", *TINY, "--set", "epochs=3",
            "--set", "steps_per_epoch=8", "--run-dir", run, "-q"]
    original = Preemption.on_train_batch_end

    def signal_at_step_12(self, batch, logs=None):  # inside epoch 2, as `kill -TERM` would
        if model_step(self.model) == 12 and self.received is None:
            signal.raise_signal(signal.SIGTERM)
        return original(self, batch, logs)

    monkeypatch.setattr(Preemption, "on_train_batch_end", signal_at_step_12)
    assert main(args) == 128 + signal.SIGTERM
    assert fileio.glob(f"{run}/checkpoints/partial/ckpt-*.index"), "no mid-epoch checkpoint"
    assert not fileio.exists(f"{run}/metrics.json")
    monkeypatch.setattr(Preemption, "on_train_batch_end", original)
    assert main(args) == 0
    names = set(fileio.listdir(run))
    assert {"config.yaml", "epochs.json", "metrics.json", "model.keras", "generator.keras",
            "checkpoints", "logs", "samples"} <= names, names
    metrics = fileio.read_json(f"{run}/metrics.json", {})
    assert metrics["steps"] == 24
    assert len(fileio.read_json(f"{run}/epochs.json", [])) == 3
    assert fileio.exists(f"{run}/samples/epoch_0003.png")
    assert fileio.glob(f"{run}/logs/events.out.tfevents.*")
    capsys.readouterr()
    assert main(["sample", run, "--num", "16", "--out", f"{bucket}/s.npy", "-q"]) == 0
    samples = np.load(io.BytesIO(fileio.read_bytes(f"{bucket}/s.npy")))
    assert samples.shape == (16, 2) and np.isfinite(samples).all()
    assert main(["sample", run, "--num", "16", "--out", f"{bucket}/s.png", "-q"]) == 0
    assert Image.open(io.BytesIO(fileio.read_bytes(f"{bucket}/s.png"))).size[0] > 100
    assert main(["evaluate", run, "--num", "200", "-q"]) == 0
    assert "modes_covered" in json.dumps(fileio.read_json(f"{run}/eval.json", {}))
    assert main(["export", run, f"{bucket}/saved"]) == 0
    assert fileio.exists(f"{bucket}/saved/saved_model.pb")
    assert "tfgen: error" not in capsys.readouterr().err


def _images(n=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8), dtype=np.uint8)


def test_folder_idx_and_npz_sources_read_a_remote_path(bucket, tmp_path_factory):
    """The same images give the same arrays and the same held-out split from a bucket as from
    a local folder (the split hashes each file's path relative to the folder)."""
    x = _images()
    local = tmp_path_factory.mktemp("local")
    for i, image in enumerate(x):
        for root in (str(local), f"{bucket}/folder"):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            fileio.write_bytes(fileio.join(root, "class_a" if i % 2 else "class_b",
                                           f"{i:03d}.png"), buffer.getvalue())
    remote = data.source(f"folder:{bucket}/folder", seed=0)
    here = data.source(f"folder:{local}", seed=0)
    assert remote.info.splits == here.info.splits and remote.info.num_classes == 2
    for split in here.info.splits:
        np.testing.assert_array_equal(remote.arrays[split][0], here.arrays[split][0])

    header = np.array([0, 0, 8, 3], np.uint8).tobytes() + np.array([len(x), 8, 8], ">i4").tobytes()
    fileio.write_bytes(f"{bucket}/idx/train-images-idx3-ubyte.gz", gzip.compress(header + x.tobytes()))
    idx = data.source(f"idx:{bucket}/idx", seed=0)
    assert sum(idx.info.splits.values()) == len(x)

    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=np.arange(len(x)) % 3)
    fileio.write_bytes(f"{bucket}/data.npz", buffer.getvalue())
    npz = data.source(f"npz:{bucket}/data.npz", seed=0)
    assert npz.info.num_classes == 3 and sum(npz.info.splits.values()) == len(x)


def test_a_missing_remote_folder_is_one_line(bucket, capsys):
    assert main(["train", "--preset", "digits-dcgan", "--set",
                 f"data.name=folder:{bucket}/nothing", "--run-dir", f"{bucket}/r"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"tfgen: error: config key 'data.name': folder not found: {bucket}/nothing"
