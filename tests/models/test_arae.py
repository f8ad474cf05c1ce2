"""tfgen.ARAE: the autoencoder's loss against a NumPy computation, the critic's sign in the
encoder's loss, padding, what it learns on a tiny corpus, decoding, saving and its one-line
refusals. (1 vs 2 replicas, XLA, bf16, save and bit-identical resume: the variants table.)"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgen
from tests.models.helpers import arae
from tfgen.data import text

LINES = ["the cat sat on the mat", "a dog ran to the log", "my hen ate the corn",
         "one fox hid in the box"]


def corpus(repeat=8, max_length=10):
    vocab = text.vocabulary(LINES)
    x, _ = text.encode(LINES * repeat, vocab, max_length)
    return x.astype(np.float32), vocab


def _log_softmax(a):
    a = a - a.max(-1, keepdims=True)
    return a - np.log(np.exp(a).sum(-1, keepdims=True))


def test_logged_reconstruction_is_the_masked_cross_entropy_of_the_codes():
    x, vocab = corpus(2)
    model = arae(vocabulary=len(vocab), frame_dropout=0.0, code_noise=0.0, dropout=0.0,
                 g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0),
                 ae_optimizer=keras.optimizers.SGD(0.0))
    batch = x[:8]  # two critic steps of 4; the autoencoder's step takes the first of each pair
    rows = batch.reshape(4, 2, *batch.shape[1:])[:, 0]
    codes = model.encode(rows)
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, rtol=1e-5)  # on the sphere
    logits = keras.ops.convert_to_numpy(model.decoder([codes, rows])).astype(np.float64)
    ids, mask = rows[..., 0].astype(int), rows[..., 1]
    picked = np.take_along_axis(_log_softmax(logits), ids[..., None], -1)[..., 0]
    want = -(picked * mask).sum(1).mean()
    logs = model.fit(batch, batch_size=8, epochs=1, verbose=0, shuffle=False).history
    assert logs["reconstruction"][0] == pytest.approx(want, rel=1e-5)


def test_the_encoder_moves_its_codes_against_the_critic():
    """The adversarial term's gradient lowers the critic's score of the real codes (WGAN: the
    encoder minimises D(enc(x)), moving its codes toward the generator's)."""
    x, vocab = corpus(2)
    model = arae(vocabulary=len(vocab), frame_dropout=0.0, code_noise=0.0)
    rows = tf.constant(x[:4])
    with tf.GradientTape() as tape:
        codes = model._code(rows, training=False)
        fake = model.generator(tf.random.normal([4, model.latent_dim]))
        d_real, d_fake = model.discriminator(codes), model.discriminator(fake)
        adversarial = -tf.reduce_mean(model.objective.discriminator(d_real, d_fake))
    grads = tape.gradient(adversarial, model.encoder.trainable_weights)
    before = float(tf.reduce_mean(d_real))
    for w, g in zip(model.encoder.trainable_weights, grads, strict=True):
        w.assign_sub(1e-2 * tf.convert_to_tensor(g))
    after = float(tf.reduce_mean(model.discriminator(model._code(rows, training=False))))
    assert after < before


def test_padding_changes_no_code_and_no_reconstruction():
    x, vocab = corpus(1)
    model = arae(vocabulary=len(vocab), frame_dropout=0.0)
    padded = np.concatenate([x, np.zeros((len(x), 6, 2), np.float32)], axis=1)
    np.testing.assert_allclose(model.encode(padded), model.encode(x), atol=1e-6)
    from tfgen.models.sequence_vae import sequence_log_prob

    codes = model.encode(x)
    a = sequence_log_prob(model.decoder, model.likelihood, 1, x, codes)
    b = sequence_log_prob(model.decoder, model.likelihood, 1, padded, codes)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)


@pytest.fixture(scope="module")
def trained():
    """An ARAE fitted on four sentences: its autoencoder should return them, and its
    generator should have learned codes that decode to them."""
    x, vocab = corpus(16)
    keras.utils.set_random_seed(0)
    nets = tfgen.networks.arae_networks(len(vocab), latent_dim=4, code_dim=8, units=32,
                                        embedding_dim=16, width=32)
    model = tfgen.ARAE(*nets, latent_dim=4, sample_frames=10, code_noise=0.1,
                       encoder_weight=0.1)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9),
                  d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9),
                  ae_optimizer=keras.optimizers.Adam(1e-2), objective="wasserstein",
                  regularizers=["gradient_penalty"], n_critic=2)
    model.fit(x, batch_size=16, epochs=150, verbose=0)
    return model, x, vocab


def test_it_learns_the_corpus(trained):
    model, x, vocab = trained
    assert text.decode(model.reconstruct(x[:4]), vocab) == LINES
    samples = text.decode(model.sample(64, seed=0), vocab)
    assert np.mean([s in LINES for s in samples]) >= 0.5, samples
    assert len(set(samples) & set(LINES)) >= 2, samples  # not one sentence only
    # sampling is seeded; greedy decoding of a code is deterministic
    np.testing.assert_array_equal(model.sample(8, seed=3), model.sample(8, seed=3))
    path = text.decode(model.interpolate(x[0], x[1], steps=4), vocab)
    assert path[0] == LINES[0] and path[-1] == LINES[1]


def test_decoding_rules_and_the_saved_model(trained, tmp_path):
    model, x, vocab = trained
    codes = model.encode(x[:4])
    greedy = model.decode(codes)
    np.testing.assert_array_equal(model.decode(codes, decoding="beam=1"), greedy)
    np.testing.assert_array_equal(model.decode(codes, seed=5, decoding="top_k=1"), greedy)
    assert model.decoding.method == "sample"  # a call's rule does not stay
    model.save(tmp_path / "arae.keras")
    again = keras.saving.load_model(tmp_path / "arae.keras")
    assert type(again) is tfgen.ARAE and again.code_noise == 0.1
    np.testing.assert_array_equal(again.sample(8, seed=2), model.sample(8, seed=2))
    assert type(again.ae_optimizer).__name__ == "Adam" and again.n_critic == 2
    again.fit(x, batch_size=16, epochs=1, verbose=0)  # the compile config trains again


def test_refusals():
    _, vocab = corpus(1)
    g, d, e, dec = tfgen.networks.arae_networks(len(vocab), latent_dim=4, code_dim=8, units=8,
                                                embedding_dim=4, width=8)
    with pytest.raises(ValueError, match="unconditional"):
        tfgen.ARAE(g, d, e, dec, latent_dim=4, num_classes=3)
    with pytest.raises(ValueError, match="no augmentation or PacGAN"):
        tfgen.ARAE(g, d, e, dec, latent_dim=4, pac=2)
    other = tfgen.networks.mlp_discriminator(5)
    with pytest.raises(ValueError, match="discriminator input has 5 values"):
        tfgen.ARAE(g, other, e, dec, latent_dim=4)
