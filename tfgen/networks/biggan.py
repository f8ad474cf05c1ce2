"""BigGAN-style networks (Brock et al. 2019) for small square images (28×28, 32×32, 64×64).

Generator: the latent z is split into one chunk per block plus one for the input layer
(hierarchical latent); each residual up-block normalises with class-conditional batch norm whose
gain and bias come from [shared class embedding, the block's z chunk]; a self-attention block
(SAGAN, Zhang et al. 2019) at `attention` resolution; BN → ReLU → 3×3 conv → tanh. Spectral
norm in both networks (as BigGAN). Discriminator: residual down-blocks (SNGAN's), self-attention
at the same resolution, ReLU, global sum pooling, and the projection head (Miyato & Koyama 2018).
Batch norm is synchronised across replicas (global-batch statistics), as tfgen's `bn()`.

`OrthogonalRegularizer` is BigGAN's off-diagonal orthogonal regularisation, for the generator's
kernels (`orthogonal=β`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from tfgen.networks.blocks import (
    OUTPUT_ACTIVATIONS,
    bn,
    projection_head,
    sample_inputs,
    sn,
    unwrap,
)
from tfgen.networks.conv import check_image_shape, num_upsamplings
from tfgen.networks.resnet import _res_down


@keras.saving.register_keras_serializable(package="tfgen")
class OrthogonalRegularizer(keras.regularizers.Regularizer):
    """BigGAN's orthogonal regularisation: β‖WᵀW ⊙ (1 − I)‖²_F, with W the kernel reshaped to
    [fan_in, filters] -- the filters are pushed towards orthogonality without constraining their
    norms (Brock et al. 2019, section 3.1; β = 1e-4 there)."""

    def __init__(self, beta: float = 1e-4):
        self.beta = float(beta)

    def __call__(self, kernel):
        w = ops.reshape(ops.cast(kernel, "float32"), (-1, kernel.shape[-1]))
        gram = ops.matmul(ops.transpose(w), w)
        off = gram * (1.0 - ops.eye(gram.shape[0]))
        return self.beta * ops.sum(ops.square(off))

    def get_config(self):
        return {"beta": self.beta}


@keras.saving.register_keras_serializable(package="tfgen")
class LatentChunks(layers.Layer):
    """Split z [B, d] into chunks of the given sizes (BigGAN's hierarchical latent)."""

    def __init__(self, sizes, **kwargs):
        super().__init__(**kwargs)
        self.sizes = [int(s) for s in sizes]

    def call(self, z):
        return ops.split(z, np.cumsum(self.sizes)[:-1].tolist(), axis=-1)

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], s) for s in self.sizes]

    def get_config(self):
        return {**super().get_config(), "sizes": self.sizes}


@keras.saving.register_keras_serializable(package="tfgen")
class ConditionalBatchNormalization(layers.Layer):
    """Class-conditional batch norm (de Vries et al. 2017; BigGAN): y = BN(x)·(1 + γ(c)) + β(c),
    with γ and β linear maps of the conditioning vector c (zero at initialisation, so the layer
    starts as plain batch norm); the statistics are the global batch's under several replicas.

    Called on [x, c] with x [B, H, W, C], c [B, k]."""

    def __init__(self, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = spectral_norm

    def build(self, input_shapes):
        x_shape, c_shape = input_shapes
        channels = x_shape[-1]
        self.norm = bn()
        self.norm.build(x_shape)
        self.gain = sn(layers.Dense(channels, kernel_initializer="zeros", name="gain"),
                       self.spectral_norm)
        self.bias = sn(layers.Dense(channels, kernel_initializer="zeros", name="bias"),
                       self.spectral_norm)
        self.gain.build(c_shape)
        self.bias.build(c_shape)

    def call(self, inputs, training=None):
        x, c = inputs
        h = self.norm(x, training=training)
        gain = ops.cast(self.gain(c, training=training), h.dtype)[:, None, None, :]
        bias = ops.cast(self.bias(c, training=training), h.dtype)[:, None, None, :]
        return h * (1.0 + gain) + bias

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


@keras.saving.register_keras_serializable(package="tfgen")
class SelfAttention(layers.Layer):
    """SAGAN's self-attention block: x + γ·o, o = W_o((softmax(θ(x) φ(x)ᵀ)) g(x)), with 1×1
    convolutions θ, φ (C/8 channels), g (C/2), W_o (C), φ and g max-pooled 2×2 (BigGAN's
    variant), γ learned from 0 (the block starts as the identity). Softmax in float32."""

    def __init__(self, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = spectral_norm

    def build(self, input_shape):
        c = input_shape[-1]
        conv = lambda n, name: sn(layers.Conv2D(n, 1, use_bias=False, name=name),  # noqa: E731
                                  self.spectral_norm)
        self.theta, self.phi = conv(max(1, c // 8), "theta"), conv(max(1, c // 8), "phi")
        self.g, self.out = conv(max(1, c // 2), "g"), conv(c, "o")
        for layer in (self.theta, self.phi, self.g):
            layer.build(input_shape)
        self.out.build((*input_shape[:-1], max(1, c // 2)))
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, x, training=None):
        h, w = x.shape[1], x.shape[2]
        pool = lambda t: ops.max_pool(t, 2, 2)  # noqa: E731
        theta = self.theta(x, training=training)
        phi = pool(self.phi(x, training=training))
        g = pool(self.g(x, training=training))
        theta = ops.reshape(theta, (-1, h * w, theta.shape[-1]))
        phi = ops.reshape(phi, (-1, (h // 2) * (w // 2), phi.shape[-1]))
        g = ops.reshape(g, (-1, (h // 2) * (w // 2), g.shape[-1]))
        logits = ops.matmul(ops.cast(theta, "float32"),
                            ops.transpose(ops.cast(phi, "float32"), (0, 2, 1)))
        attention = ops.cast(ops.softmax(logits, axis=-1), g.dtype)
        o = ops.reshape(ops.matmul(attention, g), (-1, h, w, g.shape[-1]))
        o = self.out(o, training=training)
        return x + ops.cast(self.gamma, x.dtype) * ops.cast(o, x.dtype)

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


def _chunk_sizes(latent_dim: int, chunks: int) -> list[int]:
    if latent_dim < chunks:
        raise ValueError(f"the BigGAN generator splits z into {chunks} chunks: latent_dim must "
                         f"be >= {chunks}, got {latent_dim}")
    return [len(part) for part in np.array_split(np.arange(latent_dim), chunks)]


def _g_block(x, cond, channels: int, spectral_norm: bool, regularizer):
    # Every convolution here feeds a batch norm, which removes per-channel constants: no biases
    # (their gradient is rounding noise, which Adam would turn into full-size steps).
    conv = lambda n, k: sn(layers.Conv2D(  # noqa: E731
        n, k, padding="same", use_bias=False, kernel_regularizer=regularizer), spectral_norm)
    h = layers.ReLU()(ConditionalBatchNormalization(spectral_norm)([x, cond]))
    h = layers.UpSampling2D()(h)
    h = conv(channels, 3)(h)
    h = layers.ReLU()(ConditionalBatchNormalization(spectral_norm)([h, cond]))
    h = conv(channels, 3)(h)
    return layers.Add()([h, conv(channels, 1)(layers.UpSampling2D()(x))])


def _attention_at(size: int, attention: int | None) -> int | None:
    return attention if attention is not None else size // 2


def biggan_generator(
    latent_dim: int, image_shape: tuple[int, ...], width: int = 64,
    num_classes: int | None = None, output: str | None = "symmetric", embed_dim: int = 64,
    attention: int | None = None, spectral_norm: bool = True, orthogonal: float = 0.0,
    name: str = "generator",
) -> keras.Model:
    """BigGAN-style generator for square images of size s·2^k (28 = 7·4, 32 = 4·8, 64 = 4·16).

    Args:
        latent_dim: size of z, split into k + 1 chunks (one per block and the input layer).
        image_shape: (H, W, C).
        width: base channels; block j (of k) has width·2^(k-j) channels.
        num_classes: class-conditional with a shared class embedding (None: the blocks
            condition on their z chunk only).
        output: "symmetric" (tanh), "unit" (sigmoid) or None.
        embed_dim: size of the shared class embedding.
        attention: resolution of the self-attention block (default: size / 2; 0: none).
        spectral_norm: spectral normalisation of the generator's layers (BigGAN: yes).
        orthogonal: β of the orthogonal regularisation of the kernels (0: off).
    """
    size, channels = check_image_shape(image_shape)
    k = num_upsamplings(size)
    start = size // 2**k
    attention = _attention_at(size, attention)
    regularizer = OrthogonalRegularizer(orthogonal) if orthogonal > 0 else None
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    chunks = LatentChunks(_chunk_sizes(latent_dim, k + 1), name="latent_chunks")(z)
    shared = None
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
        shared = layers.Embedding(num_classes, embed_dim, name="shared_embedding")(labels)
    h = sn(layers.Dense(start * start * width * 2**k, use_bias=False,
                        kernel_regularizer=regularizer), spectral_norm)(chunks[0])
    h = layers.Reshape((start, start, width * 2**k))(h)
    for j in range(1, k + 1):
        cond = chunks[j] if shared is None else layers.Concatenate()([shared, chunks[j]])
        h = _g_block(h, cond, width * 2 ** (k - j), spectral_norm, regularizer)
        if h.shape[1] == attention:
            h = SelfAttention(spectral_norm)(h)
    h = layers.ReLU()(bn()(h))
    out = sn(layers.Conv2D(channels, 3, padding="same", kernel_regularizer=regularizer,
                           name="to_image"), spectral_norm)(h)
    out = layers.Activation(OUTPUT_ACTIVATIONS[output], dtype="float32", name="out")(out)
    return keras.Model(unwrap(inputs), out, name=name)


def biggan_discriminator(
    image_shape: tuple[int, ...], width: int = 64, num_classes: int | None = None,
    spectral_norm: bool = True, attention: int | None = None, name: str = "discriminator",
) -> keras.Model:
    """BigGAN-style discriminator: k residual down-blocks (width·2^j channels) to the start
    resolution, self-attention at `attention` (default size / 2), one more block, ReLU, global
    sum pooling, the projection head."""
    size, _ = check_image_shape(image_shape)
    k = num_upsamplings(size)
    attention = _attention_at(size, attention)
    inputs, h, labels = sample_inputs(tuple(image_shape), num_classes)
    for j in range(k):
        h = _res_down(h, width * 2**j, spectral_norm, first=j == 0, down=True)
        if h.shape[1] == attention:
            h = SelfAttention(spectral_norm)(h)
    h = _res_down(h, width * 2**k, spectral_norm, first=False, down=False)
    h = layers.ReLU()(h)
    h = layers.GlobalAveragePooling2D()(h)  # × H·W below: global sum pooling
    h = layers.Rescaling(float((size // 2**k) ** 2))(h)
    return keras.Model(
        unwrap(inputs), projection_head(h, labels, num_classes, spectral_norm), name=name
    )
