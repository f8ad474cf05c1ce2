"""WaveGAN's networks: the sizes of the paper's, phase shuffle against NumPy (reflect padding,
shifts in [-n, n], the identity at inference, a clip's shift independent of its batch)."""

import numpy as np
import pytest
import tensorflow as tf

from tfgen.networks import wavegan


def test_the_papers_sizes_and_shorter_clips():
    assert [wavegan.num_upsamplings(n) for n in (16384, 8192, 1024, 64)] == [5, 5, 4, 2]
    g = wavegan.wavegan_generator(100, 16384, width=4)
    assert g.get_layer("project").units == 16 * 16 * 4  # 16 x 16d, d = width
    out = g(tf.random.normal([2, 100]))
    assert out.shape == (2, 16384, 1) and float(tf.reduce_max(tf.abs(out))) <= 1.0
    kernels = [layer.kernel_size[0] for layer in g.layers if "up_" in layer.name]
    strides = [layer.strides[0] for layer in g.layers if "up_" in layer.name]
    filters = [layer.filters for layer in g.layers if "up_" in layer.name]
    assert kernels == [25] * 5 and strides == [4] * 5 and filters == [32, 16, 8, 4, 1]
    d = wavegan.wavegan_discriminator((8192, 1), width=4, num_classes=10)
    assert d([tf.zeros([3, 8192, 1]), tf.constant([0, 4, 9])]).shape == (3, 1)
    with pytest.raises(ValueError, match="multiple of 4"):
        wavegan.num_upsamplings(1001)


def _reference(h, shift, n):
    """NumPy: out[t] = h[t - s], h reflect-padded by n on each side."""
    padded = np.pad(h, ((n, n), (0, 0)), mode="reflect")
    return padded[n - shift:n - shift + len(h)]


def test_phase_shuffle_against_numpy():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(64, 20, 3)).astype(np.float32)
    key = tf.constant(rng.integers(0, 10**7, size=64), tf.int64)
    layer = wavegan.PhaseShuffle(2, index=1)
    shifts = layer.shifts(key).numpy()
    assert set(shifts.tolist()) == {-2, -1, 0, 1, 2}  # every shift occurs over 64 clips
    out = layer([tf.constant(h), key], training=True).numpy()
    for i in range(64):
        np.testing.assert_array_equal(out[i], _reference(h[i], shifts[i], 2))
    np.testing.assert_array_equal(layer([tf.constant(h), key], training=False).numpy(), h)
    # another layer index shifts the same clips differently
    assert (wavegan.PhaseShuffle(2, index=2).shifts(key).numpy() != shifts).any()


def test_a_clips_shifts_do_not_depend_on_its_batch():
    d = wavegan.wavegan_discriminator((1024, 1), width=2)
    x = tf.random.stateless_uniform([4, 1024, 1], [1, 2], -1.0, 1.0)
    whole = d(x, training=True).numpy()
    halves = np.concatenate([d(x[:2], training=True).numpy(), d(x[2:], training=True).numpy()])
    np.testing.assert_allclose(whole, halves, rtol=1e-5, atol=1e-6)
    assert not np.allclose(d(x, training=False).numpy(), whole)  # it does shift in training


def test_a_gan_keys_phase_shuffle_by_its_step_so_a_real_clip_is_shifted_anew_each_pass():
    import keras

    from tfgen.models import GAN

    d = wavegan.wavegan_discriminator((1024, 1), width=2)
    g = wavegan.wavegan_generator(8, 1024, width=2)
    x = tf.random.stateless_uniform([64, 1024, 1], [3, 4], -1.0, 1.0)
    alone = d.get_layer("phase_key")(x).numpy()  # unbound: the clip's rounded energy
    np.testing.assert_array_equal(alone, np.round(np.abs(x.numpy()).sum(axis=(1, 2))))
    gan = GAN(g, d, latent_dim=8)
    shuffle = d.get_layer("phase_shuffle_1")

    def shifts_at(step):
        gan.step.assign(step)
        return shuffle.shifts(d.get_layer("phase_key")(x)).numpy()

    first, again, later = shifts_at(0), shifts_at(0), shifts_at(1)
    np.testing.assert_array_equal(first, again)  # a function of (clip, step): replayable
    assert (first != later).mean() > 0.5  # the next pass shifts most clips anew (4/5 expected)
    scores = [d(x, training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(scores[0], scores[1])
    gan.step.assign(7)
    assert not np.allclose(d(x, training=True).numpy(), scores[0])
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(gan))
    restored.step.assign(1)
    np.testing.assert_array_equal(restored.discriminator.get_layer("phase_shuffle_1").shifts(
        restored.discriminator.get_layer("phase_key")(x)).numpy(), later)
