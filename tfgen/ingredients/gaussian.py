"""The Gaussian likelihood, fixed or learned scale."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.likelihoods import Likelihood, sum_per_example
from tfgen.options import param

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class Gaussian(Likelihood):
    """log N(x; μ, σ²) summed over dimensions; with a learned σ the decoder outputs μ and
    log σ (clipped to [-7, 5]) per value."""

    name: ClassVar[str] = "gaussian"

    scale: float | None = param(None, gt=0.0, help="a fixed sigma (null: learned per value)")

    @property
    def channels_per_dim(self) -> int:
        return 1 if self.scale is not None else 2

    def _split(self, params):
        params = tf.cast(params, tf.float32)
        if self.scale is not None:
            return params, tf.fill(tf.shape(params), math.log(self.scale))
        mu, log_scale = tf.split(params, 2, axis=-1)
        return mu, tf.clip_by_value(log_scale, -7.0, 5.0)

    def log_prob(self, x, params):
        mu, log_scale = self._split(params)
        x = tf.cast(x, tf.float32)
        z = (x - mu) * tf.exp(-log_scale)
        return sum_per_example(-0.5 * z * z - log_scale - 0.5 * math.log(2.0 * math.pi))

    def mean(self, params):
        return self._split(params)[0]
