"""Plain Keras reference models for the throughput benchmark, written the way the Keras examples
write them ("DCGAN to generate face images", "Variational AutoEncoder"): a `train_step` with
gradient tapes, `keras.random` noise from a `SeedGenerator`, running-mean loss trackers, and
`compile()` with default settings. They take the generator/discriminator or encoder/decoder as
built networks, so a comparison with tfgen uses the same architecture.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def fit_for(model, ds, seconds: float, chunk: int = 100) -> tuple[int, float]:
    """Train `model` on `ds` (an endless dataset) for about `seconds`: one `fit` call whose
    epochs are `chunk` steps, stopped at the first epoch end past the time (so one data
    iterator and one compiled function serve the whole run; the overrun is at most one chunk).
    Returns (steps, seconds)."""
    import time

    class StopAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if time.time() - start >= seconds:
                self.model.stop_training = True

    start = time.time()
    history = model.fit(ds, epochs=10**9, steps_per_epoch=chunk, verbose=0,
                        callbacks=[StopAfter()])
    return len(history.epoch) * chunk, time.time() - start


def keras_optimizer(cfg, total_steps: int) -> keras.optimizers.Optimizer:
    """The `OptimizerConfig`'s optimizer from stock Keras (tfgen uses its fused Adam)."""
    lr = cfg.learning_rate
    if cfg.schedule == "linear":
        lr = keras.optimizers.schedules.PolynomialDecay(lr, max(1, total_steps), 0.0, power=1.0)
    if cfg.name != "adam":
        raise ValueError("the references use Adam")
    return keras.optimizers.Adam(lr, beta_1=cfg.beta_1, beta_2=cfg.beta_2)


class ReferenceGAN(keras.Model):
    """Non-saturating GAN, one discriminator and one generator step per batch; `label_noise`
    adds uniform noise of that size to the discriminator's labels (the keras.io example: 0.05)."""

    def __init__(self, discriminator, generator, latent_dim, seed=0, label_noise=0.0):
        super().__init__()
        self.discriminator, self.generator = discriminator, generator
        self.latent_dim = latent_dim
        self.label_noise = label_noise
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def call(self, z):
        return self.generator(z)

    def train_step(self, real):
        batch = ops.shape(real)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z)
        combined = ops.concatenate([fake, real], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        if self.label_noise:
            labels += self.label_noise * keras.random.uniform(ops.shape(labels),
                                                              seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(ops.zeros((batch, 1)), self.discriminator(self.generator(z)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


class ReferenceVAE(keras.Model):
    """Reparameterised Gaussian posterior, analytic KL, one sample, `log_prob` of a likelihood."""

    def __init__(self, encoder, decoder, latent_dim, log_prob, seed=0):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.log_prob = latent_dim, log_prob
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.total_loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker]

    def call(self, x):
        return self.decoder(tf.split(self.encoder(x), 2, axis=-1)[0])

    def train_step(self, x):
        with tf.GradientTape() as tape:
            mean, log_var = tf.split(self.encoder(x), 2, axis=-1)
            eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            z = mean + ops.exp(0.5 * log_var) * eps
            reconstruction = self.log_prob(x, self.decoder(z))
            kl = -0.5 * ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=1)
            loss = ops.mean(kl - reconstruction)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(loss)
        return {"loss": self.total_loss_tracker.result()}
