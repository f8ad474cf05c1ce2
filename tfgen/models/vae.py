"""`VAE`: an encoder and a decoder trained on the evidence lower bound by `fit`."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from tfgen.losses.likelihoods import get_likelihood
from tfgen.models.base import SAMPLE_SEED_STREAM, GenerativeModel

KL_SCHEDULES = ("constant", "linear", "cyclical")
_LOG_2PI = math.log(2.0 * math.pi)


def kl_schedule_factor(step, schedule: str, warmup_steps: int, cycle_steps: int) -> tf.Tensor:
    """Multiplier of the KL weight at `step`.

    constant: 1. linear: min(1, step / warmup_steps) (Bowman et al. 2016). cyclical: within each
    cycle of `cycle_steps`, a linear ramp over its first half, then 1 (Fu et al. 2019).
    """
    step = tf.cast(step, tf.float32)
    if schedule == "linear" and warmup_steps > 0:
        return tf.minimum(1.0, step / float(warmup_steps))
    if schedule == "cyclical" and cycle_steps > 0:
        phase = tf.math.floormod(step, float(cycle_steps)) / float(cycle_steps)
        return tf.minimum(1.0, 2.0 * phase)
    return tf.constant(1.0)


def gaussian_kl(mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension: ½(σ² + μ² - 1 - log σ²)."""
    return 0.5 * (tf.exp(log_var) + tf.square(mean) - 1.0 - log_var)


def _log_normal(z, mean, log_var):
    return -0.5 * tf.reduce_sum(
        _LOG_2PI + log_var + tf.square(z - mean) * tf.exp(-log_var), axis=-1)


def expost_draw(seed, num, latent_dim: int, log_weights, means, scale_tril) -> tf.Tensor:
    """`num` draws from a Gaussian mixture (log weights [K], means [K, d], Cholesky factors
    [K, d, d]), stateless in `seed` (an int64 scalar tensor): ε are the normal numbers of the
    prior draw with the same seed, so prior and ex-post samples of a seed correspond."""
    eps = tf.random.stateless_normal(tf.stack([num, latent_dim]),
                                     seed=tf.stack([seed, SAMPLE_SEED_STREAM]))
    component = tf.random.stateless_categorical(
        tf.reshape(tf.convert_to_tensor(log_weights), [1, -1]), num,
        seed=tf.stack([seed, SAMPLE_SEED_STREAM + 1]))[0]
    mean = tf.gather(tf.convert_to_tensor(means), component)
    tril = tf.gather(tf.convert_to_tensor(scale_tril), component)
    return mean + tf.linalg.matvec(tril, eps)


@keras.saving.register_keras_serializable(package="tfgen")
class VAE(GenerativeModel):
    """A variational autoencoder trained by `fit` on the negative ELBO (or the IWAE bound).

    The encoder maps x (and labels, if conditional) to the mean and log-variance of a diagonal
    Gaussian posterior q(z | x), concatenated ([batch, 2·latent_dim]); the decoder maps z (and
    labels) to the parameters of the likelihood p(x | z). The prior is N(0, I).

    Args:
        encoder: x (or [x, labels]) -> [batch, 2·latent_dim].
        decoder: z (or [z, labels]) -> likelihood parameters.
        latent_dim: size of z.
        likelihood: "bernoulli", "continuous_bernoulli", "gaussian", "categorical", a config
            dict such as {"name": "categorical", "levels": 17}, or a `Likelihood`.
        num_classes: number of classes for a conditional VAE (None: unconditional).
        seed: seed of all training noise.
        expost_components: K > 0 reserves an ex-post density over the latent codes: a Gaussian
            mixture with K full-covariance components, fitted after training on the encoder
            means of the training data (`fit_expost`; "two-stage" sampling, Ghosh et al. 2020).
            `sample(..., sampler="expost")` then draws z from it instead of N(0, I). Its
            parameters are (non-trainable) weights: checkpointed, saved and exported.

    Example:

    >>> import keras, tfgen
    >>> enc = tfgen.networks.mlp_encoder((8, 8, 1), latent_dim=16)
    >>> dec = tfgen.networks.mlp_decoder(16, (8, 8, 1), params_per_value=17)
    >>> vae = tfgen.VAE(enc, dec, latent_dim=16, likelihood="categorical")
    >>> vae.compile(keras.optimizers.Adam(1e-3))
    >>> history = vae.fit(tfgen.data.load("digits", batch_size=100, pixel_range="unit"),
    ...                   epochs=2, steps_per_epoch=10, verbose=0)
    >>> x_test, _ = tfgen.data.source("digits", pixel_range="unit").numpy("test")
    >>> nll = -vae.log_likelihood(x_test[:50], num_samples=100).mean()  # nats per image
    >>> bool(0 < nll < 64 * 17 ** 0.5 * 10)
    True
    """

    submodels = ("encoder", "decoder")

    def __init__(self, encoder, decoder, latent_dim: int, likelihood="bernoulli",
                 num_classes: int | None = None, seed: int = 0, expost_components: int = 0,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = int(latent_dim)
        self.likelihood = get_likelihood(likelihood)
        self.num_classes = num_classes
        self.kl_weight, self.kl_schedule = 1.0, "constant"
        self.warmup_steps = self.cycle_steps = 0
        self.free_bits, self.iw_samples = 0.0, 1
        self.expost_components = int(expost_components)
        if self.expost_components:
            if num_classes is not None:
                raise ValueError("the ex-post density is for unconditional VAEs")
            k, d = self.expost_components, self.latent_dim
            weight = lambda shape, name: self.add_weight(  # noqa: E731
                shape=shape, initializer="zeros", trainable=False, name=name,
                aggregation="only_first_replica")
            self.expost_log_weights = weight((k,), "expost_log_weights")
            self.expost_means = weight((k, d), "expost_means")
            self.expost_scale_tril = weight((k, d, d), "expost_scale_tril")
            self.expost_fitted = weight((), "expost_fitted")
        self.built = True

    # -- Keras plumbing -----------------------------------------------------------------------

    def compile(self, optimizer="adam", kl_weight: float = 1.0, kl_schedule: str = "constant",
                warmup_steps: int = 0, cycle_steps: int = 0, free_bits: float = 0.0,
                iw_samples: int = 1, **kwargs):
        """Configure training.

        Args:
            optimizer: the optimizer.
            kl_weight: β of the β-VAE (Higgins et al. 2017): loss = -E[log p(x|z)] + β·KL.
            kl_schedule: "constant", "linear" (warm-up over `warmup_steps`) or "cyclical"
                (cycles of `cycle_steps`), multiplying `kl_weight`.
            warmup_steps: length of the linear warm-up.
            cycle_steps: length of one cyclical-schedule cycle.
            free_bits: λ of free bits (Kingma et al. 2016), applied per example and latent
                dimension: the KL term is Σ_d max(λ, KL_d) (nats).
            iw_samples: K > 1 trains on the IWAE bound (Burda et al. 2016) with K importance
                samples (β, schedules and free bits then do not apply).
            **kwargs: `keras.Model.compile` options such as `jit_compile`, `steps_per_execution`.
        """
        if kl_schedule not in KL_SCHEDULES:
            raise ValueError(f"unknown kl_schedule {kl_schedule!r}; choose from: "
                             f"{', '.join(KL_SCHEDULES)}")
        if iw_samples < 1:
            raise ValueError("iw_samples must be >= 1")
        super().compile(optimizer=None, **kwargs)  # no phantom optimizer
        self.optimizer = self.prepare_optimizer(optimizer, self.trainable_weights)
        self.kl_weight, self.kl_schedule = float(kl_weight), kl_schedule
        self.warmup_steps, self.cycle_steps = int(warmup_steps), int(cycle_steps)
        self.free_bits, self.iw_samples = float(free_bits), int(iw_samples)
        terms = ("loss", "elbo", "reconstruction", "kl")
        self.track([*terms, "kl_weight", "grad_norm", "weights_finite"])
        self.val_trackers = {k: keras.metrics.Mean(name=f"val_{k}") for k in terms}
        self.remember_compile(
            kl_weight=self.kl_weight, kl_schedule=kl_schedule, warmup_steps=self.warmup_steps,
            cycle_steps=self.cycle_steps, free_bits=self.free_bits, iw_samples=self.iw_samples,
            **kwargs)

    optimizer_arguments = ("optimizer",)

    def named_optimizers(self):
        return {"optimizer": self.optimizer}

    @property
    def metrics(self):
        return super().metrics + list(getattr(self, "val_trackers", {}).values())

    def get_config(self):
        return {
            **super().get_config(),  # name, trainable, dtype
            **self.submodel_config(),
            "latent_dim": self.latent_dim,
            "likelihood": self.likelihood.get_config(),
            "num_classes": self.num_classes,
            "seed": self.seed,
            "expost_components": self.expost_components,
        }

    def call(self, inputs, training: bool = False):
        """Reconstruction means: `inputs` is x, or [x, labels] for a conditional VAE."""
        x, labels = (inputs if self.conditional else (inputs, None))
        mean, _ = self._posterior(x, labels, training)
        return self.likelihood.mean(self._decode(mean, labels, training))

    # -- the model ----------------------------------------------------------------------------

    def _in(self, x, labels):
        return x if labels is None else [x, labels]

    def _posterior(self, x, labels, training):
        out = tf.cast(self.encoder(self._in(x, labels), training=training), tf.float32)
        mean, log_var = tf.split(out, 2, axis=-1)
        return mean, tf.clip_by_value(log_var, -20.0, 10.0)

    def _decode(self, z, labels, training):
        return self.decoder(self._in(z, labels), training=training)

    def _bounds(self, x, labels, eps, training):
        """Per-example terms for noise `eps` [b, K, latent]: log p(x|z_k) [b, K], the log
        importance weights [b, K], and the per-dimension KL [b, latent]."""
        mean, log_var = self._posterior(x, labels, training)
        k = eps.shape[1]
        z = mean[:, None] + tf.exp(0.5 * log_var)[:, None] * eps
        flat_z = tf.reshape(z, [-1, self.latent_dim])
        rep = lambda t: tf.repeat(t, k, axis=0)  # noqa: E731
        params = self._decode(flat_z, None if labels is None else rep(labels), training)
        log_px = tf.reshape(self.likelihood.log_prob(rep(x), params), [-1, k])
        log_pz = -0.5 * tf.reduce_sum(_LOG_2PI + tf.square(z), axis=-1)
        log_qz = _log_normal(z, mean[:, None], log_var[:, None])
        return log_px, log_px + log_pz - log_qz, gaussian_kl(mean, log_var)

    def _unpack(self, data):
        if self.conditional:
            x, labels = data
            return tf.cast(x, tf.float32), tf.cast(labels, tf.int32)
        x = data[0] if isinstance(data, (tuple, list)) else data
        return tf.cast(x, tf.float32), None

    def _terms(self, x, labels, training, stream):
        batch = tf.shape(x)[0]
        eps = self.normal(batch, [self.iw_samples, self.latent_dim], stream)
        log_px, log_w, kl_dims = self._bounds(x, labels, eps, training)
        reconstruction = tf.reduce_mean(log_px, axis=1)
        kl = tf.reduce_sum(kl_dims, axis=1)
        elbo = reconstruction - kl
        if self.iw_samples > 1:
            loss = -(tf.reduce_logsumexp(log_w, axis=1) - math.log(self.iw_samples))
            beta = tf.constant(1.0)
        else:
            beta = self.kl_weight * kl_schedule_factor(
                self.step.value, self.kl_schedule, self.warmup_steps, self.cycle_steps)
            kl_term = kl if self.free_bits <= 0 else tf.reduce_sum(
                tf.maximum(kl_dims, self.free_bits), axis=1)
            loss = -(reconstruction - beta * kl_term)
        return {"loss": loss, "elbo": elbo, "reconstruction": reconstruction, "kl": kl}, beta

    def train_step(self, data):
        x, labels = self._unpack(data)
        variables = self.trainable_weights
        with tf.GradientTape() as tape:
            terms, beta = self._terms(x, labels, training=True, stream=0)
            loss = self.batch_loss(terms["loss"]) + self.regularization(self)
            scaled = self.optimizer.scale_loss(loss)
        grads = self.apply_gradients(self.optimizer, self.gradients(tape, scaled, variables),
                                     variables)
        self.step.assign_add(1)
        logs = {k: self.all_sum(self.batch_loss(v)) for k, v in terms.items()}
        logs.update(kl_weight=beta, grad_norm=self.global_norm(grads),
                    weights_finite=self.all_finite(self.weights))
        return self.report(logs)

    def test_step(self, data):
        x, labels = self._unpack(data)
        terms, _ = self._terms(x, labels, training=False, stream=1)
        for key, tracker in self.val_trackers.items():
            tracker.update_state(terms[key])
        return self.worker_safe({k: t.result() for k, t in self.val_trackers.items()})

    # -- inference ----------------------------------------------------------------------------

    def encode(self, x, labels=None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance of q(z | x)."""
        mean, log_var = self._posterior(tf.convert_to_tensor(x, tf.float32),
                                        None if labels is None else tf.constant(labels, tf.int32),
                                        False)
        return mean.numpy(), log_var.numpy()

    def decode(self, z, labels=None) -> np.ndarray:
        """Mean of p(x | z)."""
        labels = None if labels is None else tf.constant(labels, tf.int32)
        params = self._decode(tf.convert_to_tensor(z, tf.float32), labels, False)
        return self.likelihood.mean(params).numpy()

    has_likelihood = True

    def generate(self, z, labels):
        params = self._decode(z, labels, False)
        return tf.cast(self.likelihood.mean(params), tf.float32)

    def export_endpoints(self, archive) -> None:
        """`encode(x, labels) -> {"mean", "log_var"}`, `decode(z, labels)` and, with a fitted
        ex-post density, `sample_expost(seed, num)`."""
        from tfgen.models.export import int_spec

        conditional = self.conditional

        def encode(x, labels):
            mean, log_var = self._posterior(x, labels if conditional else None, False)
            return {"mean": mean, "log_var": log_var}

        def decode(z, labels):
            return self.generate(z, labels if conditional else None)

        shape = [None, *self.encoder.inputs[0].shape[1:]]
        archive.add_endpoint("encode", encode, input_signature=[
            tf.TensorSpec(shape, tf.float32, "x"), int_spec("labels", [None])])
        archive.add_endpoint("decode", decode, input_signature=[
            tf.TensorSpec([None, self.latent_dim], tf.float32, "z"), int_spec("labels", [None])])
        if self.has_expost:
            def sample_expost(seed, num):
                z = expost_draw(seed, num, self.latent_dim, self.expost_log_weights,
                                self.expost_means, self.expost_scale_tril)
                return self.generate(z, None)

            archive.add_endpoint("sample_expost", sample_expost, input_signature=[
                tf.TensorSpec([], tf.int64, "seed"), int_spec("num")])

    def reconstruct(self, x, labels=None) -> np.ndarray:
        """Mean of p(x | z = posterior mean)."""
        mean, _ = self.encode(x, labels)
        return self.decode(mean, labels)

    # -- ex-post density ----------------------------------------------------------------------

    @property
    def has_expost(self) -> bool:
        """Whether an ex-post density has been fitted (`fit_expost`)."""
        return bool(self.expost_components) and float(self.expost_fitted.numpy()) > 0

    def fit_expost(self, x, seed: int = 0, batch_size: int = 256) -> dict:
        """Fit the ex-post Gaussian mixture to the posterior means of `x` (the training data) by
        EM (scikit-learn, full covariances, k-means initialisation seeded by `seed`); returns
        {"components", "examples", "avg_log_likelihood"} (per code, nats)."""
        from sklearn.mixture import GaussianMixture

        if not self.expost_components:
            raise ValueError("this VAE reserves no ex-post density (expost_components=0)")
        codes = np.concatenate([self.encode(x[i:i + batch_size])[0]
                                for i in range(0, len(x), batch_size)]).astype(np.float64)
        gmm = GaussianMixture(self.expost_components, covariance_type="full", reg_covar=1e-5,
                              random_state=int(seed), max_iter=200).fit(codes)
        self.expost_log_weights.assign(np.log(gmm.weights_).astype(np.float32))
        self.expost_means.assign(gmm.means_.astype(np.float32))
        self.expost_scale_tril.assign(np.linalg.cholesky(gmm.covariances_).astype(np.float32))
        self.expost_fitted.assign(1.0)
        return {"components": self.expost_components, "examples": int(len(codes)),
                "avg_log_likelihood": float(gmm.score(codes))}

    def expost_latent(self, num: int, seed: int = 0) -> np.ndarray:
        """Latent codes drawn from the ex-post mixture, stateless in `seed`: the component from
        a categorical draw, then mean + L·ε with the ε of `latent(num, seed)`."""
        if not self.has_expost:
            raise ValueError("no ex-post density fitted: call fit_expost(x_train) first")
        return expost_draw(tf.constant(int(seed), tf.int64), num, self.latent_dim,
                           self.expost_log_weights, self.expost_means,
                           self.expost_scale_tril).numpy()

    def sample(self, num: int, seed: int = 0, labels=None, batch_size: int = 256,
               progress=None, sampler: str = "prior",
               truncation: float | None = None) -> np.ndarray:
        """Means of p(x | z) for `num` draws z (the usual picture of VAE samples): from the
        prior N(0, I) (`sampler="prior"`; `truncation` ψ truncates it, see `latent`) or the
        fitted ex-post mixture (`"expost"`)."""
        if sampler not in ("prior", "expost"):
            raise ValueError(f"unknown sampler {sampler!r}; choose from: prior, expost")
        if sampler == "expost" and truncation is not None:
            raise ValueError("truncation applies to the prior sampler")
        z = (self.latent(num, seed, truncation) if sampler == "prior"
             else self.expost_latent(num, seed))
        labels = self.sample_labels(num, labels)
        out = []
        for start in range(0, num, batch_size):
            part = None if labels is None else labels[start:start + batch_size]
            out.append(self.decode(z[start:start + batch_size], part))
            if progress is not None:
                progress(min(num, start + batch_size))
        return np.concatenate(out).astype(np.float32)

    def log_likelihood(self, x, labels=None, num_samples: int = 1000, chunk: int = 100,
                       seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """Importance-sampled log p(x) per example (the IWAE bound with K = `num_samples`).

        K samples are drawn in chunks of `chunk` and combined with a running log-sum-exp, so
        memory does not grow with K; examples go in batches of `batch_size`. Noise is stateless
        in (seed, chunk), so the estimate is reproducible.
        """
        x = np.asarray(x, np.float32)
        if len(x) > batch_size:
            return np.concatenate([
                self.log_likelihood(x[i:i + batch_size],
                                    None if labels is None else labels[i:i + batch_size],
                                    num_samples, chunk, seed, batch_size)
                for i in range(0, len(x), batch_size)
            ])
        x = tf.convert_to_tensor(x)
        labels = None if labels is None else tf.constant(labels, tf.int32)
        if getattr(self, "_iw_chunk", None) is None:  # a compiled graph per (batch, chunk) shape
            self._iw_chunk = tf.function(lambda x, labels, eps: tf.reduce_logsumexp(
                self._bounds(x, labels, eps, False)[1], axis=1))
        total = None
        for i, start in enumerate(range(0, num_samples, chunk)):
            k = min(chunk, num_samples - start)
            eps = tf.random.stateless_normal([int(x.shape[0]), k, self.latent_dim],
                                             seed=[int(seed), 1000 + i], alg="philox")
            part = self._iw_chunk(x, labels, eps)
            total = part if total is None else tf.reduce_logsumexp(tf.stack([total, part]), axis=0)
        return (total - math.log(num_samples)).numpy()

    def elbo(self, x, labels=None, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """Per-example ELBO, E_q[log p(x|z)] - KL(q(z|x) ‖ p(z)): analytic KL, one posterior
        sample (stateless in `seed`), β = 1 whatever the training weight."""
        out = []
        for i in range(0, len(x), batch_size):
            xb = tf.convert_to_tensor(np.asarray(x[i:i + batch_size], np.float32))
            lb = None if labels is None else tf.constant(labels[i:i + batch_size], tf.int32)
            eps = tf.random.stateless_normal([int(xb.shape[0]), 1, self.latent_dim],
                                             seed=[int(seed), 999 + i], alg="philox")
            log_px, _, kl_dims = self._bounds(xb, lb, eps, False)
            out.append((log_px[:, 0] - tf.reduce_sum(kl_dims, axis=1)).numpy())
        return np.concatenate(out)

    def kl_per_dimension(self, x, labels=None) -> np.ndarray:
        """Mean KL(q(z_d | x) ‖ p(z_d)) per latent dimension over `x`."""
        mean, log_var = self.encode(x, labels)
        return gaussian_kl(mean, log_var).numpy().mean(axis=0)

    def active_units(self, x, labels=None, threshold: float = 0.01) -> int:
        """Latent dimensions with Cov_x(E_q[z_d]) > threshold (Burda et al. 2016)."""
        mean, _ = self.encode(x, labels)
        return int((mean.var(axis=0) > threshold).sum())
