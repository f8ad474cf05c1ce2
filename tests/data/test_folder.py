"""folder:PATH sources: class sub-folders, resizing, and unreadable files."""

import numpy as np
import pytest
from PIL import Image

from tfgen import data
from tfgen.errors import DataError


def write_png(path, value, size=(12, 10), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    array = np.full((size[1], size[0], channels), value, np.uint8).squeeze()
    Image.fromarray(array, mode=mode).save(path)


@pytest.fixture
def classes(tmp_path):
    for i in range(3):
        write_png(tmp_path / "cats" / f"c{i}.png", 10 * i)
    for i in range(2):
        write_png(tmp_path / "dogs" / "nested" / f"d{i}.png", 200)
    return tmp_path


def test_class_folders_give_labels(classes):
    src = data.source(f"folder:{classes}", image_size=8)
    assert src.info.class_names == ("cats", "dogs") and src.info.num_classes == 2
    assert src.info.shape == (8, 8, 3) and src.info.splits == {"train": 5}
    (x, y), = data.load(src, split="train", batch_size=5, training=False, labels=True).take(1)
    np.testing.assert_array_equal(y.numpy(), [0, 0, 0, 1, 1])
    # Constant images survive resizing; symmetric scaling maps 0..255 to [-1, 1].
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], np.array([0, 10, 20, 200, 200]) / 127.5 - 1,
                               atol=1e-6)


def test_grayscale_flat_folder(tmp_path):
    for i in range(4):
        write_png(tmp_path / f"g{i}.png", 255, size=(6, 6), mode="L")
    src = data.source(f"folder:{tmp_path}", pixel_range="unit")
    assert src.info.shape == (6, 6, 1) and src.info.num_classes is None
    (batch,) = data.load(src, batch_size=4, seed=0).take(1)
    np.testing.assert_allclose(batch.numpy(), 1.0)
    with pytest.raises(DataError, match="has no labels"):
        data.load(src, batch_size=4, labels=True)


def test_corrupt_png_is_named(classes):
    bad = classes / "dogs" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    with pytest.raises(DataError) as err:
        data.source(f"folder:{classes}", image_size=8)
    assert str(bad) in str(err.value) and "skip_corrupt" in str(err.value)
    assert "\n" not in str(err.value)


def test_corrupt_png_skipped_and_counted(classes, caplog):
    (classes / "cats" / "zz_broken.png").write_bytes(b"garbage")
    src = data.source(f"folder:{classes}", image_size=8, skip_corrupt=True)
    assert src.info.skipped == 1 and src.info.splits == {"train": 5}
    assert "skipped 1 unreadable image" in caplog.text
    batches = list(data.load(src, batch_size=2, training=False, labels=True))
    assert sum(len(b[1]) for b in batches) == 5


def test_mixed_sizes_need_image_size(tmp_path):
    write_png(tmp_path / "a.png", 0, size=(8, 8))
    write_png(tmp_path / "b.png", 0, size=(9, 8))
    with pytest.raises(DataError, match="b.png is 9x8.*data.image_size"):
        data.source(f"folder:{tmp_path}")
    assert data.source(f"folder:{tmp_path}", image_size=4).info.shape == (4, 4, 3)


def test_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="no images"):
        data.source(f"folder:{tmp_path}")


def test_16bit_palette_and_transparent_images_are_scaled_not_clipped(tmp_path):
    values = np.linspace(346, 65463, 36).reshape(6, 6).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "a16.png")  # 16-bit grayscale PNG
    assert Image.open(tmp_path / "a16.png").mode.startswith("I")
    src = data.source(f"folder:{tmp_path}", pixel_range="unit", val_fraction=0, test_fraction=0)
    x, _ = src.numpy("train")
    np.testing.assert_allclose(x[0, ..., 0], np.round(values / 65535 * 255) / 255, atol=1e-6)
    assert x.min() < 0.01 and len(np.unique(x)) == 36  # 346 -> 1/255; not all white

    rgba = tmp_path / "rgba"
    rgba.mkdir()
    pixels = np.zeros((6, 6, 4), np.uint8)
    pixels[..., 0] = 200  # red where opaque; transparent pixels hold red too
    pixels[:3, :, 3] = 255
    Image.fromarray(pixels, "RGBA").save(rgba / "t.png")
    palette = Image.fromarray(np.full((6, 6, 3), (0, 0, 255), np.uint8)).convert("P")
    palette.save(rgba / "p.png")
    src = data.source(f"folder:{rgba}", pixel_range="unit", val_fraction=0, test_fraction=0)
    x, _ = src.numpy("train")
    byname = dict(zip(["p", "t"], x))  # files in sorted order
    np.testing.assert_allclose(byname["t"][0, 0], [200 / 255, 0, 0], atol=1e-6)
    np.testing.assert_allclose(byname["t"][5, 0], [1, 1, 1], atol=1e-6)  # over white
    np.testing.assert_allclose(byname["p"][0, 0], [0, 0, 1], atol=1e-6)


def test_a_tiny_16bit_folder_spans_its_range_across_splits_and_says_what_it_held_out(
        tmp_path, caplog):
    # Issue 30: 8 16-bit PNGs with values spanning 0..65535 gave a training batch whose range
    # was not the images' range. The scaling is right (0..65535 -> [-1, 1]); the held-out
    # split takes some of the 8, so the notice names it.
    levels = np.round(np.linspace(0, 65535, 8)).astype(np.uint16)
    for i, level in enumerate(levels):
        if i % 2:  # big-endian 16-bit TIFFs beside the PNGs (Pillow's I;16B)
            image = Image.frombytes("I;16B", (5, 4), np.full((4, 5), level, ">u2").tobytes())
            image.save(tmp_path / f"im{i}.tif")
        else:
            Image.fromarray(np.full((4, 5), level, np.uint16)).save(tmp_path / f"im{i}.png")
    assert {Image.open(f).mode for f in tmp_path.iterdir()} == {"I;16", "I;16B"}
    with caplog.at_level("INFO", logger="tfgen"):
        src = data.source(f"folder:{tmp_path}")
    splits = src.info.splits
    assert src.info.shape == (4, 5, 1)  # 16-bit grayscale, big-endian included, is grayscale
    held = splits.get("val", 0) + splits.get("test", 0)
    assert held and splits["train"] == 8 - held
    assert [r.getMessage() for r in caplog.records if "held out" in r.getMessage()] == [
        f"folder:{tmp_path}: {held} of 8 examples held out ({splits.get('val', 0)} val, "
        f"{splits.get('test', 0)} test) by a hash of each example's name "
        f"(data.val_fraction=0.1, data.test_fraction=0.1); {8 - held} left for training"]
    seen = np.sort(np.concatenate([src.numpy(split)[0][:, 0, 0, 0] for split in splits]))
    np.testing.assert_allclose(seen, np.round(levels / 65535 * 255) / 127.5 - 1, atol=1e-6)
    assert seen[0] == -1 and seen[-1] == 1  # the whole folder spans [-1, 1]
    batch = next(iter(data.load(src, "train", batch_size=splits["train"], seed=0))).numpy()
    train = src.numpy("train")[0]
    assert (batch.min(), batch.max()) == (train.min(), train.max())


def test_mixed_channels_follow_the_majority(tmp_path):
    write_png(tmp_path / "a.png", 50, mode="RGB")  # first alphabetically, but outnumbered
    for i in range(3):
        write_png(tmp_path / f"g{i}.png", 100, mode="L")
    src = data.source(f"folder:{tmp_path}", val_fraction=0, test_fraction=0)
    assert src.info.shape[-1] == 1
    assert data.source(f"folder:{tmp_path}", channels=3, val_fraction=0,
                       test_fraction=0).info.shape[-1] == 3
