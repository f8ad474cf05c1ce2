"""Sample-quality metrics on feature sets (PROTOCOLS.md section 3), as NumPy functions.

Fréchet distance (float64, stable matrix square root), KID (unbiased MMD², cubic polynomial
kernel, averaged over subsets), precision/recall (Kynkäänniemi et al. 2019) and density/coverage
(Naeem et al. 2020) from k-nearest-neighbour balls.
"""

from __future__ import annotations

import numpy as np


def _features(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be [N, D]; got shape {x.shape}")
    return x


def frechet_distance(real, fake) -> float:
    """‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½) between Gaussians fitted to two feature sets.

    Tr((Σ₁Σ₂)^½) is computed as Tr((Σ₁^½ Σ₂ Σ₁^½)^½) from symmetric eigendecompositions, which
    stays real and stable for singular covariances (fewer samples than dimensions).
    """
    real, fake = _features(real), _features(fake)
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    s1, s2 = np.atleast_2d(s1), np.atleast_2d(s2)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eig, 0, None)).sum()
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def kernel_inception_distance(real, fake, num_subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD² with k(x, y) = (xᵀy / d + 1)³, mean and std over random subsets."""
    real, fake = _features(real), _features(fake)
    d = real.shape[1]
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError("KID needs at least 2 samples per set")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
               + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def _sq_dists(a, b, chunk: int = 2048) -> np.ndarray:
    out = np.empty((len(a), len(b)))
    bb = (b**2).sum(1)
    for i in range(0, len(a), chunk):
        aa = a[i:i + chunk]
        out[i:i + chunk] = np.maximum((aa**2).sum(1)[:, None] + bb[None] - 2 * aa @ b.T, 0)
    return out


def _knn_radii(x, k: int) -> np.ndarray:
    """Squared distance of each point to its k-th nearest neighbour (itself excluded)."""
    d = _sq_dists(x, x)
    return np.partition(d, k, axis=1)[:, k]


def prdc(real, fake, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Precision and recall (k = 3) and density and coverage (k = 5) of `fake` against `real`.

    precision: fraction of fake samples inside some real sample's k-NN ball;
    recall: fraction of real samples inside some fake sample's k-NN ball;
    density: (1 / kM) Σ_j Σ_i 1[y_j ∈ B(x_i, r_k(x_i))];
    coverage: fraction of real samples whose k-NN ball holds a fake sample.
    """
    real, fake = _features(real), _features(fake)
    cross = _sq_dists(real, fake)  # [N, M]
    r_real_pr, r_fake_pr = _knn_radii(real, k_pr), _knn_radii(fake, k_pr)
    precision = float((cross <= r_real_pr[:, None]).any(axis=0).mean())
    recall = float((cross <= r_fake_pr[None, :]).any(axis=1).mean())
    r_real_dc = r_real_pr if k_dc == k_pr else _knn_radii(real, k_dc)
    inside = cross <= r_real_dc[:, None]
    density = float(inside.sum() / (k_dc * len(fake)))
    coverage = float(inside.any(axis=1).mean())
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage,
            "k_precision_recall": k_pr, "k_density_coverage": k_dc}


def nearest_distances(queries, pool, chunk: int = 1024) -> np.ndarray:
    """Euclidean distance from each row of `queries` to its nearest row of `pool` (float32
    products in chunks, so a 10,000 x 55,000 search needs no 2 GB matrix)."""
    q = np.asarray(queries, np.float32).reshape(len(queries), -1)
    p = np.asarray(pool, np.float32).reshape(len(pool), -1)
    p_sq = (p.astype(np.float64) ** 2).sum(1)
    out = np.empty(len(q), np.float64)
    for start in range(0, len(q), chunk):
        part = q[start:start + chunk]
        d2 = (part.astype(np.float64) ** 2).sum(1)[:, None] + p_sq[None, :] - 2.0 * (
            part @ p.T).astype(np.float64)
        out[start:start + chunk] = np.sqrt(np.clip(d2.min(1), 0.0, None))
    return out


def memorisation(generated, held_out, train, percentile: float = 1.0) -> dict:
    """How many generated samples sit closer to a training example than new data do
    (PROTOCOLS.md section 4).

    For each held-out example (never trained on), its distance to the nearest training example;
    `threshold` is the `percentile`-th percentile of those distances. The value is the fraction
    of generated samples whose nearest training example is closer than `threshold`: about
    `percentile`/100 for a model that generates new data like the held-out set, near 1 for a
    model that copies training examples.

    Returns:
        {"fraction", "threshold", "generated_median", "held_out_median"}.
    """
    reference = nearest_distances(held_out, train)
    threshold = float(np.percentile(reference, percentile))
    fake = nearest_distances(generated, train)
    return {"fraction": float((fake < threshold).mean()), "threshold": threshold,
            "generated_median": float(np.median(fake)),
            "held_out_median": float(np.median(reference))}
