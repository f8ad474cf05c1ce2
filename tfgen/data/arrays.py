"""In-memory image sources from files: `fashion_mnist`, `idx:DIR` (MNIST-format IDX files) and
`npz:PATH` (a user's own arrays), and the held-out splits of sources that have none.

Held-out splits. A user's folder or array file has no val/test split of its own, yet evaluation,
model selection and tuning need them. Each example is assigned once and for all by a stable hash
of its key (a file's path relative to the folder, an array row's index): u = sha256(key) mapped
to [0, 1); u < test_fraction -> test, u < test_fraction + val_fraction -> val, else train. Adding
files or rows never moves an existing example between splits. Formats with their own split (the
IDX test files, `x_test` in an npz) keep it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os

import numpy as np

from tfgen import fileio
from tfgen.errors import DataError, reason

log = logging.getLogger("tfgen")

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
# Where Debian's package `dataset-fashion-mnist` installs the four IDX files.
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_VAL = 5_000  # the last 5,000 of the train file (PROTOCOLS.md section 4)
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ---------------------------------------------------------------------------------------------
# Held-out splits


def hash_fraction(key: str) -> float:
    """A stable number in [0, 1) for `key` (the first 8 bytes of its sha256)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_splits(keys, val_fraction: float, test_fraction: float) -> np.ndarray:
    """Split of each key: 0 train, 1 val, 2 test, by `hash_fraction` (see the module doc)."""
    u = np.array([hash_fraction(str(k)) for k in keys], np.float64)
    return np.where(u < test_fraction, 2, np.where(u < test_fraction + val_fraction, 1, 0))


def fixed_subset(length: int, n: int) -> np.ndarray:
    """Sorted indices of `n` of `length` examples: a random subset fixed by the data's size
    alone (NumPy seed 0), so every run, seed and model draws the same examples (a folder's
    files, for one, come sorted by class: its first `n` would be its first classes)."""
    return np.sort(np.random.default_rng(0).permutation(length)[:n])


def split_arrays(x, y, keys, val_fraction: float, test_fraction: float, name: str,
                 own: dict | None = None) -> dict:
    """{split: (x, y)} with val/test held out by key hash; `own` holds splits the format brings
    (those are not drawn from the hash). Empty splits are left out."""
    own = dict(own or {})
    val_fraction = 0.0 if "val" in own else val_fraction
    test_fraction = 0.0 if "test" in own else test_fraction
    which = assign_splits(keys, val_fraction, test_fraction)
    out = {}
    for index, split in enumerate(("train", "val", "test")):
        if split in own:
            out[split] = own[split]
            continue
        mask = which == index
        if mask.any():
            out[split] = (x[mask], None if y is None else y[mask])
    if "train" not in out:
        raise DataError(f"dataset {name!r}: no examples left for training after holding out "
                        f"val_fraction={val_fraction} and test_fraction={test_fraction}")
    held = {split: int((which == index).sum()) for index, split in enumerate(("train", "val",
                                                                                "test"))}
    if held["val"] + held["test"]:  # a small dataset's train split can miss its extremes
        log.info("%s: %d of %d examples held out (%d val, %d test) by a hash of each "
                 "example's name (data.val_fraction=%g, data.test_fraction=%g); %d left for "
                 "training", name, held["val"] + held["test"], len(which), held["val"],
                 held["test"], val_fraction, test_fraction, held["train"])
    return out


# ---------------------------------------------------------------------------------------------
# IDX files


def read_bytes(path: str) -> bytes:
    """The contents of `path`, decompressed when it ends in .gz."""
    try:
        data = fileio.read_bytes(path)
        return gzip.decompress(data) if path.endswith(".gz") else data
    except Exception as err:  # OSError, gzip's BadGzipFile, TensorFlow's errors on a bucket
        raise DataError(f"cannot read IDX file {path}: {reason(err)}") from None


def read_idx(path: str) -> np.ndarray:
    """An IDX file (the MNIST format; gzip-compressed or not) as a NumPy array."""
    raw = read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], ">u4")) if ndim else ()
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"IDX file {path} is truncated or corrupt: header says {dims} "
                        f"({expected} bytes of data), file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def find_idx(directory: str, stem: str) -> str | None:
    """`directory/stem` or `directory/stem.gz` (also the `stem` with '-idx3-ubyte' written
    '.idx3-ubyte', as some mirrors name them), or None."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (name, name + ".gz"):
            path = fileio.join(directory, candidate)
            if fileio.isfile(path):
                return path
    return None


def _images(array: np.ndarray, path: str) -> np.ndarray:
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise DataError(f"{path}: expected images [N, H, W] or [N, H, W, 1|3]; got shape "
                        f"{array.shape}")
    return array


def _labels(array: np.ndarray, count: int, path: str, images: str) -> np.ndarray:
    if array.ndim != 1:
        raise DataError(f"{path}: labels must be one number per image; got shape {array.shape}")
    if len(array) != count:
        raise DataError(f"{path} has {len(array)} labels but {images} has {count} images")
    if not np.issubdtype(array.dtype, np.integer) or (len(array) and array.min() < 0):
        raise DataError(f"{path}: labels must be non-negative integers")
    return array.astype(np.int32)


def read_idx_dir(directory: str) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """{"train": (x, y), "test": (x, y)} from the MNIST-format files in `directory` (test and
    labels where present; x [N, H, W, 1] uint8, y int32 or None)."""
    if not fileio.isdir(directory):
        raise DataError(f"IDX directory not found: {directory}")
    out = {}
    for split, prefix in (("train", "train"), ("test", "test")):
        images = find_idx(directory, IDX_FILES[f"{prefix}_images"])
        if images is None:
            if split == "train":
                raise DataError(f"no {IDX_FILES['train_images']}[.gz] in {directory} (an idx: "
                                "directory holds MNIST-format files)")
            continue
        x = _images(read_idx(images), images)
        labels = find_idx(directory, IDX_FILES[f"{prefix}_labels"])
        y = _labels(read_idx(labels), len(x), labels, images) if labels else None
        out[split] = (x, y)
    if "test" in out and out["test"][0].shape[1:] != out["train"][0].shape[1:]:
        raise DataError(f"{directory}: train images are {out['train'][0].shape[1:]}, test images "
                        f"{out['test'][0].shape[1:]}")
    return out


def fashion_mnist_dir(data_dir: str | None) -> str:
    """The directory holding Fashion-MNIST's IDX files: `data_dir` (or its `fashion-mnist`
    sub-folder), else Debian's install location; a one-line `DataError` where neither has them."""
    candidates = []
    if data_dir:
        candidates += [data_dir, os.path.join(data_dir, "fashion-mnist")]
    candidates.append(DEBIAN_FASHION_MNIST)
    for directory in candidates:
        if all(find_idx(directory, stem) for stem in IDX_FILES.values()):
            return directory
    where = f"{data_dir} or {DEBIAN_FASHION_MNIST}" if data_dir else DEBIAN_FASHION_MNIST
    raise DataError(f"Fashion-MNIST's IDX files are not in {where}; install them with "
                    "`apt-get install dataset-fashion-mnist` (or use data.name=tfds:fashion_mnist "
                    "with internet)")


def fashion_mnist_arrays(data_dir: str | None = None) -> dict:
    """Fashion-MNIST's splits per PROTOCOLS.md section 4: train = the first 55,000 of the train
    file, val = its last 5,000, test = the 10,000 of the test file."""
    directory = fashion_mnist_dir(data_dir)
    files = read_idx_dir(directory)
    (x, y), test = files["train"], files["test"]
    if x.shape != (60_000, 28, 28, 1) or test[0].shape != (10_000, 28, 28, 1) or y is None:
        raise DataError(f"the files in {directory} are not Fashion-MNIST "
                        f"(train {x.shape}, test {test[0].shape})")
    cut = len(x) - FASHION_MNIST_VAL
    return {"train": (x[:cut], y[:cut]), "val": (x[cut:], y[cut:]), "test": test}


# ---------------------------------------------------------------------------------------------
# npz files


NPZ_KEYS = ("x", "y", "x_val", "y_val", "x_test", "y_test", "class_names")


def read_npz(path: str) -> dict:
    """The arrays of a user's `.npz`: `x` [N, H, W] or [N, H, W, C] (C = 1 or 3), uint8 (0..255)
    or float (in [0, 1]); optional `y` (integer labels, one per image), `x_val`/`y_val`,
    `x_test`/`y_test` (the file's own splits) and `class_names`. Images come back as uint8 or
    float32 [N, H, W, C]."""
    if not fileio.isfile(path):
        raise DataError(f"npz file not found: {path}")
    try:
        with np.load(io.BytesIO(fileio.read_bytes(path)), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:  # zip and format errors come in many types; all mean "unreadable"
        raise DataError(f"cannot read {path} as an .npz file ({err})") from None
    unknown = sorted(set(arrays) - set(NPZ_KEYS))
    if "x" not in arrays:
        raise DataError(f"{path} has no array 'x' (arrays found: {', '.join(arrays) or 'none'}); "
                        f"valid keys: {', '.join(NPZ_KEYS)}")
    if unknown:
        raise DataError(f"{path}: unknown array(s) {', '.join(unknown)}; valid keys: "
                        f"{', '.join(NPZ_KEYS)}")
    out = {}
    for suffix in ("", "_val", "_test"):
        xk, yk = f"x{suffix}", f"y{suffix}"
        if xk not in arrays:
            if yk in arrays:
                raise DataError(f"{path} has '{yk}' but no '{xk}'")
            continue
        x = arrays[xk]
        where = f"{path}['{xk}']"
        if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
            raise DataError(f"{where}: images must be uint8 (0..255) or float (0..1); got "
                            f"{x.dtype}")
        x = _images(x, where)
        if np.issubdtype(x.dtype, np.floating):
            lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo >= 0.0 and hi <= 1.0):
                raise DataError(f"{where}: float images must lie in [0, 1]; got {lo:g}..{hi:g}")
            x = x.astype(np.float32)
        y = _labels(arrays[yk], len(x), f"{path}['{yk}']", where) if yk in arrays else None
        out[suffix.lstrip("_") or "train"] = (x, y)
    shapes = {k: v[0].shape[1:] for k, v in out.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"{path}: image shapes differ between splits: {shapes}")
    has_labels = {k: v[1] is not None for k, v in out.items()}
    if len(set(has_labels.values())) > 1:
        raise DataError(f"{path}: some splits have labels and others not: {has_labels}")
    if len({v[0].dtype for v in out.values()}) > 1:
        raise DataError(f"{path}: image dtypes differ between splits")
    if "class_names" in arrays:
        out["class_names"] = tuple(str(c) for c in arrays["class_names"])
    return out
