"""FusedAdam: the same updates as keras.optimizers.Adam, on one device and two replicas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.models.optimizers import FusedAdam


def _train(optimizer, strategy=None, schedule=False):
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer(), "mse")
    x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    model.fit(x, x.sum(1, keepdims=True) ** 2, batch_size=32, epochs=3, verbose=0, shuffle=False)
    return [w.numpy() for w in model.weights]


@pytest.mark.parametrize("schedule", [False, True])
def test_same_updates_as_keras_adam(schedule):
    lr = keras.optimizers.schedules.PolynomialDecay(1e-2, 50, 0.0) if schedule else 1e-2
    want = _train(lambda: keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.99))
    got = _train(lambda: FusedAdam(lr, beta_1=0.5, beta_2=0.99))
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(b, a, atol=2e-5, rtol=1e-5)
    assert not np.allclose(got[0], _train(lambda: FusedAdam(1e-3))[0])  # it does train


def test_two_replicas_match_one(cpu_devices):
    one = _train(lambda: FusedAdam(1e-2))
    two = _train(lambda: FusedAdam(1e-2), tf.distribute.MirroredStrategy(cpu_devices))
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(b, a, atol=2e-5, rtol=1e-5)


def test_serialises():
    opt = FusedAdam(3e-4, beta_1=0.5)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(again, FusedAdam) and again.beta_1 == 0.5


def test_linear_decay_closed_form_and_continuation():
    from tfgen.models.optimizers import LinearDecay

    schedule = LinearDecay(1.0, 100)
    assert [float(schedule(t)) for t in (0, 50, 100, 130)] == [1.0, 0.5, 0.0, 0.0]
    # Raised to 200 updates at update 40 (rate 0.6 there): from 0.6 down to 0 at 200.
    longer = LinearDecay(1.0, 200)
    longer.continue_from(40, float(schedule(40)))
    got = [float(longer(t)) for t in (40, 120, 200)]
    np.testing.assert_allclose(got, [0.6, 0.6 * 80 / 160, 0.0], rtol=1e-6)
    again = LinearDecay.from_config(longer.get_config())
    assert float(again(120)) == pytest.approx(0.3)
