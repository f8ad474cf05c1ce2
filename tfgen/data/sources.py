"""`DatasetInfo`, the `Source` interface, and `ArraySource` (a dataset held in NumPy arrays)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfgen.data import pipeline
from tfgen.data.mixtures import Mixture
from tfgen.data.options import DataOptions, value_range
from tfgen.errors import DataError


@dataclasses.dataclass
class DatasetInfo:
    """What a model needs to know about a dataset.

    Attributes:
        name: the dataset name as given.
        kind: its modality (`tfgen.modalities`): "points" (2-D mixtures), "images",
            "pianoroll", "text" or "audio".
        shape: shape of one sample, e.g. (2,) or (8, 8, 1).
        splits: number of examples per split.
        num_classes: number of label classes, None when the source has no labels.
        value_range: (low, high) of sample values, None for unbounded points.
        class_names: label names, where the source has them.
        skipped: unreadable files skipped (folder sources with skip_corrupt).
        mixture: the true mixture for ring8/grid25.
        steps_per_quarter: piano-rolls: frames per quarter note.
        steps_per_bar: piano-rolls: frames per bar.
        vocabulary: text: the tokens by id (`tfgen.data.text`).
        tokens: text: "word" or "character".
        truncated: text: examples cut to the maximum length; audio: clips cut to length.
        lowercase: text: whether it was lower-cased before tokenising.
        sample_rate: audio: samples per second.
        representation: audio: "waveform" (clips [samples, 1]) or "spectrogram" (images).
        spectrogram: audio spectrograms: their STFT, normalisation and Griffin-Lim settings.
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
    steps_per_quarter: int | None = None
    steps_per_bar: int | None = None
    vocabulary: tuple[str, ...] | None = None
    tokens: str | None = None
    truncated: int = 0
    lowercase: bool = True
    sample_rate: int | None = None
    representation: str = "waveform"
    spectrogram: dict | None = None


class Source:
    """A dataset: its `info` and batched `tf.data` pipelines over its splits."""

    info: DatasetInfo
    in_memory = False  # whether `numpy(split)` gives the whole split as arrays

    def numpy(self, split: str):
        """(samples, labels or None) of `split` as NumPy arrays, for in-memory sources."""
        raise DataError(f"dataset {self.info.name!r} is streamed, not held in memory")

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

    def fixed_batch(self, n: int = 16, labels: bool = False):
        """The first `n` examples of the val split (else test, else train), in file order:
        (samples, labels or None), e.g. for pictures that compare epochs."""
        split = next((s for s in ("val", "test") if s in self.info.splits), "train")
        batch = next(iter(self.dataset(split, n, seed=0, training=False, labels=labels,
                                       drop_remainder=False)))
        if labels:
            return batch[0].numpy(), batch[1].numpy()
        return batch.numpy(), None

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

    in_memory = True
    crop_multiple: int | None = None  # sequences: batches cut to their longest (see `_crop`)

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

    def fixed_batch(self, n: int = 16, labels: bool = False):
        split = next(s for s in ("val", "test", "train") if s in self.info.splits)
        x, y = self.numpy(split)
        return x[:n], (np.asarray(y[:n]) if labels and y is not None else None)

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

    def replica_dataset(self, split, batch_size, *, seed, labels, start_batch, replicas,
                        first_replica, local_replicas):
        """The training stream as one worker's replicas take it
        (`pipeline.replica_array_dataset`)."""
        arrays, transform = self._arrays_and_transform(split, labels)
        return pipeline.replica_array_dataset(
            arrays, batch_size, seed=seed, transform=transform, start_batch=start_batch,
            replicas=replicas, first_replica=first_replica, local_replicas=local_replicas,
            crop=self._crop(split))

    def _crop(self, split):
        """(lengths, multiple) of `pipeline.array_dataset`'s `crop` for packed sequences
        (`tfgen.data.music.pack`: the last channel marks each piece's frames), else None."""
        if self.crop_multiple is None:
            return None
        x = self.arrays[split][0]
        return (x[..., -1] > 0).sum(axis=1).astype(np.int64), self.crop_multiple

    def _arrays_and_transform(self, split, labels):
        self.check_split(split)
        x, y = self.arrays[split]
        if not labels:
            return (x,), self._scale
        if y is None:
            raise DataError(f"dataset {self.info.name!r} has no labels")
        return (x, y), lambda a, b: (self._scale(a), b)

    def dataset(self, split, batch_size, *, seed, training, labels, start_batch=0,
                drop_remainder=True):
        arrays, transform = self._arrays_and_transform(split, labels)
        return pipeline.array_dataset(
            arrays, batch_size, seed=seed, training=training, start_batch=start_batch,
            drop_remainder=drop_remainder, transform=transform, crop=self._crop(split))


def image_info(name: str, x: np.ndarray, splits: dict, cfg: DataOptions,
                class_names=None, **extra) -> DatasetInfo:
    labelled = [y for _, y in splits.values() if y is not None]
    num_classes = max(int(y.max()) + 1 if len(y) else 0 for y in labelled) if labelled else None
    if class_names is not None and num_classes is not None and len(class_names) < num_classes:
        raise DataError(f"dataset {name!r}: {len(class_names)} class_names for labels up to "
                        f"{num_classes - 1}")
    return DatasetInfo(
        name=name, kind="images", shape=tuple(int(d) for d in x.shape[1:]),
        splits={k: len(v[0]) for k, v in splits.items()}, num_classes=num_classes,
        value_range=value_range(cfg.pixel_range),
        class_names=(tuple(class_names) if class_names is not None
                     else tuple(str(i) for i in range(num_classes)) if num_classes else None),
        **extra,
    )
