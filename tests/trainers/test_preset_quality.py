"""Preset quality (slow): ring8-gan and grid25-gan reach the issue's targets within 10 minutes.

Run with `pytest -m slow`. Multi-seed figures: benchmarks/preset_quality.py, BENCHMARKS.md.
"""

import pytest

from tfgen.trainers import presets, train

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preset,min_modes", [("ring8-gan", 8), ("grid25-gan", 24)])
def test_mixture_preset_quality(preset, min_modes, tmp_path):
    metrics = train.run(presets.resolve(preset), run_dir=str(tmp_path / "run"), progress=False)
    q = metrics["quality"]
    assert q["num_samples"] == 2500
    assert q["modes_covered"] >= min_modes
    assert q["high_quality"] >= 0.90
    assert metrics["wall_time_s"] < 600


def test_digits_dcgan_is_quick(tmp_path):
    metrics = train.run(presets.resolve("digits-dcgan"), run_dir=str(tmp_path / "run"),
                        progress=False)
    assert metrics["wall_time_s"] < 300
    assert (tmp_path / "run" / "samples" / "epoch_0030.png").exists()
