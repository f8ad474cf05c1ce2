"""The networks of a stochastic recurrent network (SRNN, Fraccaro et al. 2016, "Sequential
Neural Models with Stochastic Layers"): a deterministic forward recurrence d_t and a latent
z_t per frame, and the backward inference recurrence a_t of its smoothing posterior.

Generative model (`SRNNDecoder`), with u_t = x_{t-1} (the previous frame, 0 before the first):

    d_t = GRU(d_{t-1}, u_t)
    p(z_t | z_{t-1}, d_t) = N(μ_p, σ_p²),   [μ_p, log σ_p²] = MLP(z_{t-1}, d_t)
    p(x_t | z_t, d_t)     = the frame likelihood with parameters MLP(z_t, d_t)

Inference (`SRNNEncoder`), the paper's smoothing posterior with its "Resq" parameterisation:

    a_t = GRU←(a_{t+1}, [d_t, x_t])    (backward over the piece's own frames)
    q(z_t | z_{t-1}, a_t) = N(μ_p + Δμ, σ_q²),   [Δμ, log σ_q²] = MLP(z_{t-1}, a_t)

z_0 = 0 and d_0 = 0. Both take sequences in the packed layout of `tfgen.data.music.pack`
([batch, frames, keys + 1], the last channel the piece's frame mask). The first layer of each
MLP is split into its d_t (a_t) part, computed for all frames at once, and its z_{t-1} part,
inside the recurrence over z -- the same affine map, with the per-frame work outside the loop.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from tfgen.networks.blocks import Dropout

LOG_VAR_RANGE = (-12.0, 8.0)


def _gaussian(out, dim):
    return out[..., :dim], tf.clip_by_value(out[..., dim:], *LOG_VAR_RANGE)


def _previous(frames):
    """u_t = x_{t-1}: the frames shifted one step later, zeros first."""
    return tf.pad(frames[:, :-1], [[0, 0], [1, 0], [0, 0]])


class _Transition(layers.Layer):
    """[μ, log σ²] = W_2 max(0, W_z z_{t-1} + W_s s_t + b_1) + b_2: `context(s)` the per-frame
    part for all frames, `step(z, context_t)` the rest."""

    def __init__(self, latent_dim: int, hidden: int, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.hidden = int(latent_dim), int(hidden)
        self.from_context = layers.Dense(hidden, name="from_context")
        self.from_z = layers.Dense(hidden, use_bias=False, name="from_z")
        self.out = layers.Dense(2 * latent_dim, dtype="float32", name="gaussian")

    def build(self, context_shape):
        self.from_context.build(context_shape)
        self.from_z.build((None, self.latent_dim))
        self.out.build((None, self.hidden))
        self.built = True

    def context(self, s):
        return self.from_context(s)

    def step(self, z, context_t):
        h = tf.maximum(context_t + self.from_z(tf.cast(z, context_t.dtype)), 0.0)
        return _gaussian(tf.cast(self.out(h), tf.float32), self.latent_dim)


@keras.saving.register_keras_serializable(package="tfgen")
class SRNNDecoder(keras.Model):
    """The SRNN's generative model p(x, z) = Π_t p(z_t | z_{t-1}, d_t) p(x_t | z_t, d_t).

    `states(x)` are the d_t of a batch (teacher forcing: from the true previous frames), the
    prior transition `prior.step(z_{t-1}, prior.context(d)_t)` and the emission
    `emit(z, d)` (every frame's likelihood parameters at once); `generate` samples frame by
    frame, each frame fed back.

    Args:
        keys: values per frame (88 piano keys).
        latent_dim: size of each z_t.
        params_per_frame: likelihood parameters per frame (`Likelihood.row_params(keys)`).
        units: d_t's GRU units.
        hidden: the hidden units of the transition's and the emission's MLPs.
        frame_dropout: probability of hiding a previous frame from d_t in training (all its
            keys 0; as `FrameDecoder`'s), which makes the model lean on z_t.
        dropout: dropout before the emission's output layer.
    """

    def __init__(self, keys: int, latent_dim: int, params_per_frame: int, units: int = 300,
                 hidden: int = 300, frame_dropout: float = 0.0, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.keys, self.latent_dim = int(keys), int(latent_dim)
        self.params_per_frame, self.units, self.hidden = int(params_per_frame), int(units), \
            int(hidden)
        self.frame_dropout, self.dropout = float(frame_dropout), float(dropout)
        self.forward = layers.GRU(self.units, return_sequences=True, name="forward_gru")
        self.prior = _Transition(self.latent_dim, self.hidden, name="prior")
        self.emit_hidden = layers.Dense(self.hidden, activation="relu", name="emission_hidden")
        self.hide = Dropout(self.frame_dropout, name="frame_dropout")
        self.out_dropout = Dropout(self.dropout, name="emission_dropout")
        self.head = layers.Dense(self.params_per_frame, dtype="float32", name="frame_params")
        self.build((None, None, self.keys + 1))

    def build(self, input_shape):
        if self.built:
            return
        x = keras.ops.zeros((1, 2, self.keys + 1))
        d = self.states(x)
        self.prior.build(d.shape)
        self.emit(tf.zeros((1, 2, self.latent_dim)), d)
        self.built = True

    def get_config(self):
        return {**super().get_config(), "keys": self.keys, "latent_dim": self.latent_dim,
                "params_per_frame": self.params_per_frame, "units": self.units,
                "hidden": self.hidden, "frame_dropout": self.frame_dropout,
                "dropout": self.dropout}

    def call(self, x, training=False):
        """d_t of packed sequences x (for Keras; the SRNN calls the parts)."""
        return self.states(x, training)

    def states(self, x, training=False):
        """d [batch, frames, units] from the true previous frames of packed x."""
        previous = _previous(tf.cast(x[..., :self.keys], self.compute_dtype))
        if self.frame_dropout > 0:
            kept = self.hide(tf.ones_like(previous[..., :1]), training=training)
            previous = previous * tf.cast(kept > 0, previous.dtype)
        return self.forward(previous, training=training)

    def emit(self, z, d, training=False):
        """Every frame's likelihood parameters [batch, frames, params_per_frame] from z_t and
        d_t."""
        h = self.emit_hidden(tf.concat([tf.cast(z, d.dtype), d], axis=-1))
        return self.head(self.out_dropout(h, training=training))

    def generate(self, z, frames: int, likelihood, seed, greedy: bool = False):
        """Frames [batch, frames, keys] drawn from p(x, z) one after another: d_t from the
        previous frame drawn, z_t ~ p(z_t | z_{t-1}, d_t), x_t ~ p(x_t | z_t, d_t) --
        stateless in `seed` ([2] ints; step t folds t in). `z` gives the batch size (its values
        seed nothing here: the SRNN's latents are drawn frame by frame). `greedy`: z_t at the
        transition's mean and x_t its likelihood's mean thresholded at 0.5."""
        batch = tf.shape(z)[0]
        seed = tf.cast(seed, tf.int64)
        cell = self.forward.cell
        previous = tf.zeros([batch, self.keys], self.compute_dtype)
        state = [tf.zeros([batch, self.units], self.compute_dtype)]
        latent = tf.zeros([batch, self.latent_dim], tf.float32)
        out = tf.TensorArray(tf.float32, size=frames)
        for t in tf.range(frames):
            step_seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(t, tf.int64))
            d, state = cell(previous, state, training=False)
            state = state if isinstance(state, (list, tuple)) else [state]
            mean, log_var = self.prior.step(latent, self.prior.context(d))
            if greedy:
                latent = mean
            else:
                eps = tf.random.stateless_normal(tf.shape(mean), seed=tf.stack(
                    [step_seed[0], step_seed[1] + 1]), alg="philox")
                latent = mean + tf.exp(0.5 * log_var) * eps
            params = self.emit(latent, d)
            if greedy:
                frame = tf.cast(likelihood.mean(params) > 0.5, tf.float32)
            else:
                frame = likelihood.sample(params, step_seed)
            out = out.write(t, frame)
            previous = tf.cast(frame, self.compute_dtype)
        return tf.transpose(out.stack(), [1, 0, 2])


@keras.saving.register_keras_serializable(package="tfgen")
class SRNNEncoder(keras.Model):
    """The SRNN's smoothing posterior q(z | x) = Π_t q(z_t | z_{t-1}, a_t): `smooth(d, x)` the
    backward states a_t over [d_t, x_t] (each piece reversed within its own length, so padding
    after a piece never reaches its frames), `posterior.step(z_{t-1}, posterior.context(a)_t)`
    the residual Gaussian [Δμ, log σ_q²] added to the prior's mean by the model.

    Args:
        keys: values per frame.
        latent_dim: size of each z_t.
        state_units: d_t's size (the decoder's `units`).
        units: a_t's GRU units.
        hidden: the posterior MLP's hidden units.
    """

    def __init__(self, keys: int, latent_dim: int, state_units: int, units: int = 300,
                 hidden: int = 300, **kwargs):
        super().__init__(**kwargs)
        self.keys, self.latent_dim, self.state_units = int(keys), int(latent_dim), \
            int(state_units)
        self.units, self.hidden = int(units), int(hidden)
        self.backward = layers.GRU(self.units, return_sequences=True, name="backward_gru")
        self.posterior = _Transition(self.latent_dim, self.hidden, name="posterior")
        self.build((None, None, self.keys + 1))

    def build(self, input_shape):
        if self.built:
            return
        x = keras.ops.zeros((1, 2, self.keys + 1))
        a = self.smooth(tf.zeros((1, 2, self.state_units)), x)
        self.posterior.build(a.shape)
        self.built = True

    def get_config(self):
        return {**super().get_config(), "keys": self.keys, "latent_dim": self.latent_dim,
                "state_units": self.state_units, "units": self.units, "hidden": self.hidden}

    def call(self, inputs, training=False):
        """a_t of [d, x] (for Keras; the SRNN calls the parts)."""
        d, x = inputs
        return self.smooth(d, x, training)

    def smooth(self, d, x, training=False):
        """a [batch, frames, units]: a GRU run from each piece's last frame back to its first
        (zeros on the padding)."""
        x = tf.cast(x, tf.float32)
        frames = tf.cast(x[..., :self.keys], self.compute_dtype)
        lengths = tf.cast(tf.reduce_sum(tf.cast(x[..., self.keys] > 0.5, tf.int32), axis=1),
                          tf.int64)
        inputs = tf.concat([tf.cast(d, self.compute_dtype), frames], axis=-1)
        reverse = lambda t: tf.reverse_sequence(t, lengths, seq_axis=1, batch_axis=0)  # noqa
        a = reverse(self.backward(reverse(inputs), training=training))
        return a * tf.cast(x[..., self.keys:], a.dtype)


def srnn_networks(keys: int, likelihood, latent_dim: int = 32, units: int = 300,
                  encoder_units: int | None = None, hidden: int | None = None,
                  frame_dropout: float = 0.0, dropout: float = 0.0):
    """(encoder, decoder) of an SRNN over frames of `keys` values: `SRNNEncoder`, `SRNNDecoder`
    (d_t of `units`, a_t of `encoder_units`, MLPs of `hidden`; both default to `units`)."""
    decoder = SRNNDecoder(keys, latent_dim, likelihood.row_params(keys), units,
                          hidden or units, frame_dropout, dropout, name="decoder")
    encoder = SRNNEncoder(keys, latent_dim, units, encoder_units or units, hidden or units,
                          name="encoder")
    return encoder, decoder
