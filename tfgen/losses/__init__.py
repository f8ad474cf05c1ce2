"""Objectives and penalties as pure functions on tensors (formulas in the docstrings)."""

from tfgen.losses.adversarial import (
    OBJECTIVES,
    get_objective,
    hinge,
    least_squares,
    minimax,
    non_saturating,
    wasserstein,
)
from tfgen.losses.penalties import gradient_penalty, r1_penalty

__all__ = [
    "OBJECTIVES", "get_objective", "hinge", "least_squares", "minimax", "non_saturating",
    "wasserstein", "gradient_penalty", "r1_penalty",
]
