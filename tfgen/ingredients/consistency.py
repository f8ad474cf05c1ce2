"""Balanced consistency regularisation (bCR, Zhao et al. 2020, "Improved Consistency
Regularization for GANs")."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.ada import parse_ops
from tfgen.ingredients.adversarial import Regularizer
from tfgen.options import param

tf = lazy.Module("tensorflow")
losses = lazy.Module("tfgen.losses")
ada_ops = lazy.Module("tfgen.models.ada")


@dataclasses.dataclass(eq=False)
class Consistency(Regularizer):
    """λ · (‖D(real) - D(T(real))‖² + ‖D(fake) - D(T(fake))‖²) (see
    `tfgen.losses.consistency_penalty`): the discriminator's outputs should not change under a
    transform T, ADA operations applied to every sample. The transformed batches are scored in
    the step's one stacked discriminator call."""

    name: ClassVar[str] = "consistency"
    title: ClassVar[str] = "consistency regularisation"
    logs: ClassVar[tuple[str, ...]] = ("consistency_penalty",)
    streams: ClassVar[tuple[str, ...]] = ("consistency_real", "consistency_fake")
    needs_images: ClassVar[bool] = True

    weight: float = param(10.0, gt=0.0, help="lambda_real = lambda_fake (the paper: 10)")
    ops: str = param("xflip,xint", help="the transform T: ADA operations or groups "
                     "(the paper: flips and translations by a few pixels)")

    def __post_init__(self):
        super().__post_init__()
        self.op_tuple = parse_ops(self.ops, key="ops")

    def _transform(self, step, x, stream: str):
        u = step.model.uniform(tf.shape(x)[0], [ada_ops.NUM_RANDOM], step.stream(stream))
        return ada_ops.augment(x, tf.constant(1.0), u, self.op_tuple)

    def inputs(self, step):
        return [(self._transform(step, step.real, "consistency_real"), step.u_real),
                (self._transform(step, step.fake, "consistency_fake"), step.u_fake)]

    def penalty(self, step, scores):
        bcr = step.model.batch_loss(losses.consistency_penalty(step.d_real, scores[0])
                                    + losses.consistency_penalty(step.d_fake, scores[1]))
        return self.weight * bcr, bcr
