"""The hooks a `VAE` calls on its prior (of the top stochastic layer): `Prior`.

The bound's KL terms ask `log_prob`; `generate`'s ancestral draw asks `draw` for the top
layer's values from N(0, I) noise (`noise_dim` coordinates beyond the latent ones, e.g. the
VampPrior's component), and the truncation trick asks `truncate_noise`; the KL has its closed
form only with a prior that says so (`closed_form`) and one Gaussian layer without a flow.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tfgen import lazy
from tfgen.ingredients.base import Ingredient

tf = lazy.Module("tensorflow")
base = lazy.Module("tfgen.models.base")


@dataclasses.dataclass(eq=False)
class Prior(Ingredient):
    kind: ClassVar[str] = "prior"
    closed_form: ClassVar[bool] = False  # KL(N(μ, σ²) ‖ p) in closed form
    noise_dim: ClassVar[int] = 0  # noise coordinates `draw` needs beyond the latent values

    def log_prob(self, model, z, training):
        """log p(z), z [..., d] -> [...]."""
        raise NotImplementedError

    def draw(self, model, z, extra):
        """The top layer's values for N(0, I) noise `z` [n, d] and `extra` [n, noise_dim]."""
        return z

    def truncate_noise(self, z, psi):
        """The truncation trick on `generate`'s noise (the latent values, then `noise_dim`)."""
        return base.truncate(z, psi)
