"""The discretised logistic mixture likelihood (Salimans et al. 2017, PixelCNN++)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.likelihoods import Likelihood, sum_per_example
from tfgen.options import param

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class DiscretizedLogisticMixture(Likelihood):
    """A mixture of K logistics discretised to `levels` values, one independent mixture per
    data value (no coupling between channels).

    With x = k/(L-1) and half a bin δ = 1/(2(L-1)), component j with location μ_j and scale
    s_j gives the bin's mass
        P_j(k) = σ((x + δ - μ_j)/s_j) - σ((x - δ - μ_j)/s_j)     for 0 < k < L-1,
        P_j(0) = σ((δ - μ_j)/s_j),  P_j(L-1) = 1 - σ((1 - δ - μ_j)/s_j)   (edge bins take the tails),
    and log p(x) = Σ_values log Σ_j π_j P_j(k). The interior difference is evaluated as
    log σ(a) + log σ(-b) + log(1 - exp(-(a - b))), exact and stable for any a > b.

    The decoder outputs 3K values per data value: mixture logits, locations, log scales.
    """

    name: ClassVar[str] = "discretized_logistic"

    levels: int = param(256, min=2, max=65536, help="data values L (256: 8-bit images)")
    components: int = param(5, min=1, max=32, help="mixture components K")

    @property
    def channels_per_dim(self) -> int:
        return 3 * self.components

    def _split(self, params):
        params = tf.cast(params, tf.float32)
        k = self.components
        shape = tf.concat([tf.shape(params)[:-1], [-1, 3 * k]], axis=0)
        params = tf.reshape(params, shape)  # [..., channels, 3K]
        logits, loc, log_scale = tf.split(params, 3, axis=-1)
        return logits, loc, tf.clip_by_value(log_scale, -9.0, 3.0)

    def log_prob(self, x, params):
        logits, loc, log_scale = self._split(params)
        x = tf.clip_by_value(tf.cast(x, tf.float32), 0.0, 1.0)[..., None]
        k = tf.round(x * (self.levels - 1))
        centre = k / (self.levels - 1)
        half = 0.5 / (self.levels - 1)
        inv = tf.exp(-log_scale)
        a = (centre + half - loc) * inv  # upper edge
        b = (centre - half - loc) * inv  # lower edge
        log_cdf_a = -tf.nn.softplus(-a)  # log σ(a): mass below the upper edge (first bin)
        log_sf_b = -tf.nn.softplus(b)  # log(1 - σ(b)): mass above the lower edge (last bin)
        gap = (2.0 * half) * inv  # a - b > 0
        interior = log_cdf_a + log_sf_b + tf.math.log(-tf.math.expm1(-gap))
        log_p = tf.where(k <= 0, log_cdf_a, tf.where(k >= self.levels - 1, log_sf_b, interior))
        mixed = tf.reduce_logsumexp(tf.nn.log_softmax(logits, axis=-1) + log_p, axis=-1)
        return sum_per_example(mixed)

    def mean(self, params):
        logits, loc, _ = self._split(params)
        return tf.reduce_sum(tf.nn.softmax(logits, axis=-1) * tf.clip_by_value(loc, 0.0, 1.0),
                             axis=-1)
