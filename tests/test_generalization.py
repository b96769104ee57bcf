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


def _conditioned(n, p, cond, seed):
    """An n x p matrix with singular values spaced geometrically from 1 down to 1/cond."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((p, p)))
    k = min(n, p)
    return (u[:, :k] * np.geomspace(1.0, 1.0 / cond, k)) @ v[:, :k].T


@pytest.mark.parametrize("p", [59, 60, 61])
def test_min_norm_lstsq_near_threshold_matches_scipy_qr(p):
    # scipy's gelsy driver (QR with column pivoting) is a different algorithm from numpy's SVD.
    from scipy.linalg import lstsq

    n = 60
    x = _conditioned(n, p, 1e6, seed=p)
    y = np.random.default_rng(1).standard_normal(n)
    ref = lstsq(x, y, lapack_driver="gelsy", cond=1e-12)[0]
    np.testing.assert_allclose(g.min_norm_lstsq(x, y), ref, rtol=1e-6, atol=1e-8)


def test_min_norm_lstsq_is_accurate_where_normal_equations_are_not():
    n = 40
    x = _conditioned(n, n, 1e9, seed=0)            # square, condition number 1e9
    b = np.random.default_rng(2).standard_normal(n)
    y = x @ b                                      # consistent: the solution is b
    err = np.linalg.norm(g.min_norm_lstsq(x, y) - b) / np.linalg.norm(b)
    normal = np.linalg.solve(x.T @ x, x.T @ y)     # condition number 1e18: no digit left
    assert err < 1e-5
    assert np.linalg.norm(normal - b) / np.linalg.norm(b) > 1e-3


def test_min_norm_lstsq_fits_several_responses_at_once():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((10, 25)), rng.standard_normal((10, 3))
    np.testing.assert_allclose(g.min_norm_lstsq(x, y), np.linalg.pinv(x) @ y, atol=1e-10)


def test_exact_risk_is_infinite_at_threshold_and_tends_to_limit():
    n, d = 50, 200
    r = g.subset_minnorm_risk_exact(np.array([48, 49, 50, 51, 52]), n, d, 2.0, 0.5)
    assert np.all(np.isinf(r[1:4])) and np.all(np.isfinite(r[[0, 4]]))
    # by hand at p = 10: tau2 = 0.5 + 2 * 190 / 200 = 2.4, times (n - 1) / (n - p - 1) = 49 / 39
    np.testing.assert_allclose(g.subset_minnorm_risk_exact(10, n, d, 2.0, 0.5), 2.4 * 49 / 39)
    big = 100_000
    p = np.array([0.3, 0.7, 1.5, 3.0]) * big
    np.testing.assert_allclose(g.subset_minnorm_risk_exact(p, big, 4 * big, 2.0, 0.5),
                               g.subset_minnorm_risk_theory(p, big, 4 * big, 2.0, 0.5), rtol=1e-3)


@pytest.mark.parametrize("m, k", [(20, 12), (30, 5)])
def test_inverse_wishart_mean_by_monte_carlo(m, k):
    # the identity behind subset_minnorm_risk_exact: E tr (Z^T Z)^-1 = k / (m - k - 1)
    z = np.random.default_rng(m).standard_normal((20000, m, k))
    tr = np.trace(np.linalg.inv(z.transpose(0, 2, 1) @ z), axis1=1, axis2=2)
    se = tr.std() / np.sqrt(len(tr))
    assert abs(tr.mean() - k / (m - k - 1)) < 4 * se


@pytest.mark.parametrize("p", [20, 60])
def test_exact_risk_matches_simulation(p):
    n, d, trials = 40, 120, 3000
    c = g.subset_regression_curve(n, d, [p], r2=3.0, sigma2=0.5, trials=trials, seed=p)
    se = c.minnorm.std() / np.sqrt(trials)
    exact = g.subset_minnorm_risk_exact(p, n, d, 3.0, 0.5)
    assert abs(c.minnorm.mean() - exact) < 4 * se
    # the asymptotic formula is off by more than the Monte Carlo error at this size
    assert abs(g.subset_minnorm_risk_theory(p, n, d, 3.0, 0.5) - exact) > 4 * se


def test_exact_risk_rejects_bad_p():
    with pytest.raises(ValueError, match="p must"):
        g.subset_minnorm_risk_exact(10.5, 20, 40, 1.0, 1.0)
    with pytest.raises(ValueError, match="r2"):
        g.subset_minnorm_risk_exact(10, 20, 40, -1.0, 1.0)


def _toy_classes(seed):
    rng = np.random.default_rng(seed)
    centres = 2 * rng.standard_normal((3, 5))
    def draw(m):
        y = rng.integers(0, 3, m)
        return centres[y] + rng.standard_normal((m, 5)), y
    return draw(30), draw(40), draw(25)


def test_random_features_curve_matches_direct_computation():
    (xtr, ytr), (xte, yte), (xva, yva) = _toy_classes(0)
    ps = [10, 30, 90]
    lams = [1e-3, 1e-1, 10.0]
    c = g.random_features_curve(xtr, ytr, xte, yte, ps, num_classes=3, seed=4, lams=lams,
                                x_val=xva, y_val=yva)
    big_tr = g.random_relu_features(xtr, 90, seed=4)
    big_te = g.random_relu_features(xte, 90, seed=4)
    big_va = g.random_relu_features(xva, 90, seed=4)
    onehot = np.eye(3)
    for j, p in enumerate(ps):
        coef = np.linalg.pinv(big_tr[:, :p]) @ onehot[ytr]
        pred = big_te[:, :p] @ coef
        np.testing.assert_allclose(c.test_mse[j], np.mean(np.sum((pred - onehot[yte]) ** 2, 1)),
                                   rtol=1e-6)
        assert c.test_error[j] == np.mean(pred.argmax(1) != yte)
        # ridge: the penalty with the smallest validation MSE, and its test MSE
        val = [np.mean(np.sum((big_va[:, :p] @ np.stack(
            [g.ridge(big_tr[:, :p], onehot[ytr][:, k], lam) for k in range(3)], 1)
            - onehot[yva]) ** 2, 1)) for lam in lams]
        best = lams[int(np.argmin(val))]
        assert c.ridge_lam[j] == best
        coef = np.stack([g.ridge(big_tr[:, :p], onehot[ytr][:, k], best) for k in range(3)], 1)
        np.testing.assert_allclose(
            c.ridge_test_mse[j], np.mean(np.sum((big_te[:, :p] @ coef - onehot[yte]) ** 2, 1)),
            rtol=1e-8)
    assert c.train_mse[0] > 1e-3 and c.train_mse[-1] < 1e-20   # interpolates once p >= n = 30


def test_random_features_curve_rejects_bad_input():
    (xtr, ytr), (xte, yte), _ = _toy_classes(1)
    with pytest.raises(ValueError, match="validation"):
        g.random_features_curve(xtr, ytr, xte, yte, [5], num_classes=3, lams=[0.1])
    with pytest.raises(ValueError, match="y_train"):
        g.random_features_curve(xtr, ytr + 3, xte, yte, [5], num_classes=3)
    with pytest.raises(ValueError, match="p_values"):
        g.random_features_curve(xtr, ytr, xte, yte, [0], num_classes=3)
    with pytest.raises(ValueError, match="x_test"):
        g.random_features_curve(xtr, ytr, xte[:, :2], yte, [5], num_classes=3)
    assert g.random_features_curve(xtr, ytr, xte, yte, [5], num_classes=3).ridge_lam is None


def test_optimal_ridge_penalty_hand_value_and_bad_input():
    # p = 20 of D = 400: signal 5 * 20/400 = 0.25, noise 0.5 + 5 * 0.95 = 5.25,
    # lam = 5.25 * 0.2 / 0.25.
    assert float(g.optimal_ridge_penalty(20, 100, 400, 5.0, 0.5)) == pytest.approx(4.2)
    for kwargs, name in [(dict(p=0), "p"), (dict(n=0), "n"), (dict(r2=0.0), "r2"),
                         (dict(sigma2=-1.0), "sigma2")]:
        args = dict(p=20, n=100, num_features=400, r2=5.0, sigma2=0.5) | kwargs
        with pytest.raises(ValueError, match=name):
            g.optimal_ridge_penalty(**args)


def test_subset_ridge_risk_theory_matches_simulation():
    # Independent reference: ridge at that penalty fitted on simulated data (60 trials measure
    # the mean to about 0.5 %; the finite-n theory agreed within 0.8 % over seeds).
    n, d, ps = 100, 300, [20, 100, 150, 300]
    c = g.subset_regression_curve(n, d, ps, r2=4.0, sigma2=0.5, trials=60, seed=1)
    theory = g.subset_ridge_risk_theory(np.array(ps), n, d, 4.0, 0.5)
    np.testing.assert_allclose(c.ridge.mean(0), theory, rtol=0.025)
    # Hand value at p = D (nothing omitted): noise 0.5, gamma 3, lam = 0.5 * 3 / 4.
    lam = 0.375
    m = g.marchenko_pastur_stieltjes(lam, 3.0)
    assert float(g.subset_ridge_risk_theory(300, n, d, 4.0, 0.5)) == pytest.approx(
        0.5 + 0.5 * 3.0 * m)
