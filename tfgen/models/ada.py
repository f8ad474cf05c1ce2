"""Adaptive discriminator augmentation (ADA, Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data").

Every image the discriminator sees -- real, generated, and the reals of R1 -- goes through the
same pipeline; each of its operations is applied to an example with probability `p`, and `p` is
adjusted during training from an overfitting heuristic (see `adjust_probability`). As long as
p < ~0.8 the augmentations do not leak into the generator: it cannot tell which of its samples
were augmented, so it still learns the clean distribution.

Images are expected in [-1, 1], as in the paper (contrast, luma flip, hue and saturation act
about 0, mid-grey; cutout writes 0); `tfgen.ingredients.ada.ADA` refuses colour and cutout on [0, 1] data.

The operations and their strengths are the paper's defaults (its 'bgc' pipeline plus cutout):

- blit: x-flip (¹/₂ of the gated examples), rotations by multiples of 90°, integer translation
  by up to 0.125 of the image size;
- geom: isotropic scaling 2^N(0, 0.2²), rotation U(-π, π) before and after anisotropic scaling
  (each with probability 1 - √(1 - p), so that one of them happens with probability p),
  anisotropic scaling 2^N(0, 0.2²), fractional translation N(0, 0.125²) of the size;
- color: brightness + N(0, 0.2²), contrast × 2^N(0, 0.5²), luma flip (¹/₂), hue rotation
  U(-π, π) about the luma axis, saturation × 2^N(0, 1) (hue and saturation on RGB only);
- cutout: a square of half the image size, centred uniformly, set to zero.

All geometric operations compose into one affine map per example, executed by one bilinear
resampling with reflection at the borders (the paper resamples through a 2× upsampling with a
wavelet low-pass filter, which aliases less at large scales; at 28-64 pixels we resample
directly). Blit operations land on integer pixel positions, so they move pixels exactly.
The colour operations compose into one 4×4 matrix on (r, g, b, 1), as in the paper.

Everything is differentiable in the image (the generator's gradient passes through), and the
randomness comes in as `u`, one row of `NUM_RANDOM` uniform numbers per example, drawn by the
model from its seeded per-replica streams: the pipeline is a pure function.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfgen.ingredients.ada import DEFAULT, GROUPS, OPS, parse_ops  # noqa: F401 (handed on)

# Columns of `u` each operation reads (a gate, then its parameters), at fixed offsets: an
# operation draws the same numbers whichever others are enabled.
_WIDTH = {"xflip": 2, "rotate90": 2, "xint": 3, "scale": 2, "rotate": 4, "aniso": 2, "xfrac": 3,
          "brightness": 2, "contrast": 2, "lumaflip": 2, "hue": 2, "saturation": 2, "cutout": 3}
_OFFSET = {}
_offset = 0
for _op in OPS:
    _OFFSET[_op] = _offset
    _offset += _WIDTH[_op]
NUM_RANDOM = _offset

XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD, CUTOUT_SIZE = 0.2, 0.5, 1.0, 1.0, 0.5


def _columns(u, op):
    start = _OFFSET[op]
    return [u[:, start + i] for i in range(_WIDTH[op])]


def _gate(u_gate, p, value, identity):
    """`value` where the example is augmented (u < p), else `identity`."""
    return tf.where(u_gate < p, value, tf.fill(tf.shape(value), identity))


def _normal(u):
    """N(0, 1) from U(0, 1) by the inverse CDF (keeps all randomness in `u`)."""
    return tf.math.ndtri(tf.clip_by_value(u, 1e-6, 1.0 - 1e-6))


def _exp2(v):
    return tf.exp(v * math.log(2.0))


def _matrix(rows):
    """[[a, b, c], ...] of [B] tensors (or floats) -> [B, n, n]."""
    batch = next(tf.shape(v)[0] for row in rows for v in row if isinstance(v, tf.Tensor))
    cols = [[v if isinstance(v, tf.Tensor) else tf.fill([batch], float(v)) for v in row]
            for row in rows]
    return tf.stack([tf.stack(row, axis=-1) for row in cols], axis=-2)


def _scale2d(sx, sy):
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]])


def _rotate2d(theta):
    c, s = tf.cos(theta), tf.sin(theta)
    return _matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _translate2d(tx, ty):
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]])


def geometric_matrix(u, p, ops, height: int, width: int) -> tf.Tensor | None:
    """[B, 3, 3] maps output pixel -> input pixel (centred coordinates), or None when no
    geometric operation is enabled. Composed as in the paper (G⁻¹ multiplied on the right)."""
    steps = []
    if "xflip" in ops:
        g, v = _columns(u, "xflip")
        steps.append(_scale2d(1.0 - 2.0 * _gate(g, p, tf.floor(v * 2.0), 0.0), 1.0))
    if "rotate90" in ops:
        g, v = _columns(u, "rotate90")
        steps.append(_rotate2d(math.pi / 2 * _gate(g, p, tf.floor(v * 4.0), 0.0)))
    if "xint" in ops:
        g, tx, ty = _columns(u, "xint")
        tx = _gate(g, p, tf.round((2.0 * tx - 1.0) * XINT_MAX * width), 0.0)
        ty = _gate(g, p, tf.round((2.0 * ty - 1.0) * XINT_MAX * height), 0.0)
        steps.append(_translate2d(-tx, -ty))
    if "scale" in ops:
        g, v = _columns(u, "scale")
        s = _gate(g, p, _exp2(_normal(v) * SCALE_STD), 1.0)
        steps.append(_scale2d(1.0 / s, 1.0 / s))
    p_rot = 1.0 - tf.sqrt(tf.clip_by_value(1.0 - p, 0.0, 1.0))  # P(pre or post) = p
    if "rotate" in ops:
        g, v, _, _ = _columns(u, "rotate")
        steps.append(_rotate2d(_gate(g, p_rot, (2.0 * v - 1.0) * math.pi * ROTATE_MAX, 0.0)))
    if "aniso" in ops:
        g, v = _columns(u, "aniso")
        s = _gate(g, p, _exp2(_normal(v) * ANISO_STD), 1.0)
        steps.append(_scale2d(1.0 / s, s))
    if "rotate" in ops:
        _, _, g, v = _columns(u, "rotate")
        steps.append(_rotate2d(_gate(g, p_rot, (2.0 * v - 1.0) * math.pi * ROTATE_MAX, 0.0)))
    if "xfrac" in ops:
        g, tx, ty = _columns(u, "xfrac")
        tx = _gate(g, p, _normal(tx) * XFRAC_STD * width, 0.0)
        ty = _gate(g, p, _normal(ty) * XFRAC_STD * height, 0.0)
        steps.append(_translate2d(-tx, -ty))
    if not steps:
        return None
    out = steps[0]
    for m in steps[1:]:
        out = tf.matmul(out, m)
    return out


def _reflect(coord, size: int):
    """Mirror a pixel coordinate into [0, size - 1] (reflection about the edge pixels)."""
    if size == 1:
        return tf.zeros_like(coord)
    period = 2.0 * (size - 1)
    coord = tf.math.floormod(coord, period)
    return (size - 1) - tf.abs(coord - (size - 1))


def resample(x: tf.Tensor, matrix: tf.Tensor) -> tf.Tensor:
    """Bilinear resampling of images x [B, H, W, C]: output pixel q takes the input at
    matrix·q (centred pixel coordinates), reflected into the image."""
    b, h, w, c = tf.shape(x)[0], x.shape[1], x.shape[2], x.shape[3]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = tf.meshgrid(tf.range(h, dtype=tf.float32) - cy, tf.range(w, dtype=tf.float32) - cx,
                         indexing="ij")
    grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([h * w])])  # [3, HW]
    src = tf.einsum("bij,jn->bin", matrix, grid)  # [B, 3, HW]
    sx = _reflect(src[:, 0] + cx, w)
    sy = _reflect(src[:, 1] + cy, h)
    x0, y0 = tf.floor(sx), tf.floor(sy)
    wx, wy = sx - x0, sy - y0
    x0 = tf.cast(x0, tf.int32)
    y0 = tf.cast(y0, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, w - 1), tf.minimum(y0 + 1, h - 1)
    flat = tf.reshape(x, [b, h * w, c])

    def at(yi, xi):
        return tf.gather(flat, yi * w + xi, axis=1, batch_dims=1)

    wx, wy = wx[..., None], wy[..., None]
    out = ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1))
           + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1)))
    return tf.reshape(out, [b, h, w, c])


def color_matrix(u, p, ops, channels: int) -> tf.Tensor | None:
    """[B, 4, 4] acting on (r, g, b, 1), or None when no colour operation is enabled."""
    steps = []
    luma = tf.constant([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3.0)
    vv = luma[:, None] * luma[None, :]
    eye = tf.eye(4)
    w = tf.constant([[0.0] * 4] * 3 + [[0.0, 0.0, 0.0, 1.0]])  # the homogeneous coordinate
    if "brightness" in ops:
        g, v = _columns(u, "brightness")
        b = _gate(g, p, _normal(v) * BRIGHTNESS_STD, 0.0)
        steps.append(_matrix([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]]))
    if "contrast" in ops:
        g, v = _columns(u, "contrast")
        c = _gate(g, p, _exp2(_normal(v) * CONTRAST_STD), 1.0)
        steps.append(_matrix([[c, 0, 0, 0], [0, c, 0, 0], [0, 0, c, 0], [0, 0, 0, 1]]))
    if "lumaflip" in ops:
        g, v = _columns(u, "lumaflip")
        i = _gate(g, p, tf.floor(v * 2.0), 0.0)[:, None, None]
        steps.append(eye - 2.0 * vv * i)  # Householder reflection
    if "hue" in ops and channels > 1:
        g, v = _columns(u, "hue")
        theta = _gate(g, p, (2.0 * v - 1.0) * math.pi * HUE_MAX, 0.0)[:, None, None]
        # Rotation about the luma axis (Rodrigues): vvᵀ + cos θ (I - vvᵀ) + sin θ [v]ₓ on
        # (r, g, b); the homogeneous coordinate stays 1.
        a = 1.0 / math.sqrt(3.0)
        cross = tf.constant([[0.0, -a, a, 0.0], [a, 0.0, -a, 0.0], [-a, a, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0]])
        steps.append(vv + tf.cos(theta) * (eye - vv - w) + tf.sin(theta) * cross + w)
    if "saturation" in ops and channels > 1:
        g, v = _columns(u, "saturation")
        s = _gate(g, p, _exp2(_normal(v) * SATURATION_STD), 1.0)[:, None, None]
        steps.append(vv + (eye - vv - w) * s + w)
    if not steps:
        return None
    out = steps[0]
    for m in steps[1:]:
        out = tf.matmul(m, out)  # C = step @ C
    return out


def apply_color(x: tf.Tensor, matrix: tf.Tensor) -> tf.Tensor:
    """x [B, H, W, C] (C = 3: the matrix on (r, g, b, 1); C = 1: as the paper, the mean of its
    rows on a grey value g = (g, g, g))."""
    channels = x.shape[-1]
    if channels == 3:
        return tf.einsum("bij,bhwj->bhwi", matrix[:, :3, :3], x) + matrix[:, None, None, :3, 3]
    if channels == 1:
        rows = tf.reduce_mean(matrix[:, :3, :], axis=1)  # [B, 4]
        gain = tf.reduce_sum(rows[:, :3], axis=1)
        return x * gain[:, None, None, None] + rows[:, 3][:, None, None, None]
    raise ValueError(f"ADA colour operations need 1 or 3 channels, got {channels}")


def cutout(x: tf.Tensor, u, p) -> tf.Tensor:
    """Zero a square of CUTOUT_SIZE × the image size centred at a uniform position."""
    h, w = x.shape[1], x.shape[2]
    g, cx, cy = _columns(u, "cutout")
    size = _gate(g, p, tf.fill(tf.shape(g), CUTOUT_SIZE), 0.0)
    ys = (tf.range(h, dtype=tf.float32) + 0.5) / h
    xs = (tf.range(w, dtype=tf.float32) + 0.5) / w
    out_y = tf.abs(ys[None, :] - cy[:, None]) >= size[:, None] / 2  # [B, H]
    out_x = tf.abs(xs[None, :] - cx[:, None]) >= size[:, None] / 2  # [B, W]
    keep = tf.logical_or(out_y[:, :, None], out_x[:, None, :])
    return x * tf.cast(keep, x.dtype)[..., None]


def augment(x: tf.Tensor, p, u: tf.Tensor, ops: tuple[str, ...]) -> tf.Tensor:
    """The ADA pipeline on images x [B, H, W, C] with probability `p` (a scalar tensor) per
    operation and example; `u` [B, NUM_RANDOM] uniform numbers. Runs in float32; returns
    x's dtype."""
    dtype = x.dtype
    x = tf.cast(x, tf.float32)
    u = tf.cast(u, tf.float32)
    p = tf.cast(p, tf.float32)
    geometric = geometric_matrix(u, p, ops, x.shape[1], x.shape[2])
    if geometric is not None:
        x = resample(x, geometric)
    colour = color_matrix(u, p, ops, x.shape[-1])
    if colour is not None:
        x = apply_color(x, colour)
    if "cutout" in ops:
        x = cutout(x, u, p)
    return tf.cast(x, dtype)


def adjust_probability(p, sign_sum, count, target: float, kimg: float):
    """The ADA heuristic: r_t = E[sign(D(x_real))] over the `count` real images since the last
    adjustment (`sign_sum` = Σ sign D); p ← clip(p + sign(r_t - target) · count / (kimg · 1000),
    0, 1), so p can go from 0 to 1 in `kimg` thousand images. Returns (p, r_t)."""
    count = tf.maximum(tf.cast(count, tf.float32), 1.0)
    rt = tf.cast(sign_sum, tf.float32) / count
    step = tf.sign(rt - target) * count / (kimg * 1000.0)
    return tf.clip_by_value(tf.cast(p, tf.float32) + step, 0.0, 1.0), rt
