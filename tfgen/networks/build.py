"""A dataset's shape in, a matching pair of networks out: `build_gan_networks`,
`build_vae_networks` (keyword arguments; the names in `GAN_NETWORKS` / `VAE_NETWORKS`)."""

from __future__ import annotations

from tfgen import rules
from tfgen.networks.biggan import biggan_discriminator, biggan_generator
from tfgen.networks.conv import (
    conv_decoder,
    conv_encoder,
    dcgan_discriminator,
    dcgan_generator,
)
from tfgen.networks.flows import iaf_flow
from tfgen.networks.mlp import (
    gaussian_mlp,
    mlp_decoder,
    mlp_discriminator,
    mlp_encoder,
    mlp_generator,
)
from tfgen.networks.resnet import resnet_discriminator, resnet_generator

IMAGE_GAN_NETWORKS = ("mlp", "dcgan", "resnet", "biggan")  # `build_gan_networks`'
# tfgen.networks.pianoroll (the piano-roll modality's), arae_networks (text's), wavegan and
# specgan (audio's: the DCGAN on spectrogram images)
SEQUENCE_GAN_NETWORKS = ("pianoroll", "arae", "wavegan", "specgan")
GAN_NETWORKS = IMAGE_GAN_NETWORKS + SEQUENCE_GAN_NETWORKS
IMAGE_VAE_NETWORKS = ("mlp", "conv")  # `build_vae_networks`'
# the piano-roll modality's: tfgen.networks.sequence (lstm, conductor) and .srnn; text's: lstm
# and tfgen.networks.transformer
SEQUENCE_VAE_NETWORKS = ("lstm", "conductor", "srnn", "transformer")
VAE_NETWORKS = IMAGE_VAE_NETWORKS + SEQUENCE_VAE_NETWORKS


def build_gan_networks(info, *, network: str = "dcgan", latent_dim: int = 64, width: int = 64,
                       depth: int = 3, spectral_norm: bool = False, conditional: bool = False,
                       pac: int = 1, pixel_range: str = "symmetric", orthogonal: float = 0.0):
    """(generator, discriminator) for the samples `info` (a `tfgen.data.DatasetInfo`) describes.

    Args:
        network: "mlp" (flat samples), "dcgan", "resnet" or "biggan" (square images).
        latent_dim: size of the generator's input noise.
        width: hidden units (mlp) or base channels (conv).
        depth: hidden layers (mlp).
        spectral_norm: spectral normalisation in the discriminator.
        conditional: class-conditional networks over `info.num_classes` classes.
        pac: PacGAN packing; the discriminator takes `pac` samples at once (concatenated /
            stacked channels).
        pixel_range: "symmetric" (tanh output) or "unit" (sigmoid) for bounded samples.
        orthogonal: biggan: β of the generator's orthogonal regularisation (0: off; refused
            for the other networks).
    """
    rules.check_choice("network", network, IMAGE_GAN_NETWORKS)
    rules.check_orthogonal(network, orthogonal)
    num_classes = info.num_classes if conditional else None
    common = dict(width=width, num_classes=num_classes)
    packed = (info.shape[0] * pac,) if len(info.shape) == 1 else (
        *info.shape[:-1], info.shape[-1] * pac)
    if network == "mlp":
        if len(info.shape) != 1:
            raise ValueError(f"the MLP networks are for flat samples; got shape {info.shape}")
        g = mlp_generator(latent_dim, info.shape[0], depth=depth, **common)
        d = mlp_discriminator(packed[0], depth=depth, spectral_norm=spectral_norm, **common)
        return g, d
    output = pixel_range if info.value_range is not None else None
    if network == "biggan":
        return (biggan_generator(latent_dim, info.shape, output=output, orthogonal=orthogonal,
                                 **common),
                biggan_discriminator(packed, spectral_norm=spectral_norm, **common))
    make_g, make_d = ((dcgan_generator, dcgan_discriminator) if network == "dcgan"
                      else (resnet_generator, resnet_discriminator))
    return (make_g(latent_dim, info.shape, output=output, **common),
            make_d(packed, spectral_norm=spectral_norm, **common))


def build_vae_networks(info, *, params_per_value: int, network: str = "mlp", latent_dim: int = 16,
                       width: int = 256, depth: int = 2, conditional: bool = False,
                       dropout: float = 0.0, context_dim: int = 0):
    """(encoder, decoder) for the samples `info` describes; the decoder outputs
    `params_per_value` likelihood parameters per value (`Likelihood.channels_per_dim`).

    Args:
        network: "mlp" or "conv" (square images).
        latent_dim, width, depth, conditional: as in `build_gan_networks`.
        dropout: dropout after each hidden layer (mlp) or each activation (conv).
        context_dim: extra encoder outputs (the context h of an IAF posterior flow).
    """
    rules.check_choice("network", network, IMAGE_VAE_NETWORKS)
    num_classes = info.num_classes if conditional else None
    if network == "mlp":
        return (mlp_encoder(info.shape, latent_dim, width, depth, num_classes, dropout,
                            context_dim),
                mlp_decoder(latent_dim, info.shape, params_per_value, width, depth, num_classes,
                            dropout))
    return (conv_encoder(info.shape, latent_dim, width, num_classes, context_dim, dropout),
            conv_decoder(latent_dim, info.shape, params_per_value, width, num_classes, dropout))


def build_vae_latent_networks(latent_dim: int, *, top_latent_dim: int = 0, top_width: int = 128,
                              flow_steps: int = 0, flow_width: int = 64,
                              context_dim: int = 0) -> dict:
    """The `VAE`'s optional latent networks, as its keyword arguments: `top_encoder` q(z2 | z1)
    and `top_decoder` p(z1 | z2) of a second stochastic layer of `top_latent_dim` values
    (two tanh layers of `top_width`, as in Burda et al. 2016), and an IAF `flow` of
    `flow_steps` MADE steps of `flow_width` units taking the encoder's `context_dim` outputs.
    Zero sizes leave a network out."""
    out = {}
    if top_latent_dim:
        out["top_encoder"] = gaussian_mlp(latent_dim, top_latent_dim, top_width,
                                          name="top_encoder")
        out["top_decoder"] = gaussian_mlp(top_latent_dim, latent_dim, top_width,
                                          name="top_decoder")
    if flow_steps:
        out["flow"] = iaf_flow(latent_dim, flow_steps, flow_width, context_dim=context_dim)
    return out
