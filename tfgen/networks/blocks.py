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


@keras.saving.register_keras_serializable(package="tfgen")
class BatchNormalization(layers.BatchNormalization):
    """Keras's batch normalisation, with TensorFlow's fused kernel for training on one replica.

    Keras computes the moments, the normalisation and their gradients as a dozen separate
    float32 ops (casting 16-bit activations up and down): in a bfloat16 DCGAN step that was 24%
    of the op time, as much as in float32 (BENCHMARKS.md, "Where the step's time goes"). On 4-D
    channels-last inputs in training on a single replica, this layer runs one FusedBatchNormV3
    forward and one gradient op instead (oneDNN's on CPU: 16-bit activations, float32 statistics,
    scale and offset). Same mathematics: the batch's biased variance normalises and feeds the
    moving average as in Keras (the fused op's Bessel-corrected output is scaled back); tested
    against Keras's layer to float32 rounding (outputs, gradients, moving statistics). Several replicas
    (global-batch statistics, `synchronized=True`), masks and inference take Keras's path."""

    def call(self, inputs, training=None, mask=None):
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if (not training or not self.trainable or mask is not None or len(inputs.shape) != 4
                or self.axis not in (-1, 3) or replicas != 1 or not self.scale
                or not self.center or inputs.dtype not in (tf.float32, tf.bfloat16, tf.float16)):
            return super().call(inputs, training=training, mask=mask)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32),
            epsilon=self.epsilon, data_format="NHWC", is_training=True)
        n = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), tf.float32)
        variance = variance * (n - 1.0) / n  # the fused op returns the unbiased variance
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum
                                    + variance * (1.0 - momentum))
        return tf.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package="tfgen")
class Dropout(layers.Dropout):
    """Keras's dropout, with its masks drawn from a VAE's stateless noise once the VAE holds
    the network (`GenerativeModel.bind_dropout` binds each such layer of its networks to a
    stream of its own): the mask of row i at step t is a function of (seed, t, stream, i's row in the
    global batch), so one and N replicas drop the same units of the same example, and a resumed
    run draws what the uninterrupted run drew (the step counter stays the only random state).
    Unbound (a network used on its own) it is Keras's layer, with Keras's random state."""

    def bind_noise(self, draw) -> None:
        """Draw the masks with `draw(rows, shape)`: U[0, 1) numbers [rows, *shape]."""
        if self.noise_shape is not None:
            raise ValueError("a bound tfgen Dropout draws per-value masks: noise_shape unsupported")
        object.__setattr__(self, "_draw", draw)  # a function, not state to track or save

    def call(self, inputs, training=False):
        draw = getattr(self, "_draw", None)
        if not training or self.rate == 0 or draw is None:
            return super().call(inputs, training=training)
        keep = draw(ops.shape(inputs)[0], tuple(ops.shape(inputs)[1:])) >= self.rate
        kept = inputs / ops.cast(1.0 - self.rate, inputs.dtype)
        return ops.where(keep, kept, ops.zeros_like(inputs))


def dropout(h, rate: float):
    """`Dropout(rate)` applied to h, or h itself when rate is 0."""
    return Dropout(rate)(h) if rate > 0 else h


def bn() -> layers.Layer:
    # Synchronised across replicas: batch statistics are those of the global batch, so training
    # on N replicas computes what one device would (one replica: the fused kernel).
    return BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5)


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
