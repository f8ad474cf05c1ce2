"""The hooks a `VAE` calls on its decoder likelihood p(x | z): `Likelihood`.

A likelihood turns the decoder's raw output (`params`, `channels_per_dim` values for every data
value) into log p(x | params), summed over the dimensions of each example, in float32, and
gives the decoder's mean E[x | params] (what `decode` and the samples show). Data are in [0, 1]
(`pixel_range: unit`).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.base import Ingredient

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class Likelihood(Ingredient):
    kind: ClassVar[str] = "likelihood"

    @property
    def channels_per_dim(self) -> int:
        """Decoder outputs per data value."""
        return 1

    def log_prob(self, x, params):
        """log p(x | params) per example: [batch]."""
        raise NotImplementedError

    def mean(self, params):
        """E[x | params], x's shape."""
        raise NotImplementedError

    def mode(self, params):
        """The most likely x (what greedy decoding feeds back): the mean thresholded at 0.5
        (binary data; the frame likelihoods of piano-rolls)."""
        return tf.cast(self.mean(params) > 0.5, tf.float32)

    def row_params(self, values: int) -> int:
        """Decoder outputs for a row of `values` data values (an autoregressive decoder's frame):
        `channels_per_dim` per value unless the likelihood has parameters of its own kind."""
        return values * self.channels_per_dim

    def sample(self, params, seed):
        """A draw x ~ p(x | params) (x's shape, float32) from the stateless `seed` ([2] ints):
        what an autoregressive decoder feeds back. Default: the mean (a likelihood without a
        draw of its own)."""
        return self.mean(params)


def sum_per_example(t):
    """[batch, ...] -> [batch]: the sum over each example's values."""
    return tf.reduce_sum(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)
