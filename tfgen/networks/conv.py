"""DCGAN trunks: strided (transposed) convolutions sized from the image shape (8x8, 28x28, 32x32,
64x64, any size that halves to at most 7); the generator starts at the smallest resolution >= 4
reached by halving and doubles it up, the discriminator (and the VAE encoder) mirrors it."""

from __future__ import annotations

import keras
from keras import layers

from tfgen.networks.blocks import (
    OUTPUT_ACTIVATIONS,
    bn,
    latent_inputs,
    projection_head,
    sample_inputs,
    sn,
    unwrap,
    with_labels,
)
from tfgen.networks.blocks import dropout as dropout_layer


def num_upsamplings(size: int) -> int:
    """How many times `size` halves (exactly) while staying >= 4: 8 -> 1, 28 -> 2, 32 -> 3, 64 -> 4."""
    k = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        k += 1
    if k == 0:
        raise ValueError(f"image size {size} cannot be halved to a start resolution >= 4")
    return k


def check_image_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 3 or shape[0] != shape[1]:
        raise ValueError(f"conv networks need square images (H, W, C); got shape {shape}")
    return shape[0], shape[2]


def _conv_up(latent, image_size: int, width: int, dropout: float = 0.0):
    """Dense -> s x s x width·2^k -> k x [ConvT 4x4 stride 2 -> BN -> ReLU] (the DCGAN trunk),
    with `dropout` after each ReLU when it is above 0."""
    k = num_upsamplings(image_size)
    start = image_size // 2**k
    h = layers.Dense(start * start * width * 2**k, use_bias=False)(latent)
    h = layers.Reshape((start, start, width * 2**k))(h)
    h = dropout_layer(layers.ReLU()(bn()(h)), dropout)
    for j in range(1, k + 1):
        h = layers.Conv2DTranspose(width * 2 ** (k - j), 4, strides=2, padding="same",
                                   use_bias=False)(h)
        h = dropout_layer(layers.ReLU()(bn()(h)), dropout)
    return h


def dcgan_generator(
    latent_dim: int, image_shape: tuple[int, ...], width: int = 64,
    num_classes: int | None = None, output: str | None = "symmetric", name: str = "generator",
) -> keras.Model:
    """DCGAN generator (Radford et al. 2016) sized from `image_shape`.

    z -> Dense(s·s·width·2^k) -> BN -> ReLU -> k x [ConvT 4x4 stride 2 -> BN -> ReLU]
    -> Conv 3x3 -> tanh (or sigmoid for [0, 1] data); s = size / 2^k.
    """
    size, channels = check_image_shape(image_shape)
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=32)
    h = _conv_up(h, size, width)
    out = layers.Conv2D(channels, 3, padding="same", name="to_image")(h)
    out = layers.Activation(OUTPUT_ACTIVATIONS[output], dtype="float32", name="out")(out)
    return keras.Model(unwrap(inputs), out, name=name)


def _conv_down(x, image_size: int, width: int, spectral_norm: bool = False,
               dropout: float = 0.0):
    """Conv 3x3 -> LReLU -> k x [Conv 4x4 stride 2 -> LReLU] -> Flatten (mirrors `_conv_up`),
    with `dropout` after each LReLU when it is above 0."""
    k = num_upsamplings(image_size)
    h = layers.LeakyReLU(0.2)(sn(layers.Conv2D(width, 3, padding="same"), spectral_norm)(x))
    h = dropout_layer(h, dropout)
    for j in range(1, k + 1):
        conv = layers.Conv2D(width * 2**j, 4, strides=2, padding="same")
        h = dropout_layer(layers.LeakyReLU(0.2)(sn(conv, spectral_norm)(h)), dropout)
    return layers.Flatten()(h)


def dcgan_discriminator(
    image_shape: tuple[int, ...], width: int = 64, num_classes: int | None = None,
    spectral_norm: bool = False, name: str = "discriminator",
) -> keras.Model:
    """DCGAN discriminator mirroring `dcgan_generator`, without batch norm (so that gradient
    penalties stay per-example): Conv 3x3 -> LReLU -> k x [Conv 4x4 stride 2 -> LReLU] ->
    Flatten -> score (+ projection when conditional)."""
    size, _ = check_image_shape(image_shape)
    inputs, x, labels = sample_inputs(tuple(image_shape), num_classes)
    h = _conv_down(x, size, width, spectral_norm)
    return keras.Model(
        unwrap(inputs), projection_head(h, labels, num_classes, spectral_norm), name=name
    )


def conv_encoder(
    image_shape: tuple[int, ...], latent_dim: int, width: int = 32,
    num_classes: int | None = None, context_dim: int = 0, dropout: float = 0.0,
    name: str = "encoder",
) -> keras.Model:
    """The DCGAN discriminator trunk (`dropout` after each activation) -> (labels) ->
    Dense(2·latent_dim + context_dim)."""
    size, _ = check_image_shape(image_shape)
    inputs, x, labels = sample_inputs(tuple(image_shape), num_classes)
    h = with_labels(_conv_down(x, size, width, dropout=dropout), labels, num_classes)
    out = layers.Dense(2 * latent_dim + context_dim, dtype="float32", name="posterior")(h)
    return keras.Model(unwrap(inputs), out, name=name)


def conv_decoder(
    latent_dim: int, image_shape: tuple[int, ...], params_per_value: int = 1, width: int = 32,
    num_classes: int | None = None, dropout: float = 0.0, name: str = "decoder",
) -> keras.Model:
    """The DCGAN generator trunk (`dropout` after each activation) -> Conv 3x3 to
    channels·params_per_value (no activation)."""
    size, channels = check_image_shape(image_shape)
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=16)
    h = _conv_up(h, size, width, dropout)
    out = layers.Conv2D(channels * params_per_value, 3, padding="same", dtype="float32",
                        name="params")(h)
    return keras.Model(unwrap(inputs), out, name=name)
