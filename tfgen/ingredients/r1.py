"""The R1 penalty (Mescheder et al. 2018), lazy as in StyleGAN2 (Karras et al. 2020)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.adversarial import Regularizer
from tfgen.options import param

tf = lazy.Module("tensorflow")
losses = lazy.Module("tfgen.losses")


@dataclasses.dataclass(eq=False)
class R1(Regularizer):
    """γ/2 · E‖∇D(x)‖² on the (augmented) real batch, every `interval` discriminator steps
    and then weighted by the interval (lazy R1)."""

    name: ClassVar[str] = "r1"
    logs: ClassVar[tuple[str, ...]] = ("r1_penalty",)

    gamma: float = param(1.0, gt=0.0, help="gamma: the penalty term is gamma/2 · |grad D|^2")
    interval: int = param(1, min=1, help="lazy R1: apply every N discriminator steps")

    def separate(self, step):
        """Its gradients are taken on their own, so that no gradient has to flow through the
        `tf.cond` of the lazy schedule (TensorFlow fails differentiating double-backprop
        there)."""
        model = step.model
        opt = model.d_optimizer
        variables = model.discriminator.trainable_weights
        weight = 0.5 * self.gamma * self.interval

        def penalty():
            with tf.GradientTape() as tape:
                r1 = model.batch_loss(losses.r1_penalty(step.score, step.real))
                scaled = opt.scale_loss(weight * r1)
            return [r1, *model.gradients(tape, scaled, variables)]

        if self.interval == 1:
            out = penalty()
        else:
            due = tf.equal(opt.iterations % self.interval, 0)
            out = tf.cond(due, penalty,
                          lambda: [tf.constant(0.0)] + [tf.zeros_like(v) for v in variables])
        return out[0], out[1:], weight * out[0]
