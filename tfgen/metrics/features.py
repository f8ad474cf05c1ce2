"""Feature extractors for image metrics.

Inception weights cannot be downloaded everywhere tfgen runs, so for each image dataset tfgen
trains -- once, cached on disk -- a small convnet classifier on the dataset's train split and uses
its penultimate layer as the feature space of the Fréchet distance, KID and precision/recall/
density/coverage (PROTOCOLS.md section 2). Its test accuracy goes into every metric card. A
user-supplied Keras model (e.g. InceptionV3 without its top) can be used instead with
`FeatureExtractor.from_file`; its output is then the feature vector.

Extractors take images scaled to [0, 1]; `FeatureExtractor.features(x, value_range)` rescales.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import keras
import numpy as np

from tfgen.errors import UserError

log = logging.getLogger("tfgen")

VERSION = 1  # bump when the classifier or its training changes: old cache entries are ignored
FEATURE_LAYER = "features"


def cache_dir() -> str:
    """Where trained extractors are kept: `$TFGEN_CACHE_DIR`, else `~/.cache/tfgen`."""
    return os.environ.get("TFGEN_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfgen")


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

    def features(self, x, value_range=(0.0, 1.0), batch_size: int = 256) -> np.ndarray:
        """[N, dim] float64 features of images whose pixels lie in `value_range`."""
        x = self._unit(x, value_range)
        want = tuple(self.model.inputs[0].shape[1:])
        if tuple(x.shape[1:]) != want:
            raise UserError(f"feature extractor {self.card['name']} takes images of shape "
                            f"{want}; got {tuple(x.shape[1:])}")
        return self._features.predict(x, batch_size=batch_size, verbose=0).astype(np.float64)

    def predict_classes(self, x, value_range=(0.0, 1.0), batch_size: int = 256) -> np.ndarray:
        """Predicted class of each image (tfgen classifiers only)."""
        if not self.classifies:
            raise ValueError("this feature extractor does not classify")
        logits = self.model.predict(self._unit(x, value_range), batch_size=batch_size, verbose=0)
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


def _arrays(source, split: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images in the source's value range, labels) of a split, in file order."""
    if hasattr(source, "numpy"):
        x, y = source.numpy(split)
    else:
        xs, ys, n = [], [], 0
        ds = source.dataset(split, 256, seed=0, training=False, labels=True,
                            drop_remainder=False)
        for xb, yb in ds:
            xs.append(xb.numpy())
            ys.append(yb.numpy())
            n += len(xs[-1])
            if limit is not None and n >= limit:
                break
        x, y = np.concatenate(xs), np.concatenate(ys)
    if y is None:
        raise UserError(f"dataset {source.info.name!r} has no labels to train a feature "
                        "extractor on; pass a feature model with --features")
    return (x, y) if limit is None else (x[:limit], y[:limit])


def train_classifier(x, y, num_classes: int, x_test=None, y_test=None, seed: int = 0,
                     steps: int = 500, batch_size: int = 64) -> tuple[keras.Model, dict]:
    """Train `classifier` on images in [0, 1] for about `steps` steps (at least 3 epochs);
    returns the model and its card (test accuracy where a test set is given)."""
    keras.utils.set_random_seed(seed)
    model = classifier(x.shape[1:], num_classes)
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    epochs = max(3, int(np.ceil(steps * batch_size / len(x))))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    card = {"name": "tfgen-convnet", "train_examples": int(len(x)), "epochs": epochs,
            "accuracy": None}
    if x_test is not None:
        logits = model.predict(x_test, batch_size=256, verbose=0)
        card["accuracy"] = float((logits.argmax(-1) == y_test).mean())
        card["test_examples"] = int(len(x_test))
    return model, card


def dataset_extractor(source, directory: str | None = None, progress: bool = True,
                      max_train: int | None = None) -> FeatureExtractor:
    """tfgen's classifier for `source`, trained on its train split once and cached.

    The cache key is a hash of the extractor version, the dataset name and the train split's
    contents; the file is written to a temporary name and renamed, so concurrent processes (tuner
    workers) never read a half-written model.
    """
    info = source.info
    if info.kind != "images":
        raise UserError(f"dataset {info.name!r} holds {info.kind}, not images: no feature extractor")
    if not info.num_classes:
        raise UserError(f"dataset {info.name!r} has no labels to train a feature extractor on; "
                        "pass a feature model with --features")
    x, y = _arrays(source, "train", max_train)
    x = FeatureExtractor._unit(x, info.value_range)
    key = dataset_fingerprint(info.name, "train", x, y)
    directory = os.path.join(directory or cache_dir(), "extractors")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in info.name)
    stem = os.path.join(directory, f"{safe}-{key[:16]}")
    if os.path.exists(stem + ".json") and os.path.exists(stem + ".keras"):
        with open(stem + ".json") as fh:
            card = json.load(fh)
        model = keras.saving.load_model(stem + ".keras", compile=False)
        return FeatureExtractor(model, card, FEATURE_LAYER)
    test_split = "test" if "test" in info.splits else None
    x_test = y_test = None
    if test_split:
        x_test, y_test = _arrays(source, test_split)
        x_test = FeatureExtractor._unit(x_test, info.value_range)
    if progress:
        log.info("training a feature extractor for %s on %d train images (once; cached in %s)",
                 info.name, len(x), directory)
    model, card = train_classifier(x, y, info.num_classes, x_test, y_test)
    card.update(dataset=info.name, train_split="train", test_split=test_split, sha256=key,
                path=stem + ".keras")
    os.makedirs(directory, exist_ok=True)
    pid = os.getpid()
    model.save(f"{stem}.{pid}.tmp.keras")
    os.replace(f"{stem}.{pid}.tmp.keras", stem + ".keras")
    with open(f"{stem}.{pid}.tmp.json", "w") as fh:
        json.dump(card, fh, indent=2)
    os.replace(f"{stem}.{pid}.tmp.json", stem + ".json")
    if progress:
        log.info("feature extractor test accuracy: %.4f", card["accuracy"] or float("nan"))
    return FeatureExtractor(model, card, FEATURE_LAYER)
