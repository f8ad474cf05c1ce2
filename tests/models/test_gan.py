"""tfgen.GAN: training step, n_critic, PacGAN, lazy R1, loss scaling, the non-finite guard,
sampling (1 vs 2 replicas, XLA, bfloat16, saving and resuming: tests/models/variants.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import tiny_data, tiny_gan, weights_of
from tfgen.callbacks import NonFiniteGuard
from tfgen.errors import TrainingDiverged

LOG_KEYS = {"d_loss", "d_adversarial", "d_real", "d_fake", "d_grad_norm", "g_loss",
            "g_grad_norm", "weights_finite"}


def test_train_step_logs_and_counts_steps():
    gan = tiny_gan(compile_kwargs={"gradient_penalty": 10.0, "r1_penalty": 1.0,
                               "run_eagerly": True})  # logic only: no graph to trace
    history = gan.fit(tiny_data(), epochs=2, steps_per_epoch=3, verbose=0, shuffle=False)
    assert set(history.history) == LOG_KEYS | {"gradient_penalty", "r1_penalty"}
    assert int(gan.step.numpy()) == 6
    assert int(gan.g_optimizer.iterations.numpy()) == 6
    assert int(gan.d_optimizer.iterations.numpy()) == 6
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_n_critic_discriminator_steps_per_generator_step():
    gan = tiny_gan(compile_kwargs={"n_critic": 3, "run_eagerly": True})
    gan.fit(tiny_data(batch_size=3 * 16), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert int(gan.d_optimizer.iterations.numpy()) == 6
    assert int(gan.g_optimizer.iterations.numpy()) == 2


def test_pacgan_packs_samples_for_the_discriminator():
    gan = tiny_gan(pac=4)
    x = tf.reshape(tf.range(16, dtype=tf.float32), [8, 2])
    packed = gan._pack(x).numpy()
    np.testing.assert_array_equal(packed, np.arange(16, dtype=np.float32).reshape(2, 8))
    history = gan.fit(tiny_data(batch_size=32), epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    images = tf.reshape(tf.range(2 * 2 * 2 * 3, dtype=tf.float32), [2, 2, 2, 3])
    gan.pac = 2
    stacked = gan._pack(images).numpy()  # channels of sample 0, then of sample 1
    assert stacked.shape == (1, 2, 2, 6)
    np.testing.assert_array_equal(stacked[0, 1, 0], np.concatenate([images[0, 1, 0], images[1, 1, 0]]))


def test_lazy_r1_applies_every_interval():
    gan = tiny_gan(compile_kwargs={"r1_penalty": 1.0, "r1_interval": 4, "run_eagerly": True})
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(logs["r1_penalty"]))

    gan.fit(tiny_data(), epochs=1, steps_per_epoch=8, verbose=0, shuffle=False, callbacks=[Record()])
    # Batch logs are running means over the epoch: each step's own value is k·m_k - (k-1)·m_(k-1).
    values = [k * m - (k - 1) * prev for k, (m, prev) in enumerate(zip(seen, [0.0, *seen]), 1)]
    # The penalty is computed on discriminator steps 0 and 4 only (iterations before the update).
    assert [v > 1e-6 for v in values] == [True, False, False, False, True, False, False, False]


def _train(gan, ds, steps):
    history = gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return {k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_skips_non_finite_updates_and_lowers_the_scale(mixed_float16):
    gan = tiny_gan(compile_kwargs={"objective": "wasserstein"})
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.g_optimizer is not gan.d_optimizer
    scale = float(gan.d_optimizer.dynamic_scale.numpy())
    d_before = weights_of(gan.discriminator)
    # Real samples of size 3e4: the critic loss stays finite in float32, but its scaled gradient
    # overflows float16 -- the injected non-finite gradient.
    real = tf.data.Dataset.from_tensors(tf.fill([16, 2], 3e4)).repeat()
    logs = _train(gan, real, steps=1)
    assert np.isfinite(logs["d_loss"])
    assert float(gan.d_optimizer.dynamic_scale.numpy()) == scale / 2
    for a, b in zip(d_before, weights_of(gan.discriminator)):
        np.testing.assert_array_equal(a, b)  # the update was skipped
    # The generator has its own scale, untouched by the discriminator's overflow.
    assert float(gan.g_optimizer.dynamic_scale.numpy()) == scale
    # Ordinary data trains normally and keeps everything finite.
    logs = _train(gan, tiny_data(), steps=3)
    assert all(np.isfinite(v) for v in logs.values())


def test_non_finite_guard_names_the_quantity_and_step():
    gan = tiny_gan()
    poisoned = tf.data.Dataset.from_tensors(tf.fill([16, 2], np.nan)).repeat()
    with pytest.raises(TrainingDiverged, match=r"non-finite \w+ at step 1;"):
        gan.fit(poisoned, epochs=1, steps_per_epoch=5, verbose=0, callbacks=[NonFiniteGuard()])
    assert int(gan.step.numpy()) == 1  # stopped within one step


def test_sample_is_seeded_and_uses_the_ema_weights():
    gan = tiny_gan(ema_decay=0.5)
    gan.fit(tiny_data(), epochs=1, steps_per_epoch=5, verbose=0, shuffle=False)
    a, b, c = gan.sample(50, seed=1), gan.sample(50, seed=1), gan.sample(50, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (50, 2)
    live = keras.ops.convert_to_numpy(gan.generator(gan.latent(50, 1)))
    assert not np.allclose(a, live)  # EMA weights differ from the live ones ...
    with gan.averaged_weights():
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(gan.generator(gan.latent(50, 1))),
                                   atol=1e-6)
    # ... and sampling leaves the live weights in place.
    np.testing.assert_array_equal(live, keras.ops.convert_to_numpy(gan.generator(gan.latent(50, 1))))


def test_conditional_sampling_follows_labels():
    gan = tiny_gan("dcgan", conditional=True)
    x = gan.sample(6, seed=0, labels=[3, 3, 3, 5, 5, 5])
    assert x.shape == (6, 8, 8, 1) and -1 <= x.min() and x.max() <= 1
    y = gan.sample(6, seed=0, labels=[3, 3, 3, 3, 3, 3])
    np.testing.assert_array_equal(x[:3], y[:3])
    assert not np.allclose(x[3:], y[3:])
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        gan.sample(2, labels=[10])
    with pytest.raises(ValueError, match="unconditional"):
        tiny_gan().sample(2, labels=[1])


@pytest.mark.parametrize("kind,options", [
    ("mlp", {"pac": 2}), ("dcgan", {"augment": "translation,cutout,color", "conditional": True}),
])
def test_joint_real_fake_pass_equals_two_passes(kind, options):
    gan = tiny_gan(kind, **options)
    rng = np.random.default_rng(0)
    shape = (8, 2) if kind == "mlp" else (8, 8, 8, 1)
    real, fake = (tf.constant(rng.uniform(-1, 1, shape), tf.float32) for _ in range(2))
    labels = tf.constant(rng.integers(0, 10, 8), tf.int32) if gan.conditional else None
    u_real, u_fake = (tf.constant(rng.uniform(0, 1, (8, 7)), tf.float32) if gan.augment
                      else None for _ in range(2))
    # Spectral normalisation advances its power iteration on every training-mode call: start
    # every call from the same state.
    state = [w.numpy() for w in gan.discriminator.non_trainable_weights]

    def fresh(fn, *args):
        for w, v in zip(gan.discriminator.non_trainable_weights, state, strict=True):
            w.assign(v)
        return fn(*args)

    d_real, d_fake = fresh(gan._score_many, [real, fake], labels, [u_real, u_fake])
    np.testing.assert_allclose(d_real.numpy(), fresh(gan._score, real, labels, u_real).numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d_fake.numpy(), fresh(gan._score, fake, labels, u_fake).numpy(),
                               rtol=1e-5, atol=1e-5)
