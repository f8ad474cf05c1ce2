"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for GANs on small datasets.

The same augmentation is applied to real and generated images before the discriminator, and it is
differentiable, so the generator is trained through it. Randomness comes in as a tensor `u` of
uniform numbers, one row per example (drawn by the model from its seeded, per-replica generator),
which keeps the functions pure and replica-independent.
"""

from __future__ import annotations

import tensorflow as tf

from tfgen.ingredients.diffaugment import POLICIES, parse_policies  # noqa: F401 (handed on)

NUM_RANDOM = 7  # columns of `u`: 3 colour, 2 translation, 2 cutout


def color(x: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """Brightness + U[-0.5, 0.5], saturation x U[0, 2], contrast x U[0.5, 1.5], per example."""
    u = tf.cast(u, x.dtype)
    x = x + (u[:, 0] - 0.5)[:, None, None, None]
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (2.0 * u[:, 1])[:, None, None, None] + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (u[:, 2] + 0.5)[:, None, None, None] + mean


def translation(x: tf.Tensor, u: tf.Tensor, ratio: float = 0.125) -> tf.Tensor:
    """Shift each image by up to ratio·size pixels in each direction, filling with zeros."""
    h, w = x.shape[1], x.shape[2]
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    shift_y = tf.cast(tf.round((2.0 * u[:, 0] - 1.0) * sh), tf.int32)
    shift_x = tf.cast(tf.round((2.0 * u[:, 1] - 1.0) * sw), tf.int32)
    padded = tf.pad(x, [[0, 0], [sh, sh], [sw, sw], [0, 0]])
    rows = tf.range(h)[None, :] + sh - shift_y[:, None]
    cols = tf.range(w)[None, :] + sw - shift_x[:, None]
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def cutout(x: tf.Tensor, u: tf.Tensor, ratio: float = 0.5) -> tf.Tensor:
    """Zero a square of side ratio·size at a random position (it may cross the border)."""
    h, w = x.shape[1], x.shape[2]
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    top = tf.cast(tf.floor(u[:, 0] * (h + 1 - ch % 2)), tf.int32) - ch // 2
    left = tf.cast(tf.floor(u[:, 1] * (w + 1 - cw % 2)), tf.int32) - cw // 2
    ys, xs = tf.range(h)[None, :], tf.range(w)[None, :]
    in_y = (ys >= top[:, None]) & (ys < top[:, None] + ch)
    in_x = (xs >= left[:, None]) & (xs < left[:, None] + cw)
    mask = tf.cast(in_y[:, :, None] & in_x[:, None, :], x.dtype)
    return x * (1.0 - mask[..., None])


def augment(x: tf.Tensor, policies: tuple[str, ...], u: tf.Tensor) -> tf.Tensor:
    """Apply `policies` (in the order colour, translation, cutout) to images `x` [B, H, W, C]."""
    if "color" in policies:
        x = color(x, u[:, 0:3])
    if "translation" in policies:
        x = translation(x, u[:, 3:5])
    if "cutout" in policies:
        x = cutout(x, u[:, 5:7])
    return x
