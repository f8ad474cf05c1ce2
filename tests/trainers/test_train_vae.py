"""`tfgen train` on VAE presets: run directory, TensorBoard, model selection, resume, sampling."""

import json

import keras
import numpy as np
import pytest

from tests.processes import tfgen
from tests.trainers.test_train import events, kill_mid_run
from tfgen.trainers.cli import main

TINY = ["--set", "model.width=32", "--set", "model.latent_dim=2", "--set", "steps_per_epoch=10",
        "--set", "batch_size=50", "-q"]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "vae"
    assert main(["train", "--preset", "digits-vae", "--set", "epochs=3", "--set",
                 "model.eval_samples=20", *TINY, "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_vae_run_directory_and_metrics(vae_run):
    assert {"config.yaml", "model.keras", "decoder.keras", "metrics.json", "logs"} <= {
        p.name for p in vae_run.iterdir()}
    metrics = json.loads((vae_run / "metrics.json").read_text())
    q = metrics["quality"]
    assert q["split"] == "test" and q["num_examples"] == 447 and q["nll_importance_samples"] == 20
    assert 0 < q["nll"] <= -q["elbo"] + 1e-3  # the importance-sampled bound is tighter
    assert 1 <= metrics["best_epoch"] <= 3 and {"val_elbo", "elbo", "kl"} <= set(metrics["final"])


def test_vae_tensorboard(vae_run):
    acc = events(vae_run)
    tags = set(acc.Tags()["tensors"])
    for tag in ("train/elbo", "train/reconstruction", "train/kl", "train/kl_weight",
                "train/loss", "validation/elbo", "train/kl_per_dimension", "samples/generated",
                "samples/reconstructions", "samples/latent_manifold", "samples/interpolation",
                "train/learning_rate/optimizer", "train/active_units_1"):
        assert tag in tags, tag
    assert [e.step for e in acc.Tensors("validation/elbo")] == [10, 20, 30]


def test_vae_projector_files_hold_the_encoder_means(vae_run):
    """The Projector tab's files, read back: the codes are the final model's encoder means of
    the labelled held-out examples, drawn by the sprite and named by the metadata."""
    import tensorflow as tf
    from PIL import Image

    from tfgen import data
    from tfgen.trainers.rundir import RunDir

    logs = vae_run / "logs"
    config = (logs / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "embedding/.ATTRIBUTES/VARIABLE_VALUE"' in config
    assert 'metadata_path: "metadata.tsv"' in config and 'image_path: "sprite.png"' in config
    codes = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(logs))).get_tensor(
        "embedding/.ATTRIBUTES/VARIABLE_VALUE")
    cfg = RunDir(vae_run).config()
    x, y = data.source(cfg.data, seed=cfg.seed).fixed_batch(1000, labels=True)
    model = keras.saving.load_model(vae_run / "model.keras", safe_mode=True)
    assert codes.shape == (len(x), 2)
    np.testing.assert_allclose(codes, model.encode(x)[0], atol=1e-5)
    rows = (logs / "metadata.tsv").read_text().splitlines()
    assert rows[0] == "label\tclass" and rows[1:] == [f"{v}\t{v}" for v in y]
    side = int(np.ceil(np.sqrt(len(x))))
    assert Image.open(logs / "sprite.png").size == (side * 8, side * 8)


def test_interpolation_rows_join_two_latent_draws():
    """Each row starts and ends at the samples of two prior draws, with slerp in between (the
    points keep a typical norm); conditional rows stay in one class."""
    from tests.models.helpers import tiny_gan

    gan = tiny_gan(kind="dcgan", conditional=True)
    rows, steps = 3, 5
    got = gan.interpolation(rows=rows, steps=steps, seed=4)
    z = gan.latent(2 * rows, 4)
    ends = np.concatenate([z[:rows], z[rows:]])
    labels = np.concatenate([np.arange(rows), np.arange(rows)]).astype(np.int32)
    want = keras.ops.convert_to_numpy(gan.generate(ends, labels))
    np.testing.assert_allclose(got[::steps], want[:rows], atol=1e-5)
    np.testing.assert_allclose(got[steps - 1::steps], want[rows:], atol=1e-5)
    assert got.shape == (rows * steps, 8, 8, 1)


def test_sample_on_a_vae_run(vae_run, tmp_path):
    out = tmp_path / "s.npy"
    assert main(["sample", str(vae_run), "--num", "7", "--seed", "3", "--out", str(out), "-q"]) == 0
    x = np.load(out)
    assert x.shape == (7, 8, 8, 1) and 0 <= x.min() and x.max() <= 1
    assert main(["sample", str(vae_run), "--num", "16", "--out", str(tmp_path / "s.png"), "-q"]) == 0


def test_cvae_preset(tmp_path):
    run_dir = tmp_path / "cvae"
    assert main(["train", "--preset", "digits-cvae", "--set", "epochs=1", "--set",
                 "model.eval_samples=5", *TINY, "--run-dir", str(run_dir)]) == 0
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    assert model.conditional and model.sample(4, labels=[3]).shape == (4, 8, 8, 1)


DEEP = ["--set", "model.prior={name: vamp, pseudo_inputs: 20}", "--set",
        "model.top_latent_dim=4", "--set", "model.flow_steps=2", "--set", "model.iw_samples=2",
        "--set", "model.ema_decay=0.9", "--set", "model.dropout=0.1"]


# -m slow (48 s and 77 s; CI's 20 minutes): the deep one checkpoints every network the plain
# one has, and more (pseudo-inputs, the second layer's networks, the flow, the weight averages);
# CI's quick tier resumes bit for bit in test_train's SIGTERM test and the variants' "resume".
@pytest.mark.parametrize("deep", [pytest.param(False, marks=pytest.mark.slow),
                                  pytest.param(True, marks=pytest.mark.slow)],
                         ids=["plain", "vamp+2 layers+iaf+dropout"])
def test_vae_sigkill_then_resume_is_bit_identical(tmp_path, deep):
    epochs, steps = (4, 40) if deep else (6, 60)
    args = ["train", "--preset", "digits-vae", "--set", f"epochs={epochs}", "--set",
            f"steps_per_epoch={steps}", "--set", "model.eval_samples=5", "--set",
            "training.deterministic=true", "--set", "batch_size=50", "-q", *(DEEP if deep else [])]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = tfgen(*args, "--run-dir", str(whole))
    assert proc.returncode == 0, proc.stderr
    kill_mid_run(args, killed, after="ckpt-2.index", delay=0.2)
    assert not (killed / "model.keras").exists()
    proc = tfgen(*args, "--run-dir", str(killed))
    assert proc.returncode == 0 and "resuming" in proc.stderr, proc.stderr
    a = json.loads((whole / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    assert a["best_epoch"] == b["best_epoch"] and a["best_value"] == b["best_value"]
    ma = keras.saving.load_model(whole / "model.keras", safe_mode=True)
    mb = keras.saving.load_model(killed / "model.keras", safe_mode=True)
    for x, y in zip(ma.weights, mb.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y))
    if deep:  # decoder.keras holds the decoder's averaged weights (EMA is on in DEEP)
        decoder = keras.saving.load_model(whole / "decoder.keras", safe_mode=True)
        live = [keras.ops.convert_to_numpy(w) for w in ma.decoder.weights]
        with ma.averaged_weights():
            for x, y in zip(decoder.weights, ma.decoder.weights, strict=True):
                np.testing.assert_array_equal(keras.ops.convert_to_numpy(x),
                                              keras.ops.convert_to_numpy(y))
        assert not all(np.array_equal(a, keras.ops.convert_to_numpy(b))
                       for a, b in zip(live, decoder.weights, strict=True))


def test_latent_traversal_for_larger_latents(tmp_path):
    run_dir = tmp_path / "trav"
    assert main(["train", "--preset", "digits-vae", "--set", "epochs=1", "--set",
                 "model.eval_samples=5", "--set", "model.latent_dim=6", "--set",
                 "steps_per_epoch=5", "--set", "model.width=8", "-q", "--run-dir",
                 str(run_dir)]) == 0
    tags = set(events(run_dir).Tags()["tensors"])
    assert "samples/latent_traversal" in tags and "samples/latent_manifold" not in tags


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_mixed_float16_vae_and_guard(tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "mp"
    assert main(["train", "--preset", "digits-vae", "--set", "epochs=1", "--set",
                 "model.eval_samples=5", "--set", "training.precision=mixed_float16",
                 *TINY, "--run-dir", str(run_dir)]) == 0
    tags = set(events(run_dir).Tags()["tensors"])
    assert "train/loss_scale/optimizer" in tags
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert np.isfinite(metrics["quality"]["nll"])
    import tfgen.data

    original = tfgen.data.ArraySource._scale
    monkeypatch.setattr(tfgen.data.ArraySource, "_scale", lambda self, x: original(self, x) * np.nan)
    assert main(["train", "--preset", "digits-vae", "--set", "epochs=2", "--set",
                 "model.eval_samples=5", "--set", "training.precision=mixed_float16",
                 *TINY, "--run-dir", str(run_dir)]) == 1
    assert "non-finite" in capsys.readouterr().err.strip().splitlines()[-1]


def test_two_layer_run_logs_each_layer(tmp_path):
    run_dir = tmp_path / "hvae"  # with DReG, which the preset leaves off, through the CLI
    assert main(["train", "--preset", "digits-hvae", "--set", "epochs=2", "--set",
                 "model.eval_samples=5", "--set", "model.top_latent_dim=3", "--set",
                 "model.estimator=dreg", *TINY, "--run-dir", str(run_dir)]) == 0
    assert json.loads((run_dir / "metrics.json").read_text())["best_epoch"] >= 1
    tags = set(events(run_dir).Tags()["tensors"])
    for tag in ("train/kl_1", "train/kl_2", "validation/kl_2", "train/active_units_1",
                "train/active_units_2"):
        assert tag in tags, tag
    quality = json.loads((run_dir / "metrics.json").read_text())["quality"]
    assert 0 <= quality["active_units"] <= 2 and 0 <= quality["active_units_2"] <= 3
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    assert final["kl"] == pytest.approx(final["kl_1"] + final["kl_2"], rel=1e-4)
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    assert model.hierarchical and model.estimator == "dreg" and model.noise_dim == 3 + 2


def test_final_stages_show_their_size_progress_and_time(tmp_path, capsys, monkeypatch):
    # Issue 30: a 5-step fmnist-vae run spent ~3.5 minutes after training (ex-post mixture on
    # 55,000 codes, test NLL on 10,000 images) without a word. Each stage now says what it
    # runs on how many examples (and which key sets it), its progress and its time.
    from tfgen.callbacks import progress

    run_dir = tmp_path / "final"
    quiet = [a for a in TINY if a != "-q"]
    argv = ["train", "--preset", "digits-vae", "--set", "epochs=1", "--set",
            "model.eval_samples=5", "--set", "model.expost_components=2", *quiet]
    # every update shown (Stage's `every`: 0 s)
    monkeypatch.setattr(progress.Stage.__init__, "__defaults__",
                        (None, "examples", 0.0, True, None))
    assert main([*argv, "--set", "evaluation.final_examples=300", "--run-dir", str(run_dir)]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    first = lines.index("tfgen: after training 1/2: ex-post mixture, 2 components "
                        "(model.expost_components), on 300 of 1,000 train codes")
    assert lines[first + 1] == "tfgen:   (evaluation.final_examples)"
    assert lines[first + 2].startswith("tfgen:   ") and "codes" in lines[first + 2]
    second = next(i for i, ln in enumerate(lines) if ln.startswith("tfgen: after training 2/2"))
    assert lines[second] == ("tfgen: after training 2/2: test NLL (K=5: model.eval_samples), "
                             "ELBO and active units on 300 of 447 test examples")
    assert any(ln.startswith("tfgen:   100% (300 of 300 examples)") for ln in lines[second:])
    assert lines[second - 1].startswith("tfgen:   done in ")
    assert all(len(ln) <= 120 for ln in lines if str(tmp_path) not in ln)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["expost"]["examples"] == 300 and metrics["quality"]["num_examples"] == 300
    assert set(metrics["final_stages_s"]) == {"expost", "quality"}
    # By default a run that trained on more examples than its splits hold uses them whole.
    assert main([*argv, "--run-dir", str(tmp_path / "whole"), "-q"]) == 0
    metrics = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert metrics["expost"]["examples"] == 1000 and metrics["quality"]["num_examples"] == 447
