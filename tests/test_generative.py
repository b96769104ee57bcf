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
