"""A sentence VAE (Bowman et al. 2016, "Generating sentences from a continuous space")."""

from __future__ import annotations

import keras
import numpy as np

from tfgen.models.averaging import on_averaged_weights
from tfgen.models.decoding import TokenDecoding
from tfgen.models.sequence_vae import SequenceVAE


@keras.saving.register_keras_serializable(package="tfgen")
class TextVAE(TokenDecoding, SequenceVAE):
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

    @staticmethod
    def _packed(frames, like=None):
        """Token ids [batch, tokens, 1] -> packed: with `like`, its mask; else each sentence's
        tokens up to its first `<eos>`, the rest padding."""
        if like is not None:
            return SequenceVAE._packed(frames, like)
        return TokenDecoding._packed_tokens(frames)

    @on_averaged_weights
    def decode(self, z, labels=None, seed: int | None = None, decoding=None) -> np.ndarray:
        """Sentences (packed) for codes z: greedy when `seed` is None and no `decoding` is
        given, else by `decoding` (default: the model's) with the stateless `seed`."""
        if decoding is None:
            return super().decode.__wrapped__(self, z, labels, seed)
        return self.decode_with(decoding, lambda: super(TextVAE, self).decode.__wrapped__(
            self, z, labels, 0 if seed is None else seed))

    def nll_per_token(self, x, num_samples: int = 1000, **kwargs) -> float:
        """-Σ log p(x) / the sentences' tokens (`<eos>` counted), log p(x) importance-sampled
        with K = `num_samples`: the log of the perplexity per token."""
        return self.nll_per_frame(x, num_samples=num_samples, **kwargs)
