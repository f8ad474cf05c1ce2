"""Mode coverage, high-quality fraction and reverse KL for ring8/grid25 (PacGAN protocol)."""

from __future__ import annotations

import numpy as np


def mode_metrics(samples: np.ndarray, means: np.ndarray, std: float) -> dict:
    """PacGAN's metrics (Lin et al. 2018, PROTOCOLS.md section 1) for 2-D samples.

    Each sample is assigned to its nearest mean; it is *high quality* when its distance to that
    mean is below 3 standard deviations (sqrt(Σ d²/σ²) < 3).

    Args:
        samples: generated points [N, 2] (the protocol draws N = 2,500).
        means: the mixture's mode centres [K, 2].
        std: the modes' standard deviation σ.

    Returns:
        modes_covered: modes with at least one high-quality sample.
        high_quality: fraction of samples that are high quality.
        reverse_kl: KL(p ‖ uniform) of the histogram p of high-quality samples over the K modes,
            in nats: log K - H(p), a mode with no sample contributing 0 (log K when no sample
            is high quality is not defined: reported as log K, the maximum).
        num_samples: N.
    """
    samples = np.asarray(samples, np.float64)
    means = np.asarray(means, np.float64)
    if samples.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(f"samples must be [N, {means.shape[1]}]; got shape {samples.shape}")
    d2 = ((samples[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)
    nearest = d2.argmin(axis=1)
    high = np.sqrt(d2[np.arange(len(samples)), nearest]) / std < 3.0
    k = len(means)
    counts = np.bincount(nearest[high], minlength=k).astype(np.float64)
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        reverse_kl = float(np.sum(p[nz] * np.log(p[nz] * k)))
    else:
        reverse_kl = float(np.log(k))
    return {
        "modes_covered": int((counts > 0).sum()),
        "high_quality": float(high.mean()) if len(samples) else 0.0,
        "reverse_kl": reverse_kl,
        "num_samples": int(len(samples)),
    }
