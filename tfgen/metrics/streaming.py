"""Streaming Fréchet distance: a `keras.metrics.Metric` that works under a distribution strategy.

Each replica adds the count, sum and sum of outer products (float64) of its real and generated
features; the variables are summed across replicas, and `result()` is the Fréchet distance of the
Gaussians with the pooled means and (unbiased) covariances -- the same number as
`frechet_distance` on all the features at once.

Its sums are float64 (sums of outer products over many batches), so it runs on CPUs and
GPUs, not inside a TPU step (TPUs have no 64-bit floats): on a TPU, compute the features
there and update the metric on the host, as `tfgen.metrics.Evaluator` does with its NumPy
statistics.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FrechetDistance(keras.metrics.Metric):
    """Fréchet distance between two feature streams.

    Args:
        dim: feature dimension.

    Example (streams of features, e.g. a classifier's, of real and generated batches):

    >>> import numpy as np
    >>> metric = FrechetDistance(dim=4)
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(10):
    ...     metric.update_state(rng.normal(size=(500, 4)), rng.normal(1.0, 1.0, size=(500, 4)))
    >>> round(float(metric.result()))  # ‖μ_real − μ_fake‖² = 4, equal covariances
    4
    """

    def __init__(self, dim: int, name: str = "frechet_distance", **kwargs):
        super().__init__(name=name, dtype="float64", **kwargs)
        self.dim = int(dim)
        self.stats = {}
        for side in ("real", "fake"):
            self.stats[side] = (
                self.add_variable((), "zeros", dtype="float64", aggregation="sum",
                                  name=f"{side}_count"),
                self.add_variable((self.dim,), "zeros", dtype="float64", aggregation="sum",
                                  name=f"{side}_sum"),
                self.add_variable((self.dim, self.dim), "zeros", dtype="float64",
                                  aggregation="sum", name=f"{side}_outer"),
            )

    def update_state(self, real_features, fake_features, sample_weight=None):
        for side, x in (("real", real_features), ("fake", fake_features)):
            x = tf.cast(tf.reshape(x, [-1, self.dim]), tf.float64)
            count, total, outer = self.stats[side]
            count.assign_add(tf.cast(tf.shape(x)[0], tf.float64))
            total.assign_add(tf.reduce_sum(x, axis=0))
            outer.assign_add(tf.matmul(x, x, transpose_a=True))

    def _moments(self, side):
        count, total, outer = (tf.convert_to_tensor(v) for v in self.stats[side])
        mean = total / count
        cov = (outer - count * tf.tensordot(mean, mean, axes=0)) / (count - 1.0)
        return mean, cov

    def result(self):
        mu1, s1 = self._moments("real")
        mu2, s2 = self._moments("fake")
        w, v = tf.linalg.eigh(s1)
        root1 = tf.matmul(v * tf.sqrt(tf.maximum(w, 0.0)), v, transpose_b=True)
        middle = root1 @ s2 @ root1
        eig = tf.linalg.eigvalsh(0.5 * (middle + tf.transpose(middle)))
        value = (tf.reduce_sum(tf.square(mu1 - mu2)) + tf.linalg.trace(s1) + tf.linalg.trace(s2)
                 - 2.0 * tf.reduce_sum(tf.sqrt(tf.maximum(eig, 0.0))))
        return tf.maximum(value, 0.0)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}
