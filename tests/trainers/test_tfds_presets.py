"""The TFDS presets train through the real tfds.load path (mock data: no download)."""

import pytest
import tensorflow_datasets as tfds

from tfgen.trainers.cli import main


@pytest.mark.parametrize(
    "preset,overrides,artifact",
    [
        ("mnist-dcgan", ["steps_per_epoch=2", "batch_size=16"], "generator.keras"),
        # (slow: 30-45 s, mostly the ResNet's tracing; the preset matrix trains it too)
        pytest.param("cifar10-sngan", ["steps_per_epoch=1", "batch_size=8"],
                     "samples/epoch_0001.png", marks=pytest.mark.slow),
        ("mnist-vae", ["steps_per_epoch=2", "batch_size=16"], "decoder.keras"),
    ],
)
def test_tfds_preset_trains_on_mock_data(preset, overrides, artifact, tmp_path):
    sets = [arg for o in [*overrides, "epochs=1", "model.width=8"] for arg in ("--set", o)]
    with tfds.testing.mock_data(num_examples=64):
        code = main(["train", "--preset", preset, *sets, "--run-dir", str(tmp_path / "r"), "-q"])
    assert code == 0
    assert (tmp_path / "r" / artifact).exists()
