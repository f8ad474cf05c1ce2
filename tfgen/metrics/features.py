"""Feature extractors for image metrics.

Inception weights cannot be downloaded everywhere tfgen runs, so for each image dataset tfgen
trains -- once, cached on disk -- a small convnet classifier on the dataset's train split and uses
its penultimate layer as the feature space of the Fréchet distance, KID and precision/recall/
density/coverage (PROTOCOLS.md section 2). Its test accuracy goes into every metric card. A
user-supplied Keras model (e.g. InceptionV3 without its top) can be used instead with
`FeatureExtractor.from_file`; its output is then the feature vector.

Extractors take images scaled to [0, 1]; `FeatureExtractor.features(x, value_range)` rescales.
A user's model whose input size or channel count differs from the data's (InceptionV3 takes
299x299x3) gets the images resized the way clean-fid does it (Parmar et al. 2022, "clean"
mode): quantised to 8 bits, each channel resized with PIL's bicubic filter in float, clipped to
0..255; grayscale is repeated to three channels, colour made gray with PIL's ITU-R 601-2 weights.
The card records it. A model expecting another input range (Keras InceptionV3: [-1, 1]) should
start with a `keras.layers.Rescaling(2.0, offset=-1.0)` layer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import keras
import numpy as np

from tfgen.data.arrays import fixed_subset
from tfgen.errors import UserError

log = logging.getLogger("tfgen")

VERSION = 1  # bump when the classifier or its training changes: old cache entries are ignored
FEATURE_LAYER = "features"


def cache_dir() -> str:
    """Where trained extractors are kept: `$TFGEN_CACHE_DIR`, else `~/.cache/tfgen`."""
    return os.environ.get("TFGEN_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfgen")


def audio_classifier(shape, num_classes: int, sample_rate: int, width: int = 32,
                     feature_dim: int = 128) -> keras.Model:
    """The spoken-digit convnet: waveforms -> log-mel spectrograms (`LogMel`, 64 bands, 32 ms
    windows every 16 ms at 8 kHz), each standardised (its own mean and deviation: loudness left out), three
    [conv 3x3 -> ReLU -> max-pool 2] blocks of width, 2·width, 4·width channels, flattened
    (time and frequency kept: a digit is its formants' path), a `features` layer, dropout and
    the class logits. Always float32."""
    from tfgen.networks.spectrogram import LogMel

    f32 = "float32"
    inputs = keras.Input(shape)
    x = LogMel(sample_rate, name="log_mel")(inputs)
    x = keras.layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False,
                                        dtype=f32, name="standardise")(x)
    for channels in (width, 2 * width, 4 * width):
        x = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", dtype=f32)(x)
        x = keras.layers.MaxPooling2D(2, dtype=f32)(x)
    x = keras.layers.Flatten(dtype=f32)(x)
    x = keras.layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER, dtype=f32)(x)
    x = keras.layers.Dropout(0.3, dtype=f32)(x)
    logits = keras.layers.Dense(num_classes, name="logits", dtype=f32)(x)
    return keras.Model(inputs, logits, name="tfgen_audio_classifier")


def classifier(shape, num_classes: int, width: int = 32, feature_dim: int = 128) -> keras.Model:
    """The small convnet: two conv blocks (the second strided), global pooling, a `features`
    layer of `feature_dim` units, dropout and the class logits. Always float32."""
    f32 = "float32"
    x = inputs = keras.Input(shape)
    for i, channels in enumerate((width, width, 2 * width, 2 * width)):
        x = keras.layers.Conv2D(channels, 3, strides=2 if i % 2 else 1, padding="same",
                                activation="relu", dtype=f32)(x)
    x = keras.layers.GlobalAveragePooling2D(dtype=f32)(x)
    x = keras.layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER, dtype=f32)(x)
    x = keras.layers.Dropout(0.3, dtype=f32)(x)
    logits = keras.layers.Dense(num_classes, name="logits", dtype=f32)(x)
    return keras.Model(inputs, logits, name="tfgen_classifier")


def dataset_fingerprint(name: str, split: str, x: np.ndarray, y: np.ndarray) -> str:
    """sha256 over the extractor version, the dataset name, the split and its contents."""
    digest = hashlib.sha256(f"tfgen-extractor-v{VERSION}:{name}:{split}:{x.shape}".encode())
    digest.update(np.ascontiguousarray(x, np.float32).tobytes())
    digest.update(np.ascontiguousarray(y, np.int64).tobytes())
    return digest.hexdigest()


class FeatureExtractor:
    """Maps images to feature vectors (and, for tfgen's classifiers, to class predictions).

    Args:
        model: a Keras model taking [N, H, W, C] images in [0, 1].
        card: what the metric cards record about it (name, accuracy, ...).
        feature_layer: name of the layer whose output is the feature vector (None: the output).
    """

    def __init__(self, model: keras.Model, card: dict, feature_layer: str | None = None):
        self.model = model
        self.card = dict(card)
        self.classifies = feature_layer is not None
        out = model.get_layer(feature_layer).output if feature_layer else model.outputs[0]
        self._features = keras.Model(model.inputs, out)
        self.dim = int(out.shape[-1])
        self.card["dim"] = self.dim

    @staticmethod
    def _unit(x, value_range) -> np.ndarray:
        x = np.asarray(x, np.float32)
        lo, hi = value_range if value_range is not None else (0.0, 1.0)
        return (x - lo) / (hi - lo)

    def _fit(self, x) -> np.ndarray:
        """`x` (in [0, 1]) at the model's input shape: resized as clean-fid does where needed."""
        want = tuple(self.model.inputs[0].shape[1:])
        if tuple(x.shape[1:]) == want:
            return x
        if len(want) != 3 or None in want or want[2] not in (1, 3) or x.ndim != 4:
            raise UserError(f"feature extractor {self.card['name']} takes inputs of shape "
                            f"{want}; cannot resize images of shape {tuple(x.shape[1:])} to it")
        self.card["resize"] = (f"clean-fid: 8-bit quantisation, PIL bicubic per channel in "
                               f"float to {want[0]}x{want[1]}, {x.shape[-1]}->{want[2]} channels")
        return clean_resize(x, want[0], want[1], want[2])

    def features(self, x, value_range=(0.0, 1.0), batch_size: int = 256) -> np.ndarray:
        """[N, dim] float64 features of images whose pixels lie in `value_range`."""
        x = self._unit(x, value_range)
        chunks = []
        for start in range(0, len(x), 1000):  # resizing to 299x299 happens a chunk at a time
            part = self._fit(x[start:start + 1000])
            chunks.append(self._features.predict(part, batch_size=batch_size, verbose=0))
        return np.concatenate(chunks).astype(np.float64)

    def predict_classes(self, x, value_range=(0.0, 1.0), batch_size: int = 256) -> np.ndarray:
        """Predicted class of each image (tfgen classifiers only)."""
        if not self.classifies:
            raise ValueError("this feature extractor does not classify")
        logits = self.model.predict(self._fit(self._unit(x, value_range)),
                                    batch_size=batch_size, verbose=0)
        return logits.argmax(axis=-1)

    @classmethod
    def from_file(cls, path: str) -> FeatureExtractor:
        """A user's Keras model file (`.keras` or `.h5`): its output is the feature vector."""
        if not os.path.exists(path):
            raise UserError(f"--features: model file not found: {path}")
        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as err:  # any unreadable file is the user's to fix
            raise UserError(f"--features: cannot load {path} as a Keras model ({err})") from None
        if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
            raise UserError(f"--features: {path} must output one [N, D] feature matrix; got "
                            f"{[tuple(o.shape) for o in model.outputs]}")
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        return cls(model, {"name": os.path.basename(path), "path": os.path.abspath(path),
                           "sha256": digest, "accuracy": None})


def clean_resize(x, height: int, width: int, channels: int) -> np.ndarray:
    """Images [N, H, W, C] in [0, 1] resized as clean-fid's "clean" mode does: rounded to
    uint8, each channel resized with PIL's bicubic filter on float32 ("F" mode) and clipped to
    0..255; then back to [0, 1]. 1 -> 3 channels: repeated; 3 -> 1: PIL's "L" weights."""
    from PIL import Image

    x8 = np.clip(np.round(np.asarray(x, np.float32) * 255.0), 0, 255).astype(np.uint8)
    if x8.shape[-1] == 3 and channels == 1:
        x8 = np.round(x8 @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    out = np.empty((len(x8), height, width, x8.shape[-1]), np.float32)
    for i, image in enumerate(x8):
        for c in range(image.shape[-1]):
            plane = Image.fromarray(image[..., c].astype(np.float32), mode="F")
            out[i, ..., c] = np.asarray(plane.resize((width, height), Image.BICUBIC))
    out = np.clip(out, 0.0, 255.0) / 255.0
    return np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 and channels == 3 else out


def source_arrays(source, split: str, limit: int | None = None, labels_required: bool = True,
                  arrays: dict | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(images in the source's value range, labels) of a split, in file order (at most `limit`);
    `arrays`: {split: (x, y)} to take them from instead of the source's pipeline."""
    if arrays is not None:
        x, y = arrays[split]
    elif source.in_memory:
        x, y = source.numpy(split)
    else:
        labelled = source.info.num_classes is not None
        xs, ys, n = [], [], 0
        ds = source.dataset(split, 256, seed=0, training=False, labels=labelled,
                            drop_remainder=False)
        for batch in ds:
            xb, yb = batch if labelled else (batch, None)
            xs.append(xb.numpy())
            if yb is not None:
                ys.append(yb.numpy())
            n += len(xs[-1])
            if limit is not None and n >= limit:
                break
        x, y = np.concatenate(xs), (np.concatenate(ys) if ys else None)
    if y is None and labels_required:
        raise UserError(f"dataset {source.info.name!r} has no labels to train a feature "
                        "extractor on; pass a feature model with --features")
    if limit is None:
        return x, y
    return x[:limit], None if y is None else y[:limit]


def clip_arrays(source, split: str, limit: int | None = None, labels_required: bool = True
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """`source_arrays` of an audio source: its examples, or, where they are spectrogram images,
    the clips they were made from (`source.waveforms`) -- what the audio metrics and the
    spoken-digit classifier measure."""
    return source_arrays(source, split, limit, labels_required,
                         arrays=getattr(source, "waveforms", None))


def subset_arrays(source, split: str, n: int | None, labels_required: bool = True
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """`n` examples of a split (all when None): a `fixed_subset` of an in-memory split, the
    first `n` of a streamed one (only those are read)."""
    x, y = source_arrays(source, split, None if source.in_memory else n, labels_required)
    if n is None or n >= len(x):
        return x, y
    idx = fixed_subset(len(x), n)
    return x[idx], None if y is None else y[idx]


def train_classifier(x, y, num_classes: int, x_test=None, y_test=None, seed: int = 0,
                     steps: int = 500, batch_size: int = 64, sample_rate: int | None = None
                     ) -> tuple[keras.Model, dict]:
    """Train `classifier` on images in [0, 1] -- or, given their `sample_rate`, the
    `audio_classifier` on waveforms in [-1, 1] -- for about `steps` steps (at least 3
    epochs); returns the model and its card (test accuracy where a test set is given)."""
    keras.utils.set_random_seed(seed)
    model = (classifier(x.shape[1:], num_classes) if sample_rate is None
             else audio_classifier(x.shape[1:], num_classes, sample_rate))
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    epochs = max(3, int(np.ceil(steps * batch_size / len(x))))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    card = {"name": "tfgen-convnet" if sample_rate is None else "tfgen-log-mel-convnet",
            "train_examples": int(len(x)), "epochs": epochs, "accuracy": None}
    if x_test is not None:
        logits = model.predict(x_test, batch_size=256, verbose=0)
        card["accuracy"] = float((logits.argmax(-1) == y_test).mean())
        card["test_examples"] = int(len(x_test))
    return model, card


def cache_stem(directory: str, name: str, key: str) -> str:
    """The path, without extension, of a cached model of dataset `name` under `key` (a
    sha256): `directory/<name made file-safe>-<16 hex digits>`."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return os.path.join(directory, f"{safe}-{key[:16]}")


def load_cached(stem: str) -> tuple[keras.Model, dict] | None:
    """(model, card) of a cached model (`save_cached`), or None when it is not there."""
    if not (os.path.exists(stem + ".json") and os.path.exists(stem + ".keras")):
        return None
    with open(stem + ".json") as fh:
        card = json.load(fh)
    return keras.saving.load_model(stem + ".keras", compile=False), card


def save_cached(stem: str, model: keras.Model, card: dict) -> None:
    """Write `stem`.keras and `stem`.json, each to a temporary name and renamed, so concurrent
    processes (tuner workers, test workers) never read a half-written file."""
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    pid = os.getpid()
    model.save(f"{stem}.{pid}.tmp.keras")
    os.replace(f"{stem}.{pid}.tmp.keras", stem + ".keras")
    with open(f"{stem}.{pid}.tmp.json", "w") as fh:
        json.dump(card, fh, indent=2)
    os.replace(f"{stem}.{pid}.tmp.json", stem + ".json")


def dataset_extractor(source, directory: str | None = None, progress: bool = True,
                      max_train: int | None = None) -> FeatureExtractor:
    """tfgen's classifier for `source`, trained on its train split once and cached.

    The cache key is a hash of the extractor version, the dataset name and the train split's
    contents; the file is written to a temporary name and renamed, so concurrent processes (tuner
    workers) never read a half-written model.
    """
    source = getattr(source, "parent", source)  # a train subset: the whole split's extractor
    info = source.info
    if info.kind not in ("images", "audio"):
        raise UserError(f"dataset {info.name!r} holds {info.kind}, not images or audio: no "
                        "feature extractor")
    # audio: waveforms as they are (in [-1, 1]), into the log-mel convnet
    audio = info.kind == "audio"
    value_range = None if audio else info.value_range
    if not info.num_classes:
        raise UserError(f"dataset {info.name!r} has no labels to train a feature extractor on; "
                        "pass a feature model with --features")
    arrays = clip_arrays if audio else source_arrays
    x, y = arrays(source, "train", max_train)
    x = FeatureExtractor._unit(x, value_range)
    key = dataset_fingerprint(info.name, "train", x, y)
    directory = os.path.join(directory or cache_dir(), "extractors")
    stem = cache_stem(directory, info.name, key)
    cached = load_cached(stem)
    if cached is not None:
        return FeatureExtractor(*cached, FEATURE_LAYER)
    test_split = "test" if "test" in info.splits else None
    x_test = y_test = None
    if test_split:
        x_test, y_test = arrays(source, test_split)
        x_test = FeatureExtractor._unit(x_test, value_range)
    if progress:
        log.info("training a feature extractor for %s on %d train %s (once; cached in %s)",
                 info.name, len(x), "clips" if audio else "images", directory)
    model, card = train_classifier(x, y, info.num_classes, x_test, y_test,
                                   sample_rate=info.sample_rate if audio else None)
    card.update(dataset=info.name, train_split="train", test_split=test_split, sha256=key,
                path=stem + ".keras")
    save_cached(stem, model, card)
    if progress:
        log.info("feature extractor test accuracy: %.4f", card["accuracy"] or float("nan"))
    return FeatureExtractor(model, card, FEATURE_LAYER)
