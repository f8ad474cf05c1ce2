"""Top-k generator updates (Sinha et al. 2020, "Top-k Training of GANs")."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.adversarial import Regularizer
from tfgen.options import param

tf = lazy.Module("tensorflow")


@dataclasses.dataclass(eq=False)
class TopK(Regularizer):
    """The generator's loss uses only the k samples of each global batch the discriminator
    scores highest, k = ⌈max(γ^⌊t / period⌋, ν) · batch⌉ at train step t. The selection is
    global, so one and N replicas update with the same samples."""

    name: ClassVar[str] = "top_k"
    title: ClassVar[str] = "top-k"
    side: ClassVar[str] = "generator"
    logs: ClassVar[tuple[str, ...]] = ("top_k_fraction",)

    fraction: float = param(0.5, gt=0.0, max=1.0, help="nu, the fraction kept at the end "
                            "(the paper: 0.5)")
    gamma: float = param(0.99, gt=0.0, max=1.0, help="decay of the kept fraction per period")
    period: int = param(1000, min=1, help="train steps per decay (the paper decays per epoch; "
                        "the trainer passes its steps per epoch)")

    def kept_fraction(self, model):
        """max(γ^⌊t / period⌋, ν) at train step t."""
        decays = tf.cast(model.step.value // self.period, tf.float32)
        return tf.maximum(tf.pow(self.gamma, decays), self.fraction)

    def example_weights(self, model, scores):
        """This replica's rows of w over the global batch: 1/k for the k highest scores (ties
        by position), else 0."""
        fraction = self.kept_fraction(model)
        ctx = tf.distribute.get_replica_context()
        local = tf.cast(tf.reshape(scores, [-1]), tf.float32)
        n = tf.shape(local)[0]
        replicas = ctx.num_replicas_in_sync
        if replicas > 1:
            rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
            scores_all = model.all_sum(tf.pad(local, [[rid * n, (replicas - 1 - rid) * n]]))
        else:
            rid, scores_all = 0, local
        total = n * replicas
        k = tf.maximum(tf.cast(tf.math.ceil(fraction * tf.cast(total, tf.float32)), tf.int32), 1)
        order = tf.argsort(-scores_all, stable=True)
        rank = tf.scatter_nd(order[:, None], tf.range(total), [total])  # XLA has no inverse
        chosen = tf.cast(rank < k, tf.float32) / tf.cast(k, tf.float32)
        return tf.stop_gradient(chosen[rid * n:(rid + 1) * n]), {"top_k_fraction": fraction}
