"""Per-family glue for the trainer: config sections -> compiled model, export, pictures."""

from __future__ import annotations

import os

import keras

from tfgen import networks
from tfgen.config import GANConfig, OptimizerConfig, RunConfig, VAEConfig
from tfgen.errors import ConfigError


def make_optimizer(cfg: OptimizerConfig, total_updates: int) -> keras.optimizers.Optimizer:
    """A Keras optimizer from an `OptimizerConfig`; `total_updates` is the number of updates it
    makes over the whole run (for the linear schedule)."""
    lr = cfg.learning_rate
    if cfg.schedule == "linear":
        lr = keras.optimizers.schedules.PolynomialDecay(lr, max(1, total_updates), 0.0, power=1.0)
    if cfg.name == "adam":  # Adam's update, one fused kernel per variable
        from tfgen.models.optimizers import FusedAdam

        return FusedAdam(lr, beta_1=cfg.beta_1, beta_2=cfg.beta_2)
    if cfg.name == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay, beta_1=cfg.beta_1,
                                      beta_2=cfg.beta_2)
    if cfg.name == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    return keras.optimizers.SGD(lr, momentum=cfg.beta_1)


class GANFamily:
    """`GANConfig` -> `tfgen.GAN`."""

    validates = False  # a GAN has no validation objective (quality metrics: tfgen evaluate)

    @staticmethod
    def batches_per_step(cfg: GANConfig) -> int:
        return cfg.model.n_critic  # one batch per discriminator step

    @staticmethod
    def build(cfg: GANConfig, info, compile_kwargs: dict, total_steps: int):
        from tfgen.models import GAN

        m = cfg.model
        if m.augment and info.kind != "images":
            raise ConfigError("config key 'model.augment': augmentation needs image data")
        try:
            generator, discriminator = networks.build_gan_networks(m, info, cfg.data.pixel_range)
        except ValueError as err:
            raise ConfigError(f"config key 'model.network': {err}") from None
        gan = GAN(
            generator, discriminator, latent_dim=m.latent_dim,
            num_classes=info.num_classes if m.conditional else None,
            ema_decay=m.ema_decay, augment=m.augment, pac=m.pac, seed=cfg.seed,
        )
        gan.compile(
            g_optimizer=make_optimizer(cfg.g_optimizer, total_steps),
            d_optimizer=make_optimizer(cfg.d_optimizer, total_steps * m.n_critic),
            objective=m.objective, gradient_penalty=m.gradient_penalty,
            r1_penalty=m.r1_penalty, r1_interval=m.r1_interval, n_critic=m.n_critic,
            **compile_kwargs,
        )
        return gan

    @staticmethod
    def finish(model, source, cfg) -> dict | None:
        """After training: nothing to fit."""
        return None

    @staticmethod
    def export(model, run_dir: str) -> None:
        """`generator.keras` (EMA weights when enabled) and the whole `model.keras`."""
        model.save(os.path.join(run_dir, "model.keras"))
        with model.averaged_generator() as generator:
            generator.save(os.path.join(run_dir, "generator.keras"))


class VAEFamily:
    """`VAEConfig` -> `tfgen.VAE`."""

    validates = True  # validation ELBO each epoch; the best epoch is kept

    @staticmethod
    def batches_per_step(cfg: VAEConfig) -> int:
        return 1

    @staticmethod
    def likelihood_config(m) -> dict:
        if m.likelihood == "gaussian":
            return {"name": "gaussian", "scale": m.gaussian_scale}
        if m.likelihood == "categorical":
            return {"name": "categorical", "levels": m.levels}
        if m.likelihood == "discretized_logistic":
            return {"name": "discretized_logistic", "levels": m.levels,
                    "components": m.components}
        return {"name": m.likelihood}

    @staticmethod
    def build(cfg: VAEConfig, info, compile_kwargs: dict, total_steps: int):
        from tfgen.losses.likelihoods import get_likelihood
        from tfgen.models import VAE

        m = cfg.model
        likelihood = get_likelihood(VAEFamily.likelihood_config(m))
        try:
            encoder, decoder = networks.build_vae_networks(m, info, likelihood.channels_per_dim)
        except ValueError as err:
            raise ConfigError(f"config key 'model.network': {err}") from None
        vae = VAE(encoder, decoder, latent_dim=m.latent_dim, likelihood=likelihood,
                  num_classes=info.num_classes if m.conditional else None, seed=cfg.seed,
                  expost_components=m.expost_components)
        vae.compile(
            optimizer=make_optimizer(cfg.optimizer, total_steps), kl_weight=m.kl_weight,
            kl_schedule=m.kl_schedule, warmup_steps=m.warmup_steps, cycle_steps=m.cycle_steps,
            free_bits=m.free_bits, iw_samples=m.iw_samples, **compile_kwargs,
        )
        return vae

    @staticmethod
    def finish(model, source, cfg) -> dict | None:
        """After training: fit the ex-post density on the training split's codes."""
        if not model.expost_components:
            return None
        from tfgen.metrics.features import source_arrays

        x, _ = source_arrays(source, "train", labels_required=False)
        return model.fit_expost(x, seed=cfg.seed)

    @staticmethod
    def export(model, run_dir: str) -> None:
        """`model.keras` and `decoder.keras`."""
        model.save(os.path.join(run_dir, "model.keras"))
        model.decoder.save(os.path.join(run_dir, "decoder.keras"))


def family_for(cfg: RunConfig):
    if isinstance(cfg, VAEConfig):
        return VAEFamily
    if isinstance(cfg, GANConfig):
        return GANFamily
    raise ConfigError(f"preset {cfg.preset!r} has no model family")
