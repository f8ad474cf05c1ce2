"""The continuous Bernoulli likelihood (Loaiza-Ganem & Cunningham 2019)."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.likelihoods import Likelihood, sum_per_example

tf = lazy.Module("tensorflow")


def continuous_bernoulli_log_norm(logits):
    """log C(λ) of the continuous Bernoulli, λ = σ(logits): C(λ) = 2 artanh(1 - 2λ) / (1 - 2λ),
    and C(½) = 2; a Taylor expansion near λ = ½."""
    logits = tf.cast(logits, tf.float32)
    lam = tf.clip_by_value(tf.sigmoid(logits), 1e-6, 1.0 - 1e-6)
    near = tf.abs(lam - 0.5) < 1e-2
    safe = tf.where(near, tf.fill(tf.shape(lam), 0.25), lam)
    exact = tf.math.log(tf.abs(2.0 * tf.math.atanh(1.0 - 2.0 * safe))) - tf.math.log(
        tf.abs(1.0 - 2.0 * safe))
    d = 1.0 - 2.0 * lam
    taylor = math.log(2.0) + tf.math.log1p(d * d / 3.0 + d**4 / 5.0)
    return tf.where(near, taylor, exact)


@dataclasses.dataclass(eq=False)
class ContinuousBernoulli(Likelihood):
    """log p(x | λ) = x log λ + (1 - x) log(1 - λ) + log C(λ), a proper density on [0, 1]."""

    name: ClassVar[str] = "continuous_bernoulli"

    def log_prob(self, x, params):
        logits = tf.cast(params, tf.float32)
        x = tf.cast(x, tf.float32)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        return sum_per_example(-bce + continuous_bernoulli_log_norm(logits))

    def mean(self, params):
        lam = tf.clip_by_value(tf.sigmoid(tf.cast(params, tf.float32)), 1e-6, 1.0 - 1e-6)
        near = tf.abs(lam - 0.5) < 1e-2
        safe = tf.where(near, tf.fill(tf.shape(lam), 0.25), lam)
        exact = safe / (2.0 * safe - 1.0) + 1.0 / (2.0 * tf.math.atanh(1.0 - 2.0 * safe))
        return tf.where(near, 0.5 * tf.ones_like(lam), exact)
