"""The Bernoulli likelihood of (binarised) data, the VAE literature's standard."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.likelihoods import Likelihood, sum_per_example
from tfgen.options import param

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class Bernoulli(Likelihood):
    """log p(x | λ) = Σ x log λ + (1 - x) log(1 - λ), λ = σ(params)."""

    name: ClassVar[str] = "bernoulli"

    binarize: bool = param(True, help="threshold x at 0.5 first (the binarised data of the VAE "
                           "literature); false: x in (0, 1) gives the unnormalised cross-entropy")

    def targets(self, x):
        x = tf.cast(x, tf.float32)
        return tf.cast(x > 0.5, tf.float32) if self.binarize else x

    def log_prob(self, x, params):
        logits = tf.cast(params, tf.float32)
        return -sum_per_example(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=self.targets(x), logits=logits))

    def mean(self, params):
        return tf.sigmoid(tf.cast(params, tf.float32))

    def sample(self, params, seed):
        u = tf.random.stateless_uniform(tf.shape(params), seed, alg="philox")
        return tf.cast(u < self.mean(params), tf.float32)
