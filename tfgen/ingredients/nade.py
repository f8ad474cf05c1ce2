"""NADE: an autoregressive likelihood over the values of a row (Larochelle & Murray 2011), the
per-frame distribution of RNN-NADE (Boulanger-Lewandowski et al. 2012)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.errors import OptionError
from tfgen.ingredients.likelihoods import Likelihood
from tfgen.options import param

tf = lazy.Module("tensorflow")
keras = lazy.Module("keras")


@dataclasses.dataclass(eq=False)
class NADE(Likelihood):
    """log p(v | params) = Σ_i log p(v_i | v_<i), binary v of D values in a fixed order:

        h_i = σ(c + W_<i v_<i),  p(v_i = 1 | v_<i) = σ(b_i + V_i · h_i)

    with W, V [D, H] weights of the likelihood itself and the biases b [D] and c [H] the
    decoder's output for the row (`row_params(D) = D + H` values): conditioned on the decoder
    state, as RNN-NADE conditions them on its RNN. Exact (no bound), computed in parallel over
    the D values with a cumulative sum; a draw takes the D values in turn. Data are binarised at
    0.5, as for the Bernoulli likelihood."""

    name: ClassVar[str] = "nade"
    title: ClassVar[str] = "NADE"

    hidden: int = param(150, min=1, max=4096, help="H, the hidden units of the NADE of a row")

    def row_params(self, values: int) -> int:
        return values + self.hidden

    @property
    def channels_per_dim(self) -> int:
        raise OptionError("name", "the NADE likelihood takes rows of values (a sequence model's "
                          "frames): its parameters are not per value")

    def attach(self, model) -> None:
        values = int(model.likelihood_values)
        init = keras.initializers.RandomNormal(stddev=0.05, seed=model.seed)
        self.W = model.add_weight(shape=(values, self.hidden), initializer=init, name="nade_W")
        self.V = model.add_weight(shape=(values, self.hidden), initializer=init, name="nade_V")

    def _split(self, params):
        params = tf.cast(params, tf.float32)
        d = self.W.shape[0]
        return params[..., :d], params[..., d:]

    def log_prob(self, x, params):
        v = tf.cast(tf.reshape(x, [tf.shape(x)[0], -1]) > 0.5, tf.float32)
        b, c = self._split(tf.reshape(params, [tf.shape(x)[0], -1]))
        w, vv = tf.cast(self.W, tf.float32), tf.cast(self.V, tf.float32)
        # a_i = c + Σ_{j<i} v_j W_j: [batch, D, H]
        a = c[:, None, :] + tf.math.cumsum(v[:, :, None] * w, axis=1, exclusive=True)
        logits = b + tf.reduce_sum(tf.sigmoid(a) * vv, axis=-1)
        return -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=v, logits=logits),
                              axis=1)

    def _probabilities(self, params, v):
        """p(v_i = 1 | v_<i) [batch, D] for given v (the teacher-forced conditionals)."""
        b, c = self._split(params)
        w, vv = tf.cast(self.W, tf.float32), tf.cast(self.V, tf.float32)
        a = c[:, None, :] + tf.math.cumsum(v[:, :, None] * w, axis=1, exclusive=True)
        return tf.sigmoid(b + tf.reduce_sum(tf.sigmoid(a) * vv, axis=-1))

    def mean(self, params):
        """The conditionals p(v_i = 1 | v_<i) along the row's most likely values taken in turn
        (greedy decoding: v_i = [p_i > 0.5]) -- a NADE has no closed-form mean."""
        return self._decode(params, None)

    def sample(self, params, seed):
        return self._decode(params, seed, draw=True)

    def _decode(self, params, seed, draw: bool = False):
        b, c = self._split(params)
        w, vv = tf.cast(self.W, tf.float32), tf.cast(self.V, tf.float32)
        d = self.W.shape[0]
        u = (tf.random.stateless_uniform(tf.shape(b), seed, alg="philox") if draw
             else tf.fill(tf.shape(b), 0.5))
        a, values, probs = c, [], []
        for i in range(d):  # D is small (88 keys): unrolled, as the NADE's draw is sequential
            p = tf.sigmoid(b[:, i] + tf.reduce_sum(tf.sigmoid(a) * vv[i], axis=-1))
            v_i = tf.cast(u[:, i] < p, tf.float32)
            a = a + v_i[:, None] * w[i]
            values.append(v_i)
            probs.append(p)
        return tf.stack(values if draw else probs, axis=1)
