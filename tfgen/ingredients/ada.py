"""Adaptive discriminator augmentation (ADA, Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data"): the operations of `tfgen.models.ada`, each applied to
an example with probability p, which an overfitting heuristic adjusts during training."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.errors import OptionError
from tfgen.ingredients.adversarial import Augmentation
from tfgen.options import param

tf = lazy.Module("tensorflow")
ada_ops = lazy.Module("tfgen.models.ada")

OPS = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
       "brightness", "contrast", "lumaflip", "hue", "saturation", "cutout")
GROUPS = {"blit": OPS[0:3], "geom": OPS[3:7], "color": OPS[7:12], "cutout": ("cutout",)}
DEFAULT = "blit,geom,color"
CENTRED = ("non_saturating", "minimax", "hinge")  # objectives whose D outputs centre at 0


def parse_ops(spec: str, key: str = "ops") -> tuple[str, ...]:
    """'blit,color' or 'xflip,xint' (groups and single operations, comma-separated) -> the
    operations in pipeline order."""
    names = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part in GROUPS:
            names.update(GROUPS[part])
        elif part in OPS:
            names.add(part)
        else:
            raise OptionError(key, f"unknown ADA operation {part!r}; choose groups "
                              f"{', '.join(GROUPS)} or operations {', '.join(OPS)}")
    if not names:
        raise OptionError(key, "ADA needs at least one operation")
    return tuple(op for op in OPS if op in names)


@dataclasses.dataclass(eq=False)
class ADA(Augmentation):
    """Every `interval` steps p moves up when r_t = E[sign D(real)] exceeds `target` (D is
    overfitting), down otherwise, by (images seen) / (kimg · 1000); with `target` None p stays
    at `p`. p and the heuristic's running sums are training state (checkpointed)."""

    name: ClassVar[str] = "ada"
    title: ClassVar[str] = "ADA"
    logs: ClassVar[tuple[str, ...]] = ("ada_p", "ada_rt")

    ops: str = param(DEFAULT, help="operations: groups blit, geom, color, cutout or single "
                     "operations, comma-separated")
    target: float | None = param(0.6, help="target of r_t = E[sign D(real)] in [-1, 1] (the "
                                 "paper: 0.6; outside: p only rises or falls; None: p fixed)")
    p: float = param(0.0, min=0.0, max=1.0, help="initial augmentation probability")
    kimg: float = param(500.0, gt=0.0, help="thousand images for p to go 0 -> 1 (paper: 500)")
    interval: int = param(4, min=1, help="train steps between adjustments of p (paper: 4)")

    @property
    def num_random(self) -> int:
        return ada_ops.NUM_RANDOM

    def __post_init__(self):
        super().__post_init__()
        self.op_tuple = parse_ops(self.ops)

    def check(self, facts) -> None:
        super().check(facts)
        if (self.target is not None and facts.objective is not None
                and facts.objective not in CENTRED):
            raise OptionError("target", f"ADA's r_t = E[sign D(real)] needs D's outputs "
                              f"centred at 0 ({', '.join(CENTRED)}); with {facts.objective} "
                              f"fix p (target None)")
        if facts.pixel_range == "unit" and set(self.op_tuple) & set(
                GROUPS["color"] + GROUPS["cutout"]):
            raise OptionError("ops", "ADA's colour and cutout operations expect images in "
                              "[-1, 1] (pixel range symmetric); use blit,geom on [0, 1] images")

    def attach(self, model) -> None:
        self.probability = model.state_variable("ada_probability", self.p)
        self.sign_sum = model.state_variable("ada_sign_sum", 0.0)
        self.count = model.state_variable("ada_count", 0.0)

    def apply(self, x, u):
        return ada_ops.augment(x, self.probability.value, u, self.op_tuple)

    def observe(self, model, d_real) -> None:
        """Σ sign D(real) and the number of real images scored, over all replicas."""
        d_real = tf.cast(tf.reshape(d_real, [-1]), tf.float32)
        signs, count = model.all_sum([tf.reduce_sum(tf.sign(d_real)),
                                      tf.cast(tf.size(d_real) * model.pac, tf.float32)])  # images
        model.assign_replicated([(self.sign_sum, self.sign_sum.value + signs),
                                 (self.count, self.count.value + count)])

    def end_step(self, model) -> dict:
        """Every `interval` steps: p from the heuristic (when it has a target), sums reset."""
        due = tf.equal((model.step.value + 1) % self.interval, 0)
        p = tf.identity(self.probability.value)  # the value before the update
        rt = self.sign_sum.value / tf.maximum(self.count.value, 1.0)
        zero = tf.zeros([], tf.float32)
        updates = [(self.sign_sum, tf.where(due, zero, self.sign_sum.value)),
                   (self.count, tf.where(due, zero, self.count.value))]
        if self.target is not None:
            new_p, _ = ada_ops.adjust_probability(p, self.sign_sum.value, self.count.value,
                                                  self.target, self.kimg)
            updates.append((self.probability, tf.where(due, new_p, p)))
        model.assign_replicated(updates)
        return {"ada_p": p, "ada_rt": rt}
