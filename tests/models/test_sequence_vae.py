"""The sequence VAE, its networks and the NADE frame likelihood, against independent
computations: NADE normalises over all 2^D rows and equals a loop over the values; padding
never changes a piece's log p(x); the decoder is causal; the conductor restarts per segment."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgen
from tfgen.data import music
from tfgen.errors import DataError

KEYS = 5


def _nade(hidden=3, keys=KEYS, seed=0):
    class Host(keras.layers.Layer):  # a model stand-in that owns the weights
        likelihood_values = keys

    host = Host()
    host.seed = seed
    nade = tfgen.ingredients.get("likelihood", {"name": "nade", "hidden": hidden})
    nade.join(host)
    rng = np.random.default_rng(seed)
    nade.W.assign(rng.normal(0, 1, (keys, hidden)).astype(np.float32))
    nade.V.assign(rng.normal(0, 1, (keys, hidden)).astype(np.float32))
    return nade


def test_nade_normalises_and_matches_a_loop_over_the_values():
    nade = _nade()
    rng = np.random.default_rng(1)
    params = rng.normal(0, 1, (1, KEYS + 3)).astype(np.float32)
    rows = np.array(list(itertools.product([0, 1], repeat=KEYS)), np.float32)
    logp = nade.log_prob(rows, np.repeat(params, len(rows), 0)).numpy()
    np.testing.assert_allclose(np.exp(logp.astype(np.float64)).sum(), 1.0, rtol=1e-5)
    w, v, b, c = nade.W.numpy(), nade.V.numpy(), params[0, :KEYS], params[0, KEYS:]
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    for row, got in zip(rows[::7], logp[::7], strict=True):
        total = 0.0
        for i in range(KEYS):
            h = sig(c + row[:i] @ w[:i])
            p = sig(b[i] + v[i] @ h)
            total += np.log(p if row[i] else 1 - p)
        np.testing.assert_allclose(got, total, rtol=1e-5, atol=1e-5)


def test_nade_draws_follow_its_probabilities():
    nade = _nade()
    params = np.random.default_rng(2).normal(0, 1, (1, KEYS + 3)).astype(np.float32)
    draws = nade.sample(np.repeat(params, 20000, 0), tf.constant([3, 4], tf.int64)).numpy()
    rows = np.array(list(itertools.product([0, 1], repeat=KEYS)), np.float32)
    p = np.exp(nade.log_prob(rows, np.repeat(params, len(rows), 0)).numpy())
    codes = draws @ (2 ** np.arange(KEYS)[::-1])
    freq = np.bincount(codes.astype(int), minlength=len(rows)) / len(draws)
    assert np.abs(freq - p).max() < 0.015
    greedy = nade.mean(params).numpy()  # the conditionals along the greedy path
    assert greedy.shape == (1, KEYS) and ((greedy > 0) & (greedy < 1)).all()


def _model(likelihood="bernoulli", segment=0, frame_dropout=0.0, seed=0, keys=KEYS):
    lik = tfgen.ingredients.get("likelihood", likelihood)
    enc, dec = tfgen.networks.sequence_vae_networks(
        keys, lik, latent_dim=4, encoder_units=8, decoder_units=8, segment=segment,
        conductor_units=6, frame_dropout=frame_dropout)
    return tfgen.SequenceVAE(enc, dec, latent_dim=4, likelihood=lik, seed=seed, sample_frames=8)


def _pieces(lengths, keys=KEYS, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.random((n, keys)) < 0.3).astype(np.uint8) for n in lengths]


def _pack(rolls, frames):
    out = np.zeros((len(rolls), frames, KEYS + 1), np.float32)
    for i, r in enumerate(rolls):
        out[i, :len(r), :KEYS], out[i, :len(r), KEYS] = r, 1
    return out


@pytest.mark.parametrize("likelihood,segment", [("bernoulli", 0), ({"name": "nade", "hidden": 4}, 0),
                                                ("bernoulli", 4)])
def test_padding_never_changes_a_pieces_log_likelihood(likelihood, segment):
    vae = _model(likelihood, segment)
    rolls = _pieces([8, 4, 12])
    eps = tf.random.stateless_normal([3, 2, 4], [1, 2])
    short = vae._bounds(tf.constant(_pack(rolls, 12)), None, eps, False)["log_w"]
    long = vae._bounds(tf.constant(_pack(rolls, 24)), None, eps, False)["log_w"]
    np.testing.assert_allclose(short.numpy(), long.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("segment", [0, 4])
def test_the_decoder_is_causal(segment):
    vae = _model(segment=segment)
    x = _pack(_pieces([8]), 8)
    z = tf.random.stateless_normal([1, 4], [3, 4])
    base = vae.decoder([z, x]).numpy()
    changed = x.copy()
    changed[0, 5, :KEYS] = 1 - changed[0, 5, :KEYS]
    after = vae.decoder([z, changed]).numpy()
    np.testing.assert_allclose(after[0, :6], base[0, :6], atol=1e-6)  # frames <= 5 see x_<t only
    assert np.abs(after[0, 6:] - base[0, 6:]).max() > 1e-4


def test_the_conductors_segments_restart_and_sampling_matches_teacher_forcing():
    """A greedy draw, fed back to the teacher-forced decoder, gives the same frame parameters
    the sampling loop used: the stepwise path (the LSTM's cell, the segment restarts) is the
    parallel path."""
    for segment in (0, 4):
        vae = _model(segment=segment)
        z = tf.random.stateless_normal([2, 4], [5, 6])
        frames = vae.decoder.generate(z, 8, vae.likelihood, tf.constant([0, 0], tf.int64),
                                      greedy=True)
        packed = tf.concat([frames, tf.ones_like(frames[..., :1])], -1)
        means = tf.sigmoid(vae.decoder([z, packed]))
        np.testing.assert_array_equal((means.numpy() > 0.5).astype(np.float32), frames.numpy())


def test_fit_sample_nll_and_save_round_trip(tmp_path):
    x = music.pack(music.jsb_chorales()["train"][:6], multiple=4)
    vae = _model({"name": "nade", "hidden": 8}, segment=4, frame_dropout=0.2, keys=88)
    vae.compile(keras.optimizers.Adam(1e-3), free_bits=0.1)
    history = vae.fit(x, batch_size=3, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    samples = vae.sample(3, seed=1)
    assert samples.shape == (3, 8, 89) and set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_array_equal(samples, vae.sample(3, seed=1))
    assert (samples[..., 88] == 1).all()
    nll = vae.nll_per_frame(x, num_samples=4)
    elbo = -vae.elbo(x).sum() / x[..., 88].sum()
    assert 0 < nll <= elbo + 0.05 < 89 * np.log(2)
    path = tmp_path / "seq.keras"
    vae.save(path)
    again = keras.saving.load_model(path)
    assert again.nll_per_frame(x, num_samples=4) == pytest.approx(nll, rel=1e-6)
    pieces = vae.interpolate(x[0], x[1], steps=3)
    assert pieces.shape == (3, 8, 89)
    with pytest.raises(ValueError, match="unconditional"):
        tfgen.SequenceVAE(vae.encoder, vae.decoder, 4, num_classes=3)


def test_pack_and_unpack_round_trip():
    rolls = music.jsb_chorales()["test"][:5]
    packed = music.pack(rolls, multiple=16)
    assert packed.shape[1] % 16 == 0 and packed.shape[2] == 89
    for a, b in zip(music.unpack(packed), rolls, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(music.lengths(packed), [len(r) for r in rolls])
    with pytest.raises(DataError, match="more than the 10"):
        music.pack(rolls, frames=10)


def test_evaluation_batches_pieces_by_length_and_returns_them_in_order():
    vae = _model(segment=4)
    rolls = _pieces([9, 2, 14, 5, 7])
    x = _pack(rolls, 16)
    order, batches = vae._batches(x, 2)
    assert [b.shape[1] for b in batches] == [8, 12, 16]  # (2, 5) (7, 9) (14): whole segments
    per_piece = [b[..., -1].sum(axis=1) for b in batches]  # each piece's length, by batch
    np.testing.assert_array_equal(vae._unsorted(order, per_piece), [9, 2, 14, 5, 7])
