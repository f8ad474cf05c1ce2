"""Network builders: shapes for every supported size, conditional inputs, serialisation."""

import keras
import numpy as np
import pytest

from tfgen import networks


@pytest.mark.parametrize("size,channels,ups", [(8, 1, 1), (28, 1, 2), (32, 3, 3), (64, 3, 4)])
def test_dcgan_sizes(size, channels, ups):
    assert networks.num_upsamplings(size) == ups
    g = networks.dcgan_generator(16, (size, size, channels), width=8)
    d = networks.dcgan_discriminator((size, size, channels), width=8)
    z = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    x = keras.ops.convert_to_numpy(g(z))
    assert x.shape == (3, size, size, channels)
    assert -1 <= x.min() and x.max() <= 1  # tanh output for [-1, 1] data
    assert keras.ops.convert_to_numpy(d(x)).shape == (3, 1)


def test_unit_range_uses_sigmoid():
    g = networks.dcgan_generator(4, (8, 8, 1), width=4, output="unit")
    x = keras.ops.convert_to_numpy(g(np.ones((2, 4), np.float32) * 50))
    assert 0 <= x.min() and x.max() <= 1


def test_resnet_32_with_spectral_norm_and_projection():
    g = networks.resnet_generator(16, (32, 32, 3), width=8, num_classes=10)
    d = networks.resnet_discriminator((32, 32, 3), width=8, num_classes=10)
    z = np.zeros((2, 16), np.float32)
    labels = np.array([1, 7], np.int32)
    x = keras.ops.convert_to_numpy(g([z, labels]))
    assert tuple(x.shape) == (2, 32, 32, 3)
    assert tuple(d([x, labels]).shape) == (2, 1)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in d.layers)
    with pytest.raises(ValueError, match="32x32"):
        networks.resnet_generator(16, (28, 28, 1))


def test_projection_discriminator_depends_on_the_label():
    d = networks.dcgan_discriminator((8, 8, 1), width=4, num_classes=3)
    x = np.random.default_rng(1).normal(size=(1, 8, 8, 1)).astype(np.float32)
    scores = [float(keras.ops.convert_to_numpy(d([x, np.array([c], np.int32)]))[0, 0])
              for c in range(3)]
    assert len(set(np.round(scores, 6))) == 3


def test_final_layers_run_in_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g = networks.dcgan_generator(4, (8, 8, 1), width=4)
        d = networks.dcgan_discriminator((8, 8, 1), width=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert g.output.dtype == "float32" and d.output.dtype == "float32"


def test_networks_round_trip_in_safe_mode(tmp_path):
    g = networks.mlp_generator(3, 2, width=8, depth=2, num_classes=4)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    inputs = [np.ones((2, 3), np.float32), np.array([0, 3], np.int32)]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(g(inputs)),
                               keras.ops.convert_to_numpy(loaded(inputs)))
