"""`tfds:NAME` sources: TensorFlow Datasets image datasets through the real `tfds.load` path.

The image feature is the first `Image` feature of the dataset; the label, when asked for, its
`label` `ClassLabel` (or its first `ClassLabel`). Images are centre-cropped to a square and
resized when `data.image_size` is set, scaled to the configured pixel range, cached, and
reshuffled every epoch.
"""

from __future__ import annotations

import tensorflow as tf

from tfgen.config import DataConfig
from tfgen.data import DatasetInfo, Source, pipeline
from tfgen.errors import ConfigError, DataError


def _tfds():
    import tensorflow_datasets as tfds

    return tfds


def _builder_name(name: str) -> str:
    return name.split("/")[0].split(":")[0]


def check_name(name: str, key: str) -> None:
    tfds = _tfds()
    try:
        tfds.builder_cls(_builder_name(name))
    except tfds.core.registered.DatasetNotFoundError:
        raise ConfigError(
            f"config key '{key}': TFDS has no dataset {_builder_name(name)!r} "
            "(see tensorflow_datasets.list_builders())"
        ) from None


def crop_and_resize(image: tf.Tensor, size: int | None) -> tf.Tensor:
    """Centre-crop `image` (H, W, C) to a square and resize it to `size` x `size` (float32)."""
    image = tf.cast(image, tf.float32)
    if size is None:
        return image
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    image = tf.image.resize_with_crop_or_pad(image, side, side)
    image = tf.image.resize(image, (size, size), method="area", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


class TFDSSource(Source):
    """A TFDS image dataset; splits are TFDS split strings ("train", "test[:10%]", ...)."""

    def __init__(self, name: str, cfg: DataConfig):
        tfds = _tfds()
        self.name = name
        self.cfg = cfg
        try:
            builder = tfds.builder(name, data_dir=cfg.data_dir)
        except Exception as err:  # unknown config/version: tfds raises several types
            raise DataError(f"TFDS dataset {name!r}: {str(err).splitlines()[0]}") from None
        features = builder.info.features
        images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
        if not images:
            raise DataError(f"TFDS dataset {name!r} has no image feature")
        self.image_key = images[0]
        classes = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
        self.label_key = "label" if "label" in classes else (classes[0] if classes else None)
        image_shape = tuple(features[self.image_key].shape)
        size = cfg.image_size
        if size is None and any(d is None for d in image_shape[:2]):
            raise ConfigError(
                f"config key 'data.image_size': TFDS dataset {name!r} has images of varying "
                "size; set data.image_size"
            )
        shape = (size, size, image_shape[2]) if size is not None else image_shape
        label = features[self.label_key] if self.label_key else None
        self.info = DatasetInfo(
            name=f"tfds:{name}", kind="images", shape=tuple(int(d) for d in shape),
            splits={k: v.num_examples for k, v in builder.info.splits.items()},
            num_classes=label.num_classes if label is not None else None,
            value_range=(-1.0, 1.0) if cfg.pixel_range == "symmetric" else (0.0, 1.0),
            class_names=tuple(label.names) if label is not None else None,
        )

    def check_split(self, split: str) -> None:
        pass  # TFDS validates split strings (including slices) itself, in _load

    def _load(self, split: str) -> tf.data.Dataset:
        tfds = _tfds()
        try:
            return tfds.load(
                self.name, split=split, data_dir=self.cfg.data_dir, download=self.cfg.download,
                shuffle_files=False,
            )
        except Exception as err:  # not prepared, bad split, no network: one line for the user
            raise DataError(
                f"cannot load TFDS dataset {self.name!r} split {split!r}: "
                f"{str(err).strip().splitlines()[0]}"
            ) from None

    def num_examples(self, split: str) -> int:
        if split in self.info.splits and self.info.splits[split]:
            return self.info.splits[split]
        return int(self._load(split).cardinality())

    def dataset(self, split, batch_size, *, seed, training, labels, start_batch=0,
                drop_remainder=True):
        if labels and self.label_key is None:
            raise DataError(f"TFDS dataset {self.name!r} has no class label feature")
        size, symmetric = self.cfg.image_size, self.cfg.pixel_range == "symmetric"
        image_key, label_key = self.image_key, self.label_key

        def prepare(example):
            image = crop_and_resize(example[image_key], size) / 255.0
            image = image * 2.0 - 1.0 if symmetric else image
            if labels:
                return image, tf.cast(example[label_key], tf.int32)
            return image

        base = self._load(split).map(prepare, num_parallel_calls=pipeline.AUTOTUNE)
        return pipeline.stream_dataset(
            base, batch_size, seed=seed, training=training, start_batch=start_batch,
            shuffle_buffer=self.cfg.shuffle_buffer, drop_remainder=drop_remainder,
            cache=self.cfg.cache,
        )
