"""BigGAN-style pieces against NumPy: conditional batch norm, self-attention, orthogonal
regularisation; the networks' shapes and round trip. (1 vs 2 replicas with synchronised batch
norm and XLA: tests/models/test_gan.py.)"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen import networks


def test_conditional_batch_norm_matches_its_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4, 4, 3)).astype(np.float32)
    c = rng.normal(size=(6, 5)).astype(np.float32)
    layer = networks.ConditionalBatchNormalization()
    layer.build([x.shape, c.shape])
    wg, bg, wb, bb = (rng.normal(size=s).astype(np.float32) for s in ((5, 3), (3,), (5, 3), (3,)))
    layer.gain.set_weights([wg, bg])
    layer.bias.set_weights([wb, bb])
    out = layer([tf.constant(x), tf.constant(c)], training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    normed = (x - mean) / np.sqrt(var + 1e-5)
    gain, bias = 1 + c @ wg + bg, c @ wb + bb
    np.testing.assert_allclose(out, normed * gain[:, None, None] + bias[:, None, None],
                               rtol=1e-4, atol=1e-4)


def test_self_attention_matches_numpy_and_starts_as_identity():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 4, 16)).astype(np.float32)
    layer = networks.SelfAttention()
    np.testing.assert_array_equal(layer(tf.constant(x)).numpy(), x)  # γ = 0
    layer.gamma.assign(0.7)
    out = layer(tf.constant(x)).numpy()
    wt, wp, wg, wo = (layer.theta.kernel.numpy()[0, 0], layer.phi.kernel.numpy()[0, 0],
                      layer.g.kernel.numpy()[0, 0], layer.out.kernel.numpy()[0, 0])

    def pool(t):  # 2x2 max pooling of [B, 4, 4, C]
        return t.reshape(2, 2, 2, 2, 2, -1).max(axis=(2, 4))

    theta = (x @ wt).reshape(2, 16, -1)
    phi = pool(x @ wp).reshape(2, 4, -1)
    g = pool(x @ wg).reshape(2, 4, -1)
    logits = theta @ phi.transpose(0, 2, 1)
    attention = np.exp(logits - logits.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    o = (attention @ g).reshape(2, 4, 4, -1) @ wo
    np.testing.assert_allclose(out, x + 0.7 * o, rtol=1e-4, atol=1e-4)


def test_orthogonal_regularizer_penalises_off_diagonal_products():
    reg = networks.OrthogonalRegularizer(0.5)
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(6, 4)))
    assert float(reg(tf.constant(q * 3.0, tf.float32))) == pytest.approx(0.0, abs=1e-5)
    w = np.array([[1.0, 2.0], [0.0, 1.0]], np.float32)  # WᵀW = [[1, 2], [2, 5]]
    assert float(reg(tf.constant(w))) == pytest.approx(0.5 * (2**2 + 2**2))


@pytest.mark.parametrize("size,chunks", [(28, 3), (32, 4), (64, 5)])
def test_networks_shapes_and_hierarchical_latent(size, chunks):
    g = networks.biggan_generator(20, (size, size, 3), width=4, num_classes=5, embed_dim=4)
    d = networks.biggan_discriminator((size, size, 3), width=4, num_classes=5)
    z, y = tf.random.normal([2, 20]), tf.constant([1, 4])
    x = g([z, y], training=True)
    assert x.shape == (2, size, size, 3) and d([x, y]).shape == (2, 1)
    assert len(g.get_layer("latent_chunks").sizes) == chunks
    assert sum(isinstance(la, networks.SelfAttention) for la in g.layers) == 1
    assert sum(isinstance(la, networks.SelfAttention) for la in d.layers) == 1
    with pytest.raises(ValueError, match="latent_dim must be >= 3"):
        networks.biggan_generator(2, (28, 28, 1))


def test_generator_round_trip_and_regularisation_losses(tmp_path):
    g = networks.biggan_generator(8, (8, 8, 1), width=4, num_classes=3, embed_dim=4,
                                  orthogonal=1e-4)
    assert len(g.losses) > 0 and all(float(v) >= 0 for v in g.losses)
    g.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", safe_mode=True)
    z, y = tf.random.normal([3, 8]), tf.constant([0, 1, 2])
    np.testing.assert_allclose(loaded([z, y]).numpy(), g([z, y]).numpy(), atol=1e-6)
