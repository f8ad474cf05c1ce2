"""`BestEpoch`: model selection and convergence stopping on a logged metric."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen import fileio
from tfgen.callbacks.common import due, scalar


class BestEpoch(keras.callbacks.Callback):
    """Model selection on a logged metric, with convergence stopping, that survives resumes.

    At the end of every `every`-th epoch (and the last), if `monitor` improved, the model's
    weights are written to `path` (atomically: a temporary file, then a rename). Training stops
    after `patience` such checks without improvement, or once the best value reaches `target`.
    When training ends, the best weights are loaded back. Its state (best value, epoch, checks
    waited) is a set of variables for `Checkpointer(extra=best.state())`, so a resumed run
    selects exactly as an uninterrupted one.

    Args:
        path: weights file (`.weights.h5`) of the best epoch.
        monitor: the logged value to watch, e.g. "val_bound" (a VAE's validation bound: IWAE or
            ELBO) or "eval_frechet_distance".
        mode: "max" or "min".
        patience: checks without improvement before stopping (None: never stop).
        target: stop once the best value is at least (max) or at most (min) this.
        every: epochs between checks (an `Evaluation` callback's `every`).
    """

    def __init__(self, path, monitor: str = "val_bound", mode: str = "max",
                 patience: int | None = None, target: float | None = None, every: int = 1):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError("mode must be 'max' or 'min'")
        self.path = str(path)
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.target, self.every = target, int(every)
        worst = -np.inf if mode == "max" else np.inf
        self.best = tf.Variable(worst, dtype=tf.float64, trainable=False)
        self.best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)

    def state(self) -> dict:
        return {"best_value": self.best, "best_epoch": self.best_epoch, "best_wait": self.wait}

    def _better(self, a, b) -> bool:
        return a > b if self.mode == "max" else a < b

    def reached_target(self) -> bool:
        best = float(self.best.numpy())
        return self.target is not None and not self._better(self.target, best)

    def stopped(self) -> bool:
        """True when a previous run already stopped (patience spent or target reached)."""
        waited = self.patience is not None and int(self.wait.numpy()) >= self.patience
        return waited or self.reached_target()

    def reason(self) -> str:
        if self.reached_target():
            return f"{self.monitor} reached its target {self.target}"
        return f"no better {self.monitor} for {self.patience} checks"

    def on_epoch_end(self, epoch, logs=None):
        if not due(self, epoch, self.every):
            return
        if not logs or self.monitor not in logs:
            raise ValueError(f"BestEpoch: '{self.monitor}' is not logged (need validation data "
                             "or an Evaluation callback before this one)")
        value = scalar(logs[self.monitor])
        if self._better(value, self.best.numpy()):
            self.best.assign(value)
            self.best_epoch.assign(epoch + 1)
            self.wait.assign(0)
            fileio.makedirs(fileio.dirname(fileio.absolute(self.path)))
            with fileio.atomic(self.path) as tmp:
                self.model.save_weights(tmp)
        else:
            self.wait.assign_add(1)
        if self.stopped():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if fileio.exists(self.path):
            self.model.load_weights(self.path)
