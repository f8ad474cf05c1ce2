"""The model families, in one registry: everything the trainer, `sample`, `evaluate`,
`export` and `tune` need to know about GANs and VAEs. A new family is one new entry.

A family ties a config class (its `family` name is recorded in a run's `config.yaml`) to a
`tfgen` model class, and knows how to build and compile the model from the config, what runs
after training, which files a run exports, which metric selects its best epoch by default, and
which extra TensorBoard pictures it draws. Nothing outside this module asks a config or a model
what it is.
"""

from __future__ import annotations

from tfgen import fileio, modalities, networks
from tfgen.errors import ConfigError, OptionError
from tfgen.metrics.evaluation import default_metric
from tfgen.models import GAN, VAE
from tfgen.models.optimizers import make_optimizer
from tfgen.trainers.config import GANConfig, OptimizerConfig, RunConfig, VAEConfig


def save_model(model, path: str) -> None:
    """`model.save(path)`, atomically."""
    with fileio.atomic(path) as tmp:
        model.save(tmp)


def optimizer(cfg: OptimizerConfig, total_updates: int):
    """The Keras optimizer of an `OptimizerConfig`; `total_updates` it makes over the whole run
    (for the linear schedule)."""
    return make_optimizer(cfg.name, cfg.learning_rate, beta_1=cfg.beta_1, beta_2=cfg.beta_2,
                          weight_decay=cfg.weight_decay, schedule=cfg.schedule,
                          total_updates=total_updates, clipnorm=cfg.clipnorm)


class Family:
    """One model family. Subclasses set the class attributes and implement `build`."""

    name: str
    config: type[RunConfig]
    model: type
    network: str  # the stand-alone network `export` saves beside model.keras
    endpoints: str  # the SavedModel's signatures, as `tfgen export` reports them

    @property
    def validates(self) -> bool:
        """Whether a validation split selects the best epoch (by the validation bound: the
        IWAE bound for IWAE-trained VAEs, else the ELBO)."""
        return self.model.has_likelihood

    def batches_per_step(self, cfg) -> int:
        return 1

    def build(self, cfg, info, compile_kwargs: dict, total_steps: int):
        raise NotImplementedError

    def finish(self, model, source, cfg, examples: int | None = None,
               progress=None) -> dict | None:
        """After training (e.g. fit an ex-post density) on at most `examples` of the training
        split, calling `progress(n)` as it goes; returns what to record, or None."""
        return None

    @property
    def files(self) -> tuple[str, ...]:
        """What `export` writes into the run directory."""
        return ("model.keras", f"{self.network}.keras")

    def export(self, model, run_dir: str) -> None:
        """`model.keras` (live and averaged weights) and the stand-alone network, with the
        averaged weights when EMA is on."""
        save_model(model, fileio.join(run_dir, "model.keras"))
        with model.exported_weights():
            save_model(getattr(model, self.network), fileio.join(run_dir, f"{self.network}.keras"))

    def default_metric(self, kind: str) -> str:
        """The evaluation metric that selects the best epoch for data of `kind`."""
        return default_metric(kind, self.model.has_likelihood)

    def diagnostics(self, source, labels: bool) -> list:
        """Extra TensorBoard pictures (`TensorBoardLogger(diagnostics=...)`) of the model on a
        fixed batch of the source's real data."""
        return []

    def nll_samples(self, cfg) -> int:
        """Importance samples K of a likelihood evaluation."""
        return 1000

    def patience(self, cfg) -> int | None:
        """Epochs without a better validation ELBO before stopping (None: never)."""
        return None


class GANFamily(Family):
    name, config, model = "gan", GANConfig, GAN
    network = "generator"
    endpoints = "sample(seed, num, labels)"

    def batches_per_step(self, cfg: GANConfig) -> int:
        return cfg.model.n_critic  # one batch per discriminator step

    def build(self, cfg: GANConfig, info, compile_kwargs: dict, total_steps: int):
        m = cfg.model
        try:  # the modality's networks
            generator, discriminator, model_class, extra = modalities.get(info.kind).gan(
                info, network=m.network, latent_dim=m.latent_dim, width=m.width, depth=m.depth,
                spectral_norm=m.spectral_norm, conditional=m.conditional, pac=m.pac,
                pixel_range=cfg.data.pixel_range, orthogonal=m.orthogonal, binary=m.binary,
                phase_shuffle=m.phase_shuffle, **{k: getattr(m, k) for k in m.ARAE_KEYS})
        except OptionError as err:
            raise ConfigError(f"config key 'model.{err.key}': {err}") from None
        except ValueError as err:
            raise ConfigError(f"config key 'model.network': {err}") from None
        steps_per_epoch = max(1, total_steps // max(cfg.epochs, 1))
        augment, regularizers = m.ingredients(top_k_period=steps_per_epoch)
        gan = model_class(generator, discriminator, latent_dim=m.latent_dim,
                          num_classes=info.num_classes if m.conditional else None,
                          ema_decay=m.ema_decay, augment=augment, pac=m.pac, seed=cfg.seed,
                          **extra)  # (text: the ARAE's autoencoder)
        if "ae_optimizer" in model_class.optimizer_arguments:
            compile_kwargs = {**compile_kwargs,
                              "ae_optimizer": optimizer(cfg.ae_optimizer, total_steps)}
        gan.compile(
            g_optimizer=optimizer(cfg.g_optimizer, total_steps),
            d_optimizer=optimizer(cfg.d_optimizer, total_steps * m.n_critic),
            objective=m.objective, regularizers=regularizers, n_critic=m.n_critic,
            **compile_kwargs,
        )
        return gan


class VAEFamily(Family):
    name, config, model = "vae", VAEConfig, VAE
    network = "decoder"
    endpoints = "sample(seed, num, labels), encode(x, labels), decode(z, labels)"

    def build(self, cfg: VAEConfig, info, compile_kwargs: dict, total_steps: int):
        m = cfg.model
        likelihood = m.likelihood_object()
        context = m.flow_context if m.flow_steps else 0
        try:  # the modality's networks and model class
            encoder, decoder, model_class, extra = modalities.get(info.kind).vae(
                info, likelihood, network=m.network, latent_dim=m.latent_dim, width=m.width,
                depth=m.depth, conditional=m.conditional, dropout=m.dropout,
                context_dim=context, frame_dropout=m.frame_dropout,
                encoder_width=m.encoder_width, sample_frames=m.sample_frames,
                embedding_dim=m.embedding_dim, heads=m.heads)
        except OptionError as err:
            raise ConfigError(f"config key 'model.{err.key}': {err}") from None
        except ValueError as err:
            raise ConfigError(f"config key 'model.network': {err}") from None
        latent = networks.build_vae_latent_networks(
            m.latent_dim, top_latent_dim=m.top_latent_dim, top_width=m.top_width,
            flow_steps=m.flow_steps, flow_width=m.flow_width, context_dim=context)
        vae = model_class(encoder, decoder, latent_dim=m.latent_dim,
                          num_classes=info.num_classes if m.conditional else None,
                          seed=cfg.seed, expost_components=m.expost_components,
                          prior=m.prior_object(), ema_decay=m.ema_decay, **latent,
                          **{"likelihood": likelihood, **extra})  # (text: sized to its vocabulary)
        vae.compile(
            optimizer=optimizer(cfg.optimizer, total_steps), kl_weight=m.kl_weight,
            kl_schedule=m.kl_schedule, warmup_steps=m.warmup_steps, cycle_steps=m.cycle_steps,
            free_bits=m.free_bits, iw_samples=m.iw_samples, estimator=m.estimator,
            kl_capacity=m.kl_capacity, capacity_steps=m.capacity_steps, **compile_kwargs,
        )
        return vae

    def finish(self, model, source, cfg, examples: int | None = None,
               progress=None) -> dict | None:
        """Fit the ex-post density on the codes of the training split (`examples` of it:
        `tfgen.metrics.features.subset_arrays`)."""
        if not model.expost_components:
            return None
        from tfgen.metrics.features import subset_arrays

        x, _ = subset_arrays(source, "train", examples, labels_required=False)
        return model.fit_expost(x, seed=cfg.seed, progress=progress)

    def diagnostics(self, source, labels: bool) -> list:
        return modalities.get(source.info.kind).diagnostics(source, labels)

    def nll_samples(self, cfg: VAEConfig) -> int:
        return cfg.model.eval_samples

    def patience(self, cfg: VAEConfig) -> int | None:
        return cfg.patience


FAMILIES: dict[str, Family] = {f.name: f for f in (GANFamily(), VAEFamily())}


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; choose from: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def for_config(cfg: RunConfig) -> Family:
    """The family of a run config (its class's `family`)."""
    return get(cfg.family)


def for_model(model) -> Family:
    """The family of a tfgen model."""
    for family in FAMILIES.values():
        if isinstance(model, family.model):
            return family
    raise ConfigError(f"{type(model).__name__} belongs to no tfgen model family")
