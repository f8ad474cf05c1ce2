"""`SRNN`: a latent per frame -- the stochastic recurrent network of Fraccaro et al. 2016."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen.models.sequence_vae import SequenceVAE
from tfgen.models.vae import _log_normal


def gaussian_kl_between(mean_q, log_var_q, mean_p, log_var_p) -> tf.Tensor:
    """KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) per dimension:
    ½(log σ_p² - log σ_q² + (σ_q² + (μ_q - μ_p)²) / σ_p² - 1)."""
    return 0.5 * (log_var_p - log_var_q
                  + (tf.exp(log_var_q) + tf.square(mean_q - mean_p)) * tf.exp(-log_var_p) - 1.0)


@keras.saving.register_keras_serializable(package="tfgen")
class SRNN(SequenceVAE):
    """A stochastic recurrent network (Fraccaro et al. 2016): a latent z_t per frame on a
    deterministic recurrence d_t, with the backward smoothing posterior
    (`tfgen.networks.srnn_networks`, whose module describes the networks):

        p(x, z) = Π_t p(z_t | z_{t-1}, d_t) p(x_t | z_t, d_t)
        q(z | x) = Π_t q(z_t | z_{t-1}, a_t)

    One importance weight of a piece is that of its whole latent path z_{1:T} drawn from q,
    each z_t given the z_{t-1} drawn before it (m_t the piece's frame mask):

        log w = Σ_t m_t [log p(x_t | z_t, d_t) + log p(z_t | z_{t-1}, d_t) - log q(z_t | z_{t-1}, a_t)]

    so the VAE's bounds are SRNN's: the ELBO (with the per-frame KL in closed form given the
    drawn z_{t-1}, as the paper's), the IWAE bound with K paths and its importance-sampled
    log p(x); β schedules and free bits (on each dimension's KL summed over the piece's frames)
    apply as to the VAE. Frames are the `SequenceVAE`'s (packed layout, NADE or Bernoulli
    frames, padding out of every term, sorted evaluation batches, frame-by-frame sampling).

    There is no code per piece (`has_code` is False): no encode/decode of a code,
    interpolation or ex-post density; `reconstruct` is the teacher-forced frame means along
    the posterior's mean path.

    Example:

    >>> import keras, tfgen
    >>> from tfgen.data import music
    >>> x = music.pack(music.jsb_chorales()["train"][:8])
    >>> enc, dec = tfgen.networks.srnn_networks(88, tfgen.ingredients.get(
    ...     "likelihood", "bernoulli"), latent_dim=4, units=16)
    >>> srnn = tfgen.SRNN(enc, dec, latent_dim=4, sample_frames=16)
    >>> srnn.compile(keras.optimizers.Adam(1e-3))
    >>> _ = srnn.fit(x, batch_size=4, epochs=1, verbose=0)
    >>> srnn.sample(2).shape
    (2, 16, 89)
    >>> bool(srnn.nll_per_frame(x, num_samples=4) > 0)
    True
    """

    has_code = False

    def _check_networks(self) -> int:
        if not (hasattr(self.encoder, "smooth") and hasattr(self.decoder, "states")):
            raise ValueError("an SRNN takes tfgen.networks.srnn_networks' SRNNEncoder and "
                             "SRNNDecoder")
        if self.encoder.latent_dim != self.latent_dim or self.decoder.latent_dim != \
                self.latent_dim:
            raise ValueError(f"the SRNN networks' latent_dim ({self.encoder.latent_dim}, "
                             f"{self.decoder.latent_dim}) is not the model's {self.latent_dim}")
        return 0

    @property
    def likelihood_values(self) -> int:
        return int(self.decoder.keys)

    keys = likelihood_values

    def _noise_shape(self, x) -> list:
        return [tf.shape(x)[1], self.latent_dim]  # one z_t per frame

    # -- the model ----------------------------------------------------------------------------

    def _latent_path(self, x, eps, training):
        """The latent path of packed x [n, T, keys + 1] for noise eps [n, T, d] (zeros: the
        posterior's mean path): (z [n, T, d], the decoder states d [n, T, units], and the
        posterior's and the prior's means and log-variances, each [n, T, d])."""
        d = self.decoder.states(x, training)
        a = self.encoder.smooth(d, x, training)
        prior = self.decoder.prior
        posterior = self.encoder.posterior
        time_major = lambda t: tf.transpose(t, [1, 0, 2])  # noqa: E731
        steps = (time_major(prior.context(d)), time_major(posterior.context(a)),
                 time_major(tf.cast(eps, tf.float32)))

        def step(carry, inputs):
            z_prev = carry[0]
            prior_t, posterior_t, eps_t = inputs
            mean_p, log_var_p = prior.step(z_prev, prior_t)
            delta, log_var_q = posterior.step(z_prev, posterior_t)
            mean_q = mean_p + delta  # the paper's "Resq": q's mean relative to p's
            z = mean_q + tf.exp(0.5 * log_var_q) * eps_t
            return z, mean_q, log_var_q, mean_p, log_var_p

        zeros = tf.zeros([tf.shape(x)[0], self.latent_dim], tf.float32)
        out = tf.scan(step, steps, initializer=(zeros,) * 5)
        return (time_major(out[0]), d, *[time_major(t) for t in out[1:]])

    def _frame_log_px(self, x, z, d, training):
        """log p(x_t | z_t, d_t) per frame [n, T] (padding included; the caller masks)."""
        params = self.decoder.emit(z, d, training)
        n, frames = tf.shape(x)[0], tf.shape(x)[1]
        rows = tf.reshape(x[..., :self.keys], [-1, self.keys])
        per_frame = self.likelihood.log_prob(rows, tf.reshape(params, [-1, params.shape[-1]]))
        return tf.reshape(per_frame, [n, frames])

    def _bounds(self, x, labels, eps, training, stop=None):
        """The VAE's per-example terms (see `VAE._bounds`) for noise eps [b, K, T, d]: K latent
        paths per piece; `kl_dims` [b, d] is the closed-form KL of each dimension summed over
        the piece's frames, averaged over the K paths."""
        if stop is not None:
            raise ValueError("the SRNN trains with the standard estimator")
        b, k = tf.shape(x)[0], eps.shape[1]
        x = tf.cast(x, tf.float32)
        xk = tf.repeat(x, k, axis=0)
        mask = xk[..., self.keys]
        flat_eps = tf.reshape(eps, [b * k, tf.shape(x)[1], self.latent_dim])
        z, d, mean_q, log_var_q, mean_p, log_var_p = self._latent_path(xk, flat_eps, training)
        per_draw = lambda t: tf.reshape(t, [b, k])  # noqa: E731
        log_px = per_draw(tf.reduce_sum(self._frame_log_px(xk, z, d, training) * mask, axis=1))
        log_ratio = _log_normal(z, mean_q, log_var_q) - _log_normal(z, mean_p, log_var_p)
        log_ratio = per_draw(tf.reduce_sum(log_ratio * mask, axis=1))
        kl = gaussian_kl_between(mean_q, log_var_q, mean_p, log_var_p) * mask[..., None]
        kl_dims = tf.reduce_mean(tf.reshape(tf.reduce_sum(kl, axis=1), [b, k, self.latent_dim]),
                                 axis=1)
        return {"log_px": log_px, "log_w": log_px - log_ratio, "kl_layers": [log_ratio],
                "z": [z], "z_stopped": [z], "kl_dims": kl_dims}

    def call(self, inputs, training: bool = False):
        """Teacher-forced frame means of x along the posterior's mean path, packed."""
        x = tf.cast(inputs, tf.float32)
        z, d, *_ = self._latent_path(x, tf.zeros([tf.shape(x)[0], tf.shape(x)[1], self.latent_dim]),
                              training)
        return self._packed(self._frame_means(self.decoder.emit(z, d, training)), inputs)

    # -- what a model without a code per piece does not have ---------------------------------

    def _no_code(self, what: str):
        raise ValueError(f"an SRNN has a latent per frame, no code per piece: no {what} (a "
                         "sequence VAE has one)")

    def encode(self, x, labels=None):
        self._no_code("encode")

    def interpolate(self, a, b, steps: int = 5, seed: int | None = None):
        self._no_code("interpolation between codes")

    def fit_expost(self, x, seed: int = 0, batch_size: int = 256, progress=None):
        self._no_code("ex-post density over codes")

    def reconstruct(self, x, labels=None) -> np.ndarray:
        """Teacher-forced frame means of x along the posterior's mean path (packed)."""
        with self.averaged_weights():
            return self(tf.convert_to_tensor(x, tf.float32)).numpy()

    def kl_per_dimension(self, x, labels=None) -> np.ndarray:
        """Mean KL(q(z_t,d | ·) ‖ p(z_t,d | ·)) per frame of each latent dimension over the
        pieces x (along one posterior path per piece)."""
        x = np.asarray(x, np.float32)
        with self.averaged_weights():
            eps = tf.random.stateless_normal([len(x), 1, x.shape[1], self.latent_dim],
                                             seed=[0, 998], alg="philox")
            kl = self._bounds(tf.constant(x), None, eps, False)["kl_dims"].numpy()
        return kl.sum(axis=0) / max(float(x[..., -1].sum()), 1.0)

    def active_units_per_layer(self, x, labels=None, threshold: float = 0.01) -> list[int]:
        """Dimensions of z_t whose posterior mean varies (Cov > threshold) over the frames of
        the pieces x (along the posterior's mean path)."""
        x = tf.convert_to_tensor(np.asarray(x, np.float32))
        with self.averaged_weights():
            _, _, mean_q, *_ = self._latent_path(x, tf.zeros([x.shape[0], x.shape[1], self.latent_dim]),
                                          False)
        means = mean_q.numpy()[x.numpy()[..., -1] > 0.5]
        return [int((means.var(axis=0) > threshold).sum())]

    def export_endpoints(self, archive) -> None:
        """No encode/decode endpoints: `sample` (the base's) is the SRNN's."""
