"""PacGAN mode metrics on hand-built point sets."""

import numpy as np
import pytest

from tfgen.data.mixtures import grid25, ring8
from tfgen.metrics import mode_metrics


def test_perfect_samples_on_every_mode():
    ring = ring8()
    points = np.repeat(ring.means, 10, axis=0)  # 10 points exactly on each mode
    m = mode_metrics(points, ring.means, ring.std)
    assert m == {"modes_covered": 8, "high_quality": 1.0, "reverse_kl": 0.0, "num_samples": 80}


def test_three_sigma_boundary():
    ring = ring8()
    mean = ring.means[2]
    inside = mean + np.array([2.99 * ring.std, 0.0])
    outside = mean + np.array([0.0, 3.01 * ring.std])
    m = mode_metrics(np.stack([inside, outside]), ring.means, ring.std)
    assert m["modes_covered"] == 1 and m["high_quality"] == 0.5
    assert m["reverse_kl"] == pytest.approx(np.log(8))  # all mass on one mode


def test_reverse_kl_of_an_uneven_histogram():
    grid = grid25()
    # High-quality counts 3, 1 on two modes, plus 4 low-quality points far away.
    points = np.concatenate([np.repeat(grid.means[[0]], 3, 0), grid.means[[7]],
                             np.full((4, 2), 1.0)])
    m = mode_metrics(points, grid.means, grid.std)
    p = np.array([0.75, 0.25])
    assert m["modes_covered"] == 2 and m["high_quality"] == 0.5
    assert m["reverse_kl"] == pytest.approx(float(np.sum(p * np.log(p * 25))))


def test_true_mixture_scores_like_the_protocol_expects():
    ring = ring8()
    points, _ = ring.sample(2500, np.random.default_rng(0))
    m = mode_metrics(points, ring.means, ring.std)
    # A 2-D Gaussian puts 1 - exp(-9/2) = 98.9% of its mass within 3 sigma.
    assert m["modes_covered"] == 8
    assert m["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.006)
    assert m["reverse_kl"] < 0.01


def test_shape_errors():
    with pytest.raises(ValueError, match=r"samples must be \[N, 2\]"):
        mode_metrics(np.zeros((3, 3)), ring8().means, 0.01)
