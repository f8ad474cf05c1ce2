"""Inverse autoregressive flow (IAF, Kingma et al. 2016) for VAE posteriors: MADE-masked
autoregressive steps, `iaf_flow` (a Keras model z0, context -> [z_T, log|det ∂z_T/∂z0|])."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


def made_masks(dim: int, hidden: list[int], reverse: bool = False) -> list[np.ndarray]:
    """MADE masks (Germain et al. 2015) for `dim` inputs, hidden layers of the given widths and
    `dim` outputs, as [in, out] arrays of 0/1: input d has degree d (1..dim; dim..1 if
    `reverse`), hidden unit k degree 1 + k mod (dim - 1), a connection exists where the
    receiving degree is >= the sending one (hidden) or > it (outputs). Output d therefore
    depends only on inputs of lower degree: the map is autoregressive."""
    degrees_in = np.arange(1, dim + 1)
    if reverse:
        degrees_in = degrees_in[::-1]
    degrees = [degrees_in]
    for width in hidden:
        degrees.append(1 + np.arange(width) % max(1, dim - 1))
    masks = [(degrees[i + 1][None, :] >= degrees[i][:, None]).astype(np.float32)
             for i in range(len(hidden))]
    masks.append((degrees_in[None, :] > degrees[-1][:, None]).astype(np.float32))
    return masks


@keras.saving.register_keras_serializable(package="tfgen")
class IAFStep(layers.Layer):
    """One IAF step: a MADE network (masked dense layers, ELU, the context h added to the first
    hidden layer) gives m(z) and s(z), each output d a function of z_<d only; then

        σ = sigmoid(s + forget_bias),   z' = σ ⊙ z + (1 - σ) ⊙ m,   log|det ∂z'/∂z| = Σ_d log σ_d

    (the Jacobian is triangular with diagonal σ). `forget_bias` starts σ near 1 (near the
    identity), as in the paper. Computed in float32 whatever the dtype policy.

    Call on [z, h] (or z alone when `context_dim` is 0): returns [z', log_det[..., None]]
    concatenated on the last axis.
    """

    def __init__(self, dim: int, width: int = 64, depth: int = 1, context_dim: int = 0,
                 reverse: bool = False, forget_bias: float = 2.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.dim, self.width, self.depth = int(dim), int(width), int(depth)
        self.context_dim, self.reverse = int(context_dim), bool(reverse)
        self.forget_bias = float(forget_bias)
        self.masks = made_masks(self.dim, [self.width] * self.depth, self.reverse)
        self.kernels, self.biases = [], []
        sizes = [self.dim] + [self.width] * self.depth
        for i in range(self.depth):
            self.kernels.append(self.add_weight(shape=(sizes[i], sizes[i + 1]), name=f"kernel_{i}",
                                                initializer="glorot_uniform"))
            self.biases.append(self.add_weight(shape=(sizes[i + 1],), name=f"bias_{i}",
                                               initializer="zeros"))
        self.context_kernel = (self.add_weight(shape=(self.context_dim, self.width),
                                               name="context_kernel",
                                               initializer="glorot_uniform")
                               if self.context_dim else None)
        out = self.width
        self.m_kernel = self.add_weight(shape=(out, self.dim), name="m_kernel",
                                        initializer="glorot_uniform")
        self.s_kernel = self.add_weight(shape=(out, self.dim), name="s_kernel",
                                        initializer="glorot_uniform")
        self.m_bias = self.add_weight(shape=(self.dim,), name="m_bias", initializer="zeros")
        self.s_bias = self.add_weight(shape=(self.dim,), name="s_bias", initializer="zeros")
        self.built = True

    def call(self, inputs):
        z, h = (inputs if self.context_dim else (inputs, None))
        z = ops.cast(z, "float32")
        a = z
        for i in range(self.depth):
            a = ops.matmul(a, self.kernels[i] * self.masks[i]) + self.biases[i]
            if i == 0 and h is not None:
                a = a + ops.matmul(ops.cast(h, "float32"), self.context_kernel)
            a = ops.elu(a)
        out_mask = self.masks[-1]
        m = ops.matmul(a, self.m_kernel * out_mask) + self.m_bias
        s = ops.matmul(a, self.s_kernel * out_mask) + self.s_bias + self.forget_bias
        sigma = ops.sigmoid(s)
        z_new = sigma * z + (1.0 - sigma) * m
        log_det = ops.sum(ops.log_sigmoid(s), axis=-1, keepdims=True)
        return ops.concatenate([z_new, log_det], axis=-1)

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if self.context_dim else input_shape
        return (*shape[:-1], self.dim + 1)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "width": self.width,
                "depth": self.depth, "context_dim": self.context_dim, "reverse": self.reverse,
                "forget_bias": self.forget_bias}


def iaf_flow(latent_dim: int, steps: int = 2, width: int = 64, depth: int = 1,
             context_dim: int = 0, name: str = "flow") -> keras.Model:
    """An IAF posterior flow of `steps` MADE steps, alternating the variable order: a model
    [z0, h] -> [z_T, log|det ∂z_T/∂z0|] ([batch, latent_dim + 1]; input z0 alone when
    `context_dim` is 0). With q0(z0 | x) the encoder's Gaussian, log q(z_T | x) =
    log q0(z0 | x) - log|det|. `h` is the encoder's extra context output."""
    z_in = keras.Input((latent_dim,), name="z0")
    inputs = [z_in]
    if context_dim:
        inputs.append(keras.Input((context_dim,), name="context"))
    z, log_det = z_in, None
    for i in range(steps):
        out = IAFStep(latent_dim, width, depth, context_dim, reverse=bool(i % 2),
                      name=f"iaf_{i}")([z, inputs[1]] if context_dim else z)
        z = out[:, :latent_dim]
        log_det = out[:, latent_dim:] if log_det is None else log_det + out[:, latent_dim:]
    if log_det is None:
        raise ValueError("an IAF flow needs steps >= 1")
    out = layers.Concatenate(dtype="float32", name="z_and_log_det")([z, log_det])
    return keras.Model(inputs if context_dim else z_in, out, name=name)
