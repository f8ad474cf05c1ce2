"""2-D Gaussian mixtures of the PacGAN protocol (PROTOCOLS.md section 1)."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Mixture:
    """An equal-weight isotropic Gaussian mixture in 2-D.

    Args:
        means: (K, 2) mode centres.
        std: standard deviation of every mode, per coordinate.
    """

    means: np.ndarray
    std: float

    @property
    def num_modes(self) -> int:
        return len(self.means)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`n` points (float32) and the index of the mode each was drawn from."""
        modes = rng.integers(0, self.num_modes, size=n)
        points = self.means[modes] + self.std * rng.standard_normal((n, 2))
        return points.astype(np.float32), modes.astype(np.int32)


def ring8() -> Mixture:
    """8 modes at (cos 2πi/8, sin 2πi/8), i = 0..7, std 0.01."""
    angles = 2.0 * np.pi * np.arange(8) / 8.0
    return Mixture(np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def grid25() -> Mixture:
    """25 modes on {-4, -2, 0, 2, 4}², std 0.05."""
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return Mixture(np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05)


MIXTURES = {"ring8": ring8, "grid25": grid25}
