"""tfgen.GAN: training step, distribution equivalence, XLA, mixed precision, saving, sampling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import dtype_policy, tiny_data, tiny_gan, weights_of
from tfgen.callbacks import NonFiniteGuard
from tfgen.distribute import resolve_strategy
from tfgen.errors import TrainingDiverged
from tfgen.models import GAN

LOG_KEYS = {"d_loss", "d_adversarial", "d_real", "d_fake", "d_grad_norm", "g_loss",
            "g_grad_norm", "weights_finite"}


def test_train_step_logs_and_counts_steps():
    gan = tiny_gan(compile_kwargs={"gradient_penalty": 10.0, "r1_penalty": 1.0})
    history = gan.fit(tiny_data(), epochs=2, steps_per_epoch=3, verbose=0, shuffle=False)
    assert set(history.history) == LOG_KEYS | {"gradient_penalty", "r1_penalty"}
    assert int(gan.step.numpy()) == 6
    assert int(gan.g_optimizer.iterations.numpy()) == 6
    assert int(gan.d_optimizer.iterations.numpy()) == 6
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_n_critic_discriminator_steps_per_generator_step():
    gan = tiny_gan(compile_kwargs={"n_critic": 3})
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
    gan = tiny_gan(compile_kwargs={"r1_penalty": 1.0, "r1_interval": 4})
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(logs["r1_penalty"]))

    gan.fit(tiny_data(), epochs=1, steps_per_epoch=8, verbose=0, shuffle=False, callbacks=[Record()])
    # Batch logs are running means over the epoch: each step's own value is k·m_k - (k-1)·m_(k-1).
    values = [k * m - (k - 1) * prev for k, (m, prev) in enumerate(zip(seen, [0.0, *seen]), 1)]
    # The penalty is computed on discriminator steps 0 and 4 only (iterations before the update).
    assert [v > 1e-6 for v in values] == [True, False, False, False, True, False, False, False]


# Issue 16's regularisers together: ADA (above), LeCam, bCR, top-k, R1 on augmented reals.
REGULARIZED = {"lecam": 0.3, "consistency": 1.0, "top_k": 0.5, "top_k_period": 2,
               "r1_penalty": 0.5}


def _train(gan, ds, steps):
    history = gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return {k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}


@pytest.mark.parametrize(
    "kind,options",
    [
        ("mlp", dict(ema_decay=0.9, compile_kwargs={"n_critic": 2, "gradient_penalty": 1.0})),
        ("mlp", dict(pac=4, compile_kwargs={"r1_penalty": 1.0})),
        ("dcgan", dict(conditional=True, augment="color,translation,cutout",
                       compile_kwargs={"r1_penalty": 0.5, "objective": "hinge"})),
        ("dcgan", dict(ada="blit,geom,color,cutout", ada_kimg=0.05, ada_interval=2,
                       ada_target=-2.0, compile_kwargs=REGULARIZED)),
        ("biggan", dict(conditional=True, compile_kwargs={"objective": "hinge"})),
    ],
)
def test_one_replica_equals_two_mirrored_replicas(kind, options, cpu_devices):
    n_critic = options.get("compile_kwargs", {}).get("n_critic", 1)
    conditional = options.get("conditional", False)
    single = tiny_gan(kind, **options)
    initial = weights_of(single)
    logs_1 = _train(single, tiny_data(kind, 16 * n_critic, conditional), steps=4)

    strategy = resolve_strategy("mirrored")
    with strategy.scope():
        mirrored = tiny_gan(kind, weights=initial, **options)
    ds = tiny_data(kind, 16 * n_critic, conditional, strategy=strategy)
    logs_2 = _train(mirrored, ds, steps=4)

    assert strategy.num_replicas_in_sync == 2
    for a, b, w in zip(weights_of(single), weights_of(mirrored), single.weights):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0, err_msg=w.path)
    # Logged values are global: the same numbers a single device reports.
    for key in logs_1:
        np.testing.assert_allclose(logs_2[key], logs_1[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert not all(np.array_equal(a, b) for a, b in zip(initial, weights_of(single)))


@pytest.mark.parametrize(
    "kind,options",
    [("mlp", dict(ema_decay=0.9, compile_kwargs={"gradient_penalty": 1.0, "n_critic": 2})),
     ("mlp", dict(pac=2, compile_kwargs={"r1_penalty": 1.0})),
     pytest.param("dcgan", dict(conditional=True, augment="translation,cutout,color",
                                compile_kwargs={"r1_penalty": 1.0, "r1_interval": 2}),
                  marks=pytest.mark.slow),  # 25-40 s to compile; test_precision compiles a
                                            # bf16 DCGAN step with XLA in the quick tier
     pytest.param("dcgan", dict(ada="blit,geom,color,cutout", ada_kimg=0.05, ada_interval=2,
                                ada_target=-2.0, compile_kwargs=REGULARIZED),
                  marks=pytest.mark.slow),  # 35-60 s to compile
     pytest.param("biggan", dict(conditional=True, compile_kwargs={"objective": "hinge"}),
                  marks=pytest.mark.slow)],  # 40-80 s to compile
)
def test_train_step_compiles_with_xla_on_cpu(kind, options):
    """TPU readiness: static shapes, no host callbacks in the step, drop_remainder batches.

    XLA draws different (equally seeded) noise than TensorFlow's kernels for runtime seeds, so
    the runs are compared where noise plays no part: the discriminator's first scores on real
    data, computed from the same weights, agree.
    """
    n_critic = options["compile_kwargs"].get("n_critic", 1)
    conditional = options.get("conditional", False)
    eager = tiny_gan(kind, **options)
    initial = weights_of(eager)
    logs = _train(eager, tiny_data(kind, 16 * n_critic, conditional), steps=1)
    opts = dict(options, compile_kwargs={**options["compile_kwargs"], "jit_compile": True})
    xla = tiny_gan(kind, weights=initial, **opts)
    xla_logs = _train(xla, tiny_data(kind, 16 * n_critic, conditional), steps=1)
    assert xla.jit_compile is True and xla.train_function is not None
    # Else the logged means involve noise:
    if n_critic == 1 and not (options.get("augment") or options.get("ada")):
        np.testing.assert_allclose(xla_logs["d_real"], logs["d_real"], rtol=1e-5)
    xla_logs = _train(xla, tiny_data(kind, 16 * n_critic, conditional), steps=3)
    assert all(np.isfinite(v) for v in xla_logs.values())
    assert int(xla.step.numpy()) == 4
    assert not all(np.array_equal(a, b) for a, b in zip(initial, weights_of(xla)))


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


def test_save_and_load_keras_round_trip(tmp_path):
    gan = tiny_gan("dcgan", conditional=True, ema_decay=0.5, augment="cutout")
    gan.fit(tiny_data("dcgan", 16, True), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, GAN)
    assert (loaded.latent_dim, loaded.num_classes, loaded.ema_decay,
            loaded.augment.get_config()) == (8, 10, 0.5, {"name": "diffaugment",
                                                          "policies": "cutout"})
    for a, b in zip(weights_of(gan), weights_of(loaded)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(gan.sample(12, seed=3), loaded.sample(12, seed=3))


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


@pytest.mark.parametrize("conditional", [False, True])
def test_mixed_bfloat16_step_matches_float32(conditional):
    """precision=auto picks mixed_bfloat16 on this CPU (fmnist presets): the same step from the
    same weights gives the float32 losses and R1 penalty to bfloat16's precision (8 bits of
    mantissa: 3% relative), with float32 variables and float32 samples."""
    options = dict(conditional=conditional, ema_decay=0.99,
                   compile_kwargs={"r1_penalty": 1.0})
    reference = tiny_gan("dcgan", **options)
    weights = reference.get_weights()
    ref_logs = _train(reference, tiny_data("dcgan", 16, conditional), steps=1)
    with dtype_policy("mixed_bfloat16"):
        gan = tiny_gan("dcgan", weights=weights, **options)
        logs = _train(gan, tiny_data("dcgan", 16, conditional), steps=1)
        assert all(v.dtype == "float32" for v in gan.trainable_weights)
        assert gan.sample(3, labels=[1] if conditional else None).dtype == np.float32
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "r1_penalty"):
        np.testing.assert_allclose(logs[key], ref_logs[key], rtol=0.03, atol=0.02, err_msg=key)
