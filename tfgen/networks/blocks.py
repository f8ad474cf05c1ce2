"""Pieces every network shares: inputs with optional labels, the projection head, norms."""

from __future__ import annotations

import keras
from keras import layers, ops
from keras.src.backend import AutocastScope  # what Layer.__call__ itself uses; no public name

OUTPUT_ACTIVATIONS = {"symmetric": "tanh", "unit": "sigmoid", None: None}


@keras.saving.register_keras_serializable(package="tfgen")
class SpectralNormalization(layers.SpectralNormalization):
    """Keras's spectral normalisation with its power iteration and kernel update in the
    variables' dtype (float32) under mixed precision.

    Keras's layer reads the float32 kernel autocast to the compute dtype, divides it by sigma
    there and assigns the result back: under mixed_bfloat16 every training call rounded the
    discriminator's float32 kernel to bfloat16's 8-bit mantissa, so optimizer updates below half
    a bfloat16 ulp (Adam at 2e-4 on weights of ~0.05: 0.4% of the weight against bfloat16's 0.4%
    spacing) were lost, and sigma came from bfloat16 products. Here the read-modify-write runs in
    float32; only the wrapped layer's own matmul/conv runs in the compute dtype."""

    def call(self, inputs, training=False):
        if training:
            with AutocastScope(None):  # variables read as stored (float32)
                new_u, new_kernel = ops.cond(
                    ops.all(ops.equal(self.kernel.value, 0)),
                    lambda: (self.vector_u.value, self.kernel.value),
                    self.normalized_weights,
                )
                self.vector_u.assign(new_u)
                self.kernel.assign(new_kernel)
        return ops.cast(self.layer(inputs), inputs.dtype)


def sn(layer: layers.Layer, spectral_norm: bool) -> layers.Layer:
    return SpectralNormalization(layer) if spectral_norm else layer


def bn() -> layers.Layer:
    # Synchronised across replicas: batch statistics are those of the global batch, so training
    # on N replicas computes what one device would.
    return layers.BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5)


def latent_inputs(latent_dim: int, num_classes: int | None, embed_dim: int):
    z = keras.Input((latent_dim,), name="z")
    if num_classes is None:
        return [z], z
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = layers.Embedding(num_classes, embed_dim, name="label_embedding")(labels)
    return [z, labels], layers.Concatenate()([z, embedded])


def sample_inputs(shape: tuple[int, ...], num_classes: int | None):
    x = keras.Input(shape, name="x")
    if num_classes is None:
        return [x], x, None
    labels = keras.Input((), dtype="int32", name="labels")
    return [x, labels], x, labels


def unwrap(inputs: list):
    return inputs[0] if len(inputs) == 1 else inputs


def projection_head(features, labels, num_classes: int | None, spectral_norm: bool):
    """Linear score plus, when conditional, the projection <embed(y), φ(x)> (Miyato & Koyama 2018)."""
    score = sn(layers.Dense(1, dtype="float32", name="score"), spectral_norm)(features)
    if num_classes is None:
        return score
    width = features.shape[-1]
    embedded = layers.Embedding(num_classes, width, name="projection")(labels)
    projection = layers.Dot(axes=1, dtype="float32")([embedded, features])
    return layers.Add(dtype="float32")([score, projection])


def with_labels(h, labels, num_classes: int | None, embed_dim: int = 16):
    if num_classes is None:
        return h
    embedded = layers.Embedding(num_classes, embed_dim, name="label_embedding_enc")(labels)
    return layers.Concatenate()([h, embedded])
