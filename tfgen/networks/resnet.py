"""ResNet generator and discriminator (SNGAN, Miyato et al. 2018) for 32x32 images."""

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
)
from tfgen.networks.conv import check_image_shape


def _res_up(x, channels: int):
    h = layers.ReLU()(bn()(x))
    h = layers.UpSampling2D()(h)
    h = layers.Conv2D(channels, 3, padding="same")(h)
    h = layers.ReLU()(bn()(h))
    h = layers.Conv2D(channels, 3, padding="same")(h)
    shortcut = layers.Conv2D(channels, 1)(layers.UpSampling2D()(x))
    return layers.Add()([h, shortcut])


def _res_down(x, channels: int, spectral_norm: bool, first: bool, down: bool):
    h = x if first else layers.ReLU()(x)
    h = sn(layers.Conv2D(channels, 3, padding="same"), spectral_norm)(h)
    h = layers.ReLU()(h)
    h = sn(layers.Conv2D(channels, 3, padding="same"), spectral_norm)(h)
    if down:
        h = layers.AveragePooling2D(2)(h)
    shortcut = x
    if first:  # optimized block: pool, then project
        shortcut = sn(layers.Conv2D(channels, 1), spectral_norm)(layers.AveragePooling2D(2)(x))
    elif down or x.shape[-1] != channels:
        shortcut = sn(layers.Conv2D(channels, 1), spectral_norm)(x)
        if down:
            shortcut = layers.AveragePooling2D(2)(shortcut)
    return layers.Add()([h, shortcut])


def resnet_generator(
    latent_dim: int, image_shape: tuple[int, ...], width: int = 128,
    num_classes: int | None = None, output: str | None = "symmetric", name: str = "generator",
) -> keras.Model:
    """SNGAN ResNet generator for 32x32: Dense(4·4·2w) -> 3 up-blocks -> BN -> ReLU -> Conv -> tanh."""
    size, channels = check_image_shape(image_shape)
    if size != 32:
        raise ValueError(f"the ResNet networks are for 32x32 images; got {size}x{size}")
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=32)
    h = layers.Reshape((4, 4, 2 * width))(layers.Dense(4 * 4 * 2 * width)(h))
    for _ in range(3):
        h = _res_up(h, 2 * width)
    h = layers.ReLU()(bn()(h))
    out = layers.Conv2D(channels, 3, padding="same", name="to_image")(h)
    out = layers.Activation(OUTPUT_ACTIVATIONS[output], dtype="float32", name="out")(out)
    return keras.Model(unwrap(inputs), out, name=name)


def resnet_discriminator(
    image_shape: tuple[int, ...], width: int = 128, num_classes: int | None = None,
    spectral_norm: bool = True, name: str = "discriminator",
) -> keras.Model:
    """SNGAN ResNet discriminator for 32x32: 2 down-blocks, 2 blocks, ReLU, global pooling, score."""
    size, _ = check_image_shape(image_shape)
    if size != 32:
        raise ValueError(f"the ResNet networks are for 32x32 images; got {size}x{size}")
    inputs, h, labels = sample_inputs(tuple(image_shape), num_classes)
    h = _res_down(h, width, spectral_norm, first=True, down=True)
    h = _res_down(h, width, spectral_norm, first=False, down=True)
    h = _res_down(h, width, spectral_norm, first=False, down=False)
    h = _res_down(h, width, spectral_norm, first=False, down=False)
    h = layers.GlobalAveragePooling2D()(layers.ReLU()(h))
    return keras.Model(
        unwrap(inputs), projection_head(h, labels, num_classes, spectral_norm), name=name
    )
