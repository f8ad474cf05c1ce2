"""The standard normal prior N(0, I)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.priors import Prior

vae_lib = lazy.Module("tfgen.models.vae")


@dataclasses.dataclass(eq=False)
class NormalPrior(Prior):
    """p(z) = N(0, I); with one Gaussian layer and no flow the KL term has its closed form."""

    name: ClassVar[str] = "normal"
    closed_form: ClassVar[bool] = True

    def log_prob(self, model, z, training):
        return vae_lib.log_standard_normal(z)
