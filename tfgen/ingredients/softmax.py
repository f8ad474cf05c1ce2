"""A categorical likelihood over a vocabulary: one token per frame (text)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.likelihoods import Likelihood
from tfgen.options import param

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class Softmax(Likelihood):
    """A frame is one token id k of `classes`; log p(k | params) = log softmax(params)[k], the
    decoder's `classes` logits per frame. Frames come as [rows, 1] ids (float, exact below
    2^24); `mean` is the most likely id, `sample` a draw (both [rows, 1])."""

    name: ClassVar[str] = "softmax"

    classes: int = param(0, min=0, help="the vocabulary's size (0: the data's, set by tfgen)")

    @property
    def channels_per_dim(self) -> int:
        if not self.classes:
            raise ValueError("the softmax likelihood needs its number of classes (the "
                             "vocabulary's size)")
        return self.classes

    def log_prob(self, x, params):
        ids = tf.cast(tf.round(tf.cast(x, tf.float32)), tf.int32)[:, 0]
        ids = tf.clip_by_value(ids, 0, tf.shape(params)[-1] - 1)
        return -tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ids, logits=tf.cast(params, tf.float32))

    def mean(self, params):
        return tf.cast(tf.argmax(params, axis=-1), tf.float32)[:, None]

    def mode(self, params):
        return self.mean(params)

    def sample(self, params, seed):
        ids = tf.random.stateless_categorical(tf.cast(params, tf.float32), 1, seed)
        return tf.cast(ids, tf.float32)
