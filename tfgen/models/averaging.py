"""Weight averaging (EMA) of a model's variables: the part of `GenerativeModel` that keeps the
averages, updates them in each train step and swaps them in where evaluation, sampling and the
export need them."""

from __future__ import annotations

import contextlib
import functools

import keras
import tensorflow as tf


class WeightAveraging:
    """Mixin of `GenerativeModel`: the averages are non-trainable weights of the model."""

    def averaged_variables(self) -> list:
        """The variables `ema_decay` averages (families override: the GAN's generator, all of
        the VAE's networks)."""
        return []

    def init_averages(self, ema_decay: float | None) -> None:
        """Keep an exponential moving average of `averaged_variables()` (None: off), as
        non-trainable weights: checkpointed, saved, and updated by `average_updates` in each
        train step. Call at the end of `__init__`, once the networks are in place."""
        if ema_decay is not None and not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) or None, got {ema_decay}")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_weights = [] if ema_decay is None else [
            self.add_weight(
                shape=v.shape, dtype=v.dtype, trainable=False, name=f"ema_{i}",
                initializer=keras.initializers.Constant(keras.ops.convert_to_numpy(v)),
                aggregation="only_first_replica",
            )
            for i, v in enumerate(self.averaged_variables())
        ]

    def average_updates(self) -> list[tuple]:
        """This step's EMA update as (average, new value) pairs, for `assign_replicated`:
        a ← d·a + (1-d)·w with d = min(ema_decay, (1 + t) / (10 + t)) at step t (the
        `num_updates` warm-up of `tf.train.ExponentialMovingAverage`: a short run's average is
        not dominated by the initial weights -- decay 0.999 alone keeps e^-1 of them after
        1,000 steps). Read before the step counter moves."""
        if not self.ema_weights:
            return []
        t = tf.cast(self.step.value, tf.float32)
        decay = tf.minimum(tf.constant(self.ema_decay, tf.float32), (1.0 + t) / (10.0 + t))
        return [(average, tf.cast(decay * tf.cast(average.value, tf.float32)
                                  + (1.0 - decay) * tf.cast(w.value, tf.float32), average.dtype))
                for average, w in zip(self.ema_weights, self.averaged_variables(), strict=True)]

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block the averaged variables hold their averages (when EMA is on); the
        live weights come back, bit for bit, after it. Re-entrant."""
        if not self.ema_weights or self._swapped_in:
            yield
            return
        variables = self.averaged_variables()
        live = [keras.ops.convert_to_numpy(w) for w in variables]
        for w, average in zip(variables, self.ema_weights, strict=True):
            w.assign(average)
        self._swapped_in = True
        try:
            yield
        finally:
            self._swapped_in = False
            for w, value in zip(variables, live, strict=True):
                w.assign(value)

    def evaluate(self, *args, **kwargs):
        """Keras's `evaluate` on the averaged weights (when EMA is on): `fit`'s validation,
        which calls it, scores the averages too, so best-epoch selection sees the model that
        `sample`, `log_likelihood` and the export use."""
        with self.averaged_weights():
            return super().evaluate(*args, **kwargs)



def on_averaged_weights(method):
    """Decorator: run a model method inside `averaged_weights()` (what evaluation and sampling
    methods of a model with EMA should see)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.averaged_weights():
            return method(self, *args, **kwargs)
    return wrapper

