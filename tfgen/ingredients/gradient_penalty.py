"""WGAN-GP's gradient penalty (Gulrajani et al. 2017)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.adversarial import Regularizer
from tfgen.options import param

tf = lazy.Module("tensorflow")
losses = lazy.Module("tfgen.losses")


@dataclasses.dataclass(eq=False)
class GradientPenalty(Regularizer):
    """λ · E[(‖∇D(x̂)‖₂ - 1)²] at x̂ = ε·real + (1 - ε)·fake, ε ~ U[0, 1) per example (see
    `tfgen.losses.gradient_penalty`); D sees x̂ augmented as the real batch is."""

    name: ClassVar[str] = "gradient_penalty"
    logs: ClassVar[tuple[str, ...]] = ("gradient_penalty",)
    streams: ClassVar[tuple[str, ...]] = ("gradient_penalty",)

    weight: float = param(10.0, gt=0.0, help="lambda (the paper: 10)")

    def penalty(self, step, scores):
        model = step.model
        eps = model.uniform(tf.shape(step.real)[0], [], step.stream("gradient_penalty"))
        gp = model.batch_loss(losses.gradient_penalty(step.score, step.real, step.fake, eps))
        return self.weight * gp, gp
