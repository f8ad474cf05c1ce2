"""MLP generator, discriminator, encoder and decoder (2-D points and small flat samples)."""

from __future__ import annotations

import keras
from keras import layers

from tfgen.networks.blocks import dropout as dropout_layer
from tfgen.networks.blocks import latent_inputs, projection_head, sample_inputs, sn, unwrap, with_labels


def mlp_generator(
    latent_dim: int, output_dim: int, width: int = 256, depth: int = 3,
    num_classes: int | None = None, name: str = "generator",
) -> keras.Model:
    """z (and labels) -> [Dense(width) -> ReLU] x depth -> Dense(output_dim), linear output."""
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=16)
    for i in range(depth):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    out = layers.Dense(output_dim, dtype="float32", name="out")(h)
    return keras.Model(unwrap(inputs), out, name=name)


def mlp_discriminator(
    input_dim: int, width: int = 256, depth: int = 3, num_classes: int | None = None,
    spectral_norm: bool = False, name: str = "discriminator",
) -> keras.Model:
    """x (and labels) -> [Dense(width) -> LeakyReLU(0.2)] x depth -> score (+ projection)."""
    inputs, h, labels = sample_inputs((input_dim,), num_classes)
    for i in range(depth):
        h = sn(layers.Dense(width, name=f"dense_{i}"), spectral_norm)(h)
        h = layers.LeakyReLU(0.2)(h)
    return keras.Model(
        unwrap(inputs), projection_head(h, labels, num_classes, spectral_norm), name=name
    )


def mlp_encoder(
    sample_shape: tuple[int, ...], latent_dim: int, width: int = 256, depth: int = 2,
    num_classes: int | None = None, dropout: float = 0.0, context_dim: int = 0,
    name: str = "encoder",
) -> keras.Model:
    """x (and labels) -> Flatten -> [Dense(width) -> ReLU (-> Dropout)] x depth ->
    Dense(2·latent + context_dim): posterior mean, log-variance (and an IAF flow's context)."""
    inputs, x, labels = sample_inputs(tuple(sample_shape), num_classes)
    h = with_labels(layers.Flatten()(x), labels, num_classes)
    for i in range(depth):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
        h = dropout_layer(h, dropout)
    out = layers.Dense(2 * latent_dim + context_dim, dtype="float32", name="posterior")(h)
    return keras.Model(unwrap(inputs), out, name=name)


def gaussian_mlp(input_dim: int, output_dim: int, width: int = 128, depth: int = 2,
                 name: str = "gaussian_mlp") -> keras.Model:
    """u -> [Dense(width) -> tanh] x depth -> Dense(2·output_dim): the mean and log-variance of
    a diagonal Gaussian over `output_dim` values given u (a hierarchical VAE's q(z2 | z1) and
    p(z1 | z2); tanh units as in Burda et al. 2016). Float32 output."""
    inputs = keras.Input((input_dim,), name="u")
    h = inputs
    for i in range(depth):
        h = layers.Dense(width, activation="tanh", name=f"dense_{i}")(h)
    out = layers.Dense(2 * output_dim, dtype="float32", name="gaussian")(h)
    return keras.Model(inputs, out, name=name)


def mlp_decoder(
    latent_dim: int, sample_shape: tuple[int, ...], params_per_value: int = 1, width: int = 256,
    depth: int = 2, num_classes: int | None = None, dropout: float = 0.0, name: str = "decoder",
) -> keras.Model:
    """z (and labels) -> [Dense(width) -> ReLU (-> Dropout)] x depth -> likelihood parameters."""
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=16)
    for i in range(depth):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
        h = dropout_layer(h, dropout)
    shape = (*sample_shape[:-1], sample_shape[-1] * params_per_value)
    size = 1
    for d in shape:
        size *= d
    out = layers.Reshape(shape, dtype="float32")(layers.Dense(size, dtype="float32",
                                                              name="params")(h))
    return keras.Model(unwrap(inputs), out, name=name)
