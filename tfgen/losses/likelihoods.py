"""Decoder likelihoods p(x | z) for VAEs: log-probabilities per example, in float32.

A likelihood turns the decoder's raw output (`params`, with `channels_per_dim` values for every
data value) into log p(x | params), summed over all dimensions of an example. Data are in [0, 1]
(`pixel_range: unit`).
"""

from __future__ import annotations

import math

import tensorflow as tf


def _sum_per_example(t: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


class Likelihood:
    """Base class: `log_prob(x, params)` -> [batch]; `mean(params)` -> E[x | params]."""

    name = ""
    channels_per_dim = 1

    def log_prob(self, x: tf.Tensor, params: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def mean(self, params: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}


class Bernoulli(Likelihood):
    """log p(x | λ) = Σ x log λ + (1 - x) log(1 - λ), λ = σ(params).

    Args:
        binarize: threshold x at 0.5 first (the "binarised" data of the VAE literature); without
            it, x in (0, 1) gives the (unnormalised) cross-entropy.
    """

    name = "bernoulli"

    def __init__(self, binarize: bool = True):
        self.binarize = binarize

    def targets(self, x):
        x = tf.cast(x, tf.float32)
        return tf.cast(x > 0.5, tf.float32) if self.binarize else x

    def log_prob(self, x, params):
        logits = tf.cast(params, tf.float32)
        return -_sum_per_example(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=self.targets(x), logits=logits))

    def mean(self, params):
        return tf.sigmoid(tf.cast(params, tf.float32))

    def get_config(self):
        return {"name": self.name, "binarize": self.binarize}


def continuous_bernoulli_log_norm(logits: tf.Tensor) -> tf.Tensor:
    """log C(λ) of the continuous Bernoulli (Loaiza-Ganem & Cunningham 2019), λ = σ(logits):
    C(λ) = 2 artanh(1 - 2λ) / (1 - 2λ), and C(½) = 2; a Taylor expansion near λ = ½."""
    logits = tf.cast(logits, tf.float32)
    lam = tf.clip_by_value(tf.sigmoid(logits), 1e-6, 1.0 - 1e-6)
    near = tf.abs(lam - 0.5) < 1e-2
    safe = tf.where(near, tf.fill(tf.shape(lam), 0.25), lam)
    # artanh(1 - 2λ) = logits / 2 ... up to the clipping: use the logits directly for accuracy.
    exact = tf.math.log(tf.abs(2.0 * tf.math.atanh(1.0 - 2.0 * safe))) - tf.math.log(
        tf.abs(1.0 - 2.0 * safe))
    d = 1.0 - 2.0 * lam
    taylor = math.log(2.0) + tf.math.log1p(d * d / 3.0 + d**4 / 5.0)
    return tf.where(near, taylor, exact)


class ContinuousBernoulli(Likelihood):
    """log p(x | λ) = x log λ + (1 - x) log(1 - λ) + log C(λ), a proper density on [0, 1]."""

    name = "continuous_bernoulli"

    def log_prob(self, x, params):
        logits = tf.cast(params, tf.float32)
        x = tf.cast(x, tf.float32)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        return _sum_per_example(-bce + continuous_bernoulli_log_norm(logits))

    def mean(self, params):
        lam = tf.clip_by_value(tf.sigmoid(tf.cast(params, tf.float32)), 1e-6, 1.0 - 1e-6)
        near = tf.abs(lam - 0.5) < 1e-2
        safe = tf.where(near, tf.fill(tf.shape(lam), 0.25), lam)
        exact = safe / (2.0 * safe - 1.0) + 1.0 / (2.0 * tf.math.atanh(1.0 - 2.0 * safe))
        return tf.where(near, 0.5 * tf.ones_like(lam), exact)


class Gaussian(Likelihood):
    """log N(x; μ, σ²) summed over dimensions.

    Args:
        scale: a fixed σ; None: σ is learned per value (the decoder then outputs μ and log σ).
    """

    name = "gaussian"

    def __init__(self, scale: float | None = None):
        self.scale = scale
        self.channels_per_dim = 1 if scale is not None else 2

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
        return _sum_per_example(-0.5 * z * z - log_scale - 0.5 * math.log(2.0 * math.pi))

    def mean(self, params):
        return self._split(params)[0]

    def get_config(self):
        return {"name": self.name, "scale": self.scale}


class Categorical(Likelihood):
    """A categorical over `levels` pixel values: x ∈ {0, 1/(L-1), ..., 1} ↦ k = round(x·(L-1));
    log p(x) = Σ log softmax(params)[k]. `levels=17` is the digits protocol (values 0..16)."""

    name = "categorical"

    def __init__(self, levels: int = 17):
        self.levels = levels
        self.channels_per_dim = levels

    def _logits(self, params):
        params = tf.cast(params, tf.float32)
        channels = params.shape[-1] // self.levels
        return tf.reshape(params, [*tf.unstack(tf.shape(params)[:-1]), channels, self.levels])

    def log_prob(self, x, params):
        k = tf.cast(tf.round(tf.cast(x, tf.float32) * (self.levels - 1)), tf.int32)
        k = tf.clip_by_value(k, 0, self.levels - 1)  # out-of-range (or NaN) data: no bad gather
        log_p = tf.nn.log_softmax(self._logits(params), axis=-1)
        return _sum_per_example(tf.gather(log_p, k, axis=-1, batch_dims=len(k.shape)))

    def mean(self, params):
        p = tf.nn.softmax(self._logits(params), axis=-1)
        values = tf.linspace(0.0, 1.0, self.levels)
        return tf.reduce_sum(p * values, axis=-1)

    def get_config(self):
        return {"name": self.name, "levels": self.levels}


class DiscretizedLogisticMixture(Likelihood):
    """A mixture of K logistics discretised to `levels` values (Salimans et al. 2017,
    PixelCNN++), one independent mixture per data value (no coupling between channels).

    With x = k/(L-1) and half a bin δ = 1/(2(L-1)), component j with location μ_j and scale
    s_j gives the bin's mass
        P_j(k) = σ((x + δ - μ_j)/s_j) - σ((x - δ - μ_j)/s_j)     for 0 < k < L-1,
        P_j(0) = σ((δ - μ_j)/s_j),  P_j(L-1) = 1 - σ((1 - δ - μ_j)/s_j)   (edge bins take the tails),
    and log p(x) = Σ_values log Σ_j π_j P_j(k). The interior difference is evaluated as
    log σ(a) + log σ(-b) + log(1 - exp(-(a - b))), exact and stable for any a > b.

    The decoder outputs 3K values per data value: mixture logits, locations, log scales.

    Args:
        levels: number of data values (256 for 8-bit images).
        components: K.
    """

    name = "discretized_logistic"

    def __init__(self, levels: int = 256, components: int = 5):
        self.levels, self.components = int(levels), int(components)
        self.channels_per_dim = 3 * self.components

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
        return _sum_per_example(mixed)

    def mean(self, params):
        logits, loc, _ = self._split(params)
        return tf.reduce_sum(tf.nn.softmax(logits, axis=-1) * tf.clip_by_value(loc, 0.0, 1.0),
                             axis=-1)

    def get_config(self):
        return {"name": self.name, "levels": self.levels, "components": self.components}


LIKELIHOODS = {
    "bernoulli": Bernoulli,
    "continuous_bernoulli": ContinuousBernoulli,
    "gaussian": Gaussian,
    "categorical": Categorical,
    "discretized_logistic": DiscretizedLogisticMixture,
}


def get_likelihood(spec) -> Likelihood:
    """A likelihood from a name, a config dict ({"name": ..., options}) or an instance."""
    if isinstance(spec, Likelihood):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    spec = dict(spec)
    name = spec.pop("name")
    if name not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {name!r}; choose from: {', '.join(LIKELIHOODS)}")
    return LIKELIHOODS[name](**spec)

