"""The SRNN (a latent per frame) against independent computations: its bound is a NumPy
recurrence over the networks' weights; the per-frame KL is the numerically integrated one;
padding never changes a piece's bound; the generative side is causal and the inference side
anti-causal; importance sampling tightens the ELBO; what a model without a code cannot do says
so."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats

import tfgen
from tfgen.data import music
from tfgen.models.srnn import gaussian_kl_between

LATENT = 3


def _srnn(likelihood="bernoulli", units=6, seed=0, **compile_kwargs):
    keras.utils.set_random_seed(seed)
    lik = tfgen.ingredients.get("likelihood", likelihood)
    enc, dec = tfgen.networks.srnn_networks(88, lik, latent_dim=LATENT, units=units,
                                            encoder_units=5, hidden=4)
    model = tfgen.SRNN(enc, dec, LATENT, likelihood=lik, seed=seed, sample_frames=8)
    model.compile(keras.optimizers.Adam(3e-3), **compile_kwargs)
    return model


def _pieces(n=3, frames=None):
    x = music.pack(music.jsb_chorales()["train"][:n]).astype(np.float32)
    return x if frames is None else x[:, :frames]


def test_kl_between_gaussians_matches_numerical_integration():
    mq, lvq, mp, lvp = 0.3, -0.7, -0.4, 0.5
    q, p = stats.norm(mq, np.exp(0.5 * lvq)), stats.norm(mp, np.exp(0.5 * lvp))
    want, _ = integrate.quad(lambda z: q.pdf(z) * (q.logpdf(z) - p.logpdf(z)), -10, 10)
    got = gaussian_kl_between(*(tf.constant(v) for v in (mq, lvq, mp, lvp))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def _dense(layer, v):
    w = layer.get_weights()
    return v @ w[0] + (w[1] if len(w) > 1 else 0.0)


def test_bound_is_the_numpy_recurrence_over_the_networks_weights():
    model = _srnn()
    x = _pieces(2, 12)
    x[1, 9:] = 0.0  # the second piece ends at frame 9
    rng = np.random.default_rng(0)
    eps = rng.normal(size=(2, 2, 12, LATENT)).astype(np.float32)
    got = model._bounds(tf.constant(x), None, tf.constant(eps), False)
    # the GRUs are Keras's: take d_t and a_t from them, then recompute everything else
    d = model.decoder.states(tf.constant(x)).numpy()
    a = model.encoder.smooth(tf.constant(d), tf.constant(x)).numpy()
    prior, post = model.decoder.prior, model.encoder.posterior

    def gaussian(t, context, z):
        h = np.maximum(_dense(t.from_context, context) + _dense(t.from_z, z), 0.0)
        out = _dense(t.out, h)
        return out[:LATENT], np.clip(out[LATENT:], -12.0, 8.0)

    for i in range(2):
        mask = x[i, :, 88]
        for k in range(2):
            z, log_px, log_ratio, kl = np.zeros(LATENT), 0.0, 0.0, np.zeros(LATENT)
            for t in range(12):
                mp, lvp = gaussian(prior, d[i, t], z)
                delta, lvq = gaussian(post, a[i, t], z)
                mq = mp + delta
                z = mq + np.exp(0.5 * lvq) * eps[i, k, t]
                h = np.maximum(_dense(model.decoder.emit_hidden, np.concatenate([z, d[i, t]])),
                               0.0)
                logits = _dense(model.decoder.head, h)
                frame = x[i, t, :88]
                lp = np.sum(frame * -np.logaddexp(0, -logits)
                            + (1 - frame) * -np.logaddexp(0, logits))
                sq, sp = np.exp(0.5 * lvq), np.exp(0.5 * lvp)
                ratio = np.sum(stats.norm.logpdf(z, mq, sq) - stats.norm.logpdf(z, mp, sp))
                kl_t = np.log(sp / sq) + (sq ** 2 + (mq - mp) ** 2) / (2 * sp ** 2) - 0.5
                log_px += mask[t] * lp
                log_ratio += mask[t] * ratio
                kl += mask[t] * kl_t / 2  # averaged over the K = 2 paths
            np.testing.assert_allclose(got["log_px"][i, k], log_px, rtol=1e-4)
            np.testing.assert_allclose(got["log_w"][i, k], log_px - log_ratio, rtol=1e-4)
            if k == 0:
                kl_sum = kl
            else:
                np.testing.assert_allclose(got["kl_dims"][i], kl_sum + kl, rtol=1e-4,
                                           atol=1e-5)


def test_padding_never_changes_a_pieces_bound():
    model = _srnn()
    x = _pieces(2, 10)
    padded = np.zeros((2, 16, 89), np.float32)
    padded[:, :10] = x
    padded[:, 10:, :88] = np.random.default_rng(1).random((2, 6, 88)) > 0.5  # notes, masked
    eps = np.random.default_rng(2).normal(size=(2, 3, 16, LATENT)).astype(np.float32)
    short = model._bounds(tf.constant(x), None, tf.constant(eps[:, :, :10]), False)
    long = model._bounds(tf.constant(padded), None, tf.constant(eps), False)
    for key in ("log_px", "log_w", "kl_dims"):
        np.testing.assert_allclose(long[key], short[key], rtol=1e-5, atol=1e-4, err_msg=key)


def test_forward_states_are_causal_and_the_smoothing_states_anticausal():
    model = _srnn()
    x = _pieces(1, 12)
    changed = x.copy()
    changed[0, 6, :88] = 1.0 - changed[0, 6, :88]  # frame 6 changed
    d0, d1 = (model.decoder.states(tf.constant(v)).numpy() for v in (x, changed))
    np.testing.assert_array_equal(d0[:, :7], d1[:, :7])  # d_t sees frames < t
    assert not np.allclose(d0[:, 7:], d1[:, 7:])
    a0, a1 = (model.encoder.smooth(tf.constant(d0), tf.constant(v)).numpy()
              for v in (x, changed))
    np.testing.assert_array_equal(a0[:, 7:], a1[:, 7:])  # a_t sees frames >= t
    assert not np.allclose(a0[:, :7], a1[:, :7])


def test_training_improves_the_bound_and_importance_sampling_tightens_it():
    model = _srnn(units=16)
    x = _pieces(16, 32)
    before = model.elbo(x).mean()
    model.fit(x, batch_size=8, epochs=15, verbose=0)
    after = model.elbo(x)
    assert after.mean() > before.mean() + 100, (before.mean(), after.mean())
    iwae = model.log_likelihood(x, num_samples=64)
    assert iwae.mean() > after.mean()  # K = 64 paths: a tighter bound than one path's ELBO
    np.testing.assert_array_equal(model.log_likelihood(x, num_samples=64), iwae)  # stateless
    frames = x[..., -1].sum()
    np.testing.assert_allclose(model.nll_per_frame(x, num_samples=64), -iwae.sum() / frames,
                               rtol=1e-6)
    assert model.kl_per_dimension(x).shape == (LATENT,)
    assert model.active_units_per_layer(x)[0] >= 1  # the per-frame latents are used


def test_samples_are_seeded_binary_pieces():
    model = _srnn("nade", units=8)
    a, b = model.sample(3, seed=4), model.sample(3, seed=4)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 8, 89)
    assert set(np.unique(a)) <= {0.0, 1.0} and (a[..., -1] == 1).all()
    assert not np.array_equal(model.sample(3, seed=5), a)
    rec = model.reconstruct(_pieces(2, 8))
    assert rec.shape == (2, 8, 89) and ((rec >= 0) & (rec <= 1)).all()


def test_what_a_model_without_a_code_cannot_do_says_so():
    model = _srnn()
    assert model.has_code is False and tfgen.SequenceVAE.has_code is True
    for call in (lambda: model.encode(_pieces(1, 4)),
                 lambda: model.interpolate(_pieces(1, 4)[0], _pieces(1, 4)[0])):
        with pytest.raises(ValueError, match="latent per frame"):
            call()
    enc, dec = tfgen.networks.sequence_vae_networks(
        88, tfgen.ingredients.get("likelihood", "bernoulli"), latent_dim=3, encoder_units=4,
        decoder_units=4)
    with pytest.raises(ValueError, match="srnn_networks"):
        tfgen.SRNN(enc, dec, 3)
    with pytest.raises(ValueError, match="standard estimator"):
        model._bounds(tf.constant(_pieces(1, 4)), None, tf.zeros([1, 1, 4, LATENT]), False,
                      stop=object())


def test_save_and_load_keep_the_bound(tmp_path):
    model = _srnn()
    x = _pieces(2, 8)
    path = str(tmp_path / "srnn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is tfgen.SRNN
    np.testing.assert_allclose(loaded.log_likelihood(x, num_samples=4),
                               model.log_likelihood(x, num_samples=4), rtol=1e-6)
