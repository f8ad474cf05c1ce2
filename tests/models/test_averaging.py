"""Weight averaging (EMA), shared by the GAN (its generator) and the VAE (all its networks):
the update against its formula, evaluation on the averages, live weights left bit for bit."""

import keras
import numpy as np
import pytest

from tests.models.helpers import deep_vae, digits, images_of, tiny_data, tiny_gan, weights_of


def numpy(ws):
    return [np.array(keras.ops.convert_to_numpy(w)) for w in ws]


MODELS = {
    "gan": (lambda decay: tiny_gan(ema_decay=decay), lambda: tiny_data()),
    "vae": (lambda decay: deep_vae(layers=2, ema_decay=decay), lambda: digits(32)),
}


@pytest.mark.parametrize("family", list(MODELS))
def test_average_follows_its_formula(family):
    """a_t+1 = d_t·a_t + (1 - d_t)·w_t+1 with d_t = min(ema_decay, (1 + t) / (10 + t)): 0.1 at
    step 0, ema_decay later; the average starts at the initial weights."""
    build, data = MODELS[family]
    model = build(0.75)
    for step, decay in ((0, 0.1), (1000, 0.75)):
        model.step.assign(step)
        before = numpy(model.ema_weights)
        if step == 0:
            np.testing.assert_array_equal(before[0], numpy(model.averaged_variables())[0])
        model.fit(data(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
        after = numpy(model.averaged_variables())
        for ema, a0, w1 in zip(numpy(model.ema_weights), before, after, strict=True):
            np.testing.assert_allclose(ema, decay * a0 + (1 - decay) * w1, rtol=1e-5, atol=1e-6)


def averaged_copy(vae):
    """The same VAE without EMA whose weights are `vae`'s averages: what evaluation should see."""
    copy = deep_vae(layers=2)
    copy.set_weights(weights_of(vae)[:len(copy.weights)])  # the EMA copies come last
    for w, average in zip(copy.averaged_variables(), numpy(vae.ema_weights), strict=True):
        w.assign(average)
    return copy


def test_vae_evaluates_and_samples_on_the_averages_and_keeps_its_live_weights():
    vae = deep_vae(layers=2, ema_decay=0.5)
    history = vae.fit(digits(32), epochs=2, steps_per_epoch=5, verbose=0,
                      validation_data=digits(50, split="val")).history
    live = weights_of(vae)
    reference = averaged_copy(vae)
    assert not np.allclose(numpy(vae.averaged_variables())[0], numpy(reference.averaged_variables())[0])
    x = images_of(20)
    np.testing.assert_array_equal(vae.log_likelihood(x, num_samples=10),
                                  reference.log_likelihood(x, num_samples=10))
    np.testing.assert_array_equal(vae.elbo(x), reference.elbo(x))
    np.testing.assert_array_equal(vae.sample(6, seed=1), reference.sample(6, seed=1))
    np.testing.assert_array_equal(vae.reconstruct(x), reference.reconstruct(x))
    assert vae.active_units_per_layer(x) == reference.active_units_per_layer(x)
    # fit's validation is `evaluate` on the averages: its last val_elbo is the reference's.
    scores = reference.evaluate(digits(50, split="val"), verbose=0, return_dict=True)
    assert history["val_elbo"][-1] == pytest.approx(scores["elbo"], rel=1e-6)
    assert vae.evaluate(digits(50, split="val"), verbose=0, return_dict=True) == pytest.approx(scores)
    for a, b in zip(live, weights_of(vae), strict=True):  # every call put the live weights back
        np.testing.assert_array_equal(a, b)


def test_nested_averaged_blocks_swap_once():
    vae = deep_vae(ema_decay=0.5)
    vae.fit(digits(32), epochs=1, steps_per_epoch=3, verbose=0)
    live, averages = numpy(vae.averaged_variables()), numpy(vae.ema_weights)
    with vae.averaged_weights():
        with vae.averaged_weights():
            np.testing.assert_array_equal(numpy(vae.averaged_variables())[0], averages[0])
        np.testing.assert_array_equal(numpy(vae.averaged_variables())[0], averages[0])
    np.testing.assert_array_equal(numpy(vae.averaged_variables())[0], live[0])


def test_without_ema_nothing_is_kept_and_bad_decays_are_refused():
    vae = deep_vae()
    assert vae.ema_weights == [] and vae.ema_decay is None
    with pytest.raises(ValueError, match="ema_decay must be in"):
        deep_vae(ema_decay=1.0)
