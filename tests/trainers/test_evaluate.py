"""`tfgen evaluate` and `tfgen export` on real run directories; evaluation during training."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.trainers.test_train import events, scalar_steps
from tfgen.trainers.cli import main

TINY_GAN = ["--set", "batch_size=32", "--set", "model.width=8", "--set", "epochs=1",
            "--set", "steps_per_epoch=3", "-q"]
TINY_VAE = ["--set", "model.width=8", "--set", "model.latent_dim=2", "--set", "epochs=1",
            "--set", "steps_per_epoch=3", "--set", "batch_size=50", "--set",
            "model.eval_samples=10", "-q"]
RING = ["--preset", "ring8-gan", "--set", "steps_per_epoch=3", "--set", "batch_size=64",
        "--set", "model.width=16", "--set", "model.depth=1", "-q"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, preset, extra in (("gan", "digits-dcgan", TINY_GAN), ("cgan", "digits-cgan", TINY_GAN),
                                ("vae", "digits-vae", TINY_VAE)):
        assert main(["train", "--preset", preset, *extra, "--run-dir", str(root / name)]) == 0
    return root


def test_evaluate_gan_run(runs, capsys):
    assert main(["evaluate", str(runs / "gan"), "-q"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["metric", "model", "real-vs-real"]
    result = json.loads((runs / "gan" / "eval.json").read_text())
    assert set(result["metrics"]) == {"frechet_distance", "kid", "precision", "recall", "density",
                                      "coverage", "class_kl", "memorised"}
    assert result["split"] == "test" and result["preset"] == "digits-dcgan"
    for name, card in result["cards"].items():
        assert name in table
        assert card["baseline"] is not None
        assert card["baseline_split"] == ("test" if name == "memorised" else "train")
        assert card["num_generated"] == card["num_reference"] == 447
        assert card["features"]["name"] == "tfgen-convnet" and card["features"]["accuracy"] > 0.85
    # An untrained generator is far from the data; real train images are close to the test ones.
    assert result["metrics"]["frechet_distance"] > 3 * result["baselines"]["frechet_distance"]


def test_evaluate_vae_run(runs, capsys):
    assert main(["evaluate", str(runs / "vae"), "--num", "200", "--nll-samples", "50", "-q"]) == 0
    result = json.loads((runs / "vae" / "eval.json").read_text())
    cards = result["cards"]
    assert {"nll", "elbo", "frechet_distance"} <= set(cards)
    assert cards["nll"]["importance_samples"] == 50 and cards["nll"]["num_reference"] == 447
    assert 0 < cards["nll"]["value"] <= -cards["elbo"]["value"] + 1.0
    assert cards["frechet_distance"]["num_generated"] == 200
    assert cards["nll"]["baseline"] is None and "nll" in capsys.readouterr().out


def test_cas_card_of_a_conditional_run(runs):
    from tfgen import data
    from tfgen.metrics.evaluation import Evaluator
    from tfgen.trainers.rundir import RunDir

    run = RunDir(runs / "cgan")
    source = data.source(run.config().data)
    model = run.model()
    cards = Evaluator(source, "test", num=100, cas=True, cas_steps=30, baseline=False)(model)
    card = cards["cas"]
    assert card["better"] == "max" and card["num_generated"] == 100
    assert card["num_reference"] == 447 and card["baseline_split"] == "train"
    assert 0.0 <= card["value"] <= 1.0 and card["baseline"] > 0.3  # 30 steps on 100 images
    assert "cas" not in Evaluator(source, "test", num=100, baseline=False).available(model)


def test_sample_without_out_writes_samples_png_here(runs, tmp_path, monkeypatch):
    # The README's `tfgen sample RUN --truncation 0.5` runs as written: --out defaults to
    # ./samples.png.
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(runs / "gan"), "--num", "4", "--truncation", "0.5", "-q"]) == 0
    assert Image.open(tmp_path / "samples.png").size[0] > 0


def test_evaluate_truncation_sweep(runs, capsys):
    assert main(["evaluate", str(runs / "gan"), "--num", "200", "--truncation", "1.0", "0.25",
                 "-q"]) == 0
    out = capsys.readouterr().out
    result = json.loads((runs / "gan" / "eval.json").read_text())
    rows = result["truncation"]
    assert [r["truncation"] for r in rows] == [0.25, 1.0, None]
    assert {"frechet_distance", "precision", "recall"} <= set(rows[0])
    # The sweep's untruncated row is the main evaluation's sample (same seed and count).
    assert rows[-1]["frechet_distance"] == pytest.approx(
        result["metrics"]["frechet_distance"], rel=1e-6)
    assert rows[0]["frechet_distance"] != rows[1]["frechet_distance"]
    assert out.splitlines()[-4].split()[0] == "truncation"
    from PIL import Image

    picture = Image.open(runs / "gan" / "truncation.png")
    assert picture.size[0] > 2 * picture.size[1]  # three panels side by side


@pytest.mark.parametrize("args,message", [
    (["--truncation", "0"], "--truncation values must be > 0, got 0.0"),
    (["--split", "dev"], "--split 'dev': dataset 'digits' has splits train, val, test"),
    (["--num", "1000"], "--num 1000 exceeds the test split's 447 examples"),
])
def test_bad_evaluate_requests(runs, args, message, capsys):
    assert main(["evaluate", str(runs / "gan"), *args, "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_evaluate_not_a_run_directory(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == f"tfgen: error: {tmp_path} is not a tfgen run directory (no config.yaml)\n"
    assert main(["evaluate", str(tmp_path / "nope"), "-q"]) == 2


LOAD_WITHOUT_TFGEN = textwrap.dedent("""
    import sys
    sys.modules["tfgen"] = sys.modules["keras"] = None  # not importable
    import numpy as np
    import tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    labels = tf.constant([int(v) for v in sys.argv[3].split(",") if v], tf.int32)
    x = m.sample(seed=tf.constant(7, tf.int64), num=tf.constant(12), labels=labels)
    out = {"sample": x.numpy(), "value_range": m.value_range().numpy(),
           # seed as int32, labels omitted (0, 1, 2, ... for conditional models)
           "int32_no_labels": m.sample(seed=tf.constant(7, tf.int32), num=tf.constant(12)).numpy(),
           "truncated": m.sample(seed=tf.constant(7, tf.int64), num=tf.constant(12),
                                 truncation=tf.constant(0.5)).numpy()}
    if hasattr(m, "encode"):
        enc = m.encode(x=x, labels=labels)
        out["mean"] = enc["mean"].numpy()
        out["decoded"] = m.decode(z=enc["mean"], labels=labels).numpy()
    np.savez(sys.argv[2], **out)
""")


@pytest.mark.parametrize("name,labels", [("gan", ""), ("cgan", "3"), ("vae", "")])
def test_export_loads_without_tfgen(runs, name, labels, tmp_path):
    from tfgen.trainers.rundir import RunDir

    out = tmp_path / "saved"
    assert main(["export", str(runs / name), str(out)]) == 0
    result = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_TFGEN, str(out), str(result), labels],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.load(result)
    model = RunDir(runs / name).model()
    want = model.sample(12, seed=7, labels=[int(labels)] if labels else None)
    np.testing.assert_allclose(got["sample"], want, atol=1e-5)  # same noise, same weights
    np.testing.assert_allclose(got["int32_no_labels"], model.sample(12, seed=7), atol=1e-5)
    np.testing.assert_allclose(got["truncated"], model.sample(12, seed=7, truncation=0.5),
                               atol=1e-5)
    assert np.abs(got["truncated"] - got["int32_no_labels"]).max() > 1e-3
    assert list(got["value_range"]) == ([0.0, 1.0] if name == "vae" else [-1.0, 1.0])
    if name == "vae":
        mean, _ = model.encode(want)
        np.testing.assert_allclose(got["mean"], mean, atol=1e-5)
        np.testing.assert_allclose(got["decoded"], model.decode(mean), atol=1e-5)
    # A second export into the same directory is refused.
    assert main(["export", str(runs / name), str(out)]) == 2


def test_evaluation_during_training(tmp_path):
    run_dir = tmp_path / "ring"
    assert main(["train", *RING, "--set", "epochs=4", "--set", "evaluation.every=2",
                 "--run-dir", str(run_dir)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["monitor"] == "eval_reverse_kl" and metrics["best_epoch"] in (2, 4)
    acc = events(run_dir)
    assert scalar_steps(acc, "evaluation/reverse_kl") == [6, 12]  # epochs 2 and 4, by model step
    assert scalar_steps(acc, "evaluation/modes_covered") == [6, 12]


def test_convergence_stops(tmp_path, capsys):
    # target reached at the first evaluation (reverse KL is at most log 8 < 100)
    run_dir = tmp_path / "target"
    assert main(["train", *RING, "--set", "epochs=5", "--set", "evaluation.every=1",
                 "--set", "evaluation.target=100", "--run-dir", str(run_dir)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 3 and "reached its target 100" in metrics["stopped"]
    # Issue 30: `epochs` is what ran, not the plan (which it was before).
    assert metrics["epochs"] == 1 and metrics["epochs_planned"] == 5
    capsys.readouterr()
    assert main(["train", *RING, "--set", "epochs=6", "--set", "evaluation.every=1",
                 "--set", "evaluation.target=100", "--run-dir", str(run_dir)]) == 2
    assert "stopped early at epoch 1" in capsys.readouterr().err
    # patience: modes covered stays 0 after a few tiny steps -> no improvement after epoch 1
    run_dir = tmp_path / "patience"
    assert main(["train", *RING, "--set", "epochs=6", "--set", "evaluation.every=1",
                 "--set", "evaluation.metric=modes_covered", "--set", "evaluation.patience=2",
                 "--run-dir", str(run_dir)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["best_epoch"] == 1 and metrics["steps"] == 9
    assert metrics["epochs"] == 3 and metrics["epochs_planned"] == 6
    assert "no better eval_modes_covered for 2 checks" in metrics["stopped"]


def test_metric_that_does_not_apply(tmp_path, capsys):
    assert main(["train", *RING, "--set", "epochs=1", "--set", "evaluation.every=1",
                 "--set", "evaluation.metric=nll", "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "'evaluation.metric': 'nll' does not apply" in err and "reverse_kl" in err


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory):
    """300 of the 8x8 digits as a user's npz (uint8), as in issue 30's report."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path_factory.mktemp("npz") / "ok.npz"
    x = (digits.images[:300] * 255 / 16).round().astype(np.uint8)
    np.savez(path, x=x, y=digits.target[:300])
    return path


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_evaluation_fits_a_small_split(small_npz, tmp_path, capsys):
    # Issue 30: a preset's evaluation.num=5000 on a 300-image npz (val split of a few dozen)
    # ended the run with "--num 5000 exceeds the val split's 34 examples".
    from tfgen import data

    val = data.source(f"npz:{small_npz}").num_examples("val")
    assert 10 <= val < 100
    run_dir = tmp_path / "small"
    assert main(["train", "--preset", "digits-dcgan", *TINY_GAN, "--set", "epochs=2",
                 "--set", f"data.name=npz:{small_npz}", "--set", "evaluation.every=1",
                 "--set", "evaluation.num=5000", "--run-dir", str(run_dir)]) == 0
    notices = [line for line in capsys.readouterr().err.splitlines() if "evaluation.num" in line]
    assert notices == [f"tfgen: evaluation: the val split has {val} examples, so each evaluation "
                       f"compares {val} generated with {val} real images (evaluation.num=5000 "
                       "asks for more)"]  # once, not per evaluation
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["evaluation"]["num_samples"] == val and metrics["evaluation"]["split"] == "val"
    assert np.isfinite(metrics["evaluation"]["frechet_distance"])


def test_a_split_too_small_for_image_metrics_is_refused_at_start(small_npz, tmp_path, capsys):
    run_dir = tmp_path / "tiny-val"
    assert main(["train", "--preset", "digits-dcgan", *TINY_GAN,
                 "--set", f"data.name=npz:{small_npz}", "--set", "data.val_fraction=0.01",
                 "--set", "evaluation.every=1", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("tfgen: error: config key 'evaluation.every': the val split of npz:")
    assert "fewer than the 10 image metrics need" in err
    assert not (run_dir / "checkpoints").exists()  # before any training
