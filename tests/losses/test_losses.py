"""Objectives against NumPy formulas; penalties against closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from tfgen import losses

REAL = np.array([-3.0, -0.5, 0.0, 0.7, 4.0], np.float32)
FAKE = np.array([2.0, -1.0, 0.3, -4.0, 0.1], np.float32)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


EXPECTED = {
    "non_saturating": (
        -np.log(sigmoid(REAL)) - np.log(1.0 - sigmoid(FAKE)),
        -np.log(sigmoid(FAKE)),
    ),
    "minimax": (
        -np.log(sigmoid(REAL)) - np.log(1.0 - sigmoid(FAKE)),
        np.log(1.0 - sigmoid(FAKE)),
    ),
    "wasserstein": (FAKE - REAL, -FAKE),
    "hinge": (np.maximum(0, 1 - REAL) + np.maximum(0, 1 + FAKE), -FAKE),
    "least_squares": (0.5 * (REAL - 1) ** 2 + 0.5 * FAKE**2, 0.5 * (FAKE - 1) ** 2),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_objective_matches_formula(name):
    objective = losses.get_objective(name)
    d_expected, g_expected = EXPECTED[name]
    d = objective.discriminator(tf.constant(REAL[:, None]), tf.constant(FAKE[:, None]))
    g = objective.generator(tf.constant(FAKE[:, None]))
    assert d.shape == (5,) and g.shape == (5,)
    np.testing.assert_allclose(d.numpy(), d_expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g.numpy(), g_expected, rtol=1e-5, atol=1e-6)


def test_float16_logits_are_computed_in_float32():
    logits = tf.constant([[20.0], [-20.0]], tf.float16)
    out = losses.non_saturating.generator(logits)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), [np.log1p(np.exp(-20.0)), 20.0], rtol=1e-5)


def test_unknown_objective():
    with pytest.raises(ValueError, match="unknown objective 'wgan'"):
        losses.get_objective("wgan")


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = w·x has gradient w everywhere: penalty (‖w‖ - 1)² for every example and every ε.
    w = tf.constant([[3.0], [4.0]])
    critic = lambda x: tf.matmul(x, w)  # noqa: E731
    real = tf.random.normal([6, 2], seed=1)
    fake = tf.random.normal([6, 2], seed=2)
    eps = tf.random.uniform([6], seed=3)
    np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, eps).numpy(),
                               np.full(6, (5.0 - 1.0) ** 2), rtol=1e-5)


def test_gradient_penalty_interpolates_per_example():
    # D(x) = ½‖x‖²: gradient x̂ = ε·x + (1-ε)·y; penalty (‖x̂‖ - 1)².
    critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])  # noqa: E731
    rng = np.random.default_rng(0)
    real = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    fake = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    eps = rng.uniform(size=4).astype(np.float32)
    mixed = eps[:, None, None, None] * real + (1 - eps[:, None, None, None]) * fake
    expected = (np.linalg.norm(mixed.reshape(4, -1), axis=1) - 1.0) ** 2
    np.testing.assert_allclose(
        losses.gradient_penalty(critic, real, fake, eps).numpy(), expected, rtol=1e-5)


def test_r1_of_a_quadratic_discriminator():
    # D(x) = ½‖x‖² + 7: ∇D = x, so R1 = ‖x‖² per example.
    critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True) + 7.0  # noqa: E731
    x = np.array([[1.0, 2.0], [0.0, -3.0], [0.5, 0.5]], np.float32)
    np.testing.assert_allclose(losses.r1_penalty(critic, x).numpy(), [5.0, 9.0, 0.5], rtol=1e-6)


def test_lecam_penalty_matches_formula():
    anchor_real, anchor_fake = 0.4, -0.2
    out = losses.lecam_penalty(tf.constant(REAL[:, None]), tf.constant(FAKE[:, None]),
                               anchor_real, anchor_fake).numpy()
    expected = np.maximum(REAL - anchor_fake, 0) ** 2 + np.maximum(anchor_real - FAKE, 0) ** 2
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_consistency_penalty_is_the_squared_difference():
    transformed = REAL[::-1].copy()
    out = losses.consistency_penalty(tf.constant(REAL[:, None]),
                                     tf.constant(transformed[:, None])).numpy()
    np.testing.assert_allclose(out, (REAL - transformed) ** 2, rtol=1e-6)
    assert losses.consistency_penalty(tf.constant(REAL), tf.constant(REAL)).numpy().max() == 0
