"""WaveGAN (Donahue, McAuley & Puckette 2019, "Adversarial audio synthesis"): 1-D transposed
convolutions from noise to a waveform, and a 1-D convolutional discriminator with phase
shuffle.

The paper's networks make 16,384 samples (1.024 s at 16 kHz) from a 16 x 16d start through five
transposed convolutions of kernel 25 and stride 4 (d the model size, 64); the discriminator
mirrors them with strided convolutions, LeakyReLU(0.2) and phase shuffle (n = 2) after every
layer but the last. Here the start length is the clip's length / 4^k (k = 5 where it divides,
fewer for short clips): 8 at 8 kHz (8,192 samples), 16 at 16 kHz.

Phase shuffle shifts each layer's activations by a random number of samples in [-n, n]
(reflect-padded), so that the discriminator cannot tell real from generated clips by the
phase artefacts of transposed convolutions. Its shifts are a hash of each clip's rounded energy,
the training step and the layer's index, not draws from a random state: one device and N
replicas, a resumed run, and bfloat16 or float32 training shift the same clip alike, and a real
clip gets new shifts on every pass, as in the paper. The step comes from the model that trains
the discriminator (`GAN` binds its step counter to every `PhaseKey`); a discriminator trained
by hand keys by the clip alone.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from tfgen.networks.blocks import latent_inputs, projection_head, sample_inputs, sn, unwrap

KERNEL, STRIDE = 25, 4


def num_upsamplings(length: int, most: int = 5) -> int:
    """How many stride-4 steps reach `length` from a start of >= 4 samples (at most `most`):
    8,192 -> 5 (start 8), 16,384 -> 5 (start 16), 1,024 -> 4 (start 4)."""
    k = 0
    while k < most and length % STRIDE == 0 and length // STRIDE >= 4:
        length //= STRIDE
        k += 1
    if k == 0:
        raise ValueError(f"a WaveGAN clip's length must be a multiple of 4 of at least 16 "
                         f"samples; got {length}")
    return k


@keras.saving.register_keras_serializable(package="tfgen")
class PhaseKey(layers.Layer):
    """Clips [batch, samples, channels] -> one int64 key per clip: its energy Σ|x| rounded to a
    whole number, mixed with the training step once a model binds its counter (`bind_step`),
    the seed of its phase shuffles. Float32 always, and coarse: a generator run in bfloat16
    makes its clips to within a fraction of one unit of Σ|x| (measured: the bfloat16 step
    matches float32's with this rounding, not with 1/1024 units), so mixed-precision training
    shifts as float32 training does."""

    STEP_MULTIPLIER = 2654435761  # Knuth's multiplicative hash: steps spread over the keys

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self._step = None  # a callable, not a tracked variable: the model owns and saves it

    def bind_step(self, counter) -> None:
        """Key by `counter()` (an int64 scalar: the training step) as well as by the clip."""
        self._step = counter

    def call(self, x):
        energy = tf.reduce_sum(tf.abs(tf.cast(x, tf.float32)), axis=[1, 2])
        key = tf.cast(tf.round(energy), tf.int64)
        if self._step is not None:
            key += tf.cast(self._step(), tf.int64) * self.STEP_MULTIPLIER
        return key

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)


@keras.saving.register_keras_serializable(package="tfgen")
class PhaseShuffle(layers.Layer):
    """WaveGAN's phase shuffle: in training, activations [batch, time, channels] shifted by
    s in [-radius, radius] samples per clip (s from the clip's `PhaseKey` and this layer's
    `index`), the edges reflect-padded; the identity outside training."""

    def __init__(self, radius: int = 2, index: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.radius, self.index = int(radius), int(index)

    def shifts(self, key):
        """Each clip's shift in [-radius, radius] (int32 [batch])."""
        mixed = key * 6364136223846793005 + (self.index + 1) * 1442695040888963407
        mixed = tf.bitwise.right_shift(mixed, 33)  # the well-mixed high bits (LCG)
        return tf.cast(tf.math.floormod(mixed, 2 * self.radius + 1) - self.radius, tf.int32)

    def call(self, inputs, training=False):
        h, key = inputs
        if not training or self.radius == 0:
            return h
        n, length = self.radius, tf.shape(h)[1]
        padded = tf.pad(h, [[0, 0], [n, n], [0, 0]], mode="REFLECT")
        index = tf.range(length)[None] + (n - self.shifts(key))[:, None]  # out[t] = h[t - s]
        return tf.gather(padded, index, batch_dims=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "index": self.index}


def wavegan_generator(latent_dim: int, length: int, channels: int = 1, width: int = 64,
                      num_classes: int | None = None, name: str = "generator") -> keras.Model:
    """z -> Dense(start x 2^(k-1)·width) -> ReLU -> k x [ConvT1D(25, stride 4) -> ReLU] -> tanh
    (the paper's 16 x 16d, then 8d, 4d, 2d, d channels at k = 5, d = width):
    clips [batch, length, channels] in [-1, 1] (the last transposed convolution outputs the
    channels; conditional: a label embedding joins z)."""
    k = num_upsamplings(length)
    start = length // STRIDE**k
    inputs, h = latent_inputs(latent_dim, num_classes, embed_dim=32)
    h = layers.Dense(start * width * 2 ** (k - 1), name="project")(h)
    h = layers.ReLU()(layers.Reshape((start, width * 2 ** (k - 1)))(h))
    for j in range(1, k + 1):
        last = j == k
        h = layers.Conv1DTranspose(channels if last else width * 2 ** (k - 1 - j), KERNEL,
                                   strides=STRIDE, padding="same", name=f"up_{j}")(h)
        if not last:
            h = layers.ReLU()(h)
    out = layers.Activation("tanh", dtype="float32", name="out")(h)
    return keras.Model(unwrap(inputs), out, name=name)


def wavegan_discriminator(shape: tuple[int, int], width: int = 64, num_classes: int | None = None,
                          spectral_norm: bool = False, phase_shuffle: int = 2,
                          name: str = "discriminator") -> keras.Model:
    """Clips [length, channels] -> k x [Conv1D(25, stride 4) -> LReLU(0.2) -> phase shuffle
    (not after the last)] -> Flatten -> score (+ the projection of a label embedding when
    conditional, Miyato & Koyama 2018). No normalisation, so gradient penalties stay
    per-example."""
    length = int(shape[0])
    k = num_upsamplings(length)
    inputs, x, labels = sample_inputs(tuple(shape), num_classes)
    key = PhaseKey(name="phase_key")(x)
    h = x
    for j in range(1, k + 1):
        conv = layers.Conv1D(width * 2 ** (j - 1), KERNEL, strides=STRIDE, padding="same",
                             name=f"down_{j}")
        h = layers.LeakyReLU(0.2)(sn(conv, spectral_norm)(h))
        if j < k and phase_shuffle:
            h = PhaseShuffle(phase_shuffle, index=j, name=f"phase_shuffle_{j}")([h, key])
    h = layers.Flatten()(h)
    return keras.Model(unwrap(inputs), projection_head(h, labels, num_classes, spectral_norm),
                       name=name)
