"""The datasets that ship with tfgen (or with Debian): ring8, grid25, digits, fashion_mnist,
and users' own arrays (idx:, npz:)."""

from __future__ import annotations

import numpy as np

from tfgen.data import arrays
from tfgen.data.mixtures import MIXTURES
from tfgen.data.options import DataOptions, value_range
from tfgen.data.sources import ArraySource, DatasetInfo, image_info


def mixture_source(name: str, cfg: DataOptions, seed: int) -> ArraySource:
    mixture = MIXTURES[name]()
    # Independent streams for the splits, all determined by the seed.
    train = mixture.sample(cfg.num_points, np.random.default_rng([seed, 0]))
    test = mixture.sample(10_000, np.random.default_rng([seed, 1]))
    info = DatasetInfo(
        name=name, kind="points", shape=(2,), splits={"train": len(train[0]), "test": 10_000},
        num_classes=mixture.num_modes, mixture=mixture,
    )
    return ArraySource(info, {"train": train, "test": test})


def digits_source(name: str, cfg: DataOptions) -> ArraySource:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.data.reshape(-1, 8, 8, 1).astype(np.uint8)
    targets = bunch.target.astype(np.int32)
    bounds = {"train": (0, 1000), "val": (1000, 1350), "test": (1350, 1797)}
    arrays = {k: (images[a:b], targets[a:b]) for k, (a, b) in bounds.items()}
    info = DatasetInfo(
        name=name, kind="images", shape=(8, 8, 1),
        splits={k: b - a for k, (a, b) in bounds.items()}, num_classes=10,
        value_range=value_range(cfg.pixel_range),
        class_names=tuple(str(i) for i in range(10)),
    )
    return ArraySource(info, arrays, max_value=16.0, pixel_range=cfg.pixel_range)


def fashion_mnist_source(name: str, cfg: DataOptions) -> ArraySource:
    splits = arrays.fashion_mnist_arrays(cfg.data_dir)
    info = image_info(name, splits["train"][0], splits, cfg, arrays.FASHION_MNIST_CLASSES)
    return ArraySource(info, splits, max_value=255.0, pixel_range=cfg.pixel_range)


def idx_source(path: str, cfg: DataOptions) -> ArraySource:
    files = arrays.read_idx_dir(path)
    x, y = files["train"]
    own = {"test": files["test"]} if "test" in files else {}
    splits = arrays.split_arrays(x, y, range(len(x)), cfg.val_fraction, cfg.test_fraction,
                                 f"idx:{path}", own)
    info = image_info(f"idx:{path}", x, splits, cfg)
    return ArraySource(info, splits, max_value=255.0, pixel_range=cfg.pixel_range)


def npz_source(path: str, cfg: DataOptions) -> ArraySource:
    contents = arrays.read_npz(path)
    class_names = contents.pop("class_names", None)
    x, y = contents.pop("train")
    splits = arrays.split_arrays(x, y, range(len(x)), cfg.val_fraction, cfg.test_fraction,
                                 f"npz:{path}", contents)
    info = image_info(f"npz:{path}", x, splits, cfg, class_names)
    return ArraySource(info, splits, max_value=255.0 if x.dtype == np.uint8 else 1.0,
                       pixel_range=cfg.pixel_range)
