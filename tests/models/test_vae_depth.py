"""VAE depth (issue 17): IAF flows, VampPrior, two stochastic layers, DReG gradients -- against
independent NumPy/SciPy/autodiff computations, 1 vs 2 replicas, XLA, bfloat16, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from tests.models.helpers import (
    LATENT,
    TOP,
    deep_vae,
    digits,
    dtype_policy,
    images_of,
    rewrite_config,
    weights_of,
)
from tfgen import networks
from tfgen.models import VAE
from tfgen.models.export import export_saved_model
from tfgen.models.vae import TRAIN_STREAM, log_mixture_prior


def np_log_normal(z, mean, log_var):
    return stats.norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(-1)


# -- IAF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_made_masks_are_autoregressive(reverse):
    masks = networks.made_masks(5, [12, 12], reverse)
    path = masks[0] @ masks[1] @ masks[2]  # input d -> output d' connections through the net
    order = np.arange(5)[::-1] if reverse else np.arange(5)
    rank = np.empty(5, int)
    rank[order] = np.arange(5)
    for i in range(5):
        for j in range(5):
            assert (path[i, j] > 0) == (rank[i] < rank[j]), (i, j)


@pytest.mark.parametrize("context", [0, 3])
def test_iaf_log_det_matches_autodiff_and_jacobian_is_triangular(context):
    keras.utils.set_random_seed(3)
    flow = networks.iaf_flow(5, steps=3, width=12, depth=2, context_dim=context)
    for layer in flow.layers:  # move off the near-identity start: a non-trivial map
        for w in layer.weights:
            w.assign(np.random.default_rng(len(w.path)).normal(0, 0.5, w.shape))
    z = tf.constant(np.random.default_rng(0).normal(size=(4, 5)), tf.float32)
    h = tf.constant(np.random.default_rng(1).normal(size=(4, context)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = flow([z, h] if context else z)
        z_t = out[:, :5]
    jac = tape.batch_jacobian(z_t, z).numpy()  # [4, 5, 5]
    np.testing.assert_allclose(out[:, 5].numpy(), np.linalg.slogdet(jac)[1], atol=1e-4)
    # Each step is triangular in its own order; one step alone: output d sees only inputs < d.
    step = networks.IAFStep(5, 12, 1, 0, reverse=False)
    with tf.GradientTape() as tape:
        tape.watch(z)
        one = step(z)[:, :5]
    j1 = tape.batch_jacobian(one, z).numpy()
    assert np.abs(np.triu(j1, 1)).max() == 0.0


# -- priors and bounds against NumPy ------------------------------------------------------------


def test_mixture_prior_matches_scipy():
    rng = np.random.default_rng(0)
    means, log_vars = rng.normal(size=(5, 3)), rng.normal(0, 0.3, size=(5, 3))
    z = rng.normal(size=(2, 4, 3))
    ours = log_mixture_prior(tf.constant(z, tf.float32), tf.constant(means, tf.float32),
                             tf.constant(log_vars, tf.float32)).numpy()
    ref = special.logsumexp(
        [stats.multivariate_normal(means[c], np.diag(np.exp(log_vars[c]))).logpdf(z)
         for c in range(5)], axis=0) - np.log(5)
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


def categorical_log_px(vae, x, z1):
    """log p(x | z1) from the decoder's logits, by NumPy: 17 levels per pixel."""
    logits = vae.decoder(tf.constant(z1, tf.float32)).numpy().reshape(len(z1), -1, 17)
    levels = np.round(x.reshape(len(x), -1) * 16).astype(int)
    log_probs = logits - special.logsumexp(logits, axis=-1, keepdims=True)
    return np.take_along_axis(log_probs, levels[..., None], -1)[..., 0].sum(-1)


def test_two_layer_vamp_bound_matches_numpy():
    vae = deep_vae("vamp", layers=2)
    vae.fit(digits(), epochs=1, steps_per_epoch=3, verbose=0)
    x = images_of(6)
    eps = np.random.default_rng(0).normal(size=(6, 1, LATENT + TOP)).astype(np.float32)
    bounds = vae._bounds(tf.constant(x), None, tf.constant(eps), False)
    out = vae.encoder(x).numpy()
    m1, lv1 = out[:, :LATENT], np.clip(out[:, LATENT:], -20, 10)
    z1 = m1 + np.exp(0.5 * lv1) * eps[:, 0, :LATENT]
    q2 = vae.top_encoder(z1).numpy()
    m2, lv2 = q2[:, :TOP], q2[:, TOP:]
    z2 = m2 + np.exp(0.5 * lv2) * eps[:, 0, LATENT:]
    p1 = vae.top_decoder(z2).numpy()
    # The VampPrior: the encoder at the pseudo-inputs, then q(z2 | its means).
    u = vae.encoder(vae.prior.values.numpy()).numpy()
    c = vae.top_encoder(u[:, :LATENT]).numpy()
    log_p2 = special.logsumexp([np_log_normal(z2, c[k, :TOP], c[k, TOP:]) for k in range(7)],
                               axis=0) - np.log(7)
    log_w = (categorical_log_px(vae, x, z1) + np_log_normal(z1, p1[:, :LATENT], p1[:, LATENT:])
             + log_p2 - np_log_normal(z1, m1, lv1) - np_log_normal(z2, m2, lv2))
    np.testing.assert_allclose(bounds["log_w"].numpy()[:, 0], log_w, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(bounds["kl_layers"][1].numpy()[:, 0],
                               np_log_normal(z2, m2, lv2) - log_p2, rtol=1e-4, atol=1e-4)


def test_iaf_bound_uses_the_flow_density():
    vae = deep_vae(flow=2)
    x = images_of(5)
    eps = np.random.default_rng(1).normal(size=(5, 1, LATENT)).astype(np.float32)
    bounds = vae._bounds(tf.constant(x), None, tf.constant(eps), False)
    out = vae.encoder(x).numpy()
    m1, lv1, h = out[:, :LATENT], out[:, LATENT:2 * LATENT], out[:, 2 * LATENT:]
    z0 = m1 + np.exp(0.5 * lv1) * eps[:, 0]
    flowed = vae.flow([z0, h]).numpy()
    z1, log_det = flowed[:, :LATENT], flowed[:, LATENT]
    log_w = (categorical_log_px(vae, x, z1) + stats.norm.logpdf(z1).sum(-1)
             - (np_log_normal(z0, m1, lv1) - log_det))
    np.testing.assert_allclose(bounds["log_w"].numpy()[:, 0], log_w, rtol=1e-4, atol=1e-3)


def test_vamp_ancestral_samples_follow_the_mixture():
    vae = deep_vae("vamp")
    noise = vae.latent(20000, seed=1)
    z = vae.prior_latent(tf.constant(noise)).numpy()
    means, log_vars = (t.numpy() for t in vae.prior.components(vae, False))
    np.testing.assert_allclose(z.mean(0), means.mean(0), atol=0.05)
    second = (np.exp(log_vars) + means ** 2).mean(0)  # E[z²] of the equal-weight mixture
    np.testing.assert_allclose((z ** 2).mean(0), second, rtol=0.05, atol=0.02)
    # Truncation leaves the component coordinate as drawn.
    t = vae.latent(50, seed=1, truncation=0.5)
    np.testing.assert_array_equal(t[:, -1], vae.latent(50, seed=1)[:, -1])
    assert np.abs(t[:, :-1]).max() <= 0.5


def test_elbo_bounds_and_iwae_tightening_for_every_variant():
    x = images_of(32)
    for kwargs in (dict(prior="vamp"), dict(layers=2), dict(flow=2)):
        vae = deep_vae(**kwargs)
        vae.fit(digits(), epochs=1, steps_per_epoch=30, verbose=0)
        bounds = [vae.log_likelihood(x, num_samples=k, seed=1).mean() for k in (1, 30, 300)]
        assert bounds[0] < bounds[1] < bounds[2], kwargs
        elbo = np.mean([vae.elbo(x, seed=s).mean() for s in range(20)])
        assert elbo == pytest.approx(
            np.mean([vae.log_likelihood(x, num_samples=1, seed=s).mean() for s in range(20)]),
            abs=1.0), kwargs


# -- DReG ---------------------------------------------------------------------------------------


def encoder_gradients(vae, x, estimator, steps):
    """Per draw: the gradients of every inference network's weights (the encoder's and, with
    two layers, q(z2|z1)'s), flattened, and the loss."""
    vae.estimator = estimator
    inference = {id(w) for w in vae._inference_weights()}
    out = []
    for step in steps:
        vae.step.assign(step)
        grads, terms, _ = vae.loss_gradients(tf.constant(x), None)
        out.append((np.concatenate([g.numpy().ravel() for g, w in zip(
            grads, vae.trainable_weights, strict=True) if id(w) in inference]),
            float(tf.reduce_mean(terms["loss"]))))
    return np.array([g for g, _ in out]), [v for _, v in out]


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_dreg_same_bound_same_decoder_gradient_lower_encoder_variance():
    vae = deep_vae(iw_samples=10)
    vae.fit(digits(64), epochs=1, steps_per_epoch=200, verbose=0)  # a trained model
    x = images_of(64)
    assert [w.path for w in vae.trainable_weights[:len(vae.encoder.trainable_weights)]] == [
        w.path for w in vae.encoder.trainable_weights]
    steps = range(1000, 1060)
    std, loss_std = encoder_gradients(vae, x, "standard", steps)
    dreg, loss_dreg = encoder_gradients(vae, x, "dreg", steps)
    np.testing.assert_allclose(loss_dreg, loss_std, rtol=1e-6)  # the same bound
    var_std, var_dreg = std.var(0).sum(), dreg.var(0).sum()
    assert var_dreg < 0.5 * var_std, (var_dreg, var_std)
    # Unbiased both: the means differ by no more than their sampling error.
    gap = np.square(std.mean(0) - dreg.mean(0)).sum()
    assert gap < 3 * (var_std + var_dreg) / len(steps), (gap, var_std, var_dreg)
    # The decoder's gradient is the IWAE gradient either way.
    vae.step.assign(5)
    vae.estimator = "standard"
    g_std, _, _ = vae.loss_gradients(tf.constant(x), None)
    vae.estimator = "dreg"
    g_dreg, _, _ = vae.loss_gradients(tf.constant(x), None)
    n = len(vae.encoder.trainable_weights)
    for a, b in zip(g_std[n:], g_dreg[n:], strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # 10 s; the one-layer DReG test checks bias, variance and the bound in CI
def test_dreg_two_layers_is_unbiased():
    vae = deep_vae(layers=2, iw_samples=5)
    vae.fit(digits(64), epochs=1, steps_per_epoch=50, verbose=0)
    x = images_of(32)
    steps = range(500, 540)
    std, _ = encoder_gradients(vae, x, "standard", steps)
    dreg, _ = encoder_gradients(vae, x, "dreg", steps)
    gap = np.square(std.mean(0) - dreg.mean(0)).sum()
    assert gap < 3 * (std.var(0).sum() + dreg.var(0).sum()) / len(steps)


def test_dreg_weights_each_draw_by_its_own_squared_weight_under_batch_norm():
    """A BatchNorm decoder couples the draws of a batch (each log w_j depends on every z_k).
    The encoder's DReG gradient must still weight draw k's path by its own w̃_k²:
    -1/B Σ_k w̃_k² · ∂(Σ_j log w_j)/∂z_k · ∂z_k/∂φ. Reference computed here independently of the
    model's stopped-draw tape: ∂(Σ log w)/∂ε through an ordinary forward pass, divided by σ
    (z = μ + σ ε, and no density's parameters depend on ε), then carried through z(φ).
    Regression: w̃_k · ∂loss/∂z_k (b5fc9d5) equals this only without the coupling; on
    digits-vae's conv decoder it diverged."""
    vae = deep_vae(conv=True, iw_samples=5, estimator="dreg")
    assert any(isinstance(layer, keras.layers.BatchNormalization)
               for layer in vae.decoder.layers)  # the coupling this test is about
    vae.fit(digits(32), epochs=1, steps_per_epoch=20, verbose=0)
    x = tf.constant(images_of(8))
    vae.step.assign(7)
    grads, _, _ = vae.loss_gradients(x, None)
    eps = vae.normal(8, [5, LATENT], TRAIN_STREAM)  # the draws loss_gradients used at this step
    encoder = vae.encoder.trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(eps)
        mean, log_var, _ = vae._encode(x, None, True)
        z = mean[:, None] + tf.exp(0.5 * log_var)[:, None] * eps
        log_w = vae._bounds(x, None, eps, training=True)["log_w"]
        total = tf.reduce_sum(log_w)
    by_z = tape.gradient(total, eps) / tf.exp(0.5 * log_var)[:, None]
    w2 = tf.square(tf.nn.softmax(log_w, axis=1))[..., None]
    expected = tape.gradient(z, encoder, output_gradients=-w2 * by_z / 8.0)
    got = grads[:len(encoder)]
    for e, g, w in zip(expected, got, encoder, strict=True):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=2e-3, atol=1e-6, err_msg=w.path)


# -- dropout -----------------------------------------------------------------------------------


def test_dropout_masks_come_from_the_models_stateless_noise():
    """A VAE binds its networks' tfgen Dropout layers to streams of its own: in training, the
    mask of a call is U[0,1) >= rate from the key stateless_fold_in((seed, step), id of
    "dropout/<layer>") -- the same draw computed here with tf.random directly (and the name's
    id from hashlib) -- kept values scaled by 1/(1 - rate); a call repeats
    at one step and changes with the step; each layer has its own stream; inference is the
    identity. Unbound, the layer is Keras's dropout."""
    import hashlib

    vae = deep_vae(dropout=0.4)
    drops = [layer for layer in vae.encoder.layers + vae.decoder.layers
             if isinstance(layer, networks.Dropout)]
    assert len(drops) == 2  # one per hidden layer of each MLP
    h = tf.ones([50, 32])
    vae.step.assign(3)
    out = drops[1](h, training=True).numpy()
    name_id = int(hashlib.blake2b(b"dropout/1", digest_size=8).hexdigest(), 16) // 2
    key = tf.random.experimental.stateless_fold_in(tf.constant([0, 3], tf.int64), name_id,
                                                   alg="philox")
    u = tf.random.stateless_uniform([50, 32], seed=key, alg="philox").numpy()
    np.testing.assert_allclose(out, np.where(u >= 0.4, 1 / 0.6, 0.0), rtol=1e-6)
    assert 0.3 < (out == 0).mean() < 0.5
    np.testing.assert_array_equal(drops[1](h, training=True), out)
    assert not np.array_equal(drops[0](h, training=True), out)  # another stream
    vae.step.assign(4)
    assert not np.array_equal(drops[1](h, training=True), out)  # another step
    np.testing.assert_array_equal(drops[1](h, training=False), h)
    free = networks.Dropout(0.4)
    assert 0.3 < (free(h, training=True).numpy() == 0).mean() < 0.5


# -- distribution, XLA, precision, saving ------------------------------------------------------


def test_the_flow_keeps_float32_under_bfloat16():
    """The IAF steps compute in float32 under mixed_bfloat16 (a flow VAE's bf16 step: the
    variants of tests/models/variants.py)."""
    with dtype_policy("mixed_bfloat16"):
        vae = deep_vae(prior="vamp", layers=2, flow=2)
    steps = [layer for layer in vae.flow.layers if isinstance(layer, networks.IAFStep)]
    assert len(steps) == 2 and {layer.compute_dtype for layer in steps} == {"float32"}
    assert vae.flow.outputs[0].dtype == "float32"


def test_save_load_sample_and_export(tmp_path):
    vae = deep_vae("vamp", layers=2, flow=2, iw_samples=2, ema_decay=0.5, dropout=0.2)
    vae.fit(digits(), epochs=1, steps_per_epoch=2, verbose=0)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras", safe_mode=True)
    drops = [layer for net in (loaded.encoder, loaded.decoder) for layer in net.layers
             if isinstance(layer, networks.Dropout)]
    assert len(drops) == 2 and all(layer.rate == 0.2 for layer in drops)
    loaded.step.assign(5)
    vae.step.assign(5)  # the loaded model's layers are bound again: the same training masks
    z = tf.ones([4, LATENT])
    np.testing.assert_array_equal(vae.decoder(z, training=True), loaded.decoder(z, training=True))
    assert loaded.prior.name == "vamp" and loaded.hierarchical and loaded.flow is not None
    assert loaded.ema_decay == 0.5
    assert loaded.noise_dim == TOP + LATENT + 1
    np.testing.assert_array_equal(vae.sample(10, seed=2), loaded.sample(10, seed=2))
    x = images_of(8)
    np.testing.assert_allclose(vae.log_likelihood(x, num_samples=20),
                               loaded.log_likelihood(x, num_samples=20), rtol=1e-6)
    assert loaded.compile_arguments(loaded.get_compile_config())["iw_samples"] == 2
    export_saved_model(vae, str(tmp_path / "saved"))
    served = tf.saved_model.load(str(tmp_path / "saved"))
    got = served.sample(tf.constant(2, tf.int64), tf.constant(10), truncation=tf.constant(0.7))
    np.testing.assert_allclose(got.numpy(), vae.sample(10, seed=2, truncation=0.7), atol=1e-5)


def test_active_units_per_layer():
    vae = deep_vae(layers=2)
    vae.fit(digits(), epochs=1, steps_per_epoch=30, verbose=0)
    x = images_of(200)
    units = vae.active_units_per_layer(x, threshold=0.0)
    assert units == [LATENT, TOP]  # every coordinate varies at all
    mean, _ = vae.encode(x)
    m2 = vae.top_encoder(mean).numpy()[:, :TOP]
    assert vae.active_units_per_layer(x, threshold=0.01) == [
        int((mean.var(0) > 0.01).sum()), int((m2.var(0) > 0.01).sum())]


@pytest.mark.parametrize("kwargs, compile_kwargs, message", [
    (dict(flow=2), dict(estimator="dreg", iw_samples=2), "dreg estimator needs"),
    (dict(prior="vamp"), dict(estimator="dreg", iw_samples=2), "dreg estimator needs"),
    (dict(), dict(estimator="dreg"), "iw_samples >= 2"),
    (dict(layers=2), dict(free_bits=0.5), "free bits need the closed-form KL"),
    (dict(), dict(estimator="magic"), "unknown estimator"),
])
def test_bad_combinations_are_refused(kwargs, compile_kwargs, message):
    with pytest.raises(ValueError, match=message):
        deep_vae(**kwargs, **compile_kwargs)


def test_bad_constructions_are_refused():
    enc = networks.mlp_encoder((8, 8, 1), LATENT, width=8, depth=1)
    dec = networks.mlp_decoder(LATENT, (8, 8, 1), 17, width=8, depth=1)
    top = networks.build_vae_latent_networks(LATENT, top_latent_dim=2)
    with pytest.raises(ValueError, match="both top_encoder and top_decoder"):
        VAE(enc, dec, LATENT, top_encoder=top["top_encoder"])
    with pytest.raises(ValueError, match="VampPrior is for unconditional"):
        VAE(enc, dec, LATENT, prior="vamp", pseudo_inputs=3, num_classes=10)
    with pytest.raises(ValueError, match="pseudo_inputs: must be >= 1"):
        VAE(enc, dec, LATENT, prior="vamp", pseudo_inputs=0)
    assert VAE(enc, dec, LATENT, prior="vamp").prior.pseudo_inputs == 100  # the default C
    assert VAE(enc, dec, LATENT).prior.name == "normal"
    with pytest.raises(ValueError, match="unknown prior"):
        VAE(enc, dec, LATENT, prior="flat")
    flow = networks.iaf_flow(LATENT, 1, 8, context_dim=2)
    with pytest.raises(ValueError, match="context"):
        VAE(enc, dec, LATENT, flow=flow)


def test_prior_objects_names_and_keywords_train_alike():
    """`prior=VampPrior(...)`, its config dict and the keywords it replaced are one model."""
    from tfgen import ingredients

    trained = []
    for prior in (ingredients.VampPrior(pseudo_inputs=7), {"name": "vamp", "pseudo_inputs": 7}):
        keras.utils.set_random_seed(0)  # deep_vae's seed, before its networks
        vae = VAE(networks.mlp_encoder((8, 8, 1), LATENT, width=32, depth=1),
                  networks.mlp_decoder(LATENT, (8, 8, 1), 17, width=32, depth=1),
                  LATENT, likelihood="categorical", prior=prior)
        vae.compile(keras.optimizers.Adam(1e-3))
        vae.fit(digits(), epochs=1, steps_per_epoch=2, verbose=0)
        trained.append(weights_of(vae))
    keywords = deep_vae("vamp")  # prior="vamp", pseudo_inputs=7
    keywords.fit(digits(), epochs=1, steps_per_epoch=2, verbose=0)
    for a, b, c in zip(*trained, weights_of(keywords), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_models_saved_before_the_prior_was_an_object_still_load(tmp_path):
    """An earlier `model.keras` holds the prior as a name and `pseudo_inputs` beside it."""
    vae = deep_vae("vamp", layers=2)
    vae.fit(digits(), epochs=1, steps_per_epoch=1, verbose=0)
    vae.save(tmp_path / "m.keras")

    def old(config):
        config["config"].update(prior="vamp", pseudo_inputs=7)
        return config

    rewrite_config(tmp_path / "m.keras", old)
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.prior.get_config() == {"name": "vamp", "pseudo_inputs": 7}
    for a, b in zip(weights_of(loaded), weights_of(vae), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.sample(4, seed=1), vae.sample(4, seed=1))
