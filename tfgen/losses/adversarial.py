"""Adversarial objectives.

Each objective is a pair of pure functions on the discriminator's raw outputs (logits / critic
values) and returns per-example losses of shape [batch]; the caller reduces them (over the global
batch under a distribution strategy). `D(x)` below is the raw output, `σ` the logistic function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf


class Objective(NamedTuple):
    """An adversarial objective: `discriminator(real, fake)` and `generator(fake)`, each giving
    per-example losses ([batch]) from the discriminator's raw outputs."""

    discriminator: Callable
    generator: Callable


def _flat(t: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.cast(t, tf.float32), [-1])


def non_saturating_discriminator(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy: -log σ(D(x)) - log(1 - σ(D(G(z)))) = softplus(-D(x)) + softplus(D(G(z)))."""
    return tf.nn.softplus(-_flat(real)) + tf.nn.softplus(_flat(fake))


def non_saturating_generator(fake: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss (Goodfellow et al. 2014): -log σ(D(G(z))) = softplus(-D(G(z)))."""
    return tf.nn.softplus(-_flat(fake))


def minimax_generator(fake: tf.Tensor) -> tf.Tensor:
    """Minimax generator loss: log(1 - σ(D(G(z)))) = -softplus(D(G(z)))."""
    return -tf.nn.softplus(_flat(fake))


def wasserstein_discriminator(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """WGAN critic loss (Arjovsky et al. 2017): D(G(z)) - D(x)."""
    return _flat(fake) - _flat(real)


def critic_generator(fake: tf.Tensor) -> tf.Tensor:
    """Generator loss of WGAN and hinge GANs: -D(G(z))."""
    return -_flat(fake)


def hinge_discriminator(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """Hinge loss (Lim & Ye 2017; SNGAN): max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
    return tf.nn.relu(1.0 - _flat(real)) + tf.nn.relu(1.0 + _flat(fake))


def least_squares_discriminator(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """LSGAN (Mao et al. 2017), a-b-c = 0-1-1: ½(D(x) - 1)² + ½ D(G(z))²."""
    return 0.5 * tf.square(_flat(real) - 1.0) + 0.5 * tf.square(_flat(fake))


def least_squares_generator(fake: tf.Tensor) -> tf.Tensor:
    """LSGAN generator loss: ½(D(G(z)) - 1)²."""
    return 0.5 * tf.square(_flat(fake) - 1.0)


non_saturating = Objective(non_saturating_discriminator, non_saturating_generator)
minimax = Objective(non_saturating_discriminator, minimax_generator)
wasserstein = Objective(wasserstein_discriminator, critic_generator)
hinge = Objective(hinge_discriminator, critic_generator)
least_squares = Objective(least_squares_discriminator, least_squares_generator)

OBJECTIVES = {
    "non_saturating": non_saturating,
    "minimax": minimax,
    "wasserstein": wasserstein,
    "hinge": hinge,
    "least_squares": least_squares,
}


def get_objective(spec) -> Objective:
    """An objective from its name (one of `OBJECTIVES`), an `Objective`, or a pair of callables
    `(discriminator(real, fake), generator(fake))`."""
    if isinstance(spec, Objective):
        return spec
    if isinstance(spec, str):
        if spec not in OBJECTIVES:
            raise ValueError(f"unknown objective {spec!r}; choose from: {', '.join(OBJECTIVES)}")
        return OBJECTIVES[spec]
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and all(map(callable, spec)):
        return Objective(*spec)
    raise ValueError("objective must be a name (one of "
                     f"{', '.join(OBJECTIVES)}), an Objective, or a pair of callables "
                     f"(discriminator(real, fake), generator(fake)); got {spec!r}")


def objective_name(objective: Objective) -> str | None:
    """The name of a built-in objective (None: the user's own)."""
    return next((name for name, known in OBJECTIVES.items() if objective == known), None)


def objective_config(objective: Objective):
    """What `get_objective` rebuilds `objective` from: its name when it is a built-in one, else
    its two functions serialised by Keras (register them with
    `keras.saving.register_keras_serializable` so a loaded model finds them)."""
    name = objective_name(objective)
    if name is not None:
        return name
    import keras

    return [keras.saving.serialize_keras_object(f) for f in objective]


def objective_from_config(config) -> Objective:
    if isinstance(config, str):
        return get_objective(config)
    import keras

    return Objective(*(keras.saving.deserialize_keras_object(f) for f in config))
