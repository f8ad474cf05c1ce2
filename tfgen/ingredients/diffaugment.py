"""Differentiable augmentation (DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"): every sample the discriminator sees, real or generated, goes
through the same policies (`tfgen.models.augment`)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.errors import OptionError
from tfgen.ingredients.adversarial import Augmentation
from tfgen.options import param

augment_ops = lazy.Module("tfgen.models.augment")

POLICIES = ("color", "translation", "cutout")


def parse_policies(spec: str, key: str = "policies") -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'), in the canonical order."""
    names = {p.strip() for p in spec.split(",") if p.strip()}
    for name in sorted(names - set(POLICIES)):
        raise OptionError(key, f"unknown DiffAugment policy {name!r}; choose from: "
                          f"{', '.join(POLICIES)} (comma-separated)")
    return tuple(p for p in POLICIES if p in names)


@dataclasses.dataclass(eq=False)
class DiffAugment(Augmentation):
    """DiffAugment's policies, applied to every example."""

    name: ClassVar[str] = "diffaugment"
    title: ClassVar[str] = "DiffAugment"
    policies: str = param("color,translation,cutout", help="comma-separated: "
                          + ", ".join(POLICIES))

    @property
    def num_random(self) -> int:
        return augment_ops.NUM_RANDOM

    def __post_init__(self):
        super().__post_init__()
        self.policy_tuple = parse_policies(self.policies)
        if not self.policy_tuple:
            raise OptionError("policies", "DiffAugment needs at least one policy")

    def apply(self, x, u):
        return augment_ops.augment(x, self.policy_tuple, u)
