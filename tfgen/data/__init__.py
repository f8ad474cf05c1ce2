"""Datasets: a name plus options in, a `tf.data.Dataset` ready for `fit` out.

Names (see `tfgen datasets`):
    ring8, grid25   2-D Gaussian mixtures (PROTOCOLS.md section 1), generated from the seed.
    digits          scikit-learn's bundled 8x8 digits, split and scaled per PROTOCOLS.md section 2.
    fashion_mnist   Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist), PROTOCOLS.md sec. 4.
    tfds:NAME       any TensorFlow Datasets image dataset (mnist, cifar10, celeb_a, ...).
    folder:PATH     a directory of images, optionally one sub-folder per class.
    idx:DIR         MNIST-format IDX files (train-images-idx3-ubyte[.gz], ...).
    npz:PATH        a user's arrays: x [N, H, W(, C)], optional y.

folder:, idx: and npz: sources hold out val and test examples by a stable hash of each example's
key (`data.val_fraction`, `data.test_fraction`; see `tfgen.data.arrays`).

Example:

>>> ds = tfgen.data.load("ring8", batch_size=512, seed=0)          # endless training stream
>>> ds = tfgen.data.load("digits", split="test", batch_size=100, training=False, labels=True)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import tensorflow as tf

from tfgen.config import DataConfig
from tfgen.data import pipeline
from tfgen.data.mixtures import MIXTURES, Mixture
from tfgen.errors import ConfigError, DataError

BUILTIN = {
    "ring8": "8 Gaussians on the unit circle, std 0.01 (2-D points; PacGAN protocol)",
    "grid25": "25 Gaussians on a 5x5 grid with spacing 2, std 0.05 (2-D points; PacGAN protocol)",
    "digits": "scikit-learn's 8x8 handwritten digits, 10 classes: 1000 train / 350 val / 447 test",
    "fashion_mnist": "Fashion-MNIST 28x28 grayscale, 10 classes: 55000 train / 5000 val / 10000 "
    "test (apt-get install dataset-fashion-mnist; or the IDX files in data.data_dir)",
}
FORMS = {
    "tfds:NAME": "a TensorFlow Datasets image dataset, e.g. tfds:mnist, tfds:cifar10, tfds:celeb_a "
    "(data.data_dir, data.image_size)",
    "folder:PATH": "a directory of images (png, jpg, bmp, gif, webp), optionally one sub-folder per "
    "class (data.image_size, data.channels, data.skip_corrupt)",
    "idx:DIR": "MNIST-format IDX files in DIR: train-images-idx3-ubyte[.gz], optional labels and "
    "t10k-* test files",
    "npz:PATH": "a NumPy .npz: x [N, H, W] or [N, H, W, C] uint8 or float in [0, 1], optional y "
    "(labels), x_val/y_val, x_test/y_test, class_names",
}


@dataclasses.dataclass
class DatasetInfo:
    """What a model needs to know about a dataset.

    Attributes:
        name: the dataset name as given.
        kind: "points" (2-D mixtures) or "images".
        shape: shape of one sample, e.g. (2,) or (8, 8, 1).
        splits: number of examples per split.
        num_classes: number of label classes, None when the source has no labels.
        value_range: (low, high) of sample values, None for unbounded points.
        class_names: label names, where the source has them.
        skipped: unreadable files skipped (folder sources with skip_corrupt).
        mixture: the true mixture for ring8/grid25.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    splits: dict[str, int]
    num_classes: int | None = None
    value_range: tuple[float, float] | None = None
    class_names: tuple[str, ...] | None = None
    skipped: int = 0
    mixture: Mixture | None = None


def check_name(name: str, key: str = "data.name") -> None:
    """Fail with one line if `name` is not a dataset tfgen can load."""
    if name in BUILTIN:
        return
    prefix, sep, rest = name.partition(":")
    if sep and prefix == "tfds" and rest:
        from tfgen.data import tfds_source

        tfds_source.check_name(rest, key)
        return
    if sep and prefix in ("folder", "idx") and rest:
        if not os.path.isdir(rest):
            what = "folder" if prefix == "folder" else "IDX directory"
            raise ConfigError(f"config key '{key}': {what} not found: {rest}")
        return
    if sep and prefix == "npz" and rest:
        if not os.path.isfile(rest):
            raise ConfigError(f"config key '{key}': npz file not found: {rest}")
        return
    raise ConfigError(
        f"config key '{key}': unknown dataset {name!r}; choose from: "
        f"{', '.join(BUILTIN)}, {', '.join(FORMS)}"
    )


class Source:
    """A dataset: its `info` and batched `tf.data` pipelines over its splits."""

    info: DatasetInfo

    def check_split(self, split: str) -> None:
        if split not in self.info.splits:
            raise DataError(
                f"dataset {self.info.name!r} has no split {split!r}; "
                f"choose from: {', '.join(self.info.splits)}"
            )

    def num_examples(self, split: str) -> int:
        """Number of examples in `split`."""
        self.check_split(split)
        return self.info.splits[split]

    def dataset(
        self,
        split: str,
        batch_size: int,
        *,
        seed: int,
        training: bool,
        labels: bool,
        start_batch: int = 0,
        drop_remainder: bool = True,
    ) -> tf.data.Dataset:
        raise NotImplementedError


class ArraySource(Source):
    """A source held in memory as NumPy arrays, one (samples, labels) pair per split.

    Integer images are kept as stored (uint8) and scaled inside the pipeline: `symmetric` maps
    0..max_value to [-1, 1], `unit` to [0, 1].
    """

    def __init__(
        self,
        info: DatasetInfo,
        arrays: dict[str, tuple[np.ndarray, np.ndarray | None]],
        *,
        max_value: float | None = None,
        pixel_range: str = "symmetric",
    ):
        self.info = info
        self.arrays = arrays
        self.max_value = max_value
        self.pixel_range = pixel_range

    def numpy(self, split: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(samples, labels) of `split`, scaled as in the pipeline, in file order."""
        self.check_split(split)
        x, y = self.arrays[split]
        return self._scale_np(x), y

    def _scale_np(self, x: np.ndarray) -> np.ndarray:
        if self.max_value is None:
            return x.astype(np.float32)
        x = x.astype(np.float32) / np.float32(self.max_value)
        return x * 2.0 - 1.0 if self.pixel_range == "symmetric" else x

    def _scale(self, x: tf.Tensor) -> tf.Tensor:
        x = tf.cast(x, tf.float32)
        if self.max_value is None:
            return x
        x = x / self.max_value
        return x * 2.0 - 1.0 if self.pixel_range == "symmetric" else x

    def dataset(self, split, batch_size, *, seed, training, labels, start_batch=0,
                drop_remainder=True):
        self.check_split(split)
        x, y = self.arrays[split]
        if labels:
            if y is None:
                raise DataError(f"dataset {self.info.name!r} has no labels")
            return pipeline.array_dataset(
                (x, y), batch_size, seed=seed, training=training, start_batch=start_batch,
                drop_remainder=drop_remainder, transform=lambda a, b: (self._scale(a), b),
            )
        return pipeline.array_dataset(
            (x,), batch_size, seed=seed, training=training, start_batch=start_batch,
            drop_remainder=drop_remainder, transform=self._scale,
        )


def _mixture_source(name: str, cfg: DataConfig, seed: int) -> ArraySource:
    mixture = MIXTURES[name]()
    # Independent streams for the splits, all determined by the seed.
    train = mixture.sample(cfg.num_points, np.random.default_rng([seed, 0]))
    test = mixture.sample(10_000, np.random.default_rng([seed, 1]))
    info = DatasetInfo(
        name=name, kind="points", shape=(2,), splits={"train": len(train[0]), "test": 10_000},
        num_classes=mixture.num_modes, mixture=mixture,
    )
    return ArraySource(info, {"train": train, "test": test})


def _digits_source(name: str, cfg: DataConfig) -> ArraySource:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.data.reshape(-1, 8, 8, 1).astype(np.uint8)
    targets = bunch.target.astype(np.int32)
    bounds = {"train": (0, 1000), "val": (1000, 1350), "test": (1350, 1797)}
    arrays = {k: (images[a:b], targets[a:b]) for k, (a, b) in bounds.items()}
    info = DatasetInfo(
        name=name, kind="images", shape=(8, 8, 1),
        splits={k: b - a for k, (a, b) in bounds.items()}, num_classes=10,
        value_range=(-1.0, 1.0) if cfg.pixel_range == "symmetric" else (0.0, 1.0),
        class_names=tuple(str(i) for i in range(10)),
    )
    return ArraySource(info, arrays, max_value=16.0, pixel_range=cfg.pixel_range)


def image_info(name: str, x: np.ndarray, splits: dict, cfg: DataConfig,
                class_names=None, **extra) -> DatasetInfo:
    labelled = [y for _, y in splits.values() if y is not None]
    num_classes = max(int(y.max()) + 1 if len(y) else 0 for y in labelled) if labelled else None
    if class_names is not None and num_classes is not None and len(class_names) < num_classes:
        raise DataError(f"dataset {name!r}: {len(class_names)} class_names for labels up to "
                        f"{num_classes - 1}")
    return DatasetInfo(
        name=name, kind="images", shape=tuple(int(d) for d in x.shape[1:]),
        splits={k: len(v[0]) for k, v in splits.items()}, num_classes=num_classes,
        value_range=(-1.0, 1.0) if cfg.pixel_range == "symmetric" else (0.0, 1.0),
        class_names=(tuple(class_names) if class_names is not None
                     else tuple(str(i) for i in range(num_classes)) if num_classes else None),
        **extra,
    )


def _fashion_mnist_source(name: str, cfg: DataConfig) -> ArraySource:
    from tfgen.data import arrays

    splits = arrays.fashion_mnist_arrays(cfg.data_dir)
    info = image_info(name, splits["train"][0], splits, cfg, arrays.FASHION_MNIST_CLASSES)
    return ArraySource(info, splits, max_value=255.0, pixel_range=cfg.pixel_range)


def _idx_source(path: str, cfg: DataConfig) -> ArraySource:
    from tfgen.data import arrays

    files = arrays.read_idx_dir(path)
    x, y = files["train"]
    own = {"test": files["test"]} if "test" in files else {}
    splits = arrays.split_arrays(x, y, range(len(x)), cfg.val_fraction, cfg.test_fraction,
                                 f"idx:{path}", own)
    info = image_info(f"idx:{path}", x, splits, cfg)
    return ArraySource(info, splits, max_value=255.0, pixel_range=cfg.pixel_range)


def _npz_source(path: str, cfg: DataConfig) -> ArraySource:
    from tfgen.data import arrays

    contents = arrays.read_npz(path)
    class_names = contents.pop("class_names", None)
    x, y = contents.pop("train")
    splits = arrays.split_arrays(x, y, range(len(x)), cfg.val_fraction, cfg.test_fraction,
                                 f"npz:{path}", contents)
    info = image_info(f"npz:{path}", x, splits, cfg, class_names)
    return ArraySource(info, splits, max_value=255.0 if x.dtype == np.uint8 else 1.0,
                       pixel_range=cfg.pixel_range)


def source(data: DataConfig | str, *, seed: int = 0, **options: Any) -> Source:
    """The `Source` for a dataset name (or `DataConfig`), with `DataConfig` fields as options.

    Args:
        data: a dataset name such as "digits" or "tfds:mnist", or a `DataConfig`.
        seed: seed for generated data (ring8/grid25).
        **options: `DataConfig` fields overriding those of `data`, e.g. `image_size=32`.
    """
    cfg = DataConfig(name=data) if isinstance(data, str) else data
    if options:
        unknown = set(options) - {f.name for f in dataclasses.fields(DataConfig)}
        if unknown:
            raise TypeError(f"unknown data option(s): {', '.join(sorted(unknown))}")
        cfg = dataclasses.replace(cfg, **options)
    check_name(cfg.name)
    name = cfg.name
    if name in MIXTURES:
        return _mixture_source(name, cfg, seed)
    if name == "digits":
        return _digits_source(name, cfg)
    if name == "fashion_mnist":
        return _fashion_mnist_source(name, cfg)
    kind, _, rest = name.partition(":")
    if kind == "folder":
        from tfgen.data import folder

        return folder.folder_source(rest, cfg)
    if kind == "idx":
        return _idx_source(rest, cfg)
    if kind == "npz":
        return _npz_source(rest, cfg)
    from tfgen.data import tfds_source

    return tfds_source.TFDSSource(rest, cfg)


def num_replicas(strategy: tf.distribute.Strategy | None) -> int:
    return 1 if strategy is None else strategy.num_replicas_in_sync


def load(
    data: DataConfig | str | Source,
    split: str = "train",
    *,
    batch_size: int,
    seed: int = 0,
    training: bool = True,
    labels: bool | None = None,
    start_batch: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    **options: Any,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of samples, or (samples, labels), ready for `fit`.

    Args:
        data: dataset name, `DataConfig`, or a `Source` already built with `source()`.
        split: "train", "val", "test" (as the source has them; TFDS split strings pass through).
        batch_size: the global batch size; must divide evenly among the strategy's replicas.
        seed: seed of the data order (and of generated data).
        training: True: endless shuffled stream of full batches, order fixed by (seed, epoch);
            False: one pass in file order (last batch dropped only when distributed).
        labels: yield (samples, labels); default: the config's `labels`.
        start_batch: first batch of the training stream (a resumed run passes its step count).
        strategy: the strategy `fit` will run under (for the replica count).
        **options: `DataConfig` fields, e.g. `image_size=32`, `pixel_range="unit"`.
    """
    src = data if isinstance(data, Source) else source(data, seed=seed, **options)
    if labels is None:
        labels = data.labels if isinstance(data, DataConfig) else options.get("labels", False)
    replicas = num_replicas(strategy)
    if batch_size % replicas:
        raise ConfigError(
            f"config key 'batch_size': {batch_size} does not divide among {replicas} replicas"
        )
    return src.dataset(
        split, batch_size, seed=seed, training=training, labels=bool(labels),
        start_batch=start_batch, drop_remainder=training or replicas > 1,
    )
