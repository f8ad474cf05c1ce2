"""Built-in sources: ring8, grid25 (PROTOCOLS.md section 1) and digits (section 2)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tfgen import data
from tfgen.errors import ConfigError, DataError
from tfgen.trainers.config import DataOptions


def take(ds, n):
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy()
            for b in ds.take(n)]


@pytest.mark.parametrize(
    "name,k,std,means",
    [
        ("ring8", 8, 0.01, [(np.cos(2 * np.pi * i / 8), np.sin(2 * np.pi * i / 8)) for i in range(8)]),
        ("grid25", 25, 0.05, [(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)]),
    ],
)
def test_mixture_matches_protocol(name, k, std, means):
    src = data.source(name, seed=3)
    assert src.info.splits == {"train": 100_000, "test": 10_000}
    assert src.info.shape == (2,) and src.info.num_classes == k
    np.testing.assert_allclose(src.info.mixture.means, np.array(means), atol=1e-12)
    assert len({tuple(np.round(m, 9)) for m in src.info.mixture.means}) == k  # distinct modes
    x, modes = src.numpy("train")
    assert x.shape == (100_000, 2) and x.dtype == np.float32
    # Each point sits around its mode with the protocol's std, per coordinate.
    resid = x - src.info.mixture.means[modes]
    np.testing.assert_allclose(resid.std(axis=0), [std, std], rtol=0.02)
    np.testing.assert_allclose(resid.mean(axis=0), [0, 0], atol=4 * std / np.sqrt(100_000) * 3)
    # Equal mode weights: counts pass a chi-square test at the 0.1% level.
    from scipy.stats import chisquare

    assert chisquare(np.bincount(modes, minlength=k)).pvalue > 1e-3
    # Generated from the seed.
    np.testing.assert_array_equal(x, data.source(name, seed=3).numpy("train")[0])
    assert not np.array_equal(x, data.source(name, seed=4).numpy("train")[0])


def test_mixture_batches():
    (batch,) = take(data.load("grid25", batch_size=512, seed=0), 1)
    assert batch.shape == (512, 2) and batch.dtype == np.float32
    assert np.abs(batch).max() < 4 + 10 * 0.05


def test_digits_split_and_scaling():
    ref = load_digits()
    src = data.source("digits")
    assert src.info.splits == {"train": 1000, "val": 350, "test": 447}
    assert src.info.shape == (8, 8, 1) and src.info.num_classes == 10
    bounds = {"train": (0, 1000), "val": (1000, 1350), "test": (1350, 1797)}
    for split, (a, b) in bounds.items():
        x, y = src.numpy(split)
        np.testing.assert_allclose(x.reshape(-1, 64), ref.data[a:b] / 8.0 - 1.0, atol=1e-6)
        np.testing.assert_array_equal(y, ref.target[a:b])
    unit = data.source("digits", pixel_range="unit")
    x, _ = unit.numpy("test")
    np.testing.assert_allclose(x.reshape(-1, 64), ref.data[1350:] / 16.0, atol=1e-6)
    assert unit.info.value_range == (0.0, 1.0)


def test_evaluation_pass_is_file_order_and_complete():
    ref = load_digits()
    batches = take(data.load("digits", split="val", batch_size=100, training=False, labels=True), 10)
    assert [len(x) for x, _ in batches] == [100, 100, 100, 50]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(y, ref.target[1000:1350])
    np.testing.assert_allclose(x.reshape(-1, 64), ref.data[1000:1350] / 8 - 1, atol=1e-6)


def test_training_stream_is_a_permutation_per_epoch():
    # 1000 train digits, batch 250: 4 batches per epoch; each epoch holds every image once.
    ref = load_digits()
    batches = take(data.load("digits", batch_size=250, seed=7, labels=True), 8)
    for epoch in range(2):
        x = np.concatenate([b[0] for b in batches[4 * epoch: 4 * epoch + 4]]).reshape(-1, 64)
        order = np.lexsort(x.T)
        expected = ref.data[:1000] / 8 - 1
        np.testing.assert_allclose(x[order], expected[np.lexsort(expected.T)], atol=1e-6)
    first = np.concatenate([b[1] for b in batches[:4]])
    second = np.concatenate([b[1] for b in batches[4:]])
    assert not np.array_equal(first, second)  # a new order each epoch
    assert not np.array_equal(first, ref.target[:1000])  # and not file order


def test_batches_span_epoch_boundaries():
    # 1000 images, batch 300: batch 3 holds the last 100 of epoch 0 and 200 of epoch 1.
    batches = take(data.load("digits", batch_size=300, seed=1, labels=True), 7)
    assert all(len(b[1]) == 300 for b in batches)
    labels = np.concatenate([b[1] for b in batches])
    ref = load_digits().target[:1000]
    np.testing.assert_array_equal(np.sort(labels[:1000]), np.sort(ref))
    np.testing.assert_array_equal(np.sort(labels[1000:2000]), np.sort(ref))


@pytest.mark.parametrize("name", ["ring8", "digits"])
def test_order_is_a_function_of_seed_and_epoch(name):
    a = take(data.load(name, batch_size=50, seed=5), 30)
    b = take(data.load(name, batch_size=50, seed=5), 30)
    c = take(data.load(name, batch_size=50, seed=6), 30)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    # Resuming at batch k gives exactly batches k, k+1, ... of the uninterrupted stream, also
    # across an epoch boundary (digits: 20 batches per epoch).
    resumed = take(data.load(name, batch_size=50, seed=5, start_batch=17), 13)
    for x, y in zip(a[17:], resumed):
        np.testing.assert_array_equal(x, y)


def test_errors_are_one_line():
    with pytest.raises(DataError, match="no split 'valid'.*train, val, test"):
        data.load("digits", split="valid", batch_size=10)
    with pytest.raises(ConfigError, match="unknown dataset 'digitz'"):
        data.load("digitz", batch_size=10)
    with pytest.raises(ConfigError, match="folder not found"):
        data.load(DataOptions(name="folder:/definitely/not/here"), batch_size=10)
    with pytest.raises(ConfigError, match="does not divide among 2 replicas"):
        import tensorflow as tf

        from tests.conftest import CPU_DEVICES

        data.load("ring8", batch_size=15, strategy=tf.distribute.MirroredStrategy(CPU_DEVICES))


def test_train_examples_keeps_a_fixed_subset_of_the_train_split():
    full = data.source("digits")
    small, again = data.source("digits", train_examples=120), data.source(
        "digits", train_examples=120, seed=5)
    x, y = small.numpy("train")
    assert small.info.splits == {**full.info.splits, "train": 120}
    np.testing.assert_array_equal(x, again.numpy("train")[0])  # the same images for any seed
    xf, yf = full.numpy("train")
    rows = {r.tobytes(): label for r, label in zip(xf, yf)}
    assert all(rows[r.tobytes()] == label for r, label in zip(x, y))  # real rows, own labels
    assert len(np.unique(y)) == 10
    np.testing.assert_array_equal(small.numpy("test")[0], full.numpy("test")[0])
    assert small.parent.info.splits["train"] == full.info.splits["train"]
    with pytest.raises(DataError, match="exceeds the train split's 1000 examples"):
        data.source("digits", train_examples=1001)
