"""Decoding rules for models that write tokens: greedy, sampling with a temperature, top-k
(Fan et al. 2018), nucleus / top-p (Holtzman et al. 2020), and beam search.

`TokenDecoding` is the mixin of the models that decode codes into sentences with a
`tfgen.networks.FrameDecoder` over a vocabulary (`TextVAE`, `ARAE`): the model's rule, and the
sentences it draws.

A rule is written as `tfgen sample --decode` takes it: "greedy", "sample", "beam=5", or
sampling options joined by commas ("temperature=0.7", "top_k=40", "top_p=0.9",
"top_k=40,temperature=0.8").

Example:

>>> from tfgen.models import decoding
>>> decoding.parse("top_p=0.9,temperature=0.8")
Decoding(method='sample', temperature=0.8, top_k=0, top_p=0.9, beam=0)
>>> decoding.parse("beam=4").method
'beam'
"""

from __future__ import annotations

import dataclasses

from tfgen import lazy
from tfgen.data.text import EOS, PAD
from tfgen.errors import UserError

tf = lazy.Module("tensorflow")

OPTIONS = ("temperature", "top_k", "top_p", "beam")


@dataclasses.dataclass(frozen=True)
class Decoding:
    method: str = "sample"  # greedy | sample | beam
    temperature: float = 1.0
    top_k: int = 0  # 0: every token
    top_p: float = 1.0
    beam: int = 0

    def __post_init__(self):
        if self.method not in ("greedy", "sample", "beam"):
            raise UserError(f"--decode: unknown method {self.method!r}; choose from greedy, "
                            "sample, beam=N, temperature=T, top_k=K, top_p=P")
        if not self.temperature > 0:
            raise UserError(f"--decode: temperature must be > 0; got {self.temperature}")
        if self.top_k < 0:
            raise UserError(f"--decode: top_k must be >= 0; got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"--decode: top_p must be in (0, 1]; got {self.top_p}")
        if self.method == "beam" and self.beam < 1:
            raise UserError(f"--decode: beam must be >= 1; got {self.beam}")


def parse(spec: str | Decoding | None) -> Decoding:
    """A `Decoding` from its text form (the module docstring); None: plain sampling."""
    if isinstance(spec, Decoding):
        return spec
    spec = (spec or "sample").strip()
    if spec in ("greedy", "sample"):
        return Decoding(spec)
    options = {}
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key not in OPTIONS:
            raise UserError(f"--decode: cannot read {part.strip()!r}; write greedy, sample, "
                            "beam=N, or temperature=T,top_k=K,top_p=P")
        try:
            options[key] = int(value) if key in ("top_k", "beam") else float(value)
        except ValueError:
            raise UserError(f"--decode: {key} takes a number; got {value!r}") from None
    if "beam" in options:
        if len(options) > 1:
            raise UserError("--decode: beam search takes no sampling options")
        return Decoding("beam", beam=options["beam"])
    return Decoding("sample", **options)


def filtered_logits(logits, rule: Decoding):
    """Logits [rows, classes] with the rule's temperature applied and the tokens outside its
    top-k / nucleus set to -inf (at least the most likely token is always kept)."""
    logits = tf.cast(logits, tf.float32) / rule.temperature
    if rule.top_k:
        k = min(rule.top_k, logits.shape[-1])
        kth = tf.math.top_k(logits, k).values[:, -1:]
        logits = tf.where(logits < kth, -float("inf"), logits)
    if rule.top_p < 1.0:
        ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
        before = tf.cumsum(tf.nn.softmax(ordered, axis=-1), axis=-1, exclusive=True)
        kept = tf.where(before < rule.top_p, ordered, float("inf"))
        threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
        logits = tf.where(logits < threshold, -float("inf"), logits)
    return logits


class TokenDecoding:
    """Sentences from codes z, for a model with `decoder` (a `FrameDecoder` over a
    vocabulary, z its conditioning), `likelihood` (softmax) and `sample_frames` (the longest
    sentence drawn): `decoding`, the rule `sample`, `generate` and `decode(seed=...)` follow,
    and `_frames(z, seed)`, token ids drawn by it -- one compiled graph per rule -- which
    `_packed_tokens` ends at each sentence's first `<eos>`."""

    _decoding = Decoding()

    @property
    def decoding(self) -> Decoding:
        """How `sample`, `generate` and `decode(seed=...)` pick tokens (not saved with the
        model: a sampling-time choice)."""
        return self._decoding

    @decoding.setter
    def decoding(self, rule):
        self._decoding = parse(rule)

    @property
    def vocabulary_size(self) -> int:
        return int(self.decoder.vocabulary)

    @staticmethod
    def _packed_tokens(frames):
        """Token ids [batch, tokens, 1] -> packed: each sentence's tokens up to its first
        `<eos>` (included), the rest padding."""
        ids = tf.cast(frames[..., 0], tf.float32)
        ended = tf.cumsum(tf.cast(tf.equal(ids, float(EOS)), tf.int32), axis=1, exclusive=True)
        present = tf.cast(tf.equal(ended, 0), tf.float32)
        return tf.stack([ids * present, present], axis=-1)

    def _frames(self, z, seed, greedy: bool = False):
        """Token ids [batch, sample_frames, 1] for codes z by the model's rule (greedy when
        asked), drawn with the stateless `seed` ([2] ints)."""
        rule = Decoding("greedy") if greedy else self.decoding
        fns = self.__dict__.setdefault("_decode_fns", {})
        if rule not in fns:
            if rule.method == "beam":
                fns[rule] = tf.function(lambda z, seed: self._beam(z, rule.beam),
                                        reduce_retracing=True)
            else:
                draw = None if rule.method == "greedy" else (
                    lambda params, s: self.likelihood.sample(filtered_logits(params, rule), s))
                fns[rule] = tf.function(lambda z, seed: self.decoder.generate(
                    z, self.sample_frames, self.likelihood, seed, rule.method == "greedy",
                    draw), reduce_retracing=True)
        return fns[rule](tf.cast(z, tf.float32), tf.cast(seed, tf.int64))

    def _beam(self, z, width: int):
        """The most likely of `width` beams per code (log p summed over tokens, no length
        penalty), [batch, sample_frames, 1] ids; a beam that wrote `<eos>` goes on with
        padding at no cost."""
        dec = self.decoder
        vocab, frames = self.vocabulary_size, self.sample_frames
        batch = tf.shape(z)[0]
        state = dec.initial_state(tf.repeat(z, width, axis=0), frames)
        previous = dec._first(batch * width)
        scores = tf.tile(tf.constant([[0.0] + [-1e9] * (width - 1)]), [batch, 1])
        finished = tf.zeros([batch, width], tf.bool)
        tokens = tf.zeros([batch, width, 0], tf.int32)
        only_pad = tf.one_hot(PAD, vocab, on_value=0.0, off_value=-1e9)
        for t in range(frames):
            logits, state = dec.step_logits(t, previous, state)
            log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
            log_p = tf.where(finished[..., None], only_pad,
                             tf.reshape(log_p, [batch, width, vocab]))
            top = tf.math.top_k(tf.reshape(scores[..., None] + log_p, [batch, width * vocab]),
                                width)
            parent, token = top.indices // vocab, top.indices % vocab
            tokens = tf.concat([tf.gather(tokens, parent, batch_dims=1), token[..., None]], -1)
            finished = tf.gather(finished, parent, batch_dims=1) | tf.equal(token, EOS)
            scores = top.values
            state = {k: tf.reshape(tf.gather(tf.reshape(s, [batch, width, -1]), parent,
                                             batch_dims=1), tf.shape(s))
                     for k, s in state.items()}
            previous = tf.cast(tf.reshape(token, [-1, 1]), tf.float32)
        return tf.cast(tokens[:, 0, :, None], tf.float32)

    def decode_with(self, decoding, fn):
        """`fn()` with `decoding` as the model's rule for the call (None: the model's own)."""
        if decoding is None:
            return fn()
        previous, self.decoding = self.decoding, decoding
        try:
            return fn()
        finally:
            self._decoding = previous
