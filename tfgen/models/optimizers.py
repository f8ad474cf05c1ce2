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
