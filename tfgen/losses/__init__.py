"""Objectives and penalties as pure functions on tensors (formulas in the docstrings)."""

from tfgen.losses.adversarial import (
    OBJECTIVES,
    Objective,
    get_objective,
    hinge,
    least_squares,
    minimax,
    non_saturating,
    objective_config,
    objective_from_config,
    wasserstein,
)
from tfgen.losses.penalties import (
    consistency_penalty,
    gradient_penalty,
    lecam_penalty,
    r1_penalty,
)

__all__ = [
    "OBJECTIVES", "Objective", "consistency_penalty",
    "get_objective", "gradient_penalty", "hinge", "lecam_penalty",
    "least_squares", "minimax", "non_saturating", "objective_config",
    "objective_from_config", "r1_penalty", "wasserstein",
]
