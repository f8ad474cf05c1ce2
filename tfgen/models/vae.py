"""`VAE`: an encoder and a decoder trained on the evidence lower bound by `fit`."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from tfgen import ingredients, rules
from tfgen.ingredients import legacy
from tfgen.models.averaging import on_averaged_weights
from tfgen.models.base import SAMPLE_SEED_STREAM, GenerativeModel

# The random streams of the latent draws (`tfgen.models.noise`) of a train and a test step.
TRAIN_STREAM, TEST_STREAM = "vae/train", "vae/test"

KL_SCHEDULES, ESTIMATORS = rules.KL_SCHEDULES, rules.ESTIMATORS
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


def kl_capacity_target(step, capacity: float, capacity_steps: int) -> tf.Tensor:
    """The KL target C_t of a capacity schedule (Burgess et al. 2018, "Understanding
    disentangling in β-VAE"): capacity · min(1, step / capacity_steps), or `capacity` from the
    start when capacity_steps is 0."""
    if capacity_steps <= 0:
        return tf.constant(float(capacity))
    return float(capacity) * tf.minimum(1.0, tf.cast(step, tf.float32) / float(capacity_steps))


def gaussian_kl(mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension: ½(σ² + μ² - 1 - log σ²)."""
    return 0.5 * (tf.exp(log_var) + tf.square(mean) - 1.0 - log_var)


def mutual_information(mean, log_var, seed: int = 0, chunk: int = 256) -> float:
    """I(x; z) under the encoder (He et al. 2019, "Lagging inference networks"), from the
    Gaussian posteriors N(mean_n, exp(log_var_n)) of N examples:

        I = E_n E_{q(z|x_n)}[log q(z | x_n)] - E_n E_{q(z|x_n)}[log q(z)],
        q(z) = (1/N) Σ_m q(z | x_m)  (the aggregate posterior),

    the first term in closed form (minus each posterior's entropy), the second by one draw
    z_n ~ q(z | x_n) per example (NumPy seed `seed`), log q(z_n) a log-sum-exp over all N
    posteriors (in chunks of `chunk` draws). At most log N nats; 0 when every example has one
    posterior."""
    mean, log_var = np.asarray(mean, np.float64), np.asarray(log_var, np.float64)
    n, d = mean.shape
    z = mean + np.exp(0.5 * log_var) * np.random.default_rng(seed).standard_normal(mean.shape)
    neg_entropy = np.mean(-0.5 * d * math.log(2 * math.pi) - 0.5 * (1.0 + log_var).sum(axis=1))
    inv_var, log_norm = np.exp(-log_var), -0.5 * (d * math.log(2 * math.pi) + log_var.sum(1))
    log_qz = []
    for start in range(0, n, chunk):
        dev = z[start:start + chunk, None, :] - mean[None]  # [draws, N, d]
        log_density = log_norm[None] - 0.5 * np.einsum("bnd,nd->bn", dev ** 2, inv_var)
        top = log_density.max(axis=1, keepdims=True)
        log_qz.append(top[:, 0] + np.log(np.exp(log_density - top).sum(axis=1)) - math.log(n))
    return float(neg_entropy - np.concatenate(log_qz).mean())


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



def log_standard_normal(z) -> tf.Tensor:
    """log N(z; 0, I), summed over the last axis."""
    return -0.5 * tf.reduce_sum(_LOG_2PI + tf.square(z), axis=-1)


def log_mixture_prior(z, means, log_vars) -> tf.Tensor:
    """log of the equally weighted Gaussian mixture (1/C) Σ_c N(z; μ_c, diag σ_c²) (the
    VampPrior's form), for z [..., d] and components [C, d]; returns [...]."""
    log_p = _log_normal(z[..., None, :], means, log_vars)
    return tf.reduce_logsumexp(log_p, axis=-1) - math.log(int(means.shape[0]))


def _split_gaussian(out, dim):
    mean, log_var = out[..., :dim], out[..., dim:2 * dim]
    return mean, tf.clip_by_value(log_var, -20.0, 10.0)


@keras.saving.register_keras_serializable(package="tfgen")
class VAE(GenerativeModel):
    """A variational autoencoder trained by `fit` on the negative ELBO (or the IWAE bound).

    The encoder maps x (and labels, if conditional) to the mean and log-variance of a diagonal
    Gaussian posterior q(z | x), concatenated ([batch, 2·latent_dim], plus the context h of an
    IAF flow when there is one); the decoder maps z (and labels) to the parameters of the
    likelihood p(x | z). Every bound is the same importance weight, averaged (ELBO) or
    log-mean-exp'd (IWAE) over K posterior draws:

        log w = log p(x | z1) + log p(z1 | z2) + log p(z2) - log q(z1 | x) - log q(z2 | z1)

    with only the terms of the model's parts present:

    - the prior (of the top layer): N(0, I), or the VampPrior (Tomczak & Welling 2018,
      `prior="vamp"`): p(z) = (1/C) Σ_c q0(z | u_c), a mixture of the encoder's Gaussians at
      C trainable pseudo-inputs u_c (`pseudo_inputs`; with two layers, q(z2 | μ1(u_c)));
    - a second stochastic layer (Burda et al. 2016's two-layer architecture,
      `top_encoder`/`top_decoder`): q(z2 | z1) and p(z1 | z2), both diagonal Gaussians from
      networks ([batch, 2·d]); p(z2) is the prior;
    - an IAF posterior (Kingma et al. 2016, `flow`): z1 = f(z0; h) with z0 ~ q0(z | x) the
      encoder's Gaussian and log q(z1 | x) = log q0(z0 | x) - log|det ∂f/∂z0|.

    With the plain model (N(0, I), one layer, no flow) the KL term is the closed form;
    otherwise it is the single-sample Monte Carlo log q - log p, per layer.

    Args:
        encoder: x (or [x, labels]) -> [batch, 2·latent_dim (+ context)].
        decoder: z (or [z, labels]) -> likelihood parameters.
        latent_dim: size of z (z1 with two layers).
        likelihood: p(x | z), a `tfgen.ingredients` likelihood: a name ("bernoulli",
            "continuous_bernoulli", "gaussian", "categorical", "discretized_logistic"), a config
            dict such as {"name": "categorical", "levels": 17}, or the object.
        num_classes: number of classes for a conditional VAE (None: unconditional).
        seed: seed of all training noise.
        expost_components: K > 0 reserves an ex-post density over the latent codes: a Gaussian
            mixture with K full-covariance components, fitted after training on the encoder
            means of the training data (`fit_expost`; "two-stage" sampling, Ghosh et al. 2020).
            `sample(..., sampler="expost")` then draws z from it instead of the prior. Its
            parameters are (non-trainable) weights: checkpointed, saved and exported.
        prior: the prior of the top layer, an ingredient of `tfgen.ingredients` by name,
            config dict or object: "normal" (`NormalPrior`) or "vamp" (`VampPrior`, e.g.
            {"name": "vamp", "pseudo_inputs": 500}: C trainable inputs of the encoder's sample
            shape, initialised uniformly in [0, 1]; 100 by default, the paper's MNIST setting
            is 500).
        pseudo_inputs: the keyword of the VampPrior's C before the prior was an object
            (with `prior="vamp"`).
        top_encoder, top_decoder: z1 -> [2·top_dim] and z2 -> [2·latent_dim] (e.g.
            `tfgen.networks.gaussian_mlp`) for a second stochastic layer; both or neither.
        flow: an IAF flow model ([z0, h] -> [z1, log|det|], `tfgen.networks.iaf_flow`).
        ema_decay: keep an exponential moving average of all the VAE's trainable weights
            (networks, pseudo-inputs) with this decay (None: off; the warm-up of
            `average_updates`). Evaluation -- `evaluate` and so `fit`'s validation,
            `log_likelihood`, `elbo`, `encode`/`decode`, `sample`, `fit_expost`, the export --
            uses the averages; training updates the live weights. Polyak averaging of this
            kind is standard in likelihood models (NVAE, VDVAE).

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

    submodels = ("encoder", "decoder", "top_encoder", "top_decoder", "flow")

    def __init__(self, encoder, decoder, latent_dim: int, likelihood="bernoulli",
                 num_classes: int | None = None, seed: int = 0, expost_components: int = 0,
                 prior: str = "normal", pseudo_inputs: int | None = None, top_encoder=None,
                 top_decoder=None, flow=None, ema_decay: float | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = int(latent_dim)
        self.likelihood = ingredients.get("likelihood", likelihood)
        self.num_classes = num_classes
        self.kl_weight, self.kl_schedule = 1.0, "constant"
        self.warmup_steps = self.cycle_steps = 0
        self.free_bits, self.iw_samples, self.estimator = 0.0, 1, "standard"
        self.kl_capacity, self.capacity_steps = 0.0, 0
        self.prior = legacy.prior(prior, pseudo_inputs)
        self.prior.check(ingredients.Facts(conditional=num_classes is not None))
        rules.check_vae_model(conditional=num_classes is not None,
                              expost_components=int(expost_components))
        if (top_encoder is None) != (top_decoder is None):
            raise ValueError("a second stochastic layer needs both top_encoder and top_decoder")
        self.top_encoder, self.top_decoder, self.flow = top_encoder, top_decoder, flow
        self.top_dim = 0 if top_decoder is None else int(top_decoder.inputs[0].shape[-1])
        self.context_dim = self._check_networks()
        self.prior.join(self)
        self.likelihood.join(self)  # a likelihood with weights of its own (NADE) creates them
        self.expost_components = int(expost_components)
        if self.expost_components:
            k, d = self.expost_components, self.latent_dim
            weight = lambda shape, name: self.add_weight(  # noqa: E731
                shape=shape, initializer="zeros", trainable=False, name=name,
                aggregation="only_first_replica")
            self.expost_log_weights = weight((k,), "expost_log_weights")
            self.expost_means = weight((k, d), "expost_means")
            self.expost_scale_tril = weight((k, d, d), "expost_scale_tril")
            self.expost_fitted = weight((), "expost_fitted")
        self.init_averages(ema_decay)
        self.bind_dropout()
        self.built = True

    def _check_networks(self) -> int:
        """The flow's context values of the encoder's output (0 without a flow), after checking
        that output's size."""
        encoder, flow = self.encoder, self.flow
        context_dim = int(encoder.outputs[0].shape[-1]) - 2 * self.latent_dim
        if context_dim < 0 or (context_dim and flow is None):
            raise ValueError(f"the encoder outputs {encoder.outputs[0].shape[-1]} values; "
                             f"expected 2·latent_dim = {2 * self.latent_dim}"
                             + (" plus the flow's context" if flow is not None else ""))
        if flow is not None and len(flow.inputs) != (2 if context_dim else 1):
            raise ValueError("the flow's context input does not match the encoder's "
                             f"{context_dim} context outputs")
        return context_dim

    def _noise_shape(self, x) -> list:
        """The shape of one importance sample's standard normal noise for a batch x (after the
        batch and draw axes): z1's, then z2's values."""
        return [self.latent_dim + self.top_dim]

    @property
    def hierarchical(self) -> bool:
        """Whether the VAE has a second stochastic layer z2."""
        return self.top_dim > 0

    @property
    def analytic_kl(self) -> bool:
        """Whether the KL term has the closed form (N(0, I) prior, one layer, no flow)."""
        return self.prior.closed_form and not self.hierarchical and self.flow is None

    @property
    def noise_dim(self) -> int:
        """`generate`'s noise: the top layer's values, then z1's given z2 (two layers), then
        the prior's own (`Prior.noise_dim`: the VampPrior's component)."""
        return (self.top_dim or self.latent_dim) + (self.latent_dim if self.hierarchical
                                                    else 0) + self.prior.noise_dim

    def truncate_noise(self, z, psi):
        """The prior's truncation of `generate`'s noise (the VampPrior's component coordinate
        stays as drawn)."""
        return self.prior.truncate_noise(z, psi)

    # -- Keras plumbing -----------------------------------------------------------------------

    def compile(self, optimizer="adam", kl_weight: float = 1.0, kl_schedule: str = "constant",
                warmup_steps: int = 0, cycle_steps: int = 0, free_bits: float = 0.0,
                iw_samples: int = 1, estimator: str = "standard", kl_capacity: float = 0.0,
                capacity_steps: int = 0, **kwargs):
        """Configure training.

        Args:
            optimizer: the optimizer.
            kl_weight: β of the β-VAE (Higgins et al. 2017): loss = -E[log p(x|z)] + β·KL.
            kl_schedule: "constant", "linear" (warm-up over `warmup_steps` >= 1) or "cyclical"
                (cycles of `cycle_steps` >= 1), multiplying `kl_weight`.
            warmup_steps: length of the linear warm-up.
            cycle_steps: length of one cyclical-schedule cycle.
            free_bits: λ of free bits (Kingma et al. 2016), applied per example and latent
                dimension: the KL term is Σ_d max(λ, KL_d) (nats). Closed-form KL only.
            kl_capacity: C > 0 replaces the KL term by its distance to a target, |KL - C_t|
                per example (Burgess et al. 2018's controlled capacity; γ is β, `kl_weight`
                and its schedule): below the target the objective rewards information in z,
                above it the KL costs as usual -- a β-scheduled alternative to free bits
                against posterior collapse. The ELBO and the bound are unchanged.
            capacity_steps: C_t rises linearly from 0 to C over this many steps (0: C from the
                start).
            iw_samples: K > 1 trains on the IWAE bound (Burda et al. 2016) with K importance
                samples (β, schedules and free bits then do not apply).
            estimator: the inference network's gradient: "standard" (the reparameterised
                gradient of the bound) or "dreg", the doubly reparameterised gradient (Tucker
                et al. 2019): with normalised weights w̃_k = w_k / Σ_j w_j,
                ∇_φ = Σ_k w̃_k² · ∂log w_k/∂z_k · ∂z_k/∂φ, dropping the score term
                ∂log q_φ(z)/∂φ (zero mean, the source of the variance that grows with K); the
                generative networks keep the IWAE gradient Σ_k w̃_k ∇_θ log w_k. For IWAE
                training (iw_samples >= 2) of Gaussian posteriors with the N(0, I) prior: an
                IAF's density at a stopped sample needs the flow's inverse, and the VampPrior
                shares the encoder's parameters.
            **kwargs: `keras.Model.compile` options such as `jit_compile`, `steps_per_execution`.
        """
        rules.check_vae_training(
            analytic_kl=self.analytic_kl, prior=self.prior.name, flow=self.flow is not None,
            kl_schedule=kl_schedule, warmup_steps=warmup_steps, cycle_steps=cycle_steps,
            free_bits=free_bits, iw_samples=iw_samples, estimator=estimator,
            kl_capacity=kl_capacity, capacity_steps=capacity_steps)
        super().compile(optimizer=None, **kwargs)  # no phantom optimizer
        self.optimizer = self.prepare_optimizer(optimizer, self.trainable_weights)
        self.kl_weight, self.kl_schedule = float(kl_weight), kl_schedule
        self.warmup_steps, self.cycle_steps = int(warmup_steps), int(cycle_steps)
        self.free_bits, self.iw_samples = float(free_bits), int(iw_samples)
        self.estimator = estimator
        self.kl_capacity, self.capacity_steps = float(kl_capacity), int(capacity_steps)
        terms = ("loss", "elbo", "bound", "reconstruction", "kl") + (
            ("kl_1", "kl_2") if self.hierarchical else ())
        self.track([*terms, "kl_weight", *(("kl_target",) if self.kl_capacity > 0 else ()),
                    "grad_norm", "weights_finite"])
        self.val_trackers = {k: keras.metrics.Mean(name=f"val_{k}") for k in terms}
        self.remember_compile(
            kl_weight=self.kl_weight, kl_schedule=kl_schedule, warmup_steps=self.warmup_steps,
            cycle_steps=self.cycle_steps, free_bits=self.free_bits, iw_samples=self.iw_samples,
            estimator=estimator, kl_capacity=self.kl_capacity,
            capacity_steps=self.capacity_steps, **kwargs)

    optimizer_arguments = ("optimizer",)

    def compile_arguments(self, config: dict) -> dict:
        """A model saved before a linear (cyclical) schedule needed its length trained with a
        constant β when the length was 0: it loads with that schedule."""
        schedule, length = config.get("kl_schedule"), {"linear": "warmup_steps",
                                                        "cyclical": "cycle_steps"}
        if schedule in length and not config.get(length[schedule]):
            return {**config, "kl_schedule": "constant"}
        return config

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
            "prior": self.prior.get_config(),
            "ema_decay": self.ema_decay,
        }

    def averaged_variables(self) -> list:
        return self.trainable_weights

    def call(self, inputs, training: bool = False):
        """Reconstruction means: `inputs` is x, or [x, labels] for a conditional VAE."""
        x, labels = (inputs if self.conditional else (inputs, None))
        mean, _ = self._posterior(x, labels, training)
        return self.likelihood.mean(self._decode(mean, labels, training))

    # -- the model ----------------------------------------------------------------------------

    def _encode(self, x, labels, training):
        """The encoder's Gaussian q0(z1 | x) (mean, log-variance) and the flow's context."""
        out = tf.cast(self.encoder(self.with_labels(x, labels), training=training), tf.float32)
        mean, log_var = _split_gaussian(out, self.latent_dim)
        return mean, log_var, out[..., 2 * self.latent_dim:]

    def _posterior(self, x, labels, training):
        return self._encode(x, labels, training)[:2]

    def _gaussian(self, network, u, dim, training):
        return _split_gaussian(tf.cast(network(u, training=training), tf.float32), dim)

    def _decode(self, z, labels, training):
        return self.decoder(self.with_labels(z, labels), training=training)

    def _log_px(self, x, z, labels, training):
        """log p(x | z) per example [batch] (x and z row-aligned)."""
        return self.likelihood.log_prob(x, self._decode(z, labels, training))

    @property
    def likelihood_values(self) -> int:
        """The data values one likelihood row holds (an example's): what a likelihood with
        weights of its own (NADE) sizes them by."""
        return int(np.prod(self.encoder.inputs[0].shape[1:]))

    def _log_prior(self, z, training):
        """log p(z) of the top layer, z [..., d] -> [...]."""
        return self.prior.log_prob(self, z, training)

    def _bounds(self, x, labels, eps, training, stop=None):
        """Per-example terms for noise `eps` [b, K, latent (+ top)]: a dict of log p(x|z_k)
        (`log_px`) and log w_k (`log_w`) [b, K], the per-layer Monte Carlo KLs log q - log p
        (`kl_layers`, each [b, K]), the closed-form per-dimension KL (`kl_dims`, [b, latent],
        when it applies) and the latent draws (`z`, a list per layer of [b, K, d]).

        `stop`, a gradient tape (the DReG estimator), evaluates every density at the draws with
        their gradient stopped (`z_stopped`, watched by that tape from their creation on):
        ∂log w/∂z at fixed parameters is then the tape's gradient with respect to them."""
        mean, log_var, context = self._encode(x, labels, training)
        b, k, d = tf.shape(x)[0], eps.shape[1], self.latent_dim
        flat = lambda t: tf.reshape(t, [-1, t.shape[-1]])  # noqa: E731
        per_draw = lambda t: tf.reshape(t, [b, k, *t.shape[1:]])  # noqa: E731
        rep = lambda t: tf.repeat(t, k, axis=0)  # noqa: E731
        z1 = mean[:, None] + tf.exp(0.5 * log_var)[:, None] * eps[..., :d]
        log_q1 = _log_normal(z1, mean[:, None], log_var[:, None])
        if self.flow is not None:
            out = tf.cast(self.flow([flat(z1), rep(context)] if self.context_dim else flat(z1),
                                    training=training), tf.float32)
            z1, log_q1 = per_draw(out[:, :d]), log_q1 - per_draw(out[:, d])
        draws = [z1]
        if self.hierarchical:
            m2, lv2 = self._gaussian(self.top_encoder, flat(z1), self.top_dim, training)
            draws.append(per_draw(m2) + tf.exp(0.5 * per_draw(lv2)) * eps[..., d:])
        used = [tf.stop_gradient(z) for z in draws] if stop is not None else draws
        if stop is not None:
            for z in used:
                stop.watch(z)
            log_q1 = _log_normal(used[0], mean[:, None], log_var[:, None])
        z1 = used[0]
        rep_labels = None if labels is None else rep(labels)
        log_px = per_draw(self._log_px(rep(x), flat(z1), rep_labels, training))
        if self.hierarchical:
            z2 = used[1]
            m2, lv2 = self._gaussian(self.top_encoder, flat(z1), self.top_dim, training) \
                if stop is not None else (m2, lv2)
            log_q2 = _log_normal(z2, per_draw(m2), per_draw(lv2))
            pm, plv = self._gaussian(self.top_decoder, flat(z2), d, training)
            kl_layers = [log_q1 - _log_normal(z1, per_draw(pm), per_draw(plv)),
                         log_q2 - self._log_prior(z2, training)]
        else:
            kl_layers = [log_q1 - self._log_prior(z1, training)]
        return {"log_px": log_px, "log_w": log_px - tf.add_n(kl_layers),
                "kl_layers": kl_layers, "z": draws, "z_stopped": used,
                "kl_dims": gaussian_kl(mean, log_var) if self.analytic_kl else None}

    def _unpack(self, data):
        if self.conditional:
            x, labels = data
            return tf.cast(x, tf.float32), tf.cast(labels, tf.int32)
        x = data[0] if isinstance(data, (tuple, list)) else data
        return tf.cast(x, tf.float32), None

    def _terms(self, x, labels, training, stream, stop=None):
        """Per-example loss and logged terms, β, and `_bounds`'s dict."""
        batch = tf.shape(x)[0]
        eps = self.normal(batch, [self.iw_samples, *self._noise_shape(x)], stream)
        bounds = self._bounds(x, labels, eps, training, stop)
        reconstruction = tf.reduce_mean(bounds["log_px"], axis=1)
        kl_layers = [tf.reduce_mean(t, axis=1) for t in bounds["kl_layers"]]
        kl_dims = bounds["kl_dims"]
        kl = tf.reduce_sum(kl_dims, axis=1) if kl_dims is not None else tf.add_n(kl_layers)
        elbo = reconstruction - kl
        if self.iw_samples > 1:
            loss = -(tf.reduce_logsumexp(bounds["log_w"], axis=1) - math.log(self.iw_samples))
            beta = tf.constant(1.0)
        else:
            beta = self.kl_weight * kl_schedule_factor(
                self.step.value, self.kl_schedule, self.warmup_steps, self.cycle_steps)
            if self.kl_capacity > 0:
                kl_term = tf.abs(kl - self._kl_target())
            elif self.free_bits > 0:
                kl_term = tf.reduce_sum(tf.maximum(kl_dims, self.free_bits), axis=1)
            else:
                kl_term = kl
            loss = -(reconstruction - beta * kl_term)
        # The bound the model trains on, at beta = 1: the IWAE bound (K > 1) or the ELBO. Model
        # selection watches it: an IWAE-trained posterior is fitted for the IWAE bound, and its
        # single-draw ELBO can be far below its IWAE bound and need not move with it.
        bound = -loss if self.iw_samples > 1 else elbo
        terms = {"loss": loss, "elbo": elbo, "bound": bound, "reconstruction": reconstruction,
                 "kl": kl}
        if self.hierarchical:
            terms.update(kl_1=kl_layers[0], kl_2=kl_layers[1])
        return terms, beta, bounds

    def _kl_target(self) -> tf.Tensor:
        return kl_capacity_target(self.step.value, self.kl_capacity, self.capacity_steps)

    def _inference_weights(self):
        return [w for net in (self.encoder, self.top_encoder) if net is not None
                for w in net.trainable_weights]

    def loss_gradients(self, x, labels):
        """One training step's gradients (of the scaled loss, for `apply_gradients`), its
        per-example terms and β: the estimator's gradient of the loss on this step's noise."""
        variables = self.trainable_weights
        dreg = self.estimator == "dreg"
        with tf.GradientTape(persistent=dreg) as tape:
            terms, beta, bounds = self._terms(x, labels, training=True, stream=TRAIN_STREAM,
                                              stop=tape if dreg else None)
            loss = self.batch_loss(terms["loss"]) + self.regularization(self)
            scaled = self.optimizer.scale_loss(loss)
        if dreg:
            grads = self._dreg_gradients(tape, scaled, bounds, variables)
            del tape
        else:
            grads = self.gradients(tape, scaled, variables)
        return grads, terms, beta

    def train_step(self, data):
        x, labels = self._unpack(data)
        variables = self.trainable_weights
        grads, terms, beta = self.loss_gradients(x, labels)
        grads = self.apply_gradients(self.optimizer, grads, variables)
        extras = {"kl_weight": beta, "grad_norm": self.global_norm(grads)}
        if self.kl_capacity > 0:
            extras["kl_target"] = self._kl_target()
        return self.end_step({k: self.batch_loss(v) for k, v in terms.items()}, extras)

    def _dreg_gradients(self, tape, scaled, bounds, variables):
        """The generative weights' gradient of the (scaled) IWAE loss, whose densities saw the
        stopped draws, and the inference networks' DReG gradient through the draws'
        reparameterised path: -w̃_k²/B · ∂log w_k/∂z_k at the stopped draws (a backward pass of
        Σ log w), carried through z_k(φ) by a second pass.

        Why not w̃_k · ∂loss/∂z_k from the loss's own pass (one pass fewer, the same number when
        each log w_k depends on its own z_k only): a decoder with BatchNorm couples the draws of
        a batch, and ∂loss/∂z_k then carries the other draws' terms weighted by their w̃_j
        rather than w̃_k², so a draw of negligible weight still moves the encoder. Measured:
        on digits-vae's conv decoder, two layers + IWAE + DReG, that version let the ELBO
        diverge (-1,680 after 450 steps) and collapsed z2; this one trains like the standard
        estimator."""
        inference = {id(w) for w in self._inference_weights()}
        generative = [v for v in variables if id(v) not in inference]
        encoder = [v for v in variables if id(v) in inference]
        by_z = tape.gradient(bounds["log_w"], bounds["z_stopped"])  # of Σ log w
        w2 = tf.square(tf.nn.softmax(bounds["log_w"], axis=1))[..., None]
        scale = self.optimizer.scale_loss(tf.constant(1.0)) / self.global_batch_size(
            tf.shape(bounds["log_w"])[0])
        grads = dict(zip(map(id, generative), self.gradients(tape, scaled, generative)))
        encoder_grads = self.gradients(
            tape, bounds["z"], encoder,
            output_gradients=[tf.stop_gradient(-w2 * g * scale) for g in by_z])
        if self.losses:  # the inference networks' own weight regularisation
            reg = self.gradients(tape, self.optimizer.scale_loss(self.regularization(self)),
                                 encoder)
            encoder_grads = [g + r for g, r in zip(encoder_grads, reg, strict=True)]
        grads.update(zip(map(id, encoder), encoder_grads))
        return [grads[id(v)] for v in variables]

    def test_step(self, data):
        x, labels = self._unpack(data)
        terms, _, _ = self._terms(x, labels, training=False, stream=TEST_STREAM)
        for key, tracker in self.val_trackers.items():
            tracker.update_state(terms[key])
        return self.worker_safe({k: t.result() for k, t in self.val_trackers.items()})

    # -- inference ----------------------------------------------------------------------------

    @on_averaged_weights
    def encode(self, x, labels=None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance of q(z | x)."""
        mean, log_var = self._posterior(tf.convert_to_tensor(x, tf.float32),
                                        None if labels is None else tf.constant(labels, tf.int32),
                                        False)
        return mean.numpy(), log_var.numpy()

    @on_averaged_weights
    def decode(self, z, labels=None) -> np.ndarray:
        """Mean of p(x | z)."""
        labels = None if labels is None else tf.constant(labels, tf.int32)
        params = self._decode(tf.convert_to_tensor(z, tf.float32), labels, False)
        return self.likelihood.mean(params).numpy()

    has_likelihood = True
    has_code = True  # a code per example: encode/decode, interpolation, the ex-post density

    def prior_latent(self, noise) -> tf.Tensor:
        """z1 for `generate`'s noise ([num, noise_dim], see `noise_dim`): an ancestral draw
        from the prior (`Prior.draw`, from the top layer's values and the prior's own last
        coordinates), then, with two layers, z1 ~ p(z1 | z2) from the next values."""
        noise = tf.cast(noise, tf.float32)
        top = self.top_dim or self.latent_dim
        z = self.prior.draw(self, noise[:, :top], noise[:, self.noise_dim - self.prior.noise_dim:])
        if self.hierarchical:
            mean, log_var = self._gaussian(self.top_decoder, z, self.latent_dim, False)
            z = mean + tf.exp(0.5 * log_var) * noise[:, top:top + self.latent_dim]
        return z

    def decode_mean(self, z, labels) -> tf.Tensor:
        """The mean of p(x | z1) for codes z1 (tensors; `decode` for arrays)."""
        return tf.cast(self.likelihood.mean(self._decode(z, labels, False)), tf.float32)

    def generate(self, z, labels):
        """The mean of p(x | z1) for prior noise `z` (see `prior_latent`)."""
        return self.decode_mean(self.prior_latent(z), labels)

    def export_endpoints(self, archive) -> None:
        """`encode(x, labels) -> {"mean", "log_var"}`, `decode(z, labels)` and, with a fitted
        ex-post density, `sample_expost(seed, num)`."""
        from tfgen.models.export import int_spec

        conditional = self.conditional

        def encode(x, labels):
            mean, log_var = self._posterior(x, labels if conditional else None, False)
            return {"mean": mean, "log_var": log_var}

        def decode(z, labels):
            return self.decode_mean(z, labels if conditional else None)

        shape = [None, *self.encoder.inputs[0].shape[1:]]
        archive.add_endpoint("encode", encode, input_signature=[
            tf.TensorSpec(shape, tf.float32, "x"), int_spec("labels", [None])])
        archive.add_endpoint("decode", decode, input_signature=[
            tf.TensorSpec([None, self.latent_dim], tf.float32, "z"), int_spec("labels", [None])])
        if self.has_expost:
            def sample_expost(seed, num):
                z = expost_draw(seed, num, self.latent_dim, self.expost_log_weights,
                                self.expost_means, self.expost_scale_tril)
                return self.decode_mean(z, None)

            archive.add_endpoint("sample_expost", sample_expost, input_signature=[
                tf.TensorSpec([], tf.int64, "seed"), int_spec("num")])

    @on_averaged_weights
    def reconstruct(self, x, labels=None) -> np.ndarray:
        """Mean of p(x | z = posterior mean)."""
        mean, _ = self.encode(x, labels)
        return self.decode(mean, labels)

    # -- ex-post density ----------------------------------------------------------------------

    @property
    def has_expost(self) -> bool:
        """Whether an ex-post density has been fitted (`fit_expost`)."""
        return bool(self.expost_components) and float(self.expost_fitted.numpy()) > 0

    @on_averaged_weights
    def fit_expost(self, x, seed: int = 0, batch_size: int = 256, progress=None) -> dict:
        """Fit the ex-post Gaussian mixture to the posterior means of `x` (the training data) by
        EM (scikit-learn, full covariances, k-means initialisation seeded by `seed`); returns
        {"components", "examples", "avg_log_likelihood"} (per code, nats). `progress(n)` is
        called with the number of examples encoded so far."""
        from sklearn.mixture import GaussianMixture

        if not self.expost_components:
            raise ValueError("this VAE reserves no ex-post density (expost_components=0)")
        codes = []
        for i in range(0, len(x), batch_size):
            codes.append(self.encode(x[i:i + batch_size])[0])
            if progress is not None:
                progress(min(len(x), i + batch_size))
        codes = np.concatenate(codes).astype(np.float64)
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

    @on_averaged_weights
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
        prior = sampler == "prior"
        z = self.latent(num, seed, truncation) if prior else self.expost_latent(num, seed)
        labels = self.sample_labels(num, labels)
        out = []
        for start in range(0, num, batch_size):
            part = None if labels is None else labels[start:start + batch_size]
            zb = z[start:start + batch_size]
            out.append(keras.ops.convert_to_numpy(self.generate(
                tf.constant(zb), None if part is None else tf.constant(part, tf.int32)))
                if prior else self.decode(zb, part))
            if progress is not None:
                progress(min(num, start + batch_size))
        return np.concatenate(out).astype(np.float32)

    @on_averaged_weights
    def log_likelihood(self, x, labels=None, num_samples: int = 1000, chunk: int = 100,
                       seed: int = 0, batch_size: int = 256, progress=None) -> np.ndarray:
        """Importance-sampled log p(x) per example (the IWAE bound with K = `num_samples`).

        K samples are drawn in chunks of `chunk` and combined with a running log-sum-exp, so
        memory does not grow with K; examples go in batches of `batch_size`. Noise is stateless
        in (seed, chunk), so the estimate is reproducible. `progress(n)` is called with the
        number of examples done after each batch.
        """
        x = np.asarray(x, np.float32)
        if len(x) > batch_size:
            out = []
            for i in range(0, len(x), batch_size):
                out.append(self.log_likelihood(
                    x[i:i + batch_size], None if labels is None else labels[i:i + batch_size],
                    num_samples, chunk, seed, batch_size))
                if progress is not None:
                    progress(min(len(x), i + batch_size))
            return np.concatenate(out)
        x = tf.convert_to_tensor(x)
        labels = None if labels is None else tf.constant(labels, tf.int32)
        if getattr(self, "_iw_chunk", None) is None:  # a compiled graph per (batch, chunk) shape
            self._iw_chunk = tf.function(lambda x, labels, eps: tf.reduce_logsumexp(
                self._bounds(x, labels, eps, False)["log_w"], axis=1))
        total = None
        for i, start in enumerate(range(0, num_samples, chunk)):
            k = min(chunk, num_samples - start)
            eps = tf.random.stateless_normal([int(x.shape[0]), k, *self._noise_shape(x)],
                                             seed=[int(seed), 1000 + i], alg="philox")
            part = self._iw_chunk(x, labels, eps)
            total = part if total is None else tf.reduce_logsumexp(tf.stack([total, part]), axis=0)
        return (total - math.log(num_samples)).numpy()

    @on_averaged_weights
    def elbo(self, x, labels=None, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """Per-example ELBO, E_q[log p(x|z)] - KL(q(z|x) ‖ p(z)) from one posterior sample
        (stateless in `seed`; the KL in closed form where it has one, else the sample's
        log q - log p), β = 1 whatever the training weight."""
        out = []
        for i in range(0, len(x), batch_size):
            xb = tf.convert_to_tensor(np.asarray(x[i:i + batch_size], np.float32))
            lb = None if labels is None else tf.constant(labels[i:i + batch_size], tf.int32)
            eps = tf.random.stateless_normal([int(xb.shape[0]), 1, *self._noise_shape(xb)],
                                             seed=[int(seed), 999 + i], alg="philox")
            bounds = self._bounds(xb, lb, eps, False)
            kl = (tf.reduce_sum(bounds["kl_dims"], axis=1) if bounds["kl_dims"] is not None
                  else tf.add_n(bounds["kl_layers"])[:, 0])
            out.append((bounds["log_px"][:, 0] - kl).numpy())
        return np.concatenate(out)

    @on_averaged_weights
    def kl_per_dimension(self, x, labels=None) -> np.ndarray:
        """Mean KL(q0(z1_d | x) ‖ N(0, 1)) per latent dimension over `x` (the encoder's
        Gaussian against the standard normal: the exact KL of the plain VAE, a diagnostic of
        which dimensions carry information otherwise)."""
        mean, log_var = self.encode(x, labels)
        return gaussian_kl(mean, log_var).numpy().mean(axis=0)

    @on_averaged_weights
    def mutual_information(self, x, labels=None, seed: int = 0, batch_size: int = 256) -> float:
        """I(x; z1) over the examples x (`mutual_information` of this module, on the encoder's
        posteriors before any flow)."""
        parts = [self.encode(x[i:i + batch_size], None if labels is None
                             else labels[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        return mutual_information(np.concatenate([m for m, _ in parts]),
                                  np.concatenate([v for _, v in parts]), seed)

    def active_units(self, x, labels=None, threshold: float = 0.01) -> int:
        """Latent dimensions with Cov_x(E_q[z_d]) > threshold (Burda et al. 2016), of z1."""
        return self.active_units_per_layer(x, labels, threshold)[0]

    @on_averaged_weights
    def active_units_per_layer(self, x, labels=None, threshold: float = 0.01) -> list[int]:
        """Active units of each stochastic layer: z1 by the encoder's means (before any flow),
        z2 by the means of q(z2 | z1 = those means)."""
        mean, _ = self.encode(x, labels)
        layers = [mean]
        if self.hierarchical:
            m2, _ = self._gaussian(self.top_encoder, tf.constant(mean), self.top_dim, False)
            layers.append(m2.numpy())
        return [int((m.var(axis=0) > threshold).sum()) for m in layers]
