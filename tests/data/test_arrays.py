"""idx:, npz:, held-out splits by hash, and Fashion-MNIST (real files) through tfgen and TFDS."""

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest
from PIL import Image

from tfgen import data
from tfgen.data import arrays
from tfgen.errors import ConfigError, DataError


def write_idx(path, array, compress=False):
    """An IDX file written by hand from the format's definition (big-endian dims after a
    4-byte magic: 0, 0, dtype code, ndim)."""
    array = np.asarray(array, np.uint8)
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += array.tobytes()
    opener = gzip.open if compress else open
    with opener(str(path) + (".gz" if compress else ""), "wb") as fh:
        fh.write(raw)


def test_read_idx_plain_and_gzip(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    write_idx(tmp_path / "a", x)
    write_idx(tmp_path / "b", x, compress=True)
    np.testing.assert_array_equal(arrays.read_idx(str(tmp_path / "a")), x)
    np.testing.assert_array_equal(arrays.read_idx(str(tmp_path / "b.gz")), x)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(DataError, match="not an IDX file"):
        arrays.read_idx(str(tmp_path / "bad"))
    (tmp_path / "short").write_bytes((tmp_path / "a").read_bytes()[:-4])
    with pytest.raises(DataError, match="truncated or corrupt"):
        arrays.read_idx(str(tmp_path / "short"))


def test_hash_splits_are_stable_when_data_grows():
    keys = [f"img_{i:05d}.png" for i in range(4000)]
    first = arrays.assign_splits(keys[:3000], 0.1, 0.2)
    grown = arrays.assign_splits(keys, 0.1, 0.2)
    np.testing.assert_array_equal(first, grown[:3000])  # adding files moves nobody
    fractions = np.bincount(grown, minlength=3) / len(keys)
    np.testing.assert_allclose(fractions, [0.7, 0.1, 0.2], atol=0.02)
    # Independent computation of one key's split.
    u = int.from_bytes(hashlib.sha256(b"img_00000.png").digest()[:8], "big") / 2**64
    assert grown[0] == (2 if u < 0.2 else 1 if u < 0.3 else 0)


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.default_rng(1)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (200, 6, 6)), True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(200) % 4, True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (30, 6, 6)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(30) % 4)
    return tmp_path


def test_idx_source_keeps_its_test_files_and_hashes_val(idx_dir):
    src = data.source(f"idx:{idx_dir}", val_fraction=0.25)
    assert src.info.shape == (6, 6, 1) and src.info.num_classes == 4
    assert src.info.splits["test"] == 30  # the t10k files, not a hashed share
    val = arrays.assign_splits(range(200), 0.25, 0.0) == 1
    assert src.info.splits["val"] == val.sum() and src.info.splits["train"] == 200 - val.sum()
    raw = arrays.read_idx(str(idx_dir / "train-images-idx3-ubyte.gz"))
    x, y = src.numpy("val")
    np.testing.assert_allclose(x[..., 0], raw[val] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, (np.arange(200) % 4)[val])
    (xb, yb), = data.load(src, "train", batch_size=8, seed=3, labels=True).take(1)
    assert xb.shape == (8, 6, 6, 1) and yb.shape == (8,)


def test_idx_errors_name_the_problem(tmp_path, idx_dir):
    with pytest.raises(ConfigError, match="IDX directory not found"):
        data.source(f"idx:{tmp_path / 'nowhere'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        data.source(f"idx:{empty}")
    write_idx(idx_dir / "t10k-labels-idx1-ubyte", np.arange(29) % 4)
    with pytest.raises(DataError, match="has 29 labels but .* has 30 images"):
        data.source(f"idx:{idx_dir}")


def test_npz_source_uint8_float_and_own_splits(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (100, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "u8.npz", x=x, y=np.arange(100) % 3, class_names=["a", "b", "c"])
    src = data.source(f"npz:{tmp_path / 'u8.npz'}", val_fraction=0.2, test_fraction=0.2,
                      pixel_range="unit")
    assert src.info.class_names == ("a", "b", "c") and sum(src.info.splits.values()) == 100
    which = arrays.assign_splits(range(100), 0.2, 0.2)
    np.testing.assert_allclose(src.numpy("test")[0], x[which == 2] / 255.0, atol=1e-6)

    xf = rng.random((50, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "f.npz", x=xf, x_test=xf[:10])
    src = data.source(f"npz:{tmp_path / 'f.npz'}", pixel_range="unit")
    assert src.info.shape == (5, 5, 1) and src.info.num_classes is None
    assert src.info.splits["test"] == 10  # the file's own test split
    assert src.info.splits["train"] + src.info.splits.get("val", 0) == 50
    np.testing.assert_allclose(src.numpy("test")[0][..., 0], xf[:10], atol=1e-7)


@pytest.mark.parametrize("arrays_, message", [
    ({"images": np.zeros((3, 4, 4), np.uint8)}, "no array 'x' .* images"),
    ({"x": np.zeros((3, 4, 4), np.uint8), "labels": np.zeros(3)}, "unknown array.*labels"),
    ({"x": np.zeros((3, 4), np.uint8)}, r"expected images \[N, H, W\]"),
    ({"x": np.zeros((3, 4, 4, 2), np.uint8)}, r"\[N, H, W, 1\|3\]"),
    ({"x": np.zeros((3, 4, 4), np.int64)}, "uint8 .* or float .*; got int64"),
    ({"x": np.full((3, 4, 4), 2.0)}, r"must lie in \[0, 1\]; got 2..2"),
    ({"x": np.zeros((3, 4, 4), np.uint8), "y": np.zeros(4, np.int64)}, "has 4 labels but"),
    ({"x": np.zeros((3, 4, 4), np.uint8), "y": np.zeros(3)}, "non-negative integers"),
    ({"x": np.zeros((3, 4, 4), np.uint8), "y_test": np.zeros(3, int)}, "'y_test' but no 'x_test'"),
])
def test_npz_errors_are_one_line(tmp_path, arrays_, message):
    np.savez(tmp_path / "bad.npz", **arrays_)
    with pytest.raises(DataError, match=message) as err:
        data.source(f"npz:{tmp_path / 'bad.npz'}")
    assert "\n" not in str(err.value)


def test_npz_missing_and_unreadable(tmp_path):
    with pytest.raises(ConfigError, match="npz file not found"):
        data.source(f"npz:{tmp_path / 'none.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read .* as an .npz file"):
        data.source(f"npz:{tmp_path / 'junk.npz'}")


def test_folder_holds_out_val_and_test_by_file_name(tmp_path):
    for i in range(60):
        Image.fromarray(np.full((4, 4), i, np.uint8), mode="L").save(tmp_path / f"im{i:03d}.png")
    src = data.source(f"folder:{tmp_path}", val_fraction=0.2, test_fraction=0.2)
    names = [f"im{i:03d}.png" for i in range(60)]
    which = arrays.assign_splits(names, 0.2, 0.2)
    for index, split in enumerate(("train", "val", "test")):
        x, _ = src.numpy(split)
        np.testing.assert_allclose(x[:, 0, 0, 0], np.arange(60)[which == index] / 127.5 - 1,
                                   atol=1e-6)
    # New files leave the held-out sets as they were.
    for i in range(60, 90):
        Image.fromarray(np.full((4, 4), i, np.uint8), mode="L").save(tmp_path / f"im{i:03d}.png")
    grown = data.source(f"folder:{tmp_path}", val_fraction=0.2, test_fraction=0.2)
    old_test = set(np.round((src.numpy("test")[0][:, 0, 0, 0] + 1) * 127.5).astype(int))
    new_test = set(np.round((grown.numpy("test")[0][:, 0, 0, 0] + 1) * 127.5).astype(int))
    assert old_test <= new_test and all(v < 60 for v in old_test)


def test_fractions_must_leave_training_data(tmp_path):
    from tfgen.trainers import presets

    with pytest.raises(ConfigError, match="val_fraction \\+ test_fraction must be < 1"):
        presets.resolve("digits-dcgan", overrides=["data.val_fraction=0.5",
                                                   "data.test_fraction=0.5"])


# -- Fashion-MNIST: the real files (CI installs Debian's dataset-fashion-mnist) -----------------


def _debian_files():
    if not os.path.isdir(arrays.DEBIAN_FASHION_MNIST):
        if os.environ.get("TFGEN_REQUIRE_FASHION_MNIST"):
            pytest.fail("Fashion-MNIST missing: apt-get install -y dataset-fashion-mnist")
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    return arrays.DEBIAN_FASHION_MNIST


def _independent_read(path, header):
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), np.uint8, offset=header)


def test_fashion_mnist_splits_follow_the_protocol():
    d = _debian_files()
    src = data.source("fashion_mnist")
    assert src.info.splits == {"train": 55_000, "val": 5_000, "test": 10_000}
    assert src.info.shape == (28, 28, 1) and src.info.class_names[5] == "Sandal"
    images = _independent_read(os.path.join(d, "train-images-idx3-ubyte.gz"), 16)
    labels = _independent_read(os.path.join(d, "train-labels-idx1-ubyte.gz"), 8)
    x, y = src.numpy("val")  # the last 5,000 of the train file
    np.testing.assert_allclose(x.reshape(5000, -1), images.reshape(60000, -1)[55000:] / 127.5 - 1,
                               atol=1e-6)
    np.testing.assert_array_equal(y, labels[55000:])
    np.testing.assert_array_equal(np.bincount(src.arrays["test"][1]), [1000] * 10)


def test_fashion_mnist_missing_files_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(arrays, "DEBIAN_FASHION_MNIST", str(tmp_path / "absent"))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist.*tfds:fashion_mnist"):
        data.source("fashion_mnist", data_dir=str(tmp_path))


def test_fashion_mnist_from_data_dir(tmp_path):
    d = _debian_files()
    for name in os.listdir(d):  # a copy elsewhere, found through data.data_dir
        os.symlink(os.path.join(d, name), tmp_path / name)
    assert arrays.fashion_mnist_dir(str(tmp_path)) == str(tmp_path)


def test_tfds_fashion_mnist_prepares_offline_through_tfds(tmp_path):
    """TFDS's real download_and_prepare path (DownloadManager, example generation, TFRecords,
    dataset_info), fed the local files: the content matches the IDX files exactly."""
    d = _debian_files()
    src = data.source("tfds:fashion_mnist", data_dir=str(tmp_path), pixel_range="unit")
    assert src.info.splits == {"train": 60_000, "test": 10_000}
    assert os.path.isdir(tmp_path / "fashion_mnist")
    xs, ys = [], []
    for xb, yb in data.load(src, "test", batch_size=2500, training=False, labels=True):
        xs.append(np.round(xb.numpy() * 255).astype(np.uint8).reshape(len(xb), -1))
        ys.append(yb.numpy())
    got_x, got_y = np.concatenate(xs), np.concatenate(ys)
    want_x = _independent_read(os.path.join(d, "t10k-images-idx3-ubyte.gz"), 16).reshape(10000, -1)
    want_y = _independent_read(os.path.join(d, "t10k-labels-idx1-ubyte.gz"), 8)
    # TFDS stores examples in its own order: compare (image, label) pairs as multisets.
    got = sorted(zip(map(bytes, got_x), got_y))
    want = sorted(zip(map(bytes, want_x), want_y))
    assert got == want
    # Prepared once: a second source reads what TFDS wrote, offline.
    again = data.source("tfds:fashion_mnist", data_dir=str(tmp_path), download=False)
    assert again.info.splits == {"train": 60_000, "test": 10_000}
