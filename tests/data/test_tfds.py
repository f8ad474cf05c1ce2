"""tfds:NAME sources through the real tfds.load path, on tfds.testing.mock_data (no download)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgen import data
from tfgen.errors import ConfigError, DataError


@pytest.fixture
def mock_mnist():
    with tfds.testing.mock_data(num_examples=40):
        yield


def test_mnist_pipeline_end_to_end(mock_mnist):
    src = data.source("tfds:mnist", image_size=16)
    assert src.info.shape == (16, 16, 1) and src.info.num_classes == 10
    assert src.num_examples("train") == 40
    batches = list(data.load(src, split="train", batch_size=16, training=False, labels=True))
    assert [len(b[1]) for b in batches] == [16, 16, 8]
    x = np.concatenate([b[0].numpy() for b in batches])
    assert x.shape == (40, 16, 16, 1) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.1
    y = np.concatenate([b[1].numpy() for b in batches])
    assert y.dtype == np.int32 and set(y) <= set(range(10))
    # Same images as tfds.load itself gives, resized by area averaging.
    raw = next(iter(tfds.load("mnist", split="train", shuffle_files=False).batch(40)))
    expected = tf.image.resize(tf.cast(raw["image"], tf.float32), (16, 16), "area") / 127.5 - 1
    np.testing.assert_allclose(x, expected.numpy(), atol=1e-4)


def test_native_size_and_unit_range(mock_mnist):
    (batch,) = data.load("tfds:mnist", batch_size=8, seed=0, pixel_range="unit").take(1)
    assert batch.shape == (8, 28, 28, 1)
    assert 0.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0


def test_training_order_seeded_and_resumable(mock_mnist):
    def labels(seed, start=0, n=6):
        tf.random.set_seed(0)  # tfgen's trainers set the global seed from `seed`
        ds = data.load("tfds:mnist", batch_size=16, seed=seed, labels=True, start_batch=start)
        return np.concatenate([b[1].numpy() for b in ds.take(n)])

    a, b = labels(1), labels(1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, labels(2))
    np.testing.assert_array_equal(labels(1, start=2, n=4), a[32:])
    # 40 examples = 2.5 batches per epoch: each epoch of the stream is a new permutation.
    assert sorted(a[:40]) == sorted(a[40:80]) and list(a[:40]) != list(a[40:80])


def test_unknown_tfds_name():
    with pytest.raises(ConfigError, match="TFDS has no dataset 'mnistt'"):
        data.source("tfds:mnistt")


def test_not_prepared_without_download_names_the_config_key(tmp_path):
    src = data.source("tfds:mnist", data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError) as err:
        src.dataset("train", 8, seed=0, training=True, labels=False)
    text = str(err.value)
    assert "is not prepared in" in text and "data.download=true" in text
    assert "download=True" not in text and "\n" not in text


def test_offline_download_fails_fast_with_one_line(tmp_path):
    """No network (this machine and CI reach only package registries): TFDS alone retried for
    3.5 minutes before failing."""
    import socket
    import time

    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=3).close()
        pytest.skip("storage.googleapis.com is reachable: not offline")
    except OSError:
        pass
    src = data.source("tfds:mnist", data_dir=str(tmp_path), download=True)
    begin = time.time()
    with pytest.raises(DataError) as err:
        src.dataset("train", 8, seed=0, training=True, labels=False)
    assert time.time() - begin < 30
    text = str(err.value)
    assert text.startswith("cannot download TFDS dataset 'mnist': no connection") and (
        "\n" not in text and len(text) <= 300), text


def test_the_cache_holds_decoded_uint8_and_batches_are_scaled_after_it(mock_mnist):
    """Images are cached as TFDS decodes them (uint8, a quarter of float32's host memory) and
    scaled to [-1, 1] after the cache: the batches are those of the decoded images scaled."""
    src = data.source("tfds:mnist")
    decoded = src.decoded("train", labels=True)
    assert decoded.element_spec[0].dtype == tf.uint8
    raw = np.stack([x.numpy() for x, _ in decoded.take(8)])
    (batch,) = src.dataset("train", 8, seed=0, training=False, labels=False).take(1)
    np.testing.assert_array_equal(batch.numpy(),
                                  raw.astype(np.float32) / np.float32(255.0) * 2.0 - 1.0)
    resized = data.source("tfds:mnist", image_size=16).decoded("train", labels=False)
    assert resized.element_spec[0].dtype == tf.float32  # area resampling keeps its fractions
