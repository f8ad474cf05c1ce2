"""Sequence networks for piano-rolls (and other sequences of frames): a bidirectional LSTM
encoder and an autoregressive LSTM decoder, flat or hierarchical (MusicVAE's "conductor",
Roberts et al. 2018).

Both take sequences in the packed layout of `tfgen.data.music.pack`: [batch, frames, keys + 1],
the last channel 1 on a piece's frames and 0 on its padding. The encoder reads only the
piece's frames (a masked LSTM each way); the decoder is causal, so padding after a piece never
reaches its frames' outputs (and the VAE leaves padded frames out of the likelihood).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from tfgen.networks.blocks import Dropout
from tfgen.networks.mlp import mlp_discriminator, mlp_generator


@keras.saving.register_keras_serializable(package="tfgen")
class Unpack(layers.Layer):
    """Packed sequences [batch, frames, keys + 1] -> (frames [.., keys], mask [batch, frames])."""

    def __init__(self, keys: int, **kwargs):
        super().__init__(**kwargs)
        self.keys = int(keys)

    def call(self, x):
        return x[..., :self.keys], x[..., self.keys] > 0.5

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.keys), tuple(input_shape[:-1])

    def get_config(self):
        return {**super().get_config(), "keys": self.keys}


def sequence_encoder(keys: int, latent_dim: int, units: int = 256, vocabulary: int = 0,
                     embedding_dim: int = 0, name: str = "encoder",
                     deterministic: bool = False) -> keras.Model:
    """x [batch, frames, keys + 1] -> [batch, 2·latent_dim] (the posterior's mean and
    log-variance; with `deterministic`, [batch, latent_dim]: an autoencoder's code): a
    bidirectional LSTM over the piece's frames (masked), its two final states concatenated,
    then a dense layer (float32). With `vocabulary` > 0 a frame is one token id (keys 1,
    `tfgen.data.text`), embedded in `embedding_dim` values first."""
    x = keras.Input((None, keys + 1), name="x")
    frames, mask = Unpack(keys, name="unpack")(x)
    if vocabulary:
        frames = TokenEmbedding(vocabulary, embedding_dim, name="embedding")(frames)
    h = layers.Bidirectional(layers.LSTM(units), name="bilstm")(frames, mask=mask)
    out = layers.Dense(latent_dim if deterministic else 2 * latent_dim, dtype="float32",
                       name="code" if deterministic else "posterior")(h)
    return keras.Model(x, out, name=name)


@keras.saving.register_keras_serializable(package="tfgen")
class TokenEmbedding(layers.Embedding):
    """Frames of one token id [..., 1] (float ids, as the pipeline carries them) -> their
    embeddings [..., dim]."""

    def call(self, ids):
        return super().call(tf.cast(tf.round(ids[..., 0]), "int32"))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)


@keras.saving.register_keras_serializable(package="tfgen")
class FrameDecoder(keras.Model):
    """p(x | z) = Π_t p(x_t | x_<t, z): an LSTM over the frames, conditioned on z through its
    initial state and an input at every step, trained with teacher forcing (`call([z, x])`:
    the parameters of every frame's likelihood given the true previous frames) and sampled
    frame by frame (`generate`).

    With `segment` > 0 it is MusicVAE's hierarchical decoder: a conductor LSTM turns z into one
    embedding per segment of `segment` frames (a bar, say); the frame LSTM restarts at each
    segment from that embedding (initial state and per-step input), so a long piece's
    structure is carried by the conductor rather than by one long recurrence. The piece's
    length must then be a multiple of `segment`.

    Args:
        keys: values per frame (88 piano keys).
        latent_dim: size of z.
        params_per_frame: likelihood parameters per frame (`Likelihood.row_params(keys)`).
        units: the frame LSTM's units.
        segment: frames per conductor step (0: a flat decoder).
        conductor_units: the conductor LSTM's units.
        frame_dropout: the probability of hiding a previous frame from the decoder (all its
            keys set to 0; a token replaced by [UNK]) in training -- Bowman et al.'s word
            dropout, against posterior collapse: the decoder has to lean on z for what it
            cannot see.
        dropout: dropout on the LSTM's outputs.
        vocabulary: > 0: a frame is one token id (keys 1, text), embedded in `embedding_dim`
            values before the LSTM; the first step sees `<bos>`.
        embedding_dim: the token embedding's size.
    """

    def __init__(self, keys: int, latent_dim: int, params_per_frame: int, units: int = 512,
                 segment: int = 0, conductor_units: int = 256, frame_dropout: float = 0.0,
                 dropout: float = 0.0, vocabulary: int = 0, embedding_dim: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.embedding_dim = int(vocabulary), int(embedding_dim)
        if self.vocabulary:
            self.embed = TokenEmbedding(self.vocabulary, self.embedding_dim, name="embedding")
        self.keys, self.latent_dim, self.params_per_frame = int(keys), int(latent_dim), \
            int(params_per_frame)
        self.units, self.segment, self.conductor_units = int(units), int(segment), \
            int(conductor_units)
        self.frame_dropout, self.dropout = float(frame_dropout), float(dropout)
        if self.segment:
            self.conductor_state = layers.Dense(2 * self.conductor_units, activation="tanh",
                                                name="conductor_state")
            self.conductor = layers.LSTM(self.conductor_units, return_sequences=True,
                                         name="conductor")
            self.embedding = layers.Dense(self.units, activation="tanh", name="segment_embedding")
        self.initial = layers.Dense(2 * self.units, activation="tanh", name="initial_state")
        self.lstm = layers.LSTM(self.units, return_sequences=True, name="frame_lstm")
        self.hide = Dropout(self.frame_dropout, name="frame_dropout")
        self.out_dropout = Dropout(self.dropout, name="output_dropout")
        self.head = layers.Dense(self.params_per_frame, dtype="float32", name="frame_params")
        self.build([(None, self.latent_dim), (None, None, self.keys + 1)])

    def build(self, input_shape):
        if self.built:
            return
        z = keras.ops.zeros((1, self.latent_dim))
        x = keras.ops.zeros((1, max(self.segment, 1), self.keys + 1))
        self.call([z, x])
        self.built = True

    def get_config(self):
        return {**super().get_config(), "keys": self.keys, "latent_dim": self.latent_dim,
                "params_per_frame": self.params_per_frame, "units": self.units,
                "segment": self.segment, "conductor_units": self.conductor_units,
                "frame_dropout": self.frame_dropout, "dropout": self.dropout,
                "vocabulary": self.vocabulary, "embedding_dim": self.embedding_dim}

    # -- conditioning -------------------------------------------------------------------------

    def _conditioning(self, z, frames: int):
        """The per-step conditioning [batch, frames, E] and the frame LSTM's initial states
        (flat: one per piece; hierarchical: one per segment, [batch, segments, units] each)."""
        z = tf.cast(z, self.compute_dtype)
        if not self.segment:
            h, c = tf.split(self.initial(z), 2, axis=-1)
            return tf.repeat(z[:, None], frames, axis=1), (h, c)
        segments = frames // self.segment
        h0, c0 = tf.split(self.conductor_state(z), 2, axis=-1)
        steps = tf.zeros([tf.shape(z)[0], segments, 1], self.compute_dtype)
        embedded = self.embedding(self.conductor(steps, initial_state=[h0, c0]))
        h, c = tf.split(self.initial(embedded), 2, axis=-1)
        return tf.repeat(embedded, self.segment, axis=1), (h, c)

    def _previous(self, x, training):
        """What step t sees of the frames before it: frame t - 1 (zeros, or `<bos>`, at t = 0),
        whole frames hidden by frame dropout; embedded where frames are tokens."""
        if self.vocabulary:
            return self.embed(previous_tokens(x, self.hide, self.frame_dropout, training))
        frames = tf.cast(x[..., :self.keys], self.compute_dtype)
        previous = tf.pad(frames[:, :-1], [[0, 0], [1, 0], [0, 0]])
        if self.frame_dropout > 0:  # hide whole previous frames
            kept = self.hide(tf.ones_like(previous[..., :1]), training=training)
            previous = previous * tf.cast(kept > 0, previous.dtype)
        return previous

    def _first(self, batch):
        """The frame step 0 sees when sampling."""
        if self.vocabulary:
            from tfgen.data.text import BOS

            return tf.fill([batch, 1], float(BOS))
        return tf.zeros([batch, self.keys], tf.float32)

    def _fed(self, frame):
        return self.embed(frame) if self.vocabulary else tf.cast(frame, self.compute_dtype)

    def initial_state(self, z, frames: int) -> dict:
        """What `step_logits` carries (a flat decoder): the per-step conditioning and the
        LSTM's state."""
        if self.segment:
            raise ValueError("step-by-step decoding (beam search) runs on a flat decoder")
        cond, (h, c) = self._conditioning(z, frames)
        return {"cond": cond, "h": h, "c": c}

    def step_logits(self, t, previous, state):
        """(frame t's likelihood parameters, the new state) given frame t - 1 (`previous`; the
        `_first` frame at t = 0)."""
        step = tf.concat([tf.cast(self._fed(previous), self.compute_dtype), state["cond"][:, t]],
                         axis=-1)
        hidden, (h, c) = self.lstm.cell(step, [state["h"], state["c"]], training=False)
        return self.head(hidden), {**state, "h": h, "c": c}

    def call(self, inputs, training=False):
        z, x = inputs
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        previous = tf.cast(self._previous(x, training), self.compute_dtype)
        cond, (h, c) = self._conditioning(z, length)
        steps = tf.concat([previous, cond], axis=-1)
        if not self.segment:
            out = self.lstm(steps, initial_state=[h, c], training=training)
        else:
            segments = length // self.segment
            static = x.shape[1]
            if static is not None and static % self.segment:  # (a runtime length: the
                # reshape below fails; tfgen's pipelines cut batches to whole bars)
                raise ValueError(f"a hierarchical decoder's pieces are a whole number of "
                                 f"{self.segment}-frame segments; got {static} frames")
            flat = tf.reshape(steps, [batch * segments, self.segment, steps.shape[-1]])
            out = self.lstm(flat, initial_state=[tf.reshape(h, [-1, self.units]),
                                                 tf.reshape(c, [-1, self.units])],
                            training=training)
            out = tf.reshape(out, [batch, length, self.units])
        return self.head(self.out_dropout(out, training=training))

    # -- sampling -----------------------------------------------------------------------------

    def generate(self, z, frames: int, likelihood, seed, greedy: bool = False, draw=None):
        """Frames [batch, frames, keys] drawn one after another from p(x_t | x_<t, z), each fed
        back: `likelihood.sample` with the stateless seed (`seed` [2] ints; step t draws from
        a seed folded with t), `draw(params, seed)` where given (a decoding rule), or the most
        likely frame (`likelihood.mode`, `greedy`)."""
        if not self.segment:  # flat: the step functions beam search runs too
            return generate_steps(self, z, frames, likelihood, seed, greedy, draw)
        if frames % self.segment:
            raise ValueError(f"a hierarchical decoder samples whole segments of {self.segment} "
                             f"frames; {frames} is not a multiple")
        cond, (h, c) = self._conditioning(z, frames)
        cell = self.lstm.cell
        seed = tf.cast(seed, tf.int64)
        batch = tf.shape(z)[0]
        previous = self._fed(self._first(batch))
        state = [h[:, 0], c[:, 0]]
        out = tf.TensorArray(tf.float32, size=frames)
        for t in tf.range(frames):
            restart = tf.equal(t % self.segment, 0)
            s = t // self.segment
            state = [tf.where(restart, h[:, s], state[0]), tf.where(restart, c[:, s], state[1])]
            step = tf.concat([previous, cond[:, t]], axis=-1)
            hidden, state = cell(step, state, training=False)
            frame = pick_frame(likelihood, self.head(hidden), seed, t, greedy, draw)
            out = out.write(t, frame)
            previous = tf.cast(self._fed(frame), self.compute_dtype)
        return tf.transpose(out.stack(), [1, 0, 2])


def pick_frame(likelihood, params, seed, t, greedy: bool = False, draw=None):
    """Step t's frame from its likelihood parameters: the most likely (`greedy`), `draw(params,
    seed_t)` (a decoding rule) or `likelihood.sample(params, seed_t)`, seed_t the stateless
    `seed` folded with t."""
    if greedy:
        return likelihood.mode(params)
    step_seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(t, tf.int64))
    if draw is not None:
        return draw(params, step_seed)
    return likelihood.sample(params, step_seed)


def generate_steps(decoder, z, frames: int, likelihood, seed, greedy: bool = False, draw=None):
    """Frames [batch, frames, keys] from a decoder's `initial_state` / `step_logits`, each
    picked by `pick_frame` and fed back."""
    seed = tf.cast(seed, tf.int64)
    state = decoder.initial_state(z, frames)
    previous = decoder._first(tf.shape(z)[0])
    out = tf.TensorArray(tf.float32, size=frames)
    for t in tf.range(frames):
        params, state = decoder.step_logits(t, previous, state)
        frame = pick_frame(likelihood, params, seed, t, greedy, draw)
        out = out.write(t, tf.cast(frame, tf.float32))
        previous = tf.cast(frame, tf.float32)
    return tf.transpose(out.stack(), [1, 0, 2])


def previous_tokens(x, hide, frame_dropout: float, training):
    """What step t of a token decoder sees (float ids [batch, tokens, 1]): `<bos>`, then the
    packed sentences' tokens up to t - 1, each shown as [UNK] where word dropout (`hide`, a
    Dropout of rate `frame_dropout`) drops it -- words, never the `<bos>` before them."""
    from tfgen.data.text import BOS, UNK

    previous = tf.cast(x[:, :-1, :1], tf.float32)
    if frame_dropout > 0:
        kept = hide(tf.ones_like(previous), training=training)
        previous = tf.where(kept > 0, previous, float(UNK))
    return tf.pad(previous, [[0, 0], [1, 0], [0, 0]], constant_values=float(BOS))


def sequence_vae_networks(keys: int, likelihood, latent_dim: int = 64, encoder_units: int = 256,
                          decoder_units: int = 512, segment: int = 0, conductor_units: int = 256,
                          frame_dropout: float = 0.0, dropout: float = 0.0, vocabulary: int = 0,
                          embedding_dim: int = 0):
    """(encoder, decoder) of a sequence VAE over frames of `keys` values (or, with
    `vocabulary`, of one token id each, embedded in `embedding_dim` values)."""
    return (sequence_encoder(keys, latent_dim, encoder_units, vocabulary, embedding_dim),
            FrameDecoder(keys, latent_dim, likelihood.row_params(keys), decoder_units, segment,
                         conductor_units, frame_dropout, dropout, vocabulary, embedding_dim,
                         name="decoder"))


def arae_networks(vocabulary: int, latent_dim: int = 100, code_dim: int = 128, units: int = 256,
                  embedding_dim: int = 128, width: int = 256, depth: int = 2,
                  spectral_norm: bool = False, frame_dropout: float = 0.0, dropout: float = 0.0):
    """(generator, discriminator, encoder, decoder) of an `ARAE` over a vocabulary: MLPs of
    `depth` layers of `width` units from noise to codes and from codes to a score; the
    autoencoder's masked BiLSTM encoder (`units` / 2 each way) to a `code_dim` code and its
    LSTM decoder of `units` with the code in its initial state and every input, word dropout
    `frame_dropout`."""
    from tfgen import ingredients

    likelihood = ingredients.get("likelihood", {"name": "softmax", "classes": vocabulary})
    encoder = sequence_encoder(1, code_dim, max(units // 2, 1), vocabulary, embedding_dim,
                               deterministic=True)
    decoder = FrameDecoder(1, code_dim, likelihood.row_params(1), units, 0, 256, frame_dropout,
                           dropout, vocabulary, embedding_dim, name="decoder")
    return (mlp_generator(latent_dim, code_dim, width, depth),
            mlp_discriminator(code_dim, width, depth, spectral_norm=spectral_norm),
            encoder, decoder)
