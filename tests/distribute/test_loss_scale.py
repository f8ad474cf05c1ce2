"""Loss scaling with several replicas: every replica agrees on whether the step's gradients are
finite, so an overflow on any replica skips the update on all of them and halves the scale
(Keras's LossScaleOptimizer alone decides from one replica's un-reduced gradients), and the
gradients are all-reduced once, before the optimizer, so their norm needs no second reduction."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import dtype_policy
from tfgen.distribute import resolve_strategy
from tfgen.models.base import GenerativeModel


def _step(strategy, opt, w, bad_replica):
    """One apply_gradients on each replica of scaled gradients [1, 2, 3, 4] · scale, inf on
    `bad_replica` (None: all finite); returns the unscaled gradients replica 0 got back."""

    @tf.function
    def run():
        def fn():
            ctx = tf.distribute.get_replica_context()
            g = tf.constant([1.0, 2.0, 3.0, 4.0]) * tf.cast(opt.dynamic_scale, tf.float32)
            if bad_replica is not None:
                bad = tf.equal(ctx.replica_id_in_sync_group, bad_replica)
                g = tf.where(bad, tf.constant([np.inf, 0.0, 0.0, 0.0]), g)
            return GenerativeModel.apply_gradients(opt, [g], [w])[0]

        return strategy.experimental_local_results(strategy.run(fn))[0]

    return run().numpy()


@pytest.mark.parametrize("bad_replica", [0, 1])
def test_an_overflow_on_any_replica_skips_the_update_on_all_and_halves_the_scale(cpu_devices,
                                                                                   bad_replica):
    strategy = resolve_strategy("mirrored")
    with dtype_policy("mixed_float16"), strategy.scope():
        w = keras.Variable(np.ones(4, np.float32), name="w")
        opt = GenerativeModel.prepare_optimizer(keras.optimizers.SGD(0.1), [w])
        scale = float(opt.dynamic_scale.numpy())
        _step(strategy, opt, w, bad_replica)
        values = [v.numpy() for v in strategy.experimental_local_results(w.value)]
    for value in values:  # every replica's copy of the weight
        np.testing.assert_array_equal(value, np.ones(4, np.float32))
    assert float(opt.dynamic_scale.numpy()) == scale / 2


def test_finite_gradients_are_summed_over_replicas_once(cpu_devices):
    """Two replicas each contribute g = [1, 2, 3, 4]: SGD moves w by 0.1 · 2g (not 4g, as a
    second reduction would), and the returned unscaled gradient is the reduced 2g."""
    strategy = resolve_strategy("mirrored")
    with dtype_policy("mixed_float16"), strategy.scope():
        w = keras.Variable(np.ones(4, np.float32), name="w")
        opt = GenerativeModel.prepare_optimizer(keras.optimizers.SGD(0.1), [w])
        scale = float(opt.dynamic_scale.numpy())
        unscaled = _step(strategy, opt, w, None)
        values = [v.numpy() for v in strategy.experimental_local_results(w.value)]
    g = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    np.testing.assert_allclose(unscaled, 2 * g, rtol=1e-6)
    for value in values:
        np.testing.assert_allclose(value, 1.0 - 0.1 * 2 * g, rtol=1e-6)
    assert float(opt.dynamic_scale.numpy()) == scale


@pytest.mark.parametrize("name", ["gan-mlp-gp-ncritic2-ema", "gan-mlp-pac4-r1"])
def test_gradient_penalties_under_mixed_float16_on_two_replicas(cpu_devices, name):
    """The penalties' inner gradients under float16 compute and a loss scale (the GP's double
    backward overflows at the initial scale 2^15 here): on two replicas every copy of every
    weight and loss scale stays the same, the logs are finite and the model trains. (One
    device can differ: float16 sums over the whole batch overflow where half-batch sums do
    not, so its scale may halve at other steps.)"""
    from tests.models.helpers import weights_of
    from tests.models.variants import VARIANTS

    v = next(v for v in VARIANTS if v.name == name)
    strategy = resolve_strategy("mirrored")
    with dtype_policy("mixed_float16"):
        with strategy.scope():
            model = v.build()
        initial = weights_of(model)
        logs = model.fit(v.data(strategy), epochs=1, steps_per_epoch=6, verbose=0).history
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    for variable in [*model.weights, model.d_optimizer.dynamic_scale,
                     model.g_optimizer.dynamic_scale]:
        first, second = strategy.experimental_local_results(variable.value)
        np.testing.assert_array_equal(first.numpy(), second.numpy(), err_msg=variable.path)
    for key, values in logs.items():
        assert np.all(np.isfinite(values)) or "grad_norm" in key, (key, values)
    assert not all(np.array_equal(a, b) for a, b in zip(initial, weights_of(model)))


def test_the_optimizer_still_reduces_in_a_users_own_loop(cpu_devices):
    """tfgen's models sum gradients before their optimizer; the same optimizer object used in
    a plain Keras-style loop outside them still sums over replicas, as Keras does."""
    strategy = resolve_strategy("mirrored")
    with strategy.scope():
        w = keras.Variable(np.ones(2, np.float32), name="w")
        opt = GenerativeModel.prepare_optimizer(keras.optimizers.SGD(0.5), [w])

    @tf.function
    def own_step():
        strategy.run(lambda: opt.apply([tf.constant([1.0, 1.0])], [w]))

    own_step()
    for copy in strategy.experimental_local_results(w.value):
        np.testing.assert_allclose(copy.numpy(), [0.0, 0.0])  # 1 - 0.5 * (1 + 1)
