"""The ADA pipeline against independent computations (SciPy's affine resampling, closed-form
colour maps), its probability gate, differentiability, and the p heuristic."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage, special

from tfgen.models import ada


def _u(batch, values: dict, fill=0.999):
    """u with the gate of every operation closed (fill) except the given columns."""
    u = np.full((batch, ada.NUM_RANDOM), fill, np.float32)
    for op, cols in values.items():
        for i, v in enumerate(cols):
            u[:, ada._OFFSET[op] + i] = v
    return tf.constant(u)


def _images(shape, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32))


def test_probability_zero_is_the_identity():
    """At p = 0 (where ADA starts) the pipeline gives the images and their gradient exactly
    (bilinear weights 1 and 0, identity colour matrix): a model with ADA at p = 0 trains as one
    without it."""
    x = _images((4, 8, 8, 3))
    u = tf.random.stateless_uniform([4, ada.NUM_RANDOM], seed=[0, 1])
    weights = tf.random.stateless_normal(x.shape, seed=[2, 3])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = ada.augment(x, tf.constant(0.0), u, ada.parse_ops("blit,geom,color,cutout"))
        loss = tf.reduce_sum(out * weights)
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), weights.numpy())


def test_blit_operations_move_pixels_exactly():
    x = _images((1, 6, 6, 2))
    one = tf.constant(1.0)
    flipped = ada.augment(x, one, _u(1, {"xflip": [0.0, 0.9]}), ("xflip",))
    np.testing.assert_allclose(flipped.numpy(), x.numpy()[:, :, ::-1], atol=1e-6)
    turned = ada.augment(x, one, _u(1, {"rotate90": [0.0, 0.3]}), ("rotate90",))  # k = 1
    np.testing.assert_allclose(turned.numpy()[0], np.rot90(x.numpy()[0], 1, axes=(0, 1)),
                               atol=1e-5)
    # Integer translation: (2·0.9 - 1)·0.125·6 = 0.6 -> 1 pixel right, 1 up (u = 0.1),
    # mirrored at the border.
    moved = ada.augment(x, one, _u(1, {"xint": [0.0, 0.9, 0.1]}), ("xint",)).numpy()[0]
    rows = np.array([1, 2, 3, 4, 5, 4])  # output row r reads r + 1, mirrored
    cols = np.array([1, 0, 1, 2, 3, 4])  # output col c reads c - 1, mirrored
    np.testing.assert_allclose(moved, x.numpy()[0][rows][:, cols], atol=1e-6)


def test_geometric_pipeline_equals_scipy_affine_resampling():
    """Random blit + geom parameters at p = 1: each example equals SciPy's order-1 affine
    resampling with mirrored borders, given the same matrix."""
    x = _images((6, 9, 7, 2), seed=1)
    u = tf.random.stateless_uniform([6, ada.NUM_RANDOM], seed=[3, 4])
    ops = ada.parse_ops("blit,geom")
    p = tf.constant(1.0)
    out = ada.augment(x, p, u, ops).numpy()
    matrix = ada.geometric_matrix(u, p, ops, 9, 7).numpy()
    for b in range(6):
        g = matrix[b]
        # Ours maps centred (x, y); SciPy maps array indices (row, col).
        m = np.array([[g[1, 1], g[1, 0]], [g[0, 1], g[0, 0]]])
        t = np.array([g[1, 2], g[0, 2]])
        c = np.array([(9 - 1) / 2, (7 - 1) / 2])
        offset = c - m @ c + t
        for ch in range(2):
            ref = ndimage.affine_transform(x.numpy()[b, :, :, ch].astype(np.float64), m,
                                           offset=offset, order=1, mode="mirror")
            np.testing.assert_allclose(out[b, :, :, ch], ref, atol=2e-5, err_msg=f"example {b}")
    # Not the identity: the draw moved pixels.
    assert np.abs(out - x.numpy()).max() > 0.1


def test_colour_operations_follow_their_formulas():
    x = _images((1, 4, 4, 3), seed=2)
    one = tf.constant(1.0)
    n = float(special.ndtri(0.8))
    bright = ada.augment(x, one, _u(1, {"brightness": [0.0, 0.8]}), ("brightness",))
    np.testing.assert_allclose(bright.numpy(), x.numpy() + 0.2 * n, atol=1e-5)
    contrast = ada.augment(x, one, _u(1, {"contrast": [0.0, 0.8]}), ("contrast",))
    np.testing.assert_allclose(contrast.numpy(), x.numpy() * 2 ** (0.5 * n), atol=1e-5)
    sat = ada.augment(x, one, _u(1, {"saturation": [0.0, 0.8]}), ("saturation",)).numpy()
    mean = x.numpy().mean(-1, keepdims=True)
    np.testing.assert_allclose(sat, mean + 2 ** n * (x.numpy() - mean), atol=1e-5)
    # Hue: a rotation about the grey axis keeps each pixel's mean and its distance from grey.
    hue = ada.augment(x, one, _u(1, {"hue": [0.0, 0.3]}), ("hue",)).numpy()
    np.testing.assert_allclose(hue.mean(-1), mean[..., 0], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(hue - hue.mean(-1, keepdims=True), axis=-1),
                               np.linalg.norm(x.numpy() - mean, axis=-1), atol=1e-5)
    assert np.abs(hue - x.numpy()).max() > 0.05
    # Luma flip on grey images negates them (the paper's 1-channel rule).
    grey = _images((1, 4, 4, 1), seed=3)
    flipped = ada.augment(grey, one, _u(1, {"lumaflip": [0.0, 0.9]}), ("lumaflip",))
    np.testing.assert_allclose(flipped.numpy(), -grey.numpy(), atol=1e-6)


def test_cutout_zeroes_a_quarter_of_the_image():
    x = tf.ones([1, 8, 8, 1])
    out = ada.augment(x, tf.constant(1.0), _u(1, {"cutout": [0.0, 0.5, 0.5]}), ("cutout",))
    assert (out.numpy() == 0).sum() == 16


def test_gate_applies_each_operation_with_probability_p():
    x = _images((4000, 4, 4, 1), seed=4)
    u = tf.random.stateless_uniform([4000, ada.NUM_RANDOM], seed=[5, 6])
    out = ada.augment(x, tf.constant(0.3), u, ("contrast",)).numpy()
    changed = np.abs(out - x.numpy()).max(axis=(1, 2, 3)) > 1e-6
    assert abs(changed.mean() - 0.3) < 0.03


def test_pipeline_is_differentiable_in_the_image():
    x = _images((3, 8, 8, 3), seed=5)
    u = tf.random.stateless_uniform([3, ada.NUM_RANDOM], seed=[7, 8])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.square(ada.augment(x, tf.constant(1.0), u, ada.parse_ops(
            "blit,geom,color,cutout"))))
    g = tape.gradient(y, x).numpy()
    assert np.isfinite(g).all() and np.abs(g).sum() > 0


def test_adjust_probability_follows_the_heuristic():
    # r_t = 40 / 64 = 0.625 > 0.6: p rises by 64 / (500 · 1000).
    p, rt = ada.adjust_probability(0.1, 40.0, 64.0, target=0.6, kimg=500)
    assert float(rt) == pytest.approx(0.625)
    assert float(p) == pytest.approx(0.1 + 64 / 500_000)
    p, _ = ada.adjust_probability(0.0, -10.0, 64.0, target=0.6, kimg=500)
    assert float(p) == 0.0  # clipped at 0
    p, _ = ada.adjust_probability(0.99999, 64.0, 64.0, target=0.6, kimg=0.001)
    assert float(p) == 1.0  # and at 1


def test_unknown_operation_is_named():
    with pytest.raises(ValueError, match="'warp'.*blit"):
        ada.parse_ops("blit,warp")
    assert ada.parse_ops("color,xflip") == ("xflip", "brightness", "contrast", "lumaflip",
                                            "hue", "saturation")
