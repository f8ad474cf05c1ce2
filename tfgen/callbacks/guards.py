"""`NonFiniteGuard`: stop at the first non-finite loss or weight."""

from __future__ import annotations

import math

import keras

from tfgen.callbacks.common import model_step, scalar
from tfgen.errors import TrainingDiverged


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop training at the first non-finite logged loss or penalty, or non-finite weight.

    Gradient norms are not checked: under mixed float16 an overflowing gradient is expected (the
    loss-scale optimizer skips that update and lowers its scale), and without loss scaling a
    non-finite gradient makes the weights non-finite in the same step, which is checked.

    Raises `TrainingDiverged` naming the quantity and the step, from the batch end where it was
    seen. The step is exact also with `steps_per_execution=K` (the model records the first
    non-finite step inside its train step); epoch-end callbacks such as `Checkpointer` do not
    run, so the last good checkpoint is kept.
    """

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            value = scalar(value)
            if key == "weights_finite":
                if value != 1.0:
                    self._stop("weights")
            elif "grad_norm" not in key and not math.isfinite(value):
                self._stop(key)

    def _stop(self, quantity: str):
        first = getattr(self.model, "first_nonfinite_step", lambda: None)()
        raise TrainingDiverged(
            f"non-finite {quantity} at step {first or model_step(self.model)}; training stopped "
            "(the last good checkpoint is kept)"
        )
