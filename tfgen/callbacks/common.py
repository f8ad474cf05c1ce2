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
