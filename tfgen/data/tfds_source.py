"""`tfds:NAME` sources: TensorFlow Datasets image datasets through the real `tfds.load` path.

The image feature is the first `Image` feature of the dataset; the label, when asked for, its
`label` `ClassLabel` (or its first `ClassLabel`). Images are centre-cropped to a square and
resized when `data.image_size` is set, scaled to the configured pixel range, cached, and
reshuffled every epoch.

Offline Fashion-MNIST. TFDS's `fashion_mnist` builder downloads four .gz files and checks their
registered checksums; Debian's package `dataset-fashion-mnist` ships the same IDX contents
recompressed, so TFDS refuses those bytes (`NonMatchingChecksumError`). When `tfds:fashion_mnist`
is not prepared and the Debian files (or IDX files in `data.data_dir`) are there, tfgen prepares
it through TFDS's own `download_and_prepare` with a download manager that hands the builder
these files, decompressed, after checking the sha256 of the *decompressed* contents (which the
recompression does not change) -- everything else (examples, TFRecords, dataset_info.json) is
TFDS's real code path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re

import tensorflow as tf

from tfgen.data import pipeline
from tfgen.data.options import DataOptions, value_range
from tfgen.data.sources import DatasetInfo, Source
from tfgen.errors import ConfigError, DataError, reason

log = logging.getLogger("tfgen")

# sha256 of the decompressed IDX files of Zalando's Fashion-MNIST release (as Debian ships them).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


def _tfds():
    import tensorflow_datasets as tfds

    return tfds


def _builder_name(name: str) -> str:
    return name.split("/")[0].split(":")[0]


# TFDS retries a failed download 10 times with exponential back-off (0.2 s .. 102 s): offline,
# `tfds:mnist` took 3.5 minutes to fail. Three tries still ride out a brief outage.
DOWNLOAD_RETRIES = 3


@contextlib.contextmanager
def _few_download_retries():
    from tensorflow_datasets.core.download import downloader

    previous = downloader.MAX_RETRIES
    downloader.MAX_RETRIES = min(previous, DOWNLOAD_RETRIES)
    try:
        yield
    finally:
        downloader.MAX_RETRIES = previous


def _is_connection_error(err: BaseException) -> bool:
    """A network failure, however TFDS wrapped it (requests, urllib3, OSError chains)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        name = type(err).__name__
        if name in ("ConnectionError", "MaxRetryError", "NameResolutionError",
                    "NewConnectionError", "ConnectTimeout", "Timeout"):
            return True
        if "Max retries exceeded" in str(err) or "Failed to resolve" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


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
    """Centre-crop `image` (H, W, C) to a square and resize it to `size` x `size` (float32 in
    [0, 255]); without a size, `image` unchanged (uint8: what a cache holds at a quarter of
    float32's bytes)."""
    if size is None:
        return image
    image = tf.cast(image, tf.float32)
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    image = tf.image.resize_with_crop_or_pad(image, side, side)
    image = tf.image.resize(image, (size, size), method="area", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


class _LocalFiles:
    """A TFDS download manager that serves `download_and_extract` from local, already-checked
    files (url basename without .gz -> path); every other attribute is the real manager's."""

    def __init__(self, manager, files: dict[str, str]):
        self._manager, self._files = manager, files

    def __getattr__(self, name):
        return getattr(self._manager, name)

    def download_and_extract(self, urls):
        def local(url):
            stem = os.path.basename(str(url))
            stem = stem[:-3] if stem.endswith(".gz") else stem
            if stem not in self._files:
                raise DataError(f"no local file for {url}")
            return self._files[stem]

        if isinstance(urls, dict):
            return {k: local(v) for k, v in urls.items()}
        if isinstance(urls, (list, tuple)):
            return [local(u) for u in urls]
        return local(urls)

    download = download_and_extract


def _verified_idx(source_dir: str, target_dir: str) -> dict[str, str]:
    """Decompress Fashion-MNIST's IDX files from `source_dir` into `target_dir`, checking the
    sha256 of each decompressed file; {stem: path}."""
    from tfgen.data.arrays import find_idx, read_bytes

    os.makedirs(target_dir, exist_ok=True)
    out = {}
    for stem, want in FASHION_MNIST_SHA256.items():
        path = find_idx(source_dir, stem)
        raw = read_bytes(path)
        got = hashlib.sha256(raw).hexdigest()
        if got != want:
            raise DataError(f"{path} is not Fashion-MNIST's {stem} (sha256 of its contents "
                            f"{got[:12]}..., expected {want[:12]}...)")
        target = os.path.join(target_dir, stem)
        with open(target + ".tmp", "wb") as fh:
            fh.write(raw)
        os.replace(target + ".tmp", target)
        out[stem] = target
    return out


def prepare_fashion_mnist_offline(builder, data_dir: str | None) -> bool:
    """Prepare TFDS's `fashion_mnist` from local IDX files (see the module doc); False when
    there are none. Runs TFDS's `download_and_prepare`."""
    from tfgen.data.arrays import fashion_mnist_dir

    try:
        source_dir = fashion_mnist_dir(data_dir)
    except DataError:
        return False
    downloads = os.path.join(str(builder.data_dir_root), "downloads")
    files = _verified_idx(source_dir, os.path.join(downloads, "tfgen-fashion-mnist"))
    log.info("preparing tfds:fashion_mnist from the local IDX files in %s (checked by content "
             "hash; no download)", source_dir)
    _prepare_from(builder, downloads, files)
    return True


def _prepare_from(builder, downloads: str, files: dict[str, str]) -> None:
    """TFDS's own `download_and_prepare` of `builder`, its download manager serving
    `files` (`_LocalFiles`: url stem -> local path) instead of the network."""
    tfds = _tfds()
    make_manager = builder._make_download_manager
    builder._make_download_manager = lambda *a, **k: _LocalFiles(make_manager(*a, **k), files)
    try:
        builder.download_and_prepare(
            download_dir=downloads, download_config=tfds.download.DownloadConfig(
                download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS))
    finally:
        del builder._make_download_manager


SPOKEN_DIGIT_DIR = "free-spoken-digit-dataset-1.0.9"  # what the builder's archive extracts to


def prepare_spoken_digit_offline(builder, recordings: str) -> None:
    """Prepare TFDS's `spoken_digit` from a local copy of FSDD's recordings: its builder
    downloads a GitHub archive and reads `free-spoken-digit-dataset-1.0.9/recordings/*.wav`
    from it; the download manager hands it a folder of that layout whose recordings/ links
    to the local one (a copy where links are not allowed). The rest -- reading, encoding,
    TFRecords, dataset_info.json -- is TFDS's real code path."""
    import shutil

    downloads = os.path.join(str(builder.data_dir_root), "downloads")
    root = os.path.join(downloads, "tfgen-spoken-digit")
    target = os.path.join(root, SPOKEN_DIGIT_DIR, "recordings")
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.symlink(os.path.abspath(recordings), target)
        except OSError:
            shutil.copytree(recordings, target)
    log.info("preparing tfds:spoken_digit from the local recordings in %s (no download)",
             recordings)
    _prepare_from(builder, downloads, {"v1.0.9.tar": root})


def audio_examples(name: str, cfg: DataOptions) -> tuple[list, list, list | None, list, int]:
    """(clips as read, their keys, labels or None, class names or None, sample rate) of every
    split of a TFDS dataset with an `Audio` feature (its first; the label its `label` or first
    `ClassLabel`), read through `tfds.load`. `spoken_digit` unprepared and offline is prepared
    from a local FSDD (`tfgen.data.audio.fsdd_dir`) first."""
    tfds = _tfds()
    try:
        builder = tfds.builder(name, data_dir=cfg.data_dir)
    except Exception as err:  # unknown config/version: tfds raises several types
        raise DataError(f"TFDS dataset {name!r}: {reason(err)}") from None
    if _builder_name(name) == "spoken_digit" and not builder.is_prepared():
        from tfgen.data.audio import fsdd_dir

        try:
            local = fsdd_dir(DataOptions(name="fsdd"))
        except DataError:
            local = None
        if local is not None:
            prepare_spoken_digit_offline(builder, local)
            builder = tfds.builder(name, data_dir=cfg.data_dir)
    features = builder.info.features
    audio = [k for k, f in features.items() if isinstance(f, tfds.features.Audio)]
    if not audio:
        raise DataError(f"TFDS dataset {name!r} has no audio feature")
    key = audio[0]
    rate = int(getattr(features[key], "sample_rate", None) or cfg.sample_rate or 16000)
    classes = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
    label_key = "label" if "label" in classes else (classes[0] if classes else None)
    names = [k for k, f in features.items() if isinstance(f, tfds.features.Text)]
    clips, keys, labels = [], [], [] if label_key else None
    for split in list(builder.info.splits) or ["train"]:
        ds = TFDSSource.load_split(name, split, cfg)
        for i, example in enumerate(tfds.as_numpy(ds)):
            clips.append(example[key])
            keys.append(example[names[0]].decode() if names else f"{split}/{i}")
            if label_key:
                labels.append(int(example[label_key]))
    if not clips:
        raise DataError(f"TFDS dataset {name!r} gave no examples")
    class_names = list(features[label_key].names) if label_key else None
    return clips, keys, labels, class_names, rate


class TFDSSource(Source):
    """A TFDS image dataset; splits are TFDS split strings ("train", "test[:10%]", ...)."""

    def __init__(self, name: str, cfg: DataOptions):
        tfds = _tfds()
        self.name = name
        self.cfg = cfg
        try:
            builder = tfds.builder(name, data_dir=cfg.data_dir)
        except Exception as err:  # unknown config/version: tfds raises several types
            raise DataError(f"TFDS dataset {name!r}: {reason(err)}") from None
        if _builder_name(name) == "fashion_mnist" and not builder.is_prepared():
            if prepare_fashion_mnist_offline(builder, cfg.data_dir):
                builder = tfds.builder(name, data_dir=cfg.data_dir)
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
            value_range=value_range(cfg.pixel_range),
            class_names=tuple(label.names) if label is not None else None,
        )

    def check_split(self, split: str) -> None:
        pass  # TFDS validates split strings (including slices) itself, in _load

    def _load(self, split: str) -> tf.data.Dataset:
        return self.load_split(self.name, split, self.cfg)

    @staticmethod
    def load_split(name: str, split: str, cfg: DataOptions) -> tf.data.Dataset:
        """`tfds.load` of one split, its failures (not prepared, bad split, no network) one
        line for the user."""
        tfds = _tfds()
        try:
            with _few_download_retries():
                return tfds.load(name, split=split, data_dir=cfg.data_dir,
                                 download=cfg.download, shuffle_files=False)
        except Exception as err:
            raise DataError(TFDSSource._load_error(name, cfg, split, err)) from None

    @staticmethod
    def _load_error(name: str, cfg: DataOptions, split: str, err: Exception) -> str:
        where = cfg.data_dir or "~/tensorflow_datasets"
        text = str(err)
        if "download=True" in text:  # TFDS's words for "not prepared and download=False"
            return (f"TFDS dataset {name!r} is not prepared in {where}; set "
                    "data.download=true to download it (needs internet), or data.data_dir to "
                    "where it is prepared")
        if _is_connection_error(err):
            host = re.search(r"host='([^']+)'", text)
            to = f" to {host.group(1)}" if host else ""
            return (f"cannot download TFDS dataset {name!r}: no connection{to}; prepare "
                    f"it where there is internet and copy it into {where}, or set "
                    "data.data_dir")
        return f"cannot load TFDS dataset {name!r} split {split!r}: {reason(err)}"

    def num_examples(self, split: str) -> int:
        if split in self.info.splits and self.info.splits[split]:
            return self.info.splits[split]
        return int(self._load(split).cardinality())

    def dataset(self, split, batch_size, *, seed, training, labels, start_batch=0,
                drop_remainder=True):
        if labels and self.label_key is None:
            raise DataError(f"TFDS dataset {self.name!r} has no class label feature")
        symmetric = self.cfg.pixel_range == "symmetric"

        def scale(image, *label):
            image = tf.cast(image, tf.float32) / 255.0
            return (image * 2.0 - 1.0 if symmetric else image, *label)

        return pipeline.stream_dataset(
            self.decoded(split, labels), batch_size, seed=seed, training=training,
            start_batch=start_batch, shuffle_buffer=self.cfg.shuffle_buffer,
            drop_remainder=drop_remainder, cache=self.cfg.cache, transform=scale,
        )

    def decoded(self, split: str, labels: bool) -> tf.data.Dataset:
        """The split's images decoded (and cropped/resized to `image_size`), as the cache
        keeps them: uint8 unless resized; `dataset` scales them after the cache."""
        size, image_key, label_key = self.cfg.image_size, self.image_key, self.label_key

        def decode(example):
            image = crop_and_resize(example[image_key], size)
            return (image, tf.cast(example[label_key], tf.int32)) if labels else (image,)

        return self._load(split).map(decode, num_parallel_calls=pipeline.AUTOTUNE)
