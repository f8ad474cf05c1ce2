"""Gradient penalties on the discriminator, computed in float32, per example."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


def _input_gradients(discriminator: Callable, x: tf.Tensor) -> tf.Tensor:
    """∇ₓ Σᵢ D(xᵢ), flattened per example, in float32.

    `discriminator` may score groups of examples (PacGAN): the gradient is still per example.
    """
    x = tf.cast(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = tf.reduce_sum(tf.cast(discriminator(x), tf.float32))
    grads = tf.cast(tape.gradient(scores, x), tf.float32)
    return tf.reshape(grads, [tf.shape(grads)[0], -1])


def gradient_penalty(
    discriminator: Callable, real: tf.Tensor, fake: tf.Tensor, epsilon: tf.Tensor
) -> tf.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017), per example: (‖∇ₓ̂ D(x̂)‖₂ - 1)².

    x̂ = ε·x + (1 - ε)·G(z), with ε ~ U[0, 1] per example (`epsilon`, shape [batch]). Multiply by
    λ (10 in the paper) and add to the discriminator loss.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    eps = tf.reshape(tf.cast(epsilon, tf.float32), [-1] + [1] * (len(real.shape) - 1))
    mixed = eps * real + (1.0 - eps) * fake
    grads = _input_gradients(discriminator, mixed)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
    return tf.square(norm - 1.0)


def r1_penalty(discriminator: Callable, real: tf.Tensor) -> tf.Tensor:
    """R1 penalty (Mescheder et al. 2018), per example: ‖∇ₓ D(x)‖₂² on real data.

    Multiply by γ/2 and add to the discriminator loss.
    """
    grads = _input_gradients(discriminator, real)
    return tf.reduce_sum(tf.square(grads), axis=1)


def lecam_penalty(
    real: tf.Tensor, fake: tf.Tensor, anchor_real: tf.Tensor, anchor_fake: tf.Tensor
) -> tf.Tensor:
    """LeCam regularisation (Tseng et al. 2021), per example:
    max(0, D(xᵢ) - α_F)² + max(0, α_R - D(G(zᵢ)))².

    α_R and α_F are moving averages of D's mean output on real and on generated samples (the
    model keeps them). The penalty keeps D's outputs on real data from drifting above what it
    gives fakes and vice versa -- it bounds a LeCam divergence between the two, which keeps
    D from overfitting a small dataset. One-sided (the authors' code). Multiply by λ (0.3 in
    the paper on CIFAR-10 with limited data) and add to the discriminator loss. `real` and
    `fake` are D's raw outputs of equal batch size.
    """
    real = tf.reshape(tf.cast(real, tf.float32), [-1])
    fake = tf.reshape(tf.cast(fake, tf.float32), [-1])
    anchor_real = tf.cast(anchor_real, tf.float32)
    anchor_fake = tf.cast(anchor_fake, tf.float32)
    return tf.square(tf.nn.relu(real - anchor_fake)) + tf.square(tf.nn.relu(anchor_real - fake))


def consistency_penalty(scores: tf.Tensor, transformed: tf.Tensor) -> tf.Tensor:
    """Consistency regularisation (bCR, Zhao et al. 2020), per example: ‖D(x) - D(T(x))‖²,
    where T is a semantics-preserving transform (flips, small translations).

    bCR applies it to real (λ_real) and to generated samples (λ_fake), 10 each in the paper,
    and adds both to the discriminator loss; the gradient flows through both D evaluations.
    """
    diff = tf.cast(scores, tf.float32) - tf.cast(transformed, tf.float32)
    return tf.reduce_sum(tf.reshape(tf.square(diff), [tf.shape(diff)[0], -1]), axis=1)
