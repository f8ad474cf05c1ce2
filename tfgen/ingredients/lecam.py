"""LeCam regularisation (Tseng et al. 2021, "Regularizing Generative Adversarial Networks under
Limited Data")."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.adversarial import Regularizer
from tfgen.options import param

tf = lazy.Module("tensorflow")
losses = lazy.Module("tfgen.losses")


@dataclasses.dataclass(eq=False)
class LeCam(Regularizer):
    """λ · (‖D(real) - α_fake‖² + ‖D(fake) - α_real‖²) (see `tfgen.losses.lecam_penalty`): the
    anchors α are moving averages (decay `decay`) of D's mean output on real and on generated
    samples over the global batch, updated every discriminator step before use; at step 0 they
    take the batch's means (the authors' warm-up: no pull towards the zero they start from).
    The anchors are training state (checkpointed)."""

    name: ClassVar[str] = "lecam"
    title: ClassVar[str] = "LeCam"
    logs: ClassVar[tuple[str, ...]] = ("lecam_penalty",)

    weight: float = param(0.3, gt=0.0, help="lambda (the paper: 0.3 on CIFAR-10 at 10-20% data)")
    decay: float = param(0.99, min=0.0, lt=1.0, help="decay of the anchors (the paper: 0.99)")

    def attach(self, model) -> None:
        self.anchors = [model.state_variable(f"lecam_{n}", 0.0) for n in ("real", "fake")]

    def penalty(self, step, scores):
        model = step.model
        decay = tf.where(tf.equal(model.step.value, 0), 0.0, self.decay)
        means = [tf.stop_gradient(m) for m in model.all_sum([model.batch_loss(step.d_real),
                                                             model.batch_loss(step.d_fake)])]
        anchors = [decay * anchor.value + (1.0 - decay) * mean
                   for anchor, mean in zip(self.anchors, means, strict=True)]
        model.assign_replicated(list(zip(self.anchors, anchors, strict=True)))
        lecam = model.batch_loss(losses.lecam_penalty(step.d_real, step.d_fake, *anchors))
        return self.weight * lecam, lecam
