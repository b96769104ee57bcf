import numpy as np
import pytest
from dlscience import generalization as g
from sklearn.linear_model import Ridge


@pytest.mark.parametrize("p", [5, 20, 30, 60])
def test_min_norm_lstsq_matches_pseudo_inverse(p):
    rng = np.random.default_rng(p)
    x, y = rng.standard_normal((20, p)), rng.standard_normal(20)
    b = g.min_norm_lstsq(x, y)
    np.testing.assert_allclose(b, np.linalg.pinv(x) @ y, rtol=1e-8, atol=1e-10)


def test_min_norm_interpolates_when_overparameterized():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 40)), rng.standard_normal(10)
    np.testing.assert_allclose(x @ g.min_norm_lstsq(x, y), y, atol=1e-10)


@pytest.mark.parametrize("p", [5, 50])
def test_ridge_matches_scikit_learn(p):
    rng = np.random.default_rng(1)
    n, lam = 20, 0.3
    x, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    # scikit-learn minimizes |y - x b|^2 + alpha |b|^2, i.e. alpha = n * lam in our scaling.
    ref = Ridge(alpha=n * lam, fit_intercept=False, solver="svd").fit(x, y).coef_
    np.testing.assert_allclose(g.ridge(x, y, lam), ref, rtol=1e-8, atol=1e-10)


def test_ridge_tends_to_min_norm():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 30)), rng.standard_normal(10)
    np.testing.assert_allclose(g.ridge(x, y, 1e-9), g.min_norm_lstsq(x, y), atol=1e-6)


def test_random_relu_features_are_deterministic_and_nonnegative():
    x = np.random.default_rng(3).standard_normal((7, 4))
    f1, f2 = g.random_relu_features(x, 11, seed=5), g.random_relu_features(x, 11, seed=5)
    assert f1.shape == (7, 11) and np.all(f1 >= 0)
    np.testing.assert_array_equal(f1, f2)
    assert not np.array_equal(f1, g.random_relu_features(x, 11, seed=6))


def test_minnorm_risk_theory_values():
    r = g.minnorm_risk_theory(np.array([0.5, 1.0, 2.0]), r2=1.0, sigma2=1.0)
    np.testing.assert_allclose(r[[0, 2]], [1.0, 1.5])
    assert np.isinf(r[1])


def test_subset_theory_reduces_to_isotropic_when_all_features_used():
    p = np.array([50.0, 300.0])
    np.testing.assert_allclose(
        g.subset_minnorm_risk_theory(p, n=100, num_features=300, r2=2.0, sigma2=0.5)[1],
        0.5 + g.minnorm_risk_theory(3.0, r2=2.0, sigma2=0.5))


def test_subset_regression_curve_agrees_with_theory_away_from_threshold():
    n, d = 60, 240
    ps = [15, 180, 240]
    c = g.subset_regression_curve(n, d, ps, r2=4.0, sigma2=0.5, trials=30, seed=0)
    theory = g.subset_minnorm_risk_theory(np.array(ps), n, d, 4.0, 0.5)
    assert c.minnorm.shape == c.ridge.shape == (30, 3)
    np.testing.assert_allclose(c.minnorm.mean(0), theory, rtol=0.15)
    assert np.all(c.ridge.mean(0) <= c.minnorm.mean(0) + 1e-9)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=0, num_features=10, p_values=[1]), "n"),
    (dict(n=5, num_features=10, p_values=[11]), "p_values"),
    (dict(n=5, num_features=10, p_values=[2], trials=0), "trials"),
])
def test_subset_regression_curve_rejects_bad_input(kwargs, name):
    kwargs = {"r2": 1.0, "sigma2": 1.0, "trials": 1, **kwargs}
    with pytest.raises(ValueError, match=name):
        g.subset_regression_curve(**kwargs)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="lam"):
        g.ridge(np.ones((3, 2)), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="y must"):
        g.min_norm_lstsq(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="gamma"):
        g.minnorm_risk_theory(-1.0, 1.0, 1.0)


def test_marchenko_pastur_stieltjes_matches_empirical_spectrum():
    x = np.random.default_rng(4).standard_normal((600, 300))
    s = np.linalg.eigvalsh(x.T @ x / 600)
    assert abs(np.mean(1 / (s + 0.5)) - g.marchenko_pastur_stieltjes(0.5, 0.5)) < 0.02


def test_ridge_theory_is_below_min_norm_theory():
    p = np.array([20.0, 90.0, 110.0, 300.0])
    mn = g.subset_minnorm_risk_theory(p, 100, 400, 5.0, 0.5)
    rd = g.subset_ridge_risk_theory(p, 100, 400, 5.0, 0.5)
    assert np.all(rd <= mn) and np.all(rd <= 5.5)
