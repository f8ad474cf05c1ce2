"""Optimizers tuned for many small training steps."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable("tfgen")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with TensorFlow's fused `ResourceApplyAdam` kernel.

    The update is Adam's, unchanged:
        m ← β₁m + (1-β₁)g,  v ← β₂v + (1-β₂)g²,
        θ ← θ - lr·√(1-β₂ᵗ)/(1-β₁ᵗ) · m / (√v + ε),
    but each variable is updated by one kernel instead of the ~15 small ops Keras' generic Adam
    emits, which is a large share of a step for the small networks of 2-D and 8×8 data (measured
    in BENCHMARKS.md). Falls back to Keras' update for AMSGrad. Weights match Keras' Adam to float
    rounding (tested).
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        )


def _adam(lr, beta_1, beta_2, weight_decay, **clip):
    return FusedAdam(lr, beta_1=beta_1, beta_2=beta_2, **clip)


def _adamw(lr, beta_1, beta_2, weight_decay, **clip):
    return keras.optimizers.AdamW(lr, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2,
                                  **clip)


def _rmsprop(lr, beta_1, beta_2, weight_decay, **clip):
    return keras.optimizers.RMSprop(lr, **clip)


def _sgd(lr, beta_1, beta_2, weight_decay, **clip):
    return keras.optimizers.SGD(lr, momentum=beta_1, **clip)


# name -> (learning rate, beta_1, beta_2, weight_decay, global_clipnorm=) -> optimizer. Adam is
# FusedAdam.
OPTIMIZERS = {"adam": _adam, "adamw": _adamw, "rmsprop": _rmsprop, "sgd": _sgd}
LR_SCHEDULES = ("constant", "linear")


@keras.saving.register_keras_serializable("tfgen")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear decay to 0 at update `decay_steps`, from `start_rate` at update `start_step`:

        lr(t) = start_rate · max(0, (decay_steps - t) / (decay_steps - start_step)),

    with start_step = 0 and start_rate = `initial_learning_rate` for a new run (the usual linear
    decay). A run resumed with more epochs continues from the rate it had reached
    (`continue_from`), so the rate has no jump where the plan changed.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, start_step: int = 0,
                 start_rate: float | None = None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.continue_from(start_step, start_rate)

    def continue_from(self, start_step: int, start_rate: float | None = None) -> None:
        self.start_step = int(start_step)
        self.start_rate = self.initial_learning_rate if start_rate is None else float(start_rate)

    def __call__(self, step):
        t = tf.cast(step, tf.float32)
        left = tf.maximum(0.0, float(self.decay_steps) - t)
        return self.start_rate * left / float(max(1, self.decay_steps - self.start_step))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "start_step": self.start_step,
                "start_rate": self.start_rate}


def schedules_of(optimizer) -> list:
    """The `LinearDecay` schedules an optimizer runs (through a loss-scale wrapper)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    schedule = getattr(inner, "_learning_rate", None)
    return [schedule] if isinstance(schedule, LinearDecay) else []


def make_optimizer(name: str = "adam", learning_rate: float = 2e-4, *, beta_1: float = 0.5,
                   beta_2: float = 0.999, weight_decay: float = 0.0, schedule: str = "constant",
                   total_updates: int = 1,
                   clipnorm: float | None = None) -> keras.optimizers.Optimizer:
    """An optimizer by name (one of `OPTIMIZERS`; beta_1 is SGD's momentum).

    Args:
        schedule: "constant", or "linear" decay of the learning rate to 0 over `total_updates`
            updates (the optimizer's whole run).
        clipnorm: clip each update's gradients to this global norm (Keras's
            `global_clipnorm`; None: no clipping) -- the recurrent networks' usual guard.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from: {', '.join(OPTIMIZERS)}")
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose from: {', '.join(LR_SCHEDULES)}")
    lr = learning_rate
    if schedule == "linear":
        lr = LinearDecay(lr, max(1, total_updates))
    clip = {} if clipnorm is None else {"global_clipnorm": float(clipnorm)}
    return OPTIMIZERS[name](lr, beta_1, beta_2, weight_decay, **clip)
