"""mixed_bfloat16 (what precision=auto picks on TPUs and on CPUs with AMX): every
objective, penalty and likelihood against its float32 value from the same weights, spectral
normalisation's power iteration, 1 vs 2 replicas, and XLA-compiled bfloat16 steps (the TPU path).

Tolerances: bfloat16 keeps 8 bits of mantissa (relative spacing 2^-8 = 0.4%); a network of a few
layers, each rounding its output, lands within about 3% of float32 on losses of order one, so
losses are compared at rtol 3% (plus an absolute 0.02 for values near zero). Variables stay
float32 and the optimizer updates them in float32.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import dtype_policy, tiny_data, tiny_gan, weights_of
from tfgen import ingredients, networks
from tfgen.distribute import resolve_strategy
from tfgen.models import VAE
from tfgen.networks.blocks import SpectralNormalization


def _train(model, ds, steps):
    history = model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return {k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}


def _bf16_exact(a):
    return float(np.mean(a == tf.cast(tf.cast(a, tf.bfloat16), tf.float32).numpy()))


def test_spectral_normalization_keeps_float32_kernels_under_bfloat16():
    """Keras's layer divided the kernel by sigma in the compute dtype and wrote it back: under
    mixed_bfloat16 every training call rounded the float32 kernel to bfloat16, losing updates
    smaller than half a bfloat16 ulp. tfgen's layer does it in float32: the same kernel as
    under float32, to float32 rounding, and sigma -> 1."""
    x = np.random.default_rng(0).normal(size=(8, 32)).astype(np.float32)
    kernels = {}
    for policy in ("float32", "mixed_bfloat16"):
        with dtype_policy(policy):
            keras.utils.set_random_seed(0)
            layer = SpectralNormalization(keras.layers.Dense(64))
            layer(x, training=True)
            layer.kernel.assign(layer.kernel.numpy() * (1 + 1e-3))  # an update below bf16's ulp
            for _ in range(20):
                out = layer(x, training=True)
            kernels[policy] = layer.kernel.numpy()
            assert layer.kernel.dtype == "float32" and layer.vector_u.dtype == "float32"
            assert out.dtype == ("bfloat16" if policy == "mixed_bfloat16" else "float32")
    assert _bf16_exact(kernels["mixed_bfloat16"]) < 0.05  # not rounded to bfloat16
    np.testing.assert_allclose(kernels["mixed_bfloat16"], kernels["float32"], atol=1e-6)
    assert abs(np.linalg.svd(kernels["float32"], compute_uv=False)[0] - 1.0) < 1e-2


def _adam_reach(steps, beta_1=0.5, beta_2=0.999):
    """The most `steps` Adam updates can move a weight, in units of the learning rate, whatever
    the gradients: by Cauchy-Schwarz on m_t and v_t, step t moves at most
    (1 - b1) / sqrt(1 - b2) * sqrt(sum_{j<t} (b1^2 / b2)^j) * sqrt(1 - b2^t) / (1 - b1^t)
    (1 at t = 1, 1.054 at t = 2; reached when g_t is proportional to (b1/b2)^(t-i))."""
    return sum((1 - beta_1) / np.sqrt(1 - beta_2)
               * np.sqrt(sum((beta_1**2 / beta_2)**j for j in range(t)))
               * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) for t in range(1, steps + 1))


def test_adam_reach_is_reached():
    """The bound above is Adam's: Keras's Adam fed the extremal gradients moves a weight by it."""
    w = keras.Variable(np.zeros([1], np.float32))
    opt = keras.optimizers.Adam(1.0, beta_1=0.5, beta_2=0.999, epsilon=1e-12)
    opt.build([w])
    for t in range(1, 5):  # g_i proportional to (b1/b2)^(t-i) is extremal for the last step t
        opt.apply([tf.constant([(0.5 / 0.999) ** -t], tf.float32)], [w])
    assert abs(float(w.numpy()[0])) <= _adam_reach(4) + 1e-5
    w2 = keras.Variable(np.zeros([1], np.float32))
    opt2 = keras.optimizers.Adam(1.0, beta_1=0.5, beta_2=0.999, epsilon=1e-12)
    opt2.build([w2])
    opt2.apply([tf.constant([1.0])], [w2])
    opt2.apply([tf.constant([2.0])], [w2])  # g2 = 2 g1 reaches the second step's bound
    assert abs(float(w2.numpy()[0])) == pytest.approx(_adam_reach(2), rel=1e-3)


@pytest.mark.parametrize("kind, options, keys", [
    ("mlp", dict(compile_kwargs={"objective": "minimax"}, ema_decay=0.9),
     ("d_loss", "g_loss", "d_real", "d_fake")),
    ("mlp", dict(compile_kwargs={"objective": "wasserstein", "gradient_penalty": 10.0,
                                 "n_critic": 2}),
     ("d_loss", "g_loss", "gradient_penalty")),
    ("mlp", dict(compile_kwargs={"objective": "least_squares"}, pac=2),
     ("d_loss", "g_loss", "d_real", "d_fake")),
    ("mlp", dict(compile_kwargs={"objective": "non_saturating", "r1_penalty": 1.0}),
     ("d_loss", "g_loss", "r1_penalty")),
    # Spectral normalisation (the tiny DCGAN discriminator's) with hinge and augmentation.
    ("dcgan", dict(compile_kwargs={"objective": "hinge"}, augment="translation,cutout"),
     ("d_loss", "g_loss", "d_real", "d_fake")),
])
def test_gan_objectives_and_penalties_under_bfloat16_match_float32(kind, options, keys):
    n_critic = options["compile_kwargs"].get("n_critic", 1)
    reference = tiny_gan(kind, **options)
    weights = reference.get_weights()
    want = _train(reference, tiny_data(kind, 16 * n_critic), steps=2)
    with dtype_policy("mixed_bfloat16"):
        gan = tiny_gan(kind, weights=weights, **options)
        got = _train(gan, tiny_data(kind, 16 * n_critic), steps=2)
        assert all(v.dtype == "float32" for v in gan.weights if v.dtype.startswith("float"))
        assert gan.sample(4).dtype == np.float32
    for key in keys:
        np.testing.assert_allclose(got[key], want[key], rtol=0.03, atol=0.02, err_msg=key)
    # Two runs' float32 weights are at most twice Adam's reach apart (a gradient near zero may
    # take the other sign in bfloat16): G takes 2 steps, D 2 n_critic; almost all are far closer.
    reach = {id(w): 2 * 1e-3 * _adam_reach(2 * n_critic) for w in gan.discriminator.weights}
    for a, b, w in zip(weights_of(gan), weights_of(reference), gan.weights, strict=True):
        np.testing.assert_allclose(a, b, atol=reach.get(id(w), 2 * 1e-3 * _adam_reach(2)) + 1e-6,
                                   err_msg=w.path)
    close = np.concatenate([np.ravel(np.abs(a - b) < 1e-3) for a, b in
                            zip(weights_of(gan), weights_of(reference), strict=True)])
    assert close.mean() > 0.95


def _vae(likelihood, weights=None, **compile_kwargs):
    keras.utils.set_random_seed(0)
    channels = ingredients.get("likelihood", likelihood).channels_per_dim
    enc = networks.mlp_encoder((8, 8, 1), 4, width=32, depth=1)
    dec = networks.mlp_decoder(4, (8, 8, 1), channels, width=32, depth=1)
    vae = VAE(enc, dec, latent_dim=4, likelihood=likelihood)
    if weights is not None:
        vae.set_weights(weights)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3), **compile_kwargs)
    return vae


@pytest.mark.parametrize("likelihood, iw_samples", [
    ("bernoulli", 1), ("categorical", 3), ("continuous_bernoulli", 1), ("gaussian", 4),
    ("discretized_logistic", 1)])
def test_vae_likelihoods_under_bfloat16_match_float32(likelihood, iw_samples):
    """The likelihood's log-probability, the KL and the IWAE log-sum-exp run in float32 on the
    decoder's bfloat16 outputs: ELBO terms and the importance-sampled log-likelihood agree."""
    from tests.models.test_vae import digits

    x = digits(batch=64, split="test", training=False).take(1).get_single_element()
    reference = _vae(likelihood, iw_samples=iw_samples)
    weights = reference.get_weights()
    want = _train(reference, digits(), steps=2)
    want_ll = reference.log_likelihood(x, num_samples=16, seed=3)
    with dtype_policy("mixed_bfloat16"):
        vae = _vae(likelihood, weights=weights, iw_samples=iw_samples)
        got = _train(vae, digits(), steps=2)
        got_ll = vae.log_likelihood(x, num_samples=16, seed=3)
        assert got_ll.dtype == np.float32 and vae.sample(2).dtype == np.float32
    for key in ("loss", "reconstruction", "kl"):
        np.testing.assert_allclose(got[key], want[key], rtol=0.03, atol=0.02, err_msg=key)
    np.testing.assert_allclose(got_ll, want_ll, rtol=0.03, atol=0.05)  # nats per image


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_bfloat16_one_replica_matches_two_mirrored_replicas(cpu_devices):
    """Under bfloat16 the two replicas' halves of the batch give the global step: synchronised
    batch norm, the summed gradients and R1 on a spectrally normalised, conditional DCGAN. Not
    bit-equal as in float32 (the conv kernels round per call at other batch sizes), within
    bfloat16's precision after 3 steps."""
    options = dict(conditional=True, ema_decay=0.9, compile_kwargs={"r1_penalty": 1.0})
    with dtype_policy("mixed_bfloat16"):
        single = tiny_gan("dcgan", **options)
        initial = weights_of(single)
        logs_1 = _train(single, tiny_data("dcgan", 16, True), steps=3)
        strategy = resolve_strategy("mirrored")
        with strategy.scope():
            mirrored = tiny_gan("dcgan", weights=initial, **options)
        logs_2 = _train(mirrored, tiny_data("dcgan", 16, True, strategy=strategy), steps=3)
    assert strategy.num_replicas_in_sync == 2
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "r1_penalty"):
        np.testing.assert_allclose(logs_2[key], logs_1[key], rtol=0.03, atol=0.02, err_msg=key)
    for a, b, w in zip(weights_of(single), weights_of(mirrored), single.weights, strict=True):
        np.testing.assert_allclose(a, b, atol=3e-3, err_msg=w.path)


@pytest.mark.parametrize("family", [
    "gan",
    # (slow: 15 s; the VAE's XLA compile is tested in float32 by test_vae and test_vae_depth)
    pytest.param("vae", marks=pytest.mark.slow)])
@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_bfloat16_steps_compile_with_xla(family):
    """The TPU path on CPU: XLA-compiled bfloat16 steps. XLA draws other noise than
    TensorFlow's kernels, so the first step is compared with the plain one where noise plays no
    part (the discriminator's scores on real data; the VAE's reconstruction, loosely: it uses one
    posterior draw); then two steps per execution give the weights of one step per execution."""
    from tests.models.test_vae import digits

    def build(weights=None, **kwargs):
        if family == "gan":
            return tiny_gan("dcgan", weights=weights, compile_kwargs={"r1_penalty": 1.0, **kwargs})
        return _vae("bernoulli", weights=weights, **kwargs)

    def data():
        return tiny_data("dcgan", 16) if family == "gan" else digits()

    key, rtol = ("d_real", 0.03) if family == "gan" else ("reconstruction", 0.05)
    with dtype_policy("mixed_bfloat16"):
        plain = build()
        initial = plain.get_weights()
        want = _train(plain, data(), steps=1)
        one = build(initial, jit_compile=True)
        got = _train(one, data(), steps=1)
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=0.02)
        logs = _train(one, data().skip(1), steps=3)  # the batches `two` sees next
        two = build(initial, jit_compile=True, steps_per_execution=2)
        _train(two, data(), steps=4)
    assert one.jit_compile is True and two.jit_compile is True
    assert all(np.isfinite(v) for v in logs.values())
    assert all(v.dtype == "float32" for v in two.trainable_weights)
    assert not all(np.array_equal(a, b) for a, b in zip(initial, two.get_weights()))
    for a, b in zip(one.get_weights(), two.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_matches_keras(policy):
    """tfgen's BatchNormalization (the fused kernel on one replica) against Keras's layer:
    outputs, input/scale/offset gradients and moving statistics after three training calls."""
    from tfgen.networks.blocks import BatchNormalization

    rng = np.random.default_rng(0)
    xs = [rng.normal(1.0, 2.0, (8, 5, 5, 16)).astype(np.float32) for _ in range(3)]
    dy = rng.normal(size=(8, 5, 5, 16)).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 1.5, 16).astype(np.float32), rng.normal(size=16).astype(np.float32)
    got = {}
    with dtype_policy(policy):
        for name, cls in (("keras", keras.layers.BatchNormalization),
                          ("fused", BatchNormalization)):
            layer = cls(synchronized=True, momentum=0.9, epsilon=1e-5)
            layer.build((None, 5, 5, 16))
            layer.gamma.assign(gamma)
            layer.beta.assign(beta)
            for x in xs:
                x = tf.constant(x)
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = layer(x, training=True)
                grads = tape.gradient(y, [x, layer.gamma, layer.beta],
                                      output_gradients=tf.cast(dy, y.dtype))
            got[name] = [tf.cast(t, tf.float32).numpy() for t in (y, *grads)] + [
                layer.moving_mean.numpy(), layer.moving_variance.numpy()]
            assert y.dtype == ("bfloat16" if policy == "mixed_bfloat16" else "float32")
            assert layer.gamma.dtype == layer.moving_variance.dtype == "float32"
    names = ("output", "input gradient", "gamma gradient", "beta gradient", "moving mean",
             "moving variance")
    # float32: rounding only; bfloat16: the 16-bit input and output round (0.4%), so values
    # of order 1 to ~1e-2 and the summed gradients of 200 terms to ~1e-2 relative.
    rtol, atol = (1e-4, 1e-4) if policy == "float32" else (2e-2, 5e-2)
    for name, a, b in zip(names, got["fused"], got["keras"], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=name)
