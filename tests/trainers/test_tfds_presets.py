"""The TFDS presets train through the real tfds.load path (mock data: no download)."""

import tensorflow_datasets as tfds

from trainers.cli import main


def test_mnist_dcgan_trains_on_mock_mnist(tmp_path):
    with tfds.testing.mock_data(num_examples=64):
        code = main(["train", "--preset", "mnist-dcgan", "--set", "epochs=1",
                     "--set", "steps_per_epoch=2", "--set", "batch_size=16",
                     "--set", "model.width=8", "--run-dir", str(tmp_path / "m"), "-q"])
    assert code == 0
    assert (tmp_path / "m" / "generator.keras").exists()


def test_cifar10_sngan_trains_on_mock_cifar(tmp_path):
    with tfds.testing.mock_data(num_examples=64):
        code = main(["train", "--preset", "cifar10-sngan", "--set", "epochs=1",
                     "--set", "steps_per_epoch=1", "--set", "batch_size=8",
                     "--set", "model.width=8", "--run-dir", str(tmp_path / "c"), "-q"])
    assert code == 0
    assert (tmp_path / "c" / "samples" / "epoch_0001.png").exists()


def test_mnist_vae_trains_on_mock_mnist(tmp_path):
    with tfds.testing.mock_data(num_examples=64):
        code = main(["train", "--preset", "mnist-vae", "--set", "epochs=1",
                     "--set", "steps_per_epoch=2", "--set", "batch_size=16",
                     "--set", "model.width=8", "--run-dir", str(tmp_path / "v"), "-q"])
    assert code == 0
    assert (tmp_path / "v" / "decoder.keras").exists()
