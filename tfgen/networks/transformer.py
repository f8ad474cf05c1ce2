"""A small Transformer decoder for the sentence VAE: causal self-attention over the previous
tokens with z as a prefix (the first position every token attends to), as in the Transformer
VAEs of text (e.g. Li et al. 2020, "Optimus", which feeds z to GPT-2 as a memory vector).

It has `FrameDecoder`'s interface for tokens (`call([z, x])` teacher-forced, `generate`, and
the step functions beam search uses), so `tfgen.TextVAE` takes either decoder.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from tfgen.networks.blocks import Dropout
from tfgen.networks.sequence import TokenEmbedding, generate_steps, previous_tokens


def sinusoid_positions(length, units: int, dtype="float32") -> tf.Tensor:
    """The sinusoidal position encodings of Vaswani et al. (2017), [length, units]: no table,
    so no longest sentence to fix in advance."""
    position = tf.cast(tf.range(length), tf.float32)[:, None]
    rates = tf.exp(tf.range(0, units, 2, dtype=tf.float32) * (-math.log(10000.0) / units))
    angles = position * rates[None]
    out = tf.reshape(tf.stack([tf.sin(angles), tf.cos(angles)], axis=-1), [length, -1])
    return tf.cast(out[:, :units], dtype)


@keras.saving.register_keras_serializable(package="tfgen")
class CausalBlock(layers.Layer):
    """One pre-norm Transformer decoder block: x + attention(LN(x)) with a causal mask, then
    x + MLP(LN(x)) (4 x units, GELU); dropout (tfgen's, so its masks follow the model's noise
    contract) on each branch's output."""

    def __init__(self, units: int, heads: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if units % heads:
            raise ValueError(f"the Transformer's units ({units}) must be a multiple of its "
                             f"heads ({heads})")
        self.units, self.heads, self.dropout = int(units), int(heads), float(dropout)
        self.norm_1 = layers.LayerNormalization(epsilon=1e-5, name="norm_1")
        self.attention = layers.MultiHeadAttention(self.heads, self.units // self.heads,
                                                   name="attention")
        self.norm_2 = layers.LayerNormalization(epsilon=1e-5, name="norm_2")
        self.hidden = layers.Dense(4 * self.units, activation="gelu", name="mlp_hidden")
        self.out = layers.Dense(self.units, name="mlp_out")
        self.drop_1 = Dropout(self.dropout, name="attention_dropout")
        self.drop_2 = Dropout(self.dropout, name="mlp_dropout")

    def build(self, input_shape):
        self.norm_1.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.norm_2.build(input_shape)
        self.hidden.build(input_shape)
        self.out.build((*input_shape[:-1], 4 * self.units))
        self.built = True

    def call(self, x, training=False):
        h = self.norm_1(x)
        x = x + self.drop_1(self.attention(h, h, use_causal_mask=True, training=training),
                            training=training)
        return x + self.drop_2(self.out(self.hidden(self.norm_2(x))), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "units": self.units, "heads": self.heads,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="tfgen")
class TransformerDecoder(keras.Model):
    """p(x | z) = Π_t softmax(f(z, x_<t))[x_t]: token embeddings (`embedding_dim`, projected to
    `units` when they differ) plus sinusoidal positions, `depth` causal blocks of `units` and
    `heads`, a final layer norm and a softmax head. z enters as a prefix: a dense projection
    of z at position 0, before `<bos>` and the tokens, so every token attends to it.

    Causal attention means padding after a sentence never reaches its tokens' outputs (and the
    VAE's likelihood masks the padded positions out). Word dropout (`frame_dropout`) shows a
    previous token as [UNK], as in `FrameDecoder`.

    Sampling re-runs the stack over the prefix at each step (no key/value cache): O(T²) in
    the sentence length, which is a few dozen tokens here.
    """

    keys, segment = 1, 0  # a frame is one token id; flat (beam search runs on it)

    def __init__(self, latent_dim: int, vocabulary: int, params_per_frame: int,
                 units: int = 256, depth: int = 2, heads: int = 4, frame_dropout: float = 0.0,
                 dropout: float = 0.0, embedding_dim: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.vocabulary = int(latent_dim), int(vocabulary)
        self.params_per_frame, self.units = int(params_per_frame), int(units)
        self.depth, self.heads = int(depth), int(heads)
        self.frame_dropout, self.dropout = float(frame_dropout), float(dropout)
        self.embedding_dim = int(embedding_dim) or self.units
        self.embed = TokenEmbedding(self.vocabulary, self.embedding_dim, name="embedding")
        self.project = (layers.Dense(self.units, name="token_projection")
                        if self.embedding_dim != self.units else None)
        self.prefix = layers.Dense(self.units, name="z_prefix")
        self.blocks = [CausalBlock(self.units, self.heads, self.dropout, name=f"block_{i}")
                       for i in range(self.depth)]
        self.norm = layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.hide = Dropout(self.frame_dropout, name="frame_dropout")
        self.head = layers.Dense(self.params_per_frame, dtype="float32", name="frame_params")
        self.build([(None, self.latent_dim), (None, None, 2)])

    def build(self, input_shape):
        if self.built:
            return
        self.call([keras.ops.zeros((1, self.latent_dim)), keras.ops.zeros((1, 1, 2))])
        self.built = True

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "vocabulary": self.vocabulary, "params_per_frame": self.params_per_frame,
                "units": self.units, "depth": self.depth, "heads": self.heads,
                "frame_dropout": self.frame_dropout, "dropout": self.dropout,
                "embedding_dim": self.embedding_dim}

    def _stack(self, z, previous, training):
        """Every position's head output [batch, T, params] for z and the previous token ids
        [batch, T, 1] (`<bos>` first): position t sees z and previous[:t + 1]."""
        dtype = self.compute_dtype
        h = self.embed(previous)
        if self.project is not None:
            h = self.project(h)
        prefix = self.prefix(tf.cast(z, dtype))[:, None]
        h = tf.concat([prefix, tf.cast(h, dtype)], axis=1)
        h = h + sinusoid_positions(tf.shape(h)[1], self.units, dtype)[None]
        for block in self.blocks:
            h = block(h, training=training)
        return self.head(self.norm(h)[:, 1:])

    def call(self, inputs, training=False):
        z, x = inputs
        return self._stack(z, previous_tokens(x, self.hide, self.frame_dropout, training),
                           training)

    # -- sampling -----------------------------------------------------------------------------

    def _first(self, batch):
        from tfgen.data.text import BOS

        return tf.fill([batch, 1], float(BOS))

    def initial_state(self, z, frames: int) -> dict:
        """The state `step_logits` carries: z and the tokens fed so far ([batch, frames, 1])."""
        z = tf.convert_to_tensor(z)
        return {"z": z, "fed": tf.zeros([tf.shape(z)[0], frames, 1], tf.float32)}

    def step_logits(self, t, previous, state):
        """(logits [batch, params] of token t, the new state) given token t - 1 (`previous`,
        ids [batch, 1]; `<bos>` at t = 0)."""
        fed = state["fed"]
        at_t = tf.equal(tf.range(tf.shape(fed)[1]), t)[None, :, None]
        fed = tf.where(at_t, tf.cast(previous, tf.float32)[:, None], fed)
        logits = self._stack(state["z"], fed, training=False)
        return tf.gather(logits, t, axis=1), {**state, "fed": fed}

    def generate(self, z, frames: int, likelihood, seed, greedy: bool = False, draw=None):
        """Token ids [batch, frames, 1], each drawn from p(x_t | x_<t, z) and fed back, as
        `FrameDecoder.generate` draws them (stateless `seed`, step t folded in)."""
        return generate_steps(self, z, frames, likelihood, seed, greedy, draw)
