"""The R2 penalty (Mescheder et al. 2018): R1's gradient penalty on generated data."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.adversarial import Regularizer
from tfgen.options import param

losses = lazy.Module("tfgen.losses")


@dataclasses.dataclass(eq=False)
class R2(Regularizer):
    """γ/2 · E‖∇D(x)‖² on the (augmented) generated batch. Mescheder et al. (2018) prove
    local convergence with either R1 or R2; R3GAN (Huang et al. 2024) uses both together."""

    name: ClassVar[str] = "r2"
    logs: ClassVar[tuple[str, ...]] = ("r2_penalty",)

    gamma: float = param(1.0, gt=0.0, help="gamma: the penalty term is gamma/2 · |grad D|^2")

    def penalty(self, step, scores):
        model = step.model
        r2 = model.batch_loss(losses.r1_penalty(
            lambda x: model._score(x, step.labels, step.u_fake), step.fake))
        return 0.5 * self.gamma * r2, r2
