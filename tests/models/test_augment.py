"""DiffAugment policies: what each does, that they are differentiable, and policy parsing."""

import numpy as np
import pytest
import tensorflow as tf

from tfgen.models import augment


def test_translation_shifts_with_zero_fill():
    x = tf.reshape(tf.range(1, 65, dtype=tf.float32), [1, 8, 8, 1])
    # u = 1 -> shift +1 pixel down and right (ratio 1/8 of 8 pixels).
    out = augment.translation(x, tf.constant([[1.0, 1.0]])).numpy()[0, ..., 0]
    np.testing.assert_array_equal(out[1:, 1:], x.numpy()[0, :-1, :-1, 0])
    assert (out[0] == 0).all() and (out[:, 0] == 0).all()
    # u = 0.5 -> no shift.
    np.testing.assert_array_equal(augment.translation(x, tf.constant([[0.5, 0.5]])).numpy(), x.numpy())


def test_cutout_zeroes_a_half_size_square():
    x = tf.ones([3, 8, 8, 2])
    u = tf.constant([[0.5, 0.5], [0.0, 0.0], [0.99, 0.3]])
    out = augment.cutout(x, u).numpy()
    zeros = (out == 0).all(axis=-1).sum(axis=(1, 2))
    assert zeros[0] == 16  # a 4x4 square fully inside
    assert 0 < zeros[1] < 16 and 0 < zeros[2] <= 16  # clipped at the border


def test_color_matches_its_formula():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(2, 4, 4, 3)).astype(np.float32)
    u = np.array([[0.7, 0.25, 0.9], [0.5, 0.5, 0.5]], np.float32)
    out = augment.color(tf.constant(x), tf.constant(u)).numpy()
    y = x + (u[:, 0] - 0.5)[:, None, None, None]
    m = y.mean(axis=3, keepdims=True)
    y = (y - m) * (2 * u[:, 1])[:, None, None, None] + m
    m = y.mean(axis=(1, 2, 3), keepdims=True)
    y = (y - m) * (u[:, 2] + 0.5)[:, None, None, None] + m
    np.testing.assert_allclose(out, y, atol=1e-5)
    np.testing.assert_allclose(out[1], x[1], atol=1e-5)  # u = 0.5 everywhere is the identity


def test_augment_is_differentiable():
    x = tf.Variable(tf.random.normal([2, 8, 8, 1], seed=1))
    u = tf.random.uniform([2, augment.NUM_RANDOM], seed=2)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(augment.augment(x, ("color", "translation", "cutout"), u))
    grad = tape.gradient(y, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


def test_policies():
    assert augment.parse_policies("cutout, translation") == ("translation", "cutout")
    assert augment.parse_policies("") == ()
    with pytest.raises(ValueError, match="unknown DiffAugment policy 'flip'"):
        augment.parse_policies("flip")
