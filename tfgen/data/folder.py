"""`folder:PATH` sources: a directory of images, optionally one sub-folder per class.

Images are decoded with Pillow up front, so an unreadable file is reported by name (or skipped
and counted when `data.skip_corrupt` is set) before training starts, never deep inside a
TensorFlow op. The decoded images are held in memory as uint8.
"""

from __future__ import annotations

import io
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tfgen import fileio
from tfgen.data.options import DataOptions
from tfgen.errors import DataError, reason

log = logging.getLogger("tfgen")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "P;L"}


def _images_under(path: str) -> list[str]:
    found = []
    for root, dirs, files in fileio.walk(path):
        dirs.sort()
        found.extend(
            fileio.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)
        )
    return found


def list_images(path: str) -> tuple[list[str], list[int] | None, list[str] | None]:
    """(files, labels, class names): class mode when sub-folders of `path` hold images."""
    entries = sorted(fileio.listdir(path))
    top = [
        fileio.join(path, e) for e in entries
        if e.lower().endswith(IMAGE_EXTENSIONS) and fileio.isfile(fileio.join(path, e))
    ]
    classes = [
        e for e in entries
        if fileio.isdir(fileio.join(path, e)) and _images_under(fileio.join(path, e))
    ]
    if classes and top:
        raise DataError(
            f"folder {path} has images at its top level and in class sub-folders; use one or "
            "the other"
        )
    if classes:
        files, labels = [], []
        for index, name in enumerate(classes):
            members = _images_under(fileio.join(path, name))
            files.extend(members)
            labels.extend([index] * len(members))
        return files, labels, classes
    if not top:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found in folder {path}")
    return top, None, None


def _open_image(path: str):
    """PIL's image of `path` (a remote one read whole first: PIL seeks)."""
    from PIL import Image

    if fileio.is_remote(path):
        return Image.open(io.BytesIO(fileio.read_bytes(path)))
    return Image.open(path)


def _decode(path: str, channels: int, size: int | None) -> np.ndarray:
    from PIL import Image

    with _open_image(path) as image:
        image.load()
        image = _to_8bit(image)
        image = image.convert("L" if channels == 1 else "RGB")
    if size is not None:
        w, h = image.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != size:
            image = image.resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def _to_8bit(image):
    """16-bit grayscale (Pillow's modes I;16, I;16B, I;16L) scaled from 0..65535 to 0..255, so
    a 16-bit image spans the same [-1, 1] or [0, 1] as an 8-bit one (Pillow's `convert("L")`
    would clip it at 255); 32-bit integer images (mode I) likewise when a value exceeds 255,
    else taken as 8-bit values. 16-bit colour PNGs Pillow reads as 8-bit RGB itself. Images
    with transparency are composited over white (converting would drop alpha and keep
    whatever colour the transparent pixels hold)."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return Image.fromarray(np.round(np.clip(values, 0, peak) / peak * 255).astype(np.uint8),
                               "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image


def _channels_of(path: str) -> int:

    with _open_image(path) as image:
        return 1 if image.mode in _GRAY_MODES else 3


def folder_source(path: str, cfg: DataOptions):
    """Decode every image under `path` into an `ArraySource`; val and test are held out by a
    hash of each file's path relative to `path` (`tfgen.data.arrays.split_arrays`)."""
    from tfgen.data.arrays import split_arrays
    from tfgen.data.sources import ArraySource, image_info

    files, labels, class_names = list_images(path)
    channels = cfg.channels
    failures: list[tuple[str, str]] = []

    def read(file: str):
        try:
            return _decode(file, channels, cfg.image_size)
        except Exception as err:  # Pillow raises many types for bad files; all mean "unreadable"
            return (file, reason(err))

    if channels is None:  # the majority's (ties: colour), from the headers
        counts = {1: 0, 3: 0}
        for file in files:
            try:
                counts[_channels_of(file)] += 1
            except Exception:
                continue
        channels = 1 if counts[1] > counts[3] else 3
        if counts[1] and counts[3]:
            log.info("folder %s mixes %d grayscale and %d colour images: all are read with %d "
                     "channel(s) (set data.channels to choose)", path, counts[1], counts[3],
                     channels)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(read, files))

    images, kept_labels, kept_files = [], [], []
    shape = None
    for i, result in enumerate(results):
        if isinstance(result, tuple):
            if not cfg.skip_corrupt:
                file, why = result
                raise DataError(
                    f"cannot read image {file}: {why} (set data.skip_corrupt=true to skip "
                    "unreadable files)"
                )
            failures.append(result)
            continue
        if shape is None:
            shape = result.shape
        elif result.shape != shape:
            raise DataError(
                f"image {files[i]} is {result.shape[1]}x{result.shape[0]}, others are "
                f"{shape[1]}x{shape[0]}; set data.image_size to resize all images"
            )
        images.append(result)
        kept_files.append(fileio.relpath(files[i], path))
        if labels is not None:
            kept_labels.append(labels[i])
    if failures:
        log.warning(
            "skipped %d unreadable image(s) in %s (first: %s: %s)",
            len(failures), path, failures[0][0], failures[0][1],
        )
    if not images:
        raise DataError(f"no readable images in folder {path}")
    x = np.stack(images)
    y = np.asarray(kept_labels, np.int32) if labels is not None else None
    name = f"folder:{path}"
    splits = split_arrays(x, y, kept_files, cfg.val_fraction, cfg.test_fraction, name)
    info = image_info(name, x, splits, cfg, class_names, skipped=len(failures))
    if class_names:  # every sub-folder is a class, even one whose images all went to val/test
        info.num_classes = len(class_names)
    return ArraySource(info, splits, max_value=255.0, pixel_range=cfg.pixel_range)
