"""A VAE over sequences of frames (piano-rolls): MusicVAE-style (Roberts et al. 2018)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen.models.averaging import on_averaged_weights
from tfgen.models.vae import VAE

EVAL_ROWS = 16384  # frames per evaluation pass (NADE: 16384 x 88 x 150 floats, 870 MB)


@keras.saving.register_keras_serializable(package="tfgen")
class SequenceVAE(VAE):
    """A VAE whose examples are sequences of frames in the packed layout of
    `tfgen.data.music.pack` ([batch, frames, keys + 1]; the last channel marks a piece's own
    frames) and whose decoder is autoregressive over the frames:

        log p(x | z) = Σ_t m_t log p(x_t | x_<t, z)

    m_t the piece's frame mask: padding never enters a loss, a bound or a metric. The decoder
    (`tfgen.networks.FrameDecoder`) takes [z, x] and returns every frame's likelihood
    parameters given the true previous frames (teacher forcing); the likelihood is one of a
    frame's keys: "bernoulli" (independent keys given the decoder state) or "nade" (an
    autoregressive NADE over the keys, RNN-NADE's frame model). Everything else -- the bounds
    (ELBO, IWAE with K draws), β schedules, free bits, the priors, EMA, the distribution
    contract -- is the VAE's.

    Samples (`sample`, `generate`) are drawn frame by frame, each fed back, `sample_frames`
    long; they come back in the packed layout, every frame present.

    Args:
        encoder: x [batch, frames, keys + 1] -> [batch, 2·latent_dim]
            (`tfgen.networks.sequence_encoder`).
        decoder: [z, x] -> [batch, frames, likelihood.row_params(keys)]
            (`tfgen.networks.FrameDecoder`).
        latent_dim: size of z.
        likelihood: the frame likelihood (a name, config dict or object).
        sample_frames: the length of generated pieces.
        **kwargs: the VAE's (seed, prior, free bits via `compile`, ema_decay, ...).

    Example:

    >>> import keras, tfgen
    >>> from tfgen.data import music
    >>> x = music.pack(music.jsb_chorales()["train"][:8])           # [8, frames, 89]
    >>> enc, dec = tfgen.networks.sequence_vae_networks(88, tfgen.ingredients.get(
    ...     "likelihood", "bernoulli"), latent_dim=8, encoder_units=16, decoder_units=16)
    >>> vae = tfgen.SequenceVAE(enc, dec, latent_dim=8, sample_frames=16)
    >>> vae.compile(keras.optimizers.Adam(1e-3))
    >>> _ = vae.fit(x, batch_size=4, epochs=1, verbose=0)
    >>> vae.sample(2).shape
    (2, 16, 89)
    >>> bool(vae.nll_per_frame(x, num_samples=4) > 0)
    True
    """

    def __init__(self, encoder, decoder, latent_dim: int, likelihood="bernoulli",
                 sample_frames: int = 64, **kwargs):
        if kwargs.get("num_classes") is not None:
            raise ValueError("the sequence VAE is unconditional")
        if kwargs.get("top_encoder") is not None or kwargs.get("flow") is not None:
            raise ValueError("the sequence VAE has one stochastic layer and no flow")
        self.sample_frames = int(sample_frames)
        super().__init__(encoder, decoder, latent_dim, likelihood=likelihood, **kwargs)

    def get_config(self):
        return {**super().get_config(), "sample_frames": self.sample_frames}

    @property
    def likelihood_values(self) -> int:
        return int(self.encoder.inputs[0].shape[-1]) - 1  # a frame's keys

    keys = likelihood_values  # (the name the frame code reads)

    # -- the model ----------------------------------------------------------------------------

    def call(self, inputs, training: bool = False):
        """Teacher-forced reconstruction means of x (the posterior mean as z), packed."""
        mean, _ = self._posterior(inputs, None, training)
        params = self.decoder([mean, inputs], training=training)
        return self._packed(self._frame_means(params), inputs)

    def _frame_means(self, params):
        shape = tf.shape(params)
        flat = tf.reshape(params, [-1, params.shape[-1]])
        return tf.reshape(self.likelihood.mean(flat), [shape[0], shape[1], self.keys])

    @staticmethod
    def _packed(frames, like=None):
        present = (tf.ones_like(frames[..., :1]) if like is None
                   else tf.cast(like[..., -1:], frames.dtype))
        return tf.concat([frames * present, present], axis=-1)

    def _log_px(self, x, z, labels, training):
        return sequence_log_prob(self.decoder, self.likelihood, self.keys, x, z, training)

    # -- sampling -----------------------------------------------------------------------------

    def generate(self, z, labels, seed=None, greedy: bool = False):
        """Pieces [batch, sample_frames, keys + 1] for prior noise `z`, drawn frame by frame.
        The frames' draws come from the stateless `seed` ([2] ints; default: one derived from
        z's values, so the same z in the same batch gives the same piece)."""
        z = self.prior_latent(z)
        if seed is None:
            bits = tf.bitcast(tf.reduce_sum(tf.abs(z)), tf.int32)
            seed = tf.stack([tf.cast(bits, tf.int64), tf.constant(self.seed, tf.int64)])
        return self._packed(self._frames(z, seed, greedy))

    def _frames(self, z, seed, greedy: bool = False):
        """`decoder.generate` as one compiled graph per (greedy, batch shape): the frame loop
        a `tf.while_loop`, not thousands of eager ops."""
        fns = self.__dict__.setdefault("_generate_fns", {})
        if greedy not in fns:
            fns[greedy] = tf.function(lambda z, seed: self.decoder.generate(
                z, self.sample_frames, self.likelihood, seed, greedy), reduce_retracing=True)
        return fns[greedy](tf.cast(z, tf.float32), tf.cast(seed, tf.int64))

    def decode_mean(self, z, labels) -> tf.Tensor:
        """Greedy pieces for codes z (each frame's most likely keys fed back)."""
        return self._packed(self._frames(z, tf.constant([0, 0], tf.int64), greedy=True))

    @on_averaged_weights
    def decode(self, z, labels=None, seed: int | None = None) -> np.ndarray:
        """Pieces for codes z: drawn with the stateless `seed`, or greedy when None."""
        z = tf.convert_to_tensor(z, tf.float32)
        if seed is None:
            return self.decode_mean(z, None).numpy()
        return self._packed(self._frames(z, tf.constant([int(seed), 1], tf.int64))).numpy()

    @on_averaged_weights
    def reconstruct(self, x, labels=None) -> np.ndarray:
        """Teacher-forced reconstruction means of x at its posterior mean (packed)."""
        return self(tf.convert_to_tensor(x, tf.float32)).numpy()

    @on_averaged_weights
    def interpolate(self, a, b, steps: int = 5, seed: int | None = None) -> np.ndarray:
        """Pieces decoded along the line between the posterior means of pieces `a` and `b`
        (each [frames, keys + 1], packed): MusicVAE's latent interpolation, [steps, frames,
        keys + 1], the two ends included. Greedy unless `seed`; with a seed, every step draws
        with the same seed, so the pieces differ only through z."""
        means, _ = self.encode(np.stack([np.asarray(a, np.float32), np.asarray(b, np.float32)])
                               if np.shape(a) == np.shape(b) else _pair(a, b))
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.decode((1 - t) * means[0] + t * means[1], seed=seed)

    def _batches(self, x, batch_size: int):
        """(order, batches): the pieces by length (`order`, a permutation of x's rows) in
        batches each cut to its longest piece (a whole number of the decoder's segments), so
        padding costs next to nothing in evaluation either."""
        x = np.asarray(x, np.float32)
        multiple = max(int(getattr(self.decoder, "segment", 0) or 1), 1)
        order = np.argsort(x[..., -1].sum(axis=1), kind="stable")
        batches = []
        for start in range(0, len(x), batch_size):
            part = x[order[start:start + batch_size]]
            longest = int(part[..., -1].sum(axis=1).max())
            batches.append(part[:, :max(-(-longest // multiple) * multiple, multiple)])
        return order, batches

    @staticmethod
    def _unsorted(order, parts) -> np.ndarray:
        out = np.empty(len(order), np.float32)
        out[order] = np.concatenate(parts)
        return out

    def _rows_chunk(self, batch: int, frames: int, num_samples: int) -> int:
        """Importance samples per pass: at most `EVAL_ROWS` frames at once (a NADE frame holds
        keys x hidden activations)."""
        return max(1, min(num_samples, EVAL_ROWS // max(batch * frames, 1)))

    @on_averaged_weights
    def log_likelihood(self, x, labels=None, num_samples: int = 1000, chunk: int | None = None,
                       seed: int = 0, batch_size: int = 16, progress=None) -> np.ndarray:
        """Importance-sampled log p(x) per piece (the IWAE bound with K = `num_samples`), as
        `VAE.log_likelihood`, on batches cut to their longest piece; `chunk` (importance
        samples per pass) defaults to what keeps a pass within `EVAL_ROWS` frames."""
        order, batches = self._batches(x, batch_size)
        out, done = [], 0
        for part in batches:
            k = chunk or self._rows_chunk(len(part), part.shape[1], num_samples)
            out.append(VAE.log_likelihood.__wrapped__(self, part, None, num_samples, k, seed,
                                                      len(part)))
            done += len(part)
            if progress is not None:
                progress(done)
        return self._unsorted(order, out)

    @on_averaged_weights
    def elbo(self, x, labels=None, seed: int = 0, batch_size: int = 16) -> np.ndarray:
        """The ELBO per piece (one posterior draw), on batches cut to their longest piece."""
        order, batches = self._batches(x, batch_size)
        return self._unsorted(order, [VAE.elbo.__wrapped__(self, part, None, seed, len(part))
                                      for part in batches])

    def nll_per_frame(self, x, num_samples: int = 1000, **kwargs) -> float:
        """The field's figure: -Σ log p(x) over the pieces / their total frames (nats), each
        log p(x) importance-sampled with K = `num_samples` (`log_likelihood`)."""
        x = np.asarray(x, np.float32)
        frames = float(x[..., -1].sum())
        return float(-self.log_likelihood(x, num_samples=num_samples, **kwargs).sum() / frames)


def sequence_log_prob(decoder, likelihood, keys: int, x, z, training: bool = False):
    """log p(x | z) per sequence, Σ_t m_t log p(x_t | x_<t, z), of packed x [batch, frames,
    keys + 1] under a teacher-forced `decoder([z, x])` and a frame `likelihood`: padding
    (m_t = 0) never enters it."""
    x = tf.cast(x, tf.float32)
    params = decoder([z, x], training=training)
    batch, frames = tf.shape(x)[0], tf.shape(x)[1]
    rows = tf.reshape(x[..., :keys], [-1, keys])
    per_frame = likelihood.log_prob(rows, tf.reshape(params, [-1, params.shape[-1]]))
    return tf.reduce_sum(tf.reshape(per_frame, [batch, frames]) * x[..., keys], axis=1)


def _pair(a, b):
    """Two packed pieces of different lengths padded to one."""
    length = max(len(a), len(b))
    out = np.zeros((2, length, np.shape(a)[-1]), np.float32)
    out[0, :len(a)], out[1, :len(b)] = a, b
    return out
