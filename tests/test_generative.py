"""GDA, its logistic posterior and exact errors, against scikit-learn, Monte Carlo, by hand."""

from __future__ import annotations

import numpy as np
import pytest
from dlscience import generative as gen
from scipy.stats import norm
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    m0, m1, cov = gen.shared_covariance_problem(4, 2.0, 3.0, rng)
    comps = [gen.Component(0.4, m0, cov, 0), gen.Component(0.6, m1, cov, 1)]
    return comps, rng


def test_problem_has_the_requested_mahalanobis_distance():
    m0, m1, cov = gen.shared_covariance_problem(6, 2.5, 4.0, np.random.default_rng(1))
    d = m1 - m0
    assert np.sqrt(d @ np.linalg.solve(cov, d)) == pytest.approx(2.5)
    assert np.linalg.cond(cov) == pytest.approx(4.0)


def test_fit_gda_matches_scikit_learn_lda(problem):
    comps, rng = problem
    x, y = gen.sample(comps, 500, rng)
    model = gen.fit_gda(x, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr", store_covariance=True).fit(x, y)
    np.testing.assert_allclose(model.cov, lda.covariance_, rtol=1e-10)
    w, b = gen.gda_logistic_parameters(model)
    np.testing.assert_allclose(w, lda.coef_[0], rtol=1e-8)
    assert b == pytest.approx(lda.intercept_[0], rel=1e-8)


def test_logistic_form_equals_bayes_rule(problem):
    comps, rng = problem
    model = gen.fit_gda(*gen.sample(comps, 300, rng))
    w, b = gen.gda_logistic_parameters(model)
    pts = rng.normal(size=(50, 4))
    np.testing.assert_allclose(gen.gda_posterior_bayes(model, pts),
                               1 / (1 + np.exp(-(pts @ w + b))), atol=1e-12)


def test_linear_error_by_hand_and_by_monte_carlo(problem):
    # One dimension by hand: N(0,1) vs N(2,1), threshold at 1: error Phi(-1).
    one = [gen.Component(0.5, np.zeros(1), np.eye(1), 0),
           gen.Component(0.5, np.full(1, 2.0), np.eye(1), 1)]
    assert gen.linear_error(np.ones(1), -1.0, one) == pytest.approx(norm.cdf(-1.0))
    comps, rng = problem
    w, b = rng.normal(size=4), 0.3
    x, y = gen.sample(comps, 200_000, rng)
    monte_carlo = np.mean((x @ w + b > 0) != (y == 1))
    assert gen.linear_error(w, b, comps) == pytest.approx(monte_carlo, abs=0.004)


def test_sample_respects_the_weights(problem):
    comps, rng = problem
    _, y = gen.sample(comps, 20_000, rng)
    assert y.mean() == pytest.approx(0.6, abs=0.015)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="sum to 1"):
        gen.sample([gen.Component(0.5, np.zeros(2), np.eye(2), 0),
                    gen.Component(0.2, np.zeros(2), np.eye(2), 1)], 10,
                   np.random.default_rng(0))
    with pytest.raises(ValueError, match="singular"):
        gen.fit_gda(np.random.default_rng(0).normal(size=(4, 5)), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="labels 0 and 1"):
        gen.fit_gda(np.ones((3, 1)), np.array([0, 0, 0]))
    with pytest.raises(ValueError, match="dim"):
        gen.shared_covariance_problem(0, 1.0, 1.0, np.random.default_rng(0))


def _two(d: int = 2) -> list[gen.Component]:
    return [gen.Component(0.4, np.zeros(d), np.eye(d), 0),
            gen.Component(0.6, np.ones(d), np.eye(d), 1)]


@pytest.mark.parametrize("components, message", [
    ([], r"^components must be a non-empty list of Component\.$"),
    ([gen.Component(0.4, np.zeros(2), np.eye(2), 0),
      gen.Component(0.6, np.ones(2), np.eye(2), 2)], r"^component labels must be 0 or 1, got 2"),
    ([gen.Component(0.4, np.zeros(2), np.eye(2), 0),
      gen.Component(0.6, np.ones(3), np.eye(2), 1)],
     r"^every component needs a mean of shape \(2,\) and a covariance of shape \(2, 2\)"),
    ([gen.Component(0.4, np.zeros(2), np.eye(2), 0),
      gen.Component(0.6, np.ones(2), np.eye(3), 1)], r"^every component needs a mean"),
    ([gen.Component(1.0, np.zeros(2), np.eye(2), 0),
      gen.Component(0.0, np.ones(2), np.eye(2), 1)], r"^component weights must be positive"),
    ([gen.Component(0.4, np.zeros(2), np.eye(2), 1),
      gen.Component(0.6, np.ones(2), np.eye(2), 1)],
     r"^a binary problem needs components of both labels 0 and 1\.$"),
])
def test_bad_components_are_named(components, message):
    """Each rule of a valid problem has its own message, checked from its start."""
    with pytest.raises(ValueError, match=message):
        gen.linear_error(np.ones(2), 0.0, components)


@pytest.mark.parametrize("n", [0, 1.5, True])
def test_sample_rejects_bad_n(n):
    """n must be a positive integer (a float or a bool is not)."""
    with pytest.raises(ValueError, match=r"^n must be a positive integer"):
        gen.sample(_two(), n, np.random.default_rng(0))


def test_sample_of_one_point_has_integer_labels():
    """n = 1 is allowed; labels come back as integers in {0, 1}."""
    x, y = gen.sample(_two(), 1, np.random.default_rng(0))
    assert x.shape == (1, 2) and y.shape == (1,)
    assert y.dtype.kind == "i" and y[0] in (0, 1)
    _, y = gen.sample(_two(), 50, np.random.default_rng(1))
    assert y.dtype.kind == "i" and set(y.tolist()) == {0, 1}


@pytest.mark.parametrize("dim, mahalanobis, condition, message", [
    (True, 1.0, 1.0, r"^dim must be a positive integer"),
    (0, 1.0, 1.0, r"^dim must be a positive integer"),
    (2, 0.0, 2.0, r"^mahalanobis must be positive and condition at least 1, got 0\.0 and 2\.0"),
    (2, 1.0, 0.5, r"^mahalanobis must be positive and condition at least 1"),
])
def test_shared_covariance_problem_rejects_bad_arguments(dim, mahalanobis, condition, message):
    """Boundary values: dim 0, mahalanobis 0 and condition below 1 are rejected."""
    with pytest.raises(ValueError, match=message):
        gen.shared_covariance_problem(dim, mahalanobis, condition, np.random.default_rng(0))


@pytest.mark.parametrize("dim, mahalanobis, condition",
                         [(1, 0.5, 1.0), (3, 1.0, 1.5), (4, 2.0, 9.0)])
def test_shared_covariance_problem_spectrum(dim, mahalanobis, condition):
    """Smallest allowed values work; the eigenvalues are geomspace(1/sqrt(c), sqrt(c), dim)."""
    m0, m1, cov = gen.shared_covariance_problem(dim, mahalanobis, condition,
                                                np.random.default_rng(2))
    np.testing.assert_allclose(np.linalg.eigvalsh(cov),
                               np.geomspace(condition ** -0.5, condition ** 0.5, dim), rtol=1e-10)
    np.testing.assert_array_equal(m0, np.zeros(dim))
    assert np.sqrt(m1 @ np.linalg.solve(cov, m1)) == pytest.approx(mahalanobis, rel=1e-12)


def test_fit_gda_bad_input_messages():
    """Shape mismatch, a missing class and too few points are reported with exact numbers."""
    x = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(ValueError, match=r"^x must be \(n, d\) and y \(n,\), got \(6, 2\) and "
                                         r"\(5,\)\.$"):
        gen.fit_gda(x, np.array([0, 1, 0, 1, 0]))
    for labels in ([1] * 6, [0] * 6, [0, 1, 2, 0, 1, 0]):
        with pytest.raises(ValueError, match=r"^y must hold labels 0 and 1, both present\.$"):
            gen.fit_gda(x, np.array(labels))
    # two classes of 2 points in dimension 5: the pooled covariance has rank <= 4 - 2 = 2
    with pytest.raises(ValueError, match=r"^the pooled covariance is singular: GDA needs more than "
                                         r"6 points in dimension 5, got 4\.$"):
        gen.fit_gda(np.random.default_rng(0).normal(size=(4, 5)), np.array([0, 1, 0, 1]))


def test_linear_error_of_a_constant_classifier():
    """w = 0 predicts 1[b > 0] everywhere: the error is the weight of the other label (by hand)."""
    comps = _two()
    assert gen.linear_error(np.zeros(2), 0.5, comps) == pytest.approx(0.4)   # all say 1
    assert gen.linear_error(np.zeros(2), 0.0, comps) == pytest.approx(0.6)   # 0 > 0 is false
    assert gen.linear_error(np.zeros(2), -2.0, comps) == pytest.approx(0.6)  # all say 0


def test_fit_gda_computes_in_float64():
    """float32 data gives the float64 estimates of the same (exactly converted) numbers."""
    comps = _two(3)
    x, y = gen.sample(comps, 40, np.random.default_rng(3))
    x32 = x.astype(np.float32)
    got, ref = gen.fit_gda(x32, y), gen.fit_gda(x32.astype(np.float64), y)
    assert got.cov.dtype == np.float64
    np.testing.assert_allclose(got.cov, ref.cov, rtol=1e-13)
    np.testing.assert_allclose(got.mean1, ref.mean1, rtol=1e-13)
