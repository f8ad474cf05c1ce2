"""The hooks a `GAN`'s train step calls on its ingredients: `Regularizer` (of the discriminator's
loss, or of the generator's examples) and `Augmentation` (of every input of the discriminator).

A discriminator step is one loop (`tfgen.models.gan.GAN._discriminator_step`):

1. draw z and the augmentation's numbers for the real and generated batch;
2. gather every regulariser's extra inputs (`Regularizer.inputs`, e.g. bCR's transformed
   batches), so that the discriminator scores everything in one stacked call;
3. inside the gradient tape, add each regulariser's `penalty` to the adversarial loss;
4. outside it, add the gradients of the regularisers that take their own (`separate`: lazy R1,
   whose schedule is a `tf.cond` TensorFlow cannot differentiate twice through);
5. let the augmentation see D's scores on real data (`Augmentation.observe`: ADA's heuristic).

Every tensor an ingredient receives is this replica's share; losses are reduced with
`model.batch_loss` (the global-batch mean's share) and logged as such shares (the train step
sums all its logs over replicas in one all-reduce); a global value an ingredient needs comes
from `model.all_sum` (one call for all it needs), and its state is written with
`model.assign_replicated` (one merge_call for all it writes).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen.ingredients.base import Ingredient


def d_stream(k: int, name: str) -> str:
    """The random stream of `name` in discriminator step `k` of a train step."""
    return f"discriminator/{k}/{name}"


class DiscriminatorStep:
    """What one discriminator step hands its regularisers.

    Attributes:
        model: the GAN.
        real, fake, labels: this replica's real batch, generated batch (no gradient to the
            generator) and labels (None: unconditional).
        u_real, u_fake: the augmentation's random numbers of each (None: no augmentation).
        d_real, d_fake: the discriminator's scores of the two (set after the stacked call).
        k: which of the train step's `n_critic` discriminator steps this is.
        names: the stream names declared for it (its own and its ingredients' `streams`).
    """

    def __init__(self, model, real, fake, labels, u_real, u_fake, k: int, names):
        self.model, self.real, self.fake, self.labels = model, real, fake, labels
        self.u_real, self.u_fake = u_real, u_fake
        self.d_real = self.d_fake = None
        self.k, self._names = k, names

    def stream(self, name: str) -> str:
        """The random stream of `name` in this step; `name` must be declared in the
        ingredient's `streams` (so that no two ingredients draw the same numbers)."""
        if name not in self._names:
            raise ValueError(f"random stream {name!r} is not declared by any ingredient's "
                             "`streams`")
        return d_stream(self.k, name)

    def score(self, x):
        """D(augment(x)) in training mode with the real batch's augmentation numbers (what
        the input-gradient penalties differentiate)."""
        return self.model._score(x, self.labels, self.u_real)


@dataclasses.dataclass(eq=False)
class Regularizer(Ingredient):
    """A term of a GAN's loss. Discriminator-side by default; `side = "generator"` for one
    that weights the generator's examples (`example_weights`)."""

    kind: ClassVar[str] = "regularizer"
    side: ClassVar[str] = "discriminator"

    def inputs(self, step: DiscriminatorStep) -> list[tuple]:
        """Extra (batch, augmentation numbers) pairs the discriminator scores in the step's one
        stacked call; their scores come back to `penalty`."""
        return []

    def penalty(self, step: DiscriminatorStep, scores: list):
        """(weighted loss term, logged value) inside the tape, or None; `scores` are the
        discriminator's scores of `inputs`."""
        return None

    def separate(self, step: DiscriminatorStep):
        """(logged value, scaled gradients, loss term) of a penalty differentiated on its own,
        outside the step's tape, or None."""
        return None

    def example_weights(self, model, scores):
        """Generator side: (per-example weights summing to this replica's share, logs)."""
        raise NotImplementedError


@dataclasses.dataclass(eq=False)
class Augmentation(Ingredient):
    """A differentiable augmentation of every sample the discriminator sees."""

    kind: ClassVar[str] = "augmentation"
    needs_images: ClassVar[bool] = True
    num_random: ClassVar[int] = 0  # uniform numbers per example

    def random(self, model, batch, stream: str):
        """This replica's augmentation numbers for `batch` examples."""
        return model.uniform(batch, [self.num_random], stream)

    def apply(self, x, u):
        raise NotImplementedError

    def observe(self, model, d_real) -> None:
        """After each discriminator step: the scores of the real batch."""

    def end_step(self, model) -> dict:
        """After each train step (before the step counter moves): its logs."""
        return {}
