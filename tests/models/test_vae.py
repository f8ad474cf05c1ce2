"""tfgen.VAE: ELBO terms, IWAE bound, schedules, saving, ex-post density (1 vs 2 replicas, XLA
and resuming: tests/models/variants.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special

from tfgen import data, networks
from tfgen.models import VAE
from tfgen.models.vae import TEST_STREAM, gaussian_kl, kl_capacity_target, kl_schedule_factor


def tiny_vae(conditional=False, conv=False, likelihood="categorical", weights=None, seed=0,
             **compile_kwargs):
    keras.utils.set_random_seed(seed)
    num_classes = 10 if conditional else None
    ppv = 17 if likelihood == "categorical" else 1
    if conv:
        enc = networks.conv_encoder((8, 8, 1), 4, width=8, num_classes=num_classes)
        dec = networks.conv_decoder(4, (8, 8, 1), ppv, width=8, num_classes=num_classes)
    else:
        enc = networks.mlp_encoder((8, 8, 1), 4, width=32, depth=1, num_classes=num_classes)
        dec = networks.mlp_decoder(4, (8, 8, 1), ppv, width=32, depth=1, num_classes=num_classes)
    vae = VAE(enc, dec, latent_dim=4, likelihood=likelihood, num_classes=num_classes, seed=seed)
    if weights is not None:
        vae.set_weights(weights)
    compile_kwargs.setdefault("optimizer", keras.optimizers.Adam(1e-3))
    vae.compile(**compile_kwargs)
    return vae


def digits(batch=32, labels=False, strategy=None, split="train", training=True):
    return data.load("digits", split=split, batch_size=batch, seed=0, labels=labels,
                     pixel_range="unit", training=training, strategy=strategy)


def test_closed_form_kl():
    mean = np.array([[0.0, 1.0]], np.float32)
    log_var = np.array([[0.0, np.log(4.0)]], np.float32)
    np.testing.assert_allclose(gaussian_kl(mean, log_var).numpy(),
                               [[0.0, 0.5 * (4 + 1 - 1 - np.log(4))]], rtol=1e-6)


def test_kl_schedules():
    assert float(kl_schedule_factor(50, "linear", 200, 0)) == 0.25
    assert float(kl_schedule_factor(500, "linear", 200, 0)) == 1.0
    assert [float(kl_schedule_factor(s, "cyclical", 0, 100)) for s in (0, 25, 50, 99, 100)] == [
        0.0, 0.5, 1.0, 1.0, 0.0]
    assert float(kl_schedule_factor(7, "constant", 0, 0)) == 1.0


def test_train_step_reports_elbo_terms():
    vae = tiny_vae(kl_weight=0.5, kl_schedule="linear", warmup_steps=4)
    # One step per epoch: the last epoch's means are step 3's own values.
    history = vae.fit(digits(), epochs=4, steps_per_epoch=1, verbose=0)
    h = {k: v[-1] for k, v in history.history.items()}
    assert {"loss", "elbo", "reconstruction", "kl", "kl_weight", "grad_norm"} <= set(h)
    assert h["elbo"] == pytest.approx(h["reconstruction"] - h["kl"], rel=1e-5)
    assert h["kl_weight"] == pytest.approx(0.5 * 3 / 4)  # step 3 of a 4-step warm-up, β = 0.5
    assert h["loss"] == pytest.approx(-(h["reconstruction"] - h["kl_weight"] * h["kl"]), rel=1e-5)
    assert h["bound"] == h["elbo"]  # K = 1: the bound is the ELBO, whatever β


def test_free_bits_floor_the_kl_term():
    vae = tiny_vae(free_bits=5.0)
    h = vae.fit(digits(), epochs=1, steps_per_epoch=1, verbose=0).history
    # With λ = 5 nats per dimension, the KL term is at least 4 · 5 = 20 nats.
    assert h["loss"][-1] >= -h["reconstruction"][-1] + 20.0 - 1e-3


def test_kl_capacity_target_rises_linearly():
    assert [float(kl_capacity_target(s, 4.0, 8)) for s in (0, 2, 8, 100)] == [0.0, 1.0, 4.0, 4.0]
    assert float(kl_capacity_target(0, 4.0, 0)) == 4.0


def test_kl_capacity_replaces_the_kl_term_by_its_distance_to_the_target():
    # C = 500 nats is above every example's KL: |KL_i - C| = C - KL_i, so the logged mean loss
    # is -reconstruction + β (C - KL) exactly; the ELBO is untouched.
    vae = tiny_vae(kl_weight=0.5, kl_capacity=500.0)
    h = {k: v[-1] for k, v in vae.fit(digits(), epochs=1, steps_per_epoch=1,
                                      verbose=0).history.items()}
    assert h["kl_target"] == 500.0
    assert h["loss"] == pytest.approx(-h["reconstruction"] + 0.5 * (500.0 - h["kl"]), rel=1e-5)
    assert h["elbo"] == pytest.approx(h["reconstruction"] - h["kl"], rel=1e-5)
    # A rising target: step 3 of 4 (one step per epoch) aims at 3/4 of C.
    vae = tiny_vae(kl_capacity=8.0, capacity_steps=4)
    h = vae.fit(digits(), epochs=4, steps_per_epoch=1, verbose=0).history
    assert h["kl_target"] == [0.0, 2.0, 4.0, 6.0]


@pytest.mark.parametrize("capacity", [3.0, 8.0])
def test_training_with_a_kl_capacity_holds_the_kl_at_the_target(capacity):
    # The same model and steps without a capacity: KL 0.015 nats at β = 5 (collapsed), 4.0 at
    # β = 1 (measured); with one, the KL lands on the target whatever it is.
    vae = tiny_vae(kl_weight=5.0, kl_capacity=capacity, optimizer=keras.optimizers.Adam(3e-3))
    h = vae.fit(digits(64), epochs=1, steps_per_epoch=300, verbose=0)
    x, _ = data.source("digits", pixel_range="unit").numpy("val")
    assert float(vae.kl_per_dimension(x).sum()) == pytest.approx(capacity, abs=0.15 * capacity)
    assert np.isfinite(h.history["loss"][-1])


def test_validation_elbo_is_averaged_over_the_split():
    vae = tiny_vae()
    val = digits(batch=100, split="val", training=False)
    result = vae.evaluate(val, verbose=0, return_dict=True)
    x, _ = data.source("digits", pixel_range="unit").numpy("val")
    elbos = []
    for i in range(0, 350, 100):
        terms, _, _ = vae._terms(tf.constant(x[i:i + 100]), None, training=False,
                                 stream=TEST_STREAM)
        elbos.append(terms["elbo"].numpy())
    # Noise differs per batch position in this hand loop only through `step` (0 here): equal.
    assert result["elbo"] == pytest.approx(np.concatenate(elbos).mean(), rel=1e-4)


def test_iwae_bound_k1_is_the_elbo_and_tightens_with_k():
    vae = tiny_vae()
    vae.fit(digits(100), epochs=1, steps_per_epoch=150, verbose=0)
    x, _ = data.source("digits", pixel_range="unit").numpy("test")
    x = x[:64]
    # K = 1: a single-sample estimate of the ELBO; averaged over many draws it equals the
    # analytic-KL ELBO.
    single = np.mean([vae.log_likelihood(x, num_samples=1, seed=s) for s in range(200)], axis=0)
    terms, _, _ = vae._terms(tf.constant(x), None, training=False, stream=TEST_STREAM)
    recon = np.mean([vae._bounds(tf.constant(x), None, tf.random.stateless_normal(
        [64, 50, 4], seed=[s, 9]), False)["log_px"].numpy().mean(1) for s in range(4)], axis=0)
    elbo = recon - terms["kl"].numpy()
    assert single.mean() == pytest.approx(elbo.mean(), abs=0.3)
    bounds = [vae.log_likelihood(x, num_samples=k, seed=1).mean() for k in (1, 10, 100)]
    assert bounds[0] < bounds[1] < bounds[2]


def test_iwae_training_objective():
    vae = tiny_vae(iw_samples=5)
    h = vae.fit(digits(), epochs=1, steps_per_epoch=3, verbose=0).history
    # The IWAE loss is a tighter bound than the ELBO: -loss >= elbo on average.
    assert -h["loss"][-1] >= h["elbo"][-1] - 1.0
    assert h["kl_weight"][-1] == 1.0
    assert h["bound"][-1] == pytest.approx(-h["loss"][-1], rel=1e-6)  # selection watches it
    # Validation reports the same bound: its K = 5 log-mean-exp of the weights, per example.
    x, _ = data.source("digits", pixel_range="unit").numpy("val")
    val = vae.evaluate(digits(batch=350, split="val", training=False), verbose=0,
                       return_dict=True)
    eps = vae.normal(350, [5, 4], TEST_STREAM)  # the validation step's noise at the model's step
    log_w = vae._bounds(tf.constant(x), None, eps, False)["log_w"].numpy()
    reference = special.logsumexp(log_w, axis=1) - np.log(5)
    assert val["bound"] == pytest.approx(reference.mean(), rel=1e-5)


def test_save_load_and_inference_methods(tmp_path):
    vae = tiny_vae(True, likelihood="bernoulli")
    vae.fit(digits(32, True), epochs=1, steps_per_epoch=2, verbose=0)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras", safe_mode=True)
    assert isinstance(loaded, VAE) and loaded.likelihood.get_config() == {
        "name": "bernoulli", "binarize": True}
    np.testing.assert_array_equal(vae.sample(10, seed=2), loaded.sample(10, seed=2))
    x, y = data.source("digits", pixel_range="unit").numpy("test")
    mean, log_var = loaded.encode(x[:5], y[:5])
    assert mean.shape == log_var.shape == (5, 4)
    rec = loaded.reconstruct(x[:5], y[:5])
    assert rec.shape == (5, 8, 8, 1) and 0 <= rec.min() and rec.max() <= 1
    assert loaded.kl_per_dimension(x[:50], y[:50]).shape == (4,)
    assert 0 <= loaded.active_units(x[:50], y[:50]) <= 4


def expost_vae(components=3):
    keras.utils.set_random_seed(0)
    enc = networks.mlp_encoder((8, 8, 1), 4, width=32, depth=1)
    dec = networks.mlp_decoder(4, (8, 8, 1), 15, width=32, depth=1)
    vae = VAE(enc, dec, latent_dim=4, seed=0, expost_components=components,
              likelihood={"name": "discretized_logistic", "levels": 17, "components": 5})
    vae.compile(keras.optimizers.Adam(1e-3))
    vae.fit(digits(), epochs=1, steps_per_epoch=30, verbose=0)
    return vae


def test_expost_mixture_is_fitted_sampled_saved_and_exported(tmp_path):
    from sklearn.mixture import GaussianMixture

    from tfgen.models.export import export_saved_model

    vae = expost_vae()
    x, _ = data.source("digits", pixel_range="unit").numpy("train")
    assert not vae.has_expost
    with pytest.raises(ValueError, match="fit_expost"):
        vae.sample(4, sampler="expost")
    info = vae.fit_expost(x, seed=1)
    assert vae.has_expost and info["examples"] == 1000
    # Same parameters as scikit-learn's EM on the same codes (independent fit, same seed).
    codes = vae.encode(x)[0].astype(np.float64)
    gmm = GaussianMixture(3, covariance_type="full", reg_covar=1e-5, random_state=1).fit(codes)
    np.testing.assert_allclose(np.exp(vae.expost_log_weights.numpy()), gmm.weights_, atol=1e-5)
    # Draws follow the mixture: their mean and covariance match the mixture's moments.
    z = vae.expost_latent(20000, seed=3)
    mix_mean = (gmm.weights_[:, None] * gmm.means_).sum(0)
    centred = gmm.means_ - mix_mean
    mix_cov = sum(w * (c + np.outer(m, m)) for w, c, m in
                  zip(gmm.weights_, gmm.covariances_, centred))
    np.testing.assert_allclose(z.mean(0), mix_mean, atol=0.05 * np.sqrt(np.diag(mix_cov)).max())
    np.testing.assert_allclose(np.cov(z, rowvar=False), mix_cov, atol=0.1 * np.abs(mix_cov).max())
    a = vae.sample(6, seed=5, sampler="expost")
    np.testing.assert_array_equal(a, vae.sample(6, seed=5, sampler="expost"))
    assert not np.allclose(a, vae.sample(6, seed=5))
    # Saved with the model, and exported as sample_expost with the same numbers.
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert loaded.has_expost
    np.testing.assert_allclose(loaded.sample(6, seed=5, sampler="expost"), a, atol=1e-6)
    export_saved_model(vae, str(tmp_path / "saved"))
    served = tf.saved_model.load(str(tmp_path / "saved"))
    got = served.sample_expost(seed=tf.constant(5, tf.int64), num=tf.constant(6)).numpy()
    np.testing.assert_allclose(got, a, atol=1e-5)


def test_expost_needs_an_unconditional_vae_with_components():
    with pytest.raises(ValueError, match="unconditional"):
        VAE(networks.mlp_encoder((8, 8, 1), 4, num_classes=10),
            networks.mlp_decoder(4, (8, 8, 1), num_classes=10), latent_dim=4, num_classes=10,
            expost_components=2)
    vae = tiny_vae()
    with pytest.raises(ValueError, match="expost_components=0"):
        vae.fit_expost(np.zeros((4, 8, 8, 1), np.float32))


def test_a_linear_schedule_of_length_zero_saved_earlier_loads_as_constant():
    """Before the linear schedule needed warmup_steps >= 1, length 0 meant a constant β: a
    compile config of that time still loads, with that schedule."""
    enc = networks.mlp_encoder((8, 8, 1), 4, width=8, depth=1)
    dec = networks.mlp_decoder(4, (8, 8, 1), 17, width=8, depth=1)
    vae = VAE(enc, dec, 4, likelihood="categorical")
    vae.compile_from_config({"optimizer": keras.saving.serialize_keras_object(
        keras.optimizers.Adam(1e-3)), "kl_weight": 1.0, "kl_schedule": "linear",
        "warmup_steps": 0, "cycle_steps": 0, "free_bits": 0.0, "iw_samples": 1,
        "estimator": "standard"})
    assert vae.kl_schedule == "constant"
    with pytest.raises(ValueError, match="needs warmup_steps >= 1"):
        vae.compile(kl_schedule="linear")
