"""A sentence VAE (Bowman et al. 2016, "Generating sentences from a continuous space")."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen.data.text import EOS, PAD
from tfgen.models import decoding as decoding_rules
from tfgen.models.averaging import on_averaged_weights
from tfgen.models.sequence_vae import SequenceVAE


@keras.saving.register_keras_serializable(package="tfgen")
class TextVAE(SequenceVAE):
    """A `SequenceVAE` whose frames are tokens: sentences in the packed layout of
    `tfgen.data.text` ([batch, tokens, 2]: the id, then 1 on the sentence's own tokens, its
    `<eos>` included), an embedding before the encoder's BiLSTM and the decoder's LSTM
    (`tfgen.networks.sequence_vae_networks(1, ..., vocabulary=V)`), and the softmax
    likelihood over the vocabulary:

        log p(x | z) = Σ_t m_t log softmax(decoder(z, x_<t))[x_t]

    so a sentence's log-likelihood counts its `<eos>`, and padding never enters a loss, a
    bound or a metric (m_t = 0). Against posterior collapse: KL annealing (the VAE's β
    schedules: linear, cyclical), word dropout (the decoder's `frame_dropout`: a previous
    token replaced by [UNK]) and free bits -- all the VAE's.

    Sampling follows `decoding` (`tfgen.models.decoding`: "sample" by default, greedy,
    temperature, top-k, top-p, or beam search); generated sentences end at their first
    `<eos>` (the tokens after it are padding).

    Example:

    >>> import keras, tfgen
    >>> from tfgen.data import text
    >>> lines = ["the cat sat", "the dog ran", "a cat ran", "a dog sat"] * 4
    >>> vocab = text.vocabulary(lines)
    >>> x, _ = text.encode(lines, vocab, max_length=8)
    >>> lik = tfgen.ingredients.get("likelihood", {"name": "softmax", "classes": len(vocab)})
    >>> enc, dec = tfgen.networks.sequence_vae_networks(1, lik, latent_dim=4, encoder_units=8,
    ...     decoder_units=16, vocabulary=len(vocab), embedding_dim=8)
    >>> vae = tfgen.TextVAE(enc, dec, latent_dim=4, likelihood=lik, sample_frames=8)
    >>> vae.compile(keras.optimizers.Adam(1e-2))
    >>> _ = vae.fit(x.astype("float32"), batch_size=8, epochs=2, verbose=0)
    >>> vae.decoding = "top_k=2"
    >>> len(text.decode(vae.sample(3, seed=1), vocab))
    3
    """

    def __init__(self, encoder, decoder, latent_dim: int, likelihood="softmax",
                 sample_frames: int = 32, **kwargs):
        if not getattr(decoder, "vocabulary", 0):
            raise ValueError("the sentence VAE's decoder reads tokens: build it with a "
                             "vocabulary (tfgen.networks.sequence_vae_networks(vocabulary=V))")
        super().__init__(encoder, decoder, latent_dim, likelihood=likelihood,
                         sample_frames=sample_frames, **kwargs)
        if self.likelihood.name != "softmax":
            raise ValueError(f"the sentence VAE's likelihood is softmax over the vocabulary; "
                             f"got {self.likelihood.name}")
        self._decoding = decoding_rules.Decoding()

    @property
    def decoding(self) -> decoding_rules.Decoding:
        """How `sample`, `generate` and `decode(seed=...)` pick tokens (not saved with the
        model: a sampling-time choice)."""
        return self._decoding

    @decoding.setter
    def decoding(self, rule):
        self._decoding = decoding_rules.parse(rule)

    @property
    def vocabulary_size(self) -> int:
        return int(self.decoder.vocabulary)

    @staticmethod
    def _packed(frames, like=None):
        """Token ids [batch, tokens, 1] -> packed: with `like`, its mask; else each sentence's
        tokens up to its first `<eos>`, the rest padding."""
        if like is not None:
            return SequenceVAE._packed(frames, like)
        ids = tf.cast(frames[..., 0], tf.float32)
        ended = tf.cumsum(tf.cast(tf.equal(ids, float(EOS)), tf.int32), axis=1, exclusive=True)
        present = tf.cast(tf.equal(ended, 0), tf.float32)
        return tf.stack([ids * present, present], axis=-1)

    def _frames(self, z, seed, greedy: bool = False):
        rule = decoding_rules.Decoding("greedy") if greedy else self.decoding
        fns = self.__dict__.setdefault("_decode_fns", {})
        if rule not in fns:
            if rule.method == "beam":
                fns[rule] = tf.function(lambda z, seed: self._beam(z, rule.beam),
                                        reduce_retracing=True)
            else:
                draw = None if rule.method == "greedy" else (
                    lambda params, s: self.likelihood.sample(
                        decoding_rules.filtered_logits(params, rule), s))
                fns[rule] = tf.function(lambda z, seed: self.decoder.generate(
                    z, self.sample_frames, self.likelihood, seed, rule.method == "greedy",
                    draw), reduce_retracing=True)
        return fns[rule](tf.cast(z, tf.float32), tf.cast(seed, tf.int64))

    def _beam(self, z, width: int):
        """The most likely of `width` beams per code (log p summed over tokens, no length
        penalty), [batch, sample_frames, 1] ids; a beam that wrote `<eos>` goes on with
        padding at no cost."""
        dec = self.decoder
        if dec.segment:
            raise ValueError("beam search runs on a flat decoder")
        vocab, frames = self.vocabulary_size, self.sample_frames
        batch = tf.shape(z)[0]
        cond, (h, c) = dec._conditioning(tf.repeat(z, width, axis=0), frames)
        state = [h, c]
        fed = dec._fed(dec._first(batch * width))
        scores = tf.tile(tf.constant([[0.0] + [-1e9] * (width - 1)]), [batch, 1])
        finished = tf.zeros([batch, width], tf.bool)
        tokens = tf.zeros([batch, width, 0], tf.int32)
        only_pad = tf.one_hot(PAD, vocab, on_value=0.0, off_value=-1e9)
        for t in range(frames):
            hidden, state = dec.lstm.cell(tf.concat([tf.cast(fed, dec.compute_dtype),
                                                      cond[:, t]], -1), state, training=False)
            log_p = tf.nn.log_softmax(tf.cast(dec.head(hidden), tf.float32))
            log_p = tf.where(finished[..., None], only_pad,
                             tf.reshape(log_p, [batch, width, vocab]))
            top = tf.math.top_k(tf.reshape(scores[..., None] + log_p, [batch, width * vocab]),
                                width)
            parent, token = top.indices // vocab, top.indices % vocab
            tokens = tf.concat([tf.gather(tokens, parent, batch_dims=1), token[..., None]], -1)
            finished = tf.gather(finished, parent, batch_dims=1) | tf.equal(token, EOS)
            scores = top.values
            state = [tf.reshape(tf.gather(tf.reshape(s, [batch, width, -1]), parent,
                                          batch_dims=1), [batch * width, -1]) for s in state]
            fed = dec._fed(tf.cast(tf.reshape(token, [-1, 1]), tf.float32))
        return tf.cast(tokens[:, 0, :, None], tf.float32)

    @on_averaged_weights
    def decode(self, z, labels=None, seed: int | None = None, decoding=None) -> np.ndarray:
        """Sentences (packed) for codes z: greedy when `seed` is None and no `decoding` is
        given, else by `decoding` (default: the model's) with the stateless `seed`."""
        if decoding is None:
            return super().decode.__wrapped__(self, z, labels, seed)
        previous, self.decoding = self.decoding, decoding
        try:
            return super().decode.__wrapped__(self, z, labels, 0 if seed is None else seed)
        finally:
            self._decoding = previous

    def nll_per_token(self, x, num_samples: int = 1000, **kwargs) -> float:
        """-Σ log p(x) / the sentences' tokens (`<eos>` counted), log p(x) importance-sampled
        with K = `num_samples`: the log of the perplexity per token."""
        return self.nll_per_frame(x, num_samples=num_samples, **kwargs)
