"""tfgen models behave as Keras users expect: logs are epoch means, custom objectives, a loaded
`.keras` model compiles itself and trains on, `Checkpointer` restores itself like
`BackupAndRestore`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import tiny_data, tiny_gan, weights_of
from tfgen import losses
from tfgen.callbacks import Checkpointer


def test_logs_are_epoch_means():
    # One epoch of 4 steps against 4 epochs of 1 step: the same steps (step-keyed noise, one
    # data iterator), so the epoch mean must be the mean of the four one-step epochs.
    one = tiny_gan(compile_kwargs={"r1_penalty": 1.0}).fit(
        tiny_data(), epochs=1, steps_per_epoch=4, verbose=0).history
    four = tiny_gan(compile_kwargs={"r1_penalty": 1.0}).fit(
        tiny_data(), epochs=4, steps_per_epoch=1, verbose=0).history
    assert set(one) == set(four) >= {"d_loss", "g_loss", "r1_penalty", "weights_finite"}
    for key in one:
        assert one[key][0] == pytest.approx(np.mean(four[key]), rel=1e-5, abs=1e-6), key
    assert len(set(four["d_loss"])) == 4  # the values differ, so the mean is a real check


@keras.saving.register_keras_serializable("tfgen_tests")
def soft_hinge_d(real, fake):
    return tf.nn.softplus(1.0 - tf.reshape(real, [-1])) + tf.nn.softplus(1.0 + tf.reshape(fake, [-1]))


@keras.saving.register_keras_serializable("tfgen_tests")
def soft_hinge_g(fake):
    return -tf.reshape(fake, [-1])


def test_objective_as_name_objective_or_pair_of_callables():
    by_name = tiny_gan(compile_kwargs={"objective": "hinge"})
    by_pair = tiny_gan(compile_kwargs={"objective": (losses.adversarial.hinge_discriminator,
                                                     losses.adversarial.critic_generator)})
    by_object = tiny_gan(compile_kwargs={"objective": losses.hinge})
    for gan in (by_name, by_pair, by_object):
        gan.fit(tiny_data(), epochs=1, steps_per_epoch=3, verbose=0)
    for a, b, c in zip(weights_of(by_name), weights_of(by_pair), weights_of(by_object)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="unknown objective 'hing'; choose from: non_saturating"):
        tiny_gan(compile_kwargs={"objective": "hing"})
    with pytest.raises(ValueError, match="pair of callables"):
        tiny_gan(compile_kwargs={"objective": 3})


def test_loaded_model_compiles_itself_and_trains_on(tmp_path):
    gan = tiny_gan(ema_decay=0.9, compile_kwargs={
        "objective": (soft_hinge_d, soft_hinge_g), "r1_penalty": 2.0, "n_critic": 2})
    gan.fit(tiny_data(batch_size=64), epochs=1, steps_per_epoch=3, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert loaded.compiled and loaded.get_compile_config() == gan.get_compile_config()
    assert loaded.objective.discriminator is soft_hinge_d and loaded.n_critic == 2
    assert loaded.ingredient("r1").gamma == 2.0
    for a, b in zip(gan.g_optimizer.variables, loaded.g_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # optimizer state came back
    history = loaded.fit(tiny_data(batch_size=64), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(loaded.step.numpy()) == 5 and int(loaded.g_optimizer.iterations.numpy()) == 5
    assert np.isfinite(history.history["d_loss"][0])
    assert loaded.get_config()["trainable"] is True  # Keras' own keys (super().get_config())


def test_loaded_vae_trains_on(tmp_path):
    import tfgen

    info = tfgen.data.source("digits", pixel_range="unit").info
    enc, dec = tfgen.networks.build_vae_networks(info, params_per_value=1, width=16)
    vae = tfgen.VAE(enc, dec, latent_dim=16)
    vae.compile(keras.optimizers.Adam(1e-3), kl_schedule="linear", warmup_steps=10)
    ds = tfgen.data.load("digits", batch_size=50, pixel_range="unit")
    vae.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert loaded.kl_schedule == "linear" and loaded.warmup_steps == 10
    history = loaded.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == 5
    assert history.history["kl_weight"][0] == pytest.approx((3 / 10 + 4 / 10) / 2)


def test_checkpointer_restores_itself_on_train_begin(tmp_path):
    gan = tiny_gan()
    gan.fit(tiny_data(), epochs=2, steps_per_epoch=3, callbacks=[Checkpointer(tmp_path, every=1)],
            verbose=0)
    fresh = tiny_gan(seed=5)
    history = fresh.fit(tiny_data(), epochs=4, steps_per_epoch=3,
                        callbacks=[Checkpointer(tmp_path, every=1)], verbose=0)
    assert history.epoch == [2, 3]  # continued after the two saved epochs
    assert int(fresh.step.numpy()) == 12
