"""The rules that tie a model's options together, each written once: the library's models call
them with their arguments, the trainer's config with its keys, and both show the same message
(an `OptionError` naming the option; the trainer's `ConfigError` adds the config key). The rules
of an ingredient (a GAN regulariser or augmentation, a VAE prior) live in the ingredient
(`tfgen.ingredients`); these are the models' own. Imports no TensorFlow."""

from __future__ import annotations

from tfgen.errors import OptionError

KL_SCHEDULES = ("constant", "linear", "cyclical")
ESTIMATORS = ("standard", "dreg")


def check_choice(key: str, value: str, valid: tuple[str, ...], what: str | None = None) -> None:
    """`value` is one of `valid` ("unknown <what> 'x'; choose from: ..." otherwise; `what`
    defaults to `key`)."""
    if value not in valid:
        raise OptionError(key, f"unknown {what or key} {value!r}; choose from: "
                          f"{', '.join(valid)}")


def check_pac(pac: int, conditional: bool) -> None:
    """PacGAN packs unconditional samples."""
    if pac < 1:
        raise OptionError("pac", f"pac must be >= 1; got {pac}")
    if pac > 1 and conditional:
        raise OptionError("pac", "PacGAN packing is for unconditional GANs")


def check_orthogonal(network: str, orthogonal: float) -> None:
    """BigGAN's orthogonal regularisation belongs to its generator."""
    if orthogonal > 0 and network != "biggan":
        raise OptionError("orthogonal", "the orthogonal regularisation is part of the biggan "
                          f"network, not {network!r}")


def check_vae_model(*, conditional: bool, expost_components: int) -> None:
    """A VAE's ex-post density against its conditioning (its prior checks itself:
    `tfgen.ingredients.VampPrior`)."""
    if expost_components and conditional:
        raise OptionError("expost_components", "the ex-post density is for unconditional VAEs")


def check_vae_training(*, analytic_kl: bool, prior: str, flow: bool, kl_schedule: str,
                       warmup_steps: int, cycle_steps: int, free_bits: float, iw_samples: int,
                       estimator: str, kl_capacity: float = 0.0, capacity_steps: int = 0) -> None:
    """A VAE's bound and estimator options against its model (`analytic_kl`: the normal
    prior, one stochastic layer and no flow, where the KL has its closed form)."""
    check_choice("kl_schedule", kl_schedule, KL_SCHEDULES)
    if kl_schedule == "linear" and warmup_steps < 1:
        raise OptionError("warmup_steps", "the linear KL schedule needs warmup_steps >= 1")
    if kl_schedule == "cyclical" and cycle_steps < 1:
        raise OptionError("cycle_steps", "the cyclical KL schedule needs cycle_steps >= 1")
    if iw_samples < 1:
        raise OptionError("iw_samples", "iw_samples must be >= 1")
    if free_bits > 0 and not analytic_kl:
        raise OptionError("free_bits", "free bits need the closed-form KL (the normal prior, "
                          "one stochastic layer, no flow)")
    if kl_capacity < 0 or capacity_steps < 0:
        raise OptionError("kl_capacity" if kl_capacity < 0 else "capacity_steps",
                          "the KL capacity and its steps are >= 0")
    if kl_capacity > 0 and free_bits > 0:
        raise OptionError("kl_capacity", "free bits and a KL capacity are two alternatives "
                          "against posterior collapse: set one of them")
    if kl_capacity > 0 and iw_samples > 1:
        raise OptionError("kl_capacity", "a KL capacity shapes the ELBO's KL term; IWAE "
                          "training (iw_samples > 1) has none")
    check_choice("estimator", estimator, ESTIMATORS)
    if estimator == "dreg" and (flow or prior != "normal"):
        raise OptionError("estimator", "the dreg estimator needs Gaussian posteriors and the "
                          "normal prior (no flow, no VampPrior)")
    if estimator == "dreg" and iw_samples < 2:
        raise OptionError("estimator", "the dreg estimator is for IWAE training: "
                          "iw_samples >= 2")


def check_audio_gan(network: str, representation: str) -> None:
    """SpecGAN trains on spectrogram images, WaveGAN on clips."""
    if (network == "specgan") != (representation == "spectrogram"):
        raise OptionError("network", "specgan trains on spectrograms "
                          "(data.representation=spectrogram), wavegan on clips "
                          "(data.representation=waveform)")
