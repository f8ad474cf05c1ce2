"""Helpers the callbacks share."""

from __future__ import annotations

import keras
import numpy as np


def scalar(value) -> float:
    """The first element of a logged value (a scalar, or shape [1] under multi-worker), as float."""
    return float(np.ravel(keras.ops.convert_to_numpy(value))[0])


def model_step(model) -> int:
    """The model's train-step counter (generator steps for a GAN)."""
    return int(keras.ops.convert_to_numpy(model.step))


def due(callback: keras.callbacks.Callback, epoch: int, every: int) -> bool:
    """Whether a callback that acts every `every` epochs acts at the end of (0-based) `epoch`:
    every `every`-th epoch, and the run's last one (`fit`'s `epochs`), so that a run always
    ends with it done."""
    return (epoch + 1) % every == 0 or callback.params.get("epochs") == epoch + 1
