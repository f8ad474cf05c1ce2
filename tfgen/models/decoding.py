"""Decoding rules for models that write tokens: greedy, sampling with a temperature, top-k
(Fan et al. 2018), nucleus / top-p (Holtzman et al. 2020), and beam search.

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
