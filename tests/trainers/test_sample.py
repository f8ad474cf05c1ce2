"""`tfgen sample`: grids, raw arrays, fixed seeds, labels for conditional runs."""

import numpy as np
import pytest
from PIL import Image

from tfgen.trainers.cli import main

TINY = ["--set", "batch_size=32", "--set", "model.width=8", "--set", "epochs=1",
        "--set", "steps_per_epoch=2", "-q"]


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "cgan"
    assert main(["train", "--preset", "digits-cgan", *TINY, "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_same_seed_same_samples(cgan_run, tmp_path):
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    assert main(["sample", str(cgan_run), "--num", "300", "--seed", "4", "--out", str(a), "-q"]) == 0
    assert main(["sample", str(cgan_run), "--num", "300", "--seed", "4", "--out", str(b)]) == 0
    assert main(["sample", str(cgan_run), "--num", "300", "--seed", "5", "--out", str(c), "-q"]) == 0
    x, y, z = np.load(a), np.load(b), np.load(c)
    assert x.shape == (300, 8, 8, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, y)
    assert not np.array_equal(x, z)


def test_labels_and_grid_png(cgan_run, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["sample", str(cgan_run), "--num", "20", "--labels", "7", "--out", str(out), "-q"]) == 0
    image = Image.open(out)
    assert image.size[0] >= 8 * 5 and image.mode in ("L", "RGB")
    one, seven = tmp_path / "one.npy", tmp_path / "seven.npy"
    main(["sample", str(cgan_run), "--num", "4", "--labels", "1", "--out", str(one), "-q"])
    main(["sample", str(cgan_run), "--num", "4", "--labels", "7", "--out", str(seven), "-q"])
    assert not np.allclose(np.load(one), np.load(seven))


@pytest.mark.parametrize(
    "args,message",
    [
        (["--num", "4", "--labels", "12", "--out", "x.npy"], "--labels must lie in 0..9"),
        (["--num", "4", "--labels", "a,b", "--out", "x.npy"], "--labels must be comma-separated"),
        (["--num", "4", "--out", "x.jpg"], "--out must end in .png or .npy"),
        (["--num", "0", "--out", "x.npy"], "--num must be at least 1"),
    ],
)
def test_bad_sample_requests(cgan_run, args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(cgan_run), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_not_a_run_directory(tmp_path, capsys):
    assert main(["sample", str(tmp_path), "--num", "2", "--out", "x.npy"]) == 2
    assert "is not a tfgen run directory" in capsys.readouterr().err


def test_the_installed_command_loads_every_saved_tfgen_layer(cgan_run, tmp_path):
    # The `tfgen` process imports only what a command needs (`import tfgen` loads nothing up
    # front there); loading model.keras must still find tfgen's own layers (the DCGAN's fused
    # batch norm, spectral norm, ...), which in-process tests always have imported.
    import subprocess
    import sys

    out = tmp_path / "cli.npy"
    proc = subprocess.run([sys.executable, "-m", "tfgen.trainers.cli", "sample", str(cgan_run),
                           "--num", "6", "--seed", "4", "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert main(["sample", str(cgan_run), "--num", "6", "--seed", "4", "--out",
                 str(tmp_path / "in-process.npy"), "-q"]) == 0
    np.testing.assert_array_equal(np.load(out), np.load(tmp_path / "in-process.npy"))
