"""The Fashion-MNIST presets end to end on the real files, at tiny scale: train, sample (class
columns, ex-post sampling), evaluate with the new metrics, export."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from tfgen.data import arrays
from tfgen.trainers.cli import main

pytestmark = pytest.mark.skipif(
    not os.path.isdir(arrays.DEBIAN_FASHION_MNIST) and not os.environ.get(
        "TFGEN_REQUIRE_FASHION_MNIST"),
    reason="Debian's dataset-fashion-mnist is not installed")

TINY_GAN = ["--set", "epochs=1", "--set", "steps_per_epoch=4", "--set", "batch_size=16",
            "--set", "model.width=8", "--set", "model.latent_dim=8", "--set",
            "training.steps_per_execution=2", "--set", "evaluation.every=0",
            "--set", "training.num_samples=20", "-q"]


@pytest.fixture(scope="module")
def features_file(tmp_path_factory):
    """A small random feature model, so the tests need not train Fashion-MNIST's classifier."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(8, 4, strides=4, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(h))
    path = tmp_path_factory.mktemp("features") / "feat.keras"
    model.save(path)
    return str(path)


def test_fmnist_cgan_trains_and_draws_named_class_columns(tmp_path):
    run = tmp_path / "cgan"
    assert main(["train", "--preset", "fmnist-cgan", *TINY_GAN, "--run-dir", str(run)]) == 0
    grid = np.asarray(Image.open(run / "samples" / "epoch_0001.png"))
    assert max(grid.shape[:2]) >= 512
    out = tmp_path / "classes.png"
    assert main(["sample", str(run), "--num", "20", "--out", str(out), "-q"]) == 0
    picture = np.asarray(Image.open(out).convert("RGB"))
    # 2 rows x 10 class columns of 28x28 cells, enlarged, under a white strip of class names.
    scale = -(-512 // (10 * 29 + 1))
    assert picture.shape[1] == (10 * 29 + 1) * scale
    assert picture.shape[0] > (2 * 29 + 1) * scale
    header = picture[: picture.shape[0] - (2 * 29 + 1) * scale]
    assert (header == 255).mean() > 0.6 and (header < 128).any()


def test_fmnist_dcgan_then_evaluate_reports_memorisation(tmp_path, features_file):
    run = tmp_path / "gan"
    assert main(["train", "--preset", "fmnist-dcgan", *TINY_GAN, "--run-dir", str(run)]) == 0
    assert main(["evaluate", str(run), "--num", "300", "--features", features_file, "-q"]) == 0
    result = json.loads((run / "eval.json").read_text())
    mem = result["cards"]["memorised"]
    assert mem["reference_split"] == "test" and mem["baseline"] == 0.01
    assert 0.0 <= mem["value"] <= 1.0 and mem["pixel_space"]["threshold"] > 0
    assert result["cards"]["frechet_distance"]["num_reference"] == 300


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_fmnist_vae_expost_sampling_evaluate_and_export(tmp_path, features_file):
    import tensorflow as tf

    run = tmp_path / "vae"
    assert main(["train", "--preset", "fmnist-vae", "--set", "epochs=1", "--set",
                 "steps_per_epoch=4", "--set", "batch_size=32", "--set", "model.width=8",
                 "--set", "model.latent_dim=4", "--set", "model.eval_samples=2", "--set",
                 "model.expost_components=3", "--set", "training.steps_per_execution=2",
                 "-q", "--run-dir", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    # Issue 30: a short run's final stages fit it (4 steps x 32 trained: the floor of 1,000,
    # not 55,000 codes and 10,000 test NLLs).
    assert metrics["expost"]["components"] == 3 and metrics["expost"]["examples"] == 1000
    assert metrics["quality"]["num_examples"] == 1000
    assert set(metrics["final_stages_s"]) == {"expost", "quality"}
    out = tmp_path / "expost.npy"
    assert main(["sample", str(run), "--num", "5", "--sampler", "expost", "--out", str(out),
                 "-q"]) == 0
    assert np.load(out).shape == (5, 28, 28, 1)
    assert main(["evaluate", str(run), "--num", "200", "--features", features_file,
                 "--nll-samples", "3", "--nll-examples", "40", "-q"]) == 0
    cards = json.loads((run / "eval.json").read_text())["cards"]
    nll = cards["nll"]
    assert nll["num_reference"] == 40 and nll["standard_error"] > 0
    assert nll["bits_per_dim"] == pytest.approx(nll["value"] / (784 * np.log(2)))
    assert "expost_frechet_distance" in cards
    assert main(["export", str(run), str(tmp_path / "saved")]) == 0
    served = tf.saved_model.load(str(tmp_path / "saved"))
    got = served.sample_expost(seed=tf.constant(0, tf.int64), num=tf.constant(5)).numpy()
    np.testing.assert_allclose(got, np.load(tmp_path / "expost.npy"), atol=1e-5)


def test_sampler_expost_needs_an_expost_density(tmp_path):
    run = tmp_path / "gan"
    assert main(["train", "--preset", "fmnist-dcgan", *TINY_GAN, "--run-dir", str(run)]) == 0
    assert main(["sample", str(run), "--sampler", "expost", "--out",
                 str(tmp_path / "x.png"), "-q"]) == 2
