"""Piano-roll GAN networks (MuseGAN-style, Dong et al. 2018, one track): convolutions over time
and pitch on fixed windows [frames, 88 keys], in the packed layout of `tfgen.data.music.pack`
(the last channel, every frame present, is added by the generator and ignored by the
discriminator). With `binary`, the generator's notes are deterministic binary neurons trained
with the straight-through estimator (BinaryMuseGAN, Dong & Yang 2018): the discriminator sees
0/1 piano-rolls, as the real ones are."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from tfgen.networks.blocks import bn, latent_inputs, projection_head, sample_inputs, sn, unwrap


@keras.saving.register_keras_serializable(package="tfgen")
class StraightThroughBinary(layers.Layer):
    """p in [0, 1] -> [p > 0.5] in the forward pass, the identity's gradient in the backward pass
    (a deterministic binary neuron with the straight-through estimator)."""

    def call(self, p):
        return p + tf.stop_gradient(tf.cast(p > 0.5, p.dtype) - p)


@keras.saving.register_keras_serializable(package="tfgen")
class Present(layers.Layer):
    """Rolls [.., keys] -> the packed layout [.., keys + 1] with every frame present."""

    def call(self, rolls):
        return tf.concat([rolls, tf.ones_like(rolls[..., :1])], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def _time_doublings(frames: int) -> int:
    k = 0
    while frames % 2 == 0 and frames // 2 >= 4 and k < 4:
        frames //= 2
        k += 1
    if k == 0:
        raise ValueError(f"piano-roll windows of {frames} frames cannot be halved to >= 4")
    return k


def pianoroll_generator(latent_dim: int, frames: int, keys: int = 88, width: int = 64,
                        binary: bool = False, num_classes: int | None = None,
                        name: str = "generator") -> keras.Model:
    """z -> Dense -> [frames / 2^k, keys / 8, width·2^k] -> transposed convolutions doubling
    time (k times) and pitch (3 times: 11 -> 88 keys) with BN and ReLU -> a 1-channel sigmoid
    (float32) -> notes (straight-through binary when `binary`) -> packed [frames, keys + 1]."""
    if keys % 8:
        raise ValueError(f"the piano-roll generator takes keys divisible by 8; got {keys}")
    k = _time_doublings(frames)
    start_t, start_p = frames // 2**k, keys // 8
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=32)
    h = layers.Dense(start_t * start_p * width * 2**k, use_bias=False)(h)
    h = layers.ReLU()(bn()(layers.Reshape((start_t, start_p, width * 2**k))(h)))
    for j in range(1, k + 1):
        pitch = 2 if j > k - 3 else 1  # the last three steps also double the pitch axis
        h = layers.Conv2DTranspose(width * 2 ** (k - j), (4, 4), strides=(2, pitch),
                                   padding="same", use_bias=False)(h)
        h = layers.ReLU()(bn()(h))
    for _ in range(max(0, 3 - k)):  # fewer time doublings than three: the rest in pitch only
        h = layers.ReLU()(bn()(layers.Conv2DTranspose(width, (1, 4), strides=(1, 2),
                                                      padding="same", use_bias=False)(h)))
    h = layers.Conv2D(1, (3, 3), padding="same", name="to_roll")(h)
    notes = layers.Activation("sigmoid", dtype="float32", name="notes")(h)
    notes = layers.Reshape((frames, keys))(notes)
    if binary:
        notes = StraightThroughBinary(dtype="float32", name="binary")(notes)
    return keras.Model(unwrap(inputs), Present(dtype="float32", name="packed")(notes), name=name)


def pianoroll_discriminator(frames: int, keys: int = 88, width: int = 64, pac: int = 1,
                            spectral_norm: bool = False, num_classes: int | None = None,
                            name: str = "discriminator") -> keras.Model:
    """Packed windows [frames, (keys + 1)·pac] (PacGAN: `pac` windows side by side) -> the keys
    as a [frames, keys, pac] picture -> Conv over (time, pitch) with LReLU, halving both ->
    Flatten -> score (+ projection when conditional). No batch norm (per-example penalties)."""
    k = _time_doublings(frames)
    inputs, x, labels = sample_inputs((frames, (keys + 1) * pac), num_classes)
    rolls = layers.Reshape((frames, pac, keys + 1))(x)
    rolls = layers.Permute((1, 3, 2))(rolls)  # [frames, keys + 1, pac]
    rolls = layers.Cropping2D(((0, 0), (0, 1)))(rolls)  # drop the presence channel
    h = layers.LeakyReLU(0.2)(sn(layers.Conv2D(width, (3, 12), padding="same"),
                                 spectral_norm)(rolls))
    for j in range(1, k + 1):
        conv = layers.Conv2D(width * 2**j, 4, strides=2, padding="same")
        h = layers.LeakyReLU(0.2)(sn(conv, spectral_norm)(h))
    return keras.Model(unwrap(inputs),
                       projection_head(layers.Flatten()(h), labels, num_classes, spectral_norm),
                       name=name)
