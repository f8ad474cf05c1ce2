"""tfgen.TextVAE (Bowman et al. 2016): the bound against a NumPy computation from the decoder's
logits, padding out of every loss and gradient, word dropout, the decoding rules against their
definitions, beam search against greedy, save and load."""

import numpy as np
import pytest
import tensorflow as tf

import tfgen
from tests.models.helpers import text_source, text_vae
from tfgen.data import text
from tfgen.models import decoding

VOCAB = 13


def sentences(n=4, length=7, seed=0):
    """Packed random sentences of 2..length-1 tokens (ids 4..VOCAB-1) then <eos>."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, length, 2), np.float32)
    for i in range(n):
        k = rng.integers(2, length)
        x[i, :k, 0] = rng.integers(4, VOCAB, k)
        x[i, k, 0] = text.EOS
        x[i, :k + 1, 1] = 1
    return x


def log_softmax(a):
    a = a - a.max(-1, keepdims=True)
    return a - np.log(np.exp(a).sum(-1, keepdims=True))


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_log_px_is_the_masked_sum_of_the_softmax_at_each_token(decoder):
    vae = text_vae(vocabulary=VOCAB, decoder=decoder)
    x = sentences()
    z = np.random.default_rng(1).normal(size=(len(x), vae.latent_dim)).astype(np.float32)
    logits = vae.decoder([z, x]).numpy()
    ids, mask = x[..., 0].astype(int), x[..., 1]
    expected = (np.take_along_axis(log_softmax(logits), ids[..., None], -1)[..., 0] * mask).sum(1)
    ours = vae._log_px(tf.constant(x), tf.constant(z), None, False).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
    # the first step sees <bos>, step t the true token t - 1 (teacher forcing): changing a
    # token changes only the logits from the next step on
    y = x.copy()
    y[0, 2, 0] = 4 if x[0, 2, 0] != 4 else 5
    changed = np.abs(vae.decoder([z, y]).numpy() - logits).max(-1)[0] > 1e-6
    assert not changed[:3].any() and changed[3]


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_padding_never_enters_the_loss_or_a_gradient(decoder):
    vae = text_vae(vocabulary=VOCAB, frame_dropout=0.0, decoder=decoder)
    x = sentences()
    x[..., 0][x[..., 0] == 12] = 11  # no real token is 12 ...
    junk = x.copy()
    junk[..., 0] = np.where(x[..., 1] > 0, x[..., 0], 12)  # ... and the padding holds 12s
    bound = lambda data: vae.elbo(data, seed=3)  # noqa: E731
    np.testing.assert_allclose(bound(x), bound(junk), rtol=1e-6)
    longer = np.concatenate([x, np.zeros((len(x), 5, 2), np.float32)], axis=1)
    np.testing.assert_allclose(bound(x), bound(longer), rtol=1e-5)
    # the loss's gradient reaches no embedding row of a token that is only padding
    embeddings = [w for w in vae.trainable_weights if "embedding" in w.path]
    assert len(embeddings) == 2  # the encoder's and the decoder's
    with tf.GradientTape() as tape:
        mean, _ = vae._posterior(tf.constant(junk), None, False)
        loss = tf.reduce_sum(mean) - tf.reduce_mean(vae._log_px(tf.constant(junk), mean, None,
                                                                 False))
    for g in tape.gradient(loss, embeddings):
        g = tf.convert_to_tensor(g).numpy()
        assert np.abs(g[12]).max() == 0 and np.abs(g[4:12]).max() > 0


def test_word_dropout_shows_unk_in_training_only():
    import keras

    from tfgen.networks import FrameDecoder

    keras.utils.set_random_seed(0)
    dec = FrameDecoder(1, 3, VOCAB, units=8, frame_dropout=0.9999, vocabulary=VOCAB,
                       embedding_dim=5)
    x = sentences()
    z = np.random.default_rng(0).normal(size=(len(x), 3)).astype(np.float32)
    unk = x.copy()
    unk[..., 0] = text.UNK
    trained = dec([z, x], training=True).numpy()
    # in training every previous token is shown as [UNK] (the first step sees <bos> either
    # way): the logits are those of an all-[UNK] sentence; in inference the true tokens
    np.testing.assert_allclose(trained, dec([z, unk], training=False).numpy(), rtol=1e-5,
                               atol=1e-6)
    assert np.abs(dec([z, x], training=False).numpy() - trained)[:, 1:].max() > 1e-4


def test_filtered_logits_against_their_definitions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 11)).astype(np.float32)
    out = decoding.filtered_logits(logits, decoding.parse("top_k=3")).numpy()
    for row, kept in zip(logits, np.isfinite(out)):
        assert set(np.flatnonzero(kept)) == set(np.argsort(-row)[:3])
    out = decoding.filtered_logits(logits, decoding.parse("top_p=0.6,temperature=0.5")).numpy()
    for row, got in zip(logits, out):
        p = np.exp(log_softmax(row / 0.5))
        order = np.argsort(-p)
        n = int(np.searchsorted(np.cumsum(p[order]), 0.6) + 1)  # the smallest set with mass >= p
        assert set(np.flatnonzero(np.isfinite(got))) == set(order[:n])
        np.testing.assert_allclose(got[order[:n]], row[order[:n]] / 0.5, rtol=1e-6)
    tiny = decoding.filtered_logits(logits, decoding.parse("top_p=0.0001")).numpy()
    assert (np.isfinite(tiny).sum(1) == 1).all()  # the most likely token is always kept


@pytest.mark.parametrize("spec, message", [
    ("top_p=0", "top_p must be in"), ("temperature=-1", "temperature must be > 0"),
    ("beam=0", "beam must be >= 1"), ("beam=2,top_k=3", "beam search takes no sampling"),
    ("top_k=x", "top_k takes a number"), ("nucleus", "cannot read 'nucleus'")])
def test_decoding_mistakes(spec, message):
    with pytest.raises(tfgen.errors.UserError, match=message):
        decoding.parse(spec)


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_step_by_step_decoding_is_the_teacher_forced_decoder(decoder):
    """The step functions sampling and beam search run (`initial_state`, `step_logits`) give
    what the teacher-forced call gives when fed the true tokens one at a time."""
    vae = text_vae(vocabulary=VOCAB, decoder=decoder)
    x = sentences()
    z = np.random.default_rng(2).normal(size=(len(x), vae.latent_dim)).astype(np.float32)
    forced = vae.decoder([z, x]).numpy()
    dec = vae.decoder
    state, previous = dec.initial_state(tf.constant(z), x.shape[1]), dec._first(len(x))
    for t in range(x.shape[1]):
        logits, state = dec.step_logits(t, previous, state)
        np.testing.assert_allclose(logits.numpy(), forced[:, t], rtol=1e-4, atol=1e-5)
        previous = tf.constant(x[:, t, :1])


def test_the_transformer_refuses_heads_that_do_not_divide_its_width():
    with pytest.raises(ValueError, match=r"units \(10\) must be a multiple of its heads \(4\)"):
        tfgen.networks.TransformerDecoder(3, VOCAB, VOCAB, units=10, heads=4)


def _score(vae, z, packed):
    """log p(sentence | z) by teacher forcing, <eos> included."""
    return vae._log_px(tf.constant(packed), tf.constant(z), None, False).numpy()


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_greedy_top_k_1_and_beam_1_agree_and_beam_search_is_never_worse(decoder):
    vae = text_vae(vocabulary=VOCAB, decoder=decoder)
    vae.fit(sentences(32, seed=2), batch_size=8, epochs=3, verbose=0)
    z = np.random.default_rng(4).normal(size=(6, vae.latent_dim)).astype(np.float32)
    greedy = vae.decode(z)
    np.testing.assert_array_equal(vae.decode(z, seed=5, decoding="top_k=1"), greedy)
    np.testing.assert_array_equal(vae.decode(z, seed=5, decoding="beam=1"), greedy)
    beam = vae.decode(z, decoding="beam=4")
    assert (_score(vae, z, beam) >= _score(vae, z, greedy) - 1e-4).all()
    # generated sentences end at their first <eos>; after it only padding
    for row in beam:
        n = int(row[:, 1].sum())
        assert not row[n:].any() and (n == len(row) or row[n - 1, 0] == text.EOS)
    # sampling: seeded, so the same seed gives the same sentences
    vae.decoding = "top_p=0.9"
    np.testing.assert_array_equal(vae.sample(4, seed=1), vae.sample(4, seed=1))
    assert vae.decoding == decoding.Decoding("sample", top_p=0.9)


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_trains_on_the_proverbs_and_round_trips_through_keras_saving(tmp_path, decoder):
    source = text_source()
    x, _ = source.numpy("train")
    vae = text_vae(optimizer=__import__("keras").optimizers.Adam(1e-2), decoder=decoder)
    before = vae.elbo(x).mean()
    vae.fit(x, batch_size=16, epochs=10, verbose=0)
    assert vae.elbo(x).mean() > before + 5.0  # it learns (nats per sentence)
    path = str(tmp_path / "m.keras")
    vae.save(path)
    again = __import__("keras").saving.load_model(path)
    assert isinstance(again, tfgen.TextVAE)
    np.testing.assert_allclose(again.elbo(x[:8], seed=1), vae.elbo(x[:8], seed=1), rtol=1e-5)
    z = np.zeros((2, vae.latent_dim), np.float32)
    np.testing.assert_array_equal(again.decode(z), vae.decode(z))
    decoded = text.decode(vae.decode(z), source.info.vocabulary)
    assert all(isinstance(s, str) for s in decoded)


def test_the_decoder_must_read_tokens():
    from tfgen import ingredients, networks

    lik = ingredients.get("likelihood", "bernoulli")
    enc, dec = networks.sequence_vae_networks(88, lik, latent_dim=2, encoder_units=2,
                                              decoder_units=2)
    with pytest.raises(ValueError, match="build it with a vocabulary"):
        tfgen.TextVAE(enc, dec, 2, likelihood=lik)


def test_mutual_information_against_scipy_and_its_limits():
    from scipy import special, stats

    from tfgen.models.vae import mutual_information

    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(30, 3)), rng.normal(-1.0, 0.3, size=(30, 3))
    z = mean + np.exp(0.5 * log_var) * np.random.default_rng(7).standard_normal(mean.shape)
    cov = [np.diag(np.exp(v)) for v in log_var]
    log_q = np.array([[stats.multivariate_normal(m, c).logpdf(zi) for m, c in zip(mean, cov)]
                      for zi in z])
    expected = np.mean([-stats.multivariate_normal(m, c).entropy() for m, c in zip(mean, cov)]) \
        - np.mean(special.logsumexp(log_q, axis=1) - np.log(len(z)))
    assert mutual_information(mean, log_var, seed=7, chunk=7) == pytest.approx(expected, rel=1e-9)
    # far-apart, sharp posteriors: z names its example, I = log N; one shared posterior: I ~ 0
    # (up to the Monte Carlo error of one draw each: std sqrt(d / 2N) = 0.02 here)
    apart = np.arange(2000)[:, None] * 10.0 * np.ones((1, 2))
    assert mutual_information(apart, np.full((2000, 2), -4.0)) == pytest.approx(np.log(2000),
                                                                                abs=0.1)
    same = mutual_information(np.zeros((2000, 2)), np.zeros((2000, 2)))
    assert abs(same) < 0.01
