"""A categorical likelihood over the pixel values."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.likelihoods import Likelihood, sum_per_example
from tfgen.options import param

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class Categorical(Likelihood):
    """A categorical over `levels` pixel values: x ∈ {0, 1/(L-1), ..., 1} ↦ k = round(x·(L-1));
    log p(x) = Σ log softmax(params)[k]."""

    name: ClassVar[str] = "categorical"

    levels: int = param(17, min=2, max=256,
                        help="pixel values L (17: the digits protocol, values 0..16)")

    @property
    def channels_per_dim(self) -> int:
        return self.levels

    def _logits(self, params):
        params = tf.cast(params, tf.float32)
        channels = params.shape[-1] // self.levels
        return tf.reshape(params, [*tf.unstack(tf.shape(params)[:-1]), channels, self.levels])

    def log_prob(self, x, params):
        k = tf.cast(tf.round(tf.cast(x, tf.float32) * (self.levels - 1)), tf.int32)
        k = tf.clip_by_value(k, 0, self.levels - 1)  # out-of-range (or NaN) data: no bad gather
        log_p = tf.nn.log_softmax(self._logits(params), axis=-1)
        return sum_per_example(tf.gather(log_p, k, axis=-1, batch_dims=len(k.shape)))

    def mean(self, params):
        p = tf.nn.softmax(self._logits(params), axis=-1)
        values = tf.linspace(0.0, 1.0, self.levels)
        return tf.reduce_sum(p * values, axis=-1)
