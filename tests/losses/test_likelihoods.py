"""Each VAE likelihood's log-probability against an independent SciPy/NumPy computation; the
likelihoods as ingredients (names, dicts, option checks)."""

import numpy as np
import pytest
from scipy import integrate, special, stats

from tfgen import ingredients
from tfgen.errors import OptionError
from tfgen.ingredients import (
    Bernoulli,
    Categorical,
    ContinuousBernoulli,
    DiscretizedLogisticMixture,
    Gaussian,
)
from tfgen.ingredients.continuous_bernoulli import continuous_bernoulli_log_norm


def get_likelihood(spec):
    return ingredients.get("likelihood", spec)


RNG = np.random.default_rng(0)
X = RNG.uniform(0, 1, size=(3, 4, 4, 1)).astype(np.float32)
LOGITS = RNG.normal(0, 2, size=(3, 4, 4, 1)).astype(np.float32)


def test_bernoulli_binarised_matches_scipy():
    lam = special.expit(LOGITS.astype(np.float64))
    expected = stats.bernoulli.logpmf((X > 0.5).astype(int), lam).reshape(3, -1).sum(1)
    np.testing.assert_allclose(Bernoulli().log_prob(X, LOGITS).numpy(), expected, rtol=1e-5)


def test_bernoulli_on_continuous_targets_is_the_cross_entropy():
    lam = special.expit(LOGITS.astype(np.float64))
    expected = (X * np.log(lam) + (1 - X) * np.log1p(-lam)).reshape(3, -1).sum(1)
    got = Bernoulli(binarize=False).log_prob(X, LOGITS).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("logit", [-6.0, -1.3, -0.02, 0.0, 0.01, 0.7, 5.0])
def test_continuous_bernoulli_normaliser_integrates_to_one(logit):
    lam = special.expit(logit)
    z, _ = integrate.quad(lambda x: lam**x * (1 - lam) ** (1 - x), 0, 1)
    got = float(continuous_bernoulli_log_norm(np.array([logit], np.float32))[0])
    assert got == pytest.approx(-np.log(z), abs=2e-5)


def test_continuous_bernoulli_density_and_mean():
    lam = special.expit(LOGITS.astype(np.float64))
    log_c = np.array([-np.log(integrate.quad(lambda x, p=p: p**x * (1 - p) ** (1 - x), 0, 1)[0])
                      for p in lam.ravel()]).reshape(lam.shape)
    expected = (X * np.log(lam) + (1 - X) * np.log1p(-lam) + log_c).reshape(3, -1).sum(1)
    cb = ContinuousBernoulli()
    np.testing.assert_allclose(cb.log_prob(X, LOGITS).numpy(), expected, rtol=1e-4, atol=1e-4)
    p = lam.ravel()[0]
    z = integrate.quad(lambda x: p**x * (1 - p) ** (1 - x), 0, 1)[0]
    mean = integrate.quad(lambda x: x * p**x * (1 - p) ** (1 - x), 0, 1)[0] / z
    assert float(cb.mean(LOGITS).numpy().ravel()[0]) == pytest.approx(mean, abs=1e-5)


def test_gaussian_fixed_and_learned_scale():
    mu = RNG.normal(size=X.shape).astype(np.float32)
    expected = stats.norm.logpdf(X, mu, 0.3).reshape(3, -1).sum(1)
    np.testing.assert_allclose(Gaussian(scale=0.3).log_prob(X, mu).numpy(), expected, rtol=1e-5)
    log_scale = RNG.normal(0, 0.5, size=X.shape).astype(np.float32)
    params = np.concatenate([mu, log_scale], axis=-1)
    learned = Gaussian()
    assert learned.channels_per_dim == 2
    expected = stats.norm.logpdf(X, mu, np.exp(log_scale)).reshape(3, -1).sum(1)
    np.testing.assert_allclose(learned.log_prob(X, params).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(learned.mean(params).numpy(), mu)


def test_categorical_17_levels_of_digits():
    k = RNG.integers(0, 17, size=(3, 8, 8, 1))
    x = (k / 16.0).astype(np.float32)
    logits = RNG.normal(size=(3, 8, 8, 17)).astype(np.float32)
    log_p = logits - special.logsumexp(logits, axis=-1, keepdims=True)
    expected = np.take_along_axis(log_p, k, axis=-1).reshape(3, -1).sum(1)
    cat = Categorical(17)
    np.testing.assert_allclose(cat.log_prob(x, logits).numpy(), expected, rtol=1e-5)
    p = special.softmax(logits, axis=-1)
    np.testing.assert_allclose(cat.mean(logits).numpy()[..., 0],
                               (p * np.linspace(0, 1, 17)).sum(-1), rtol=1e-5)
    # A distribution sums to one over the 17 values of a pixel.
    one_pixel = np.zeros((17, 1, 1, 1), np.float32) + (np.arange(17) / 16).reshape(17, 1, 1, 1)
    total = np.exp(cat.log_prob(one_pixel, np.repeat(logits[:1, :1, :1], 17, 0)).numpy()).sum()
    assert total == pytest.approx(1.0, abs=1e-5)


def test_get_likelihood():
    assert isinstance(get_likelihood("categorical"), Categorical)
    g = get_likelihood({"name": "gaussian", "scale": 0.1})
    assert g.scale == 0.1 and get_likelihood(g) is g
    with pytest.raises(OptionError, match="unknown likelihood 'poisson'; choose from: bernoulli"):
        get_likelihood("poisson")
    with pytest.raises(OptionError, match="levels: must be >= 2; got 1"):
        get_likelihood({"name": "categorical", "levels": 1})


def _logistic_mixture_numpy(x, logits, loc, log_scale, levels):
    """The discretised logistic mixture straight from its definition, in float64: the bin's mass
    from differences of the logistic CDF (scipy.stats.logistic), edge bins taking the tails."""
    k = np.round(x * (levels - 1))
    centre, half = k / (levels - 1), 0.5 / (levels - 1)
    scale = np.exp(np.clip(log_scale, -9.0, 3.0))
    upper = stats.logistic.cdf(centre + half, loc, scale)
    lower = stats.logistic.cdf(centre - half, loc, scale)
    mass = np.where(k == 0, upper, np.where(k == levels - 1, 1.0 - lower, upper - lower))
    weights = special.softmax(logits, axis=-1)
    return np.log((weights * mass).sum(-1)).reshape(len(x), -1).sum(1)


@pytest.mark.parametrize("levels,components", [(256, 5), (17, 1), (2, 3)])
def test_discretized_logistic_mixture_matches_its_definition(levels, components):
    rng = np.random.default_rng(levels)
    x = rng.integers(0, levels, (4, 3, 3, 1)) / (levels - 1)
    x[0, 0, 0, 0], x[0, 0, 1, 0] = 0.0, 1.0  # both edge bins
    params = rng.normal(0, 1, (4, 3, 3, 3 * components))
    params[..., components:2 * components] = rng.uniform(-0.2, 1.2, (4, 3, 3, components))
    params[..., 2 * components:] = rng.uniform(-3, 0, (4, 3, 3, components))  # no float64 underflow
    lik = DiscretizedLogisticMixture(levels, components)
    got = lik.log_prob(x.astype(np.float32), params.astype(np.float32)).numpy()
    logits, loc, log_scale = np.split(params[..., None, :], 3, axis=-1)
    expected = _logistic_mixture_numpy(x[..., None], logits, loc, log_scale, levels)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-3)


def test_discretized_logistic_sums_to_one_and_stays_finite_in_the_tails():
    lik = DiscretizedLogisticMixture(256, 2)
    values = np.arange(256, dtype=np.float32) / 255.0
    for loc, log_scale in [(0.3, -3.0), (0.999, -8.0), (-5.0, -1.0), (0.5, 2.5)]:
        params = np.array([0.3, -0.2, loc, loc + 0.1, log_scale, log_scale], np.float32)
        params = np.tile(params, (256, 1)).reshape(256, 1, 1, 6)
        log_p = lik.log_prob(values.reshape(256, 1, 1, 1), params).numpy()
        assert np.all(np.isfinite(log_p))
        assert np.exp(log_p.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-4)
    assert get_likelihood({"name": "discretized_logistic", "components": 3}).channels_per_dim == 9
