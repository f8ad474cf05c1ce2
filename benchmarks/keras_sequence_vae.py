"""What the keras.io-style sequence VAE references of benchmarks/jsb_nll.py (piano-rolls) and
benchmarks/wordnet_nll.py (sentences) share: the "Variational AutoEncoder" example's Sampling
layer and custom train_step (reconstruction + KL, weight 1, no tricks), around an encoder
[frames, mask] -> (mean, log_var) and a log-likelihood `log_px(frames, previous, mask, z)`; and
the importance-sampled bound they are scored with."""

from __future__ import annotations

import math


def model(encoder, decoder, log_px):
    """The keras.io VAE (compile it, then fit on (previous, frames, mask) batches)."""
    import keras
    import tensorflow as tf

    class Sampling(keras.layers.Layer):
        def call(self, inputs):
            z_mean, z_log_var = inputs
            eps = keras.random.normal(tf.shape(z_mean))
            return z_mean + tf.exp(0.5 * z_log_var) * eps

    sampling = Sampling()

    class SequenceVAE(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder = encoder, decoder
            self.total_loss_tracker = keras.metrics.Mean(name="total_loss")

        def train_step(self, data):
            previous, frames, mask = data
            with tf.GradientTape() as tape:
                z_mean, z_log_var = self.encoder([frames, mask])
                z = sampling([z_mean, z_log_var])
                reconstruction_loss = -tf.reduce_mean(log_px(frames, previous, mask, z))
                kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
                kl_loss = tf.reduce_mean(tf.reduce_sum(kl_loss, axis=1))
                total_loss = reconstruction_loss + kl_loss
            grads = tape.gradient(total_loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.total_loss_tracker.update_state(total_loss)
            return {"loss": self.total_loss_tracker.result()}

    return SequenceVAE()


def log_likelihood_sum(encoder, log_px, previous, frames, mask, k: int, seed: int,
                       batch: int = 8) -> float:
    """Σ over the examples of log-mean-exp over K posterior draws of log p(x, z) - log q(z | x)
    (K = 1: the ELBO), the draws stateless in (seed, batch start, draw)."""
    import tensorflow as tf

    total = 0.0
    for i in range(0, len(frames), batch):
        f, p, m = (tf.constant(a[i:i + batch]) for a in (frames, previous, mask))
        mean, log_var = encoder([f, m])
        draws = []
        for j in range(k):
            eps = tf.random.stateless_normal(tf.shape(mean), [seed, 1000 * i + j])
            z = mean + tf.exp(0.5 * log_var) * eps
            log_q = -0.5 * tf.reduce_sum(eps ** 2 + log_var + math.log(2 * math.pi), 1)
            log_p = -0.5 * tf.reduce_sum(z ** 2 + math.log(2 * math.pi), 1)
            draws.append(log_px(f, p, m, z) + log_p - log_q)
        total += float(tf.reduce_sum(tf.reduce_logsumexp(tf.stack(draws), 0) - math.log(k)))
    return total
