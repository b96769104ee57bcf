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


# --- exact values, defaults and argument checks ---------------------------------------------

def test_ridge_primal_and_dual_match_closed_form():
    """Both branches (p < n, p = n, p > n) against the closed form by numpy's pinv/inv."""
    rng = np.random.default_rng(7)
    lam = 0.7
    for n, p in [(6, 3), (5, 5), (4, 9)]:
        x, y = rng.standard_normal((n, p)), rng.standard_normal(n)
        ref = np.linalg.inv(x.T @ x / n + lam * np.eye(p)) @ x.T @ y / n
        np.testing.assert_allclose(g.ridge(x, y, lam), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lam", [0.0, -1.0, np.inf, np.nan])
def test_ridge_rejects_non_positive_or_infinite_lam(lam):
    with pytest.raises(ValueError, match=r"^lam must be a positive number"):
        g.ridge(np.eye(3), np.ones(3), lam)


def test_ridge_accepts_small_positive_lam():
    """lam = 0.5 is valid: solution of (I / 3 + 0.5 I) b = y / 3 is b = y / 2.5 for x = I_3."""
    np.testing.assert_allclose(g.ridge(np.eye(3), np.ones(3), 0.5), np.ones(3) / 2.5)


@pytest.mark.parametrize("x, y, pattern", [
    (np.ones(3), np.ones(3), r"^x must be a 2-D array \(n, p\), got shape \(3,\)"),
    (np.ones((3, 2, 1)), np.ones(3), r"^x must be a 2-D array \(n, p\)"),
    (np.ones((3, 2)), np.ones((3, 1)), r"^y must be a 1-D array with x\.shape\[0\] = 3 entries"),
    (np.ones((3, 2)), np.ones(2), r"^y must be a 1-D array with x\.shape\[0\] = 3 entries"),
])
def test_ridge_rejects_bad_shapes(x, y, pattern):
    with pytest.raises(ValueError, match=pattern):
        g.ridge(x, y, 1.0)


@pytest.mark.parametrize("x, y, pattern", [
    (np.ones(3), np.ones(3), r"^x must be a 2-D array \(n, p\), got shape \(3,\)"),
    (np.ones((3, 2, 1)), np.ones(3), r"^x must be a 2-D array"),
    (np.ones((3, 2)), np.ones(2), r"^y must be an array of shape \(3,\) or \(3, k\) to match x"),
    (np.ones((3, 2)), np.ones((3, 1, 1)), r"^y must be an array of shape \(3,\) or \(3, k\)"),
    (np.ones((3, 2)), np.ones((2, 3)), r"^y must be an array of shape \(3,\) or \(3, k\)"),
])
def test_min_norm_lstsq_rejects_bad_shapes(x, y, pattern):
    with pytest.raises(ValueError, match=pattern):
        g.min_norm_lstsq(x, y)


def test_min_norm_lstsq_integer_inputs_and_tall_design():
    """Integer input, p < n with y of shape (n, 2): equals pinv(x) @ y (numpy reference)."""
    x = np.array([[1, 0], [0, 2], [1, 1]])
    y = np.array([[1, 2], [3, 4], [5, 7]])
    np.testing.assert_allclose(g.min_norm_lstsq(x, y), np.linalg.pinv(x) @ y, atol=1e-12)


def test_random_relu_features_closed_form_and_default_seed():
    """max(0, x W / sqrt(d)) with W ~ default_rng(0).standard_normal((d, p)), seed 0 default."""
    x = np.random.default_rng(3).standard_normal((5, 4))
    w = np.random.default_rng(0).standard_normal((4, 6))
    np.testing.assert_allclose(g.random_relu_features(x, 6), np.maximum(x @ w / 2.0, 0.0),
                               rtol=1e-12)
    w = np.random.default_rng(9).standard_normal((4, 1))
    np.testing.assert_allclose(g.random_relu_features(x, 1, seed=9),
                               np.maximum(x @ w / 2.0, 0.0), rtol=1e-12)


def test_random_relu_features_rejects_bad_input():
    with pytest.raises(ValueError, match=r"^x must be a 2-D array \(n, d\), got shape \(4,\)"):
        g.random_relu_features(np.ones(4), 3)
    with pytest.raises(ValueError, match=r"^x must be a 2-D array \(n, d\)"):
        g.random_relu_features(np.ones((4, 2, 2)), 3)
    with pytest.raises(ValueError, match=r"^p must be a positive integer, got 0"):
        g.random_relu_features(np.ones((4, 2)), 0)


def test_minnorm_risk_theory_hand_values():
    """sigma2 g / (1 - g) below 1, r2 (1 - 1/g) + sigma2 / (g - 1) above; inf at 1."""
    gam = np.array([0.25, 0.5, 1.0, 1.5, 4.0])
    r = g.minnorm_risk_theory(gam, r2=3.0, sigma2=2.0)
    ref = [2.0 * 0.25 / 0.75, 2.0, np.inf, 3.0 / 3.0 + 2.0 / 0.5, 3.0 * 0.75 + 2.0 / 3.0]
    np.testing.assert_allclose(r, ref)


def test_minnorm_risk_theory_is_silent_at_threshold():
    """The documented inf at gamma = 1 (and 0/0 with zero noise) comes without RuntimeWarning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = g.minnorm_risk_theory(np.array([0.5, 1.0, 2.0]), r2=0.0, sigma2=0.0)
        r2 = g.minnorm_risk_theory(1.0, r2=1.0, sigma2=1.0)
    np.testing.assert_array_equal(r, [0.0, np.inf, 0.0])
    assert np.isinf(r2)


@pytest.mark.parametrize("gamma, r2, sigma2, pattern", [
    (0.0, 1.0, 1.0, r"^gamma must hold positive finite ratios p / n\.$"),
    (np.inf, 1.0, 1.0, r"^gamma must hold positive finite ratios p / n\.$"),
    (np.array([0.5, np.nan]), 1.0, 1.0, r"^gamma must hold positive finite ratios"),
    (0.5, -0.1, 1.0, r"^r2 and sigma2 must be non-negative, got r2=-0\.1, sigma2=1\.0\.$"),
    (0.5, 1.0, -0.1, r"^r2 and sigma2 must be non-negative, got r2=1\.0, sigma2=-0\.1\.$"),
])
def test_minnorm_risk_theory_rejects_bad_input(gamma, r2, sigma2, pattern):
    with pytest.raises(ValueError, match=pattern):
        g.minnorm_risk_theory(gamma, r2, sigma2)


def test_minnorm_risk_theory_accepts_boundary_values():
    """gamma = 0.5 (below 1), r2 = sigma2 = 0.5: risk 0.5 * 0.5 / 0.5 = 0.5 by hand."""
    assert float(g.minnorm_risk_theory(0.5, 0.5, 0.5)) == pytest.approx(0.5)
    assert float(g.minnorm_risk_theory(0.5, 0.0, 0.0)) == 0.0


def test_subset_minnorm_risk_theory_hand_values():
    """n = 10, D = 40, r2 = 4, sigma2 = 1: noise = 1 + 4 (1 - p/40), signal = 4 p / 40."""
    p = np.array([1, 5, 10, 20, 40])
    r = g.subset_minnorm_risk_theory(p, 10, 40, 4.0, 1.0)
    ref = []
    for pi in p:
        noise, signal, gam = 1 + 4 * (1 - pi / 40), 4 * pi / 40, pi / 10
        if gam < 1:
            ref.append(noise + noise * gam / (1 - gam))
        elif gam > 1:
            ref.append(noise + signal * (1 - 1 / gam) + noise / (gam - 1))
        else:
            ref.append(np.inf)
    np.testing.assert_allclose(r, ref)
    # p = 5: noise 4.5, gamma 0.5 -> 4.5 + 4.5 = 9; p = 20: noise 3, signal 2, gamma 2 -> 3+1+3.
    np.testing.assert_allclose(r[[1, 3]], [9.0, 7.0])


def test_subset_minnorm_risk_theory_silent_at_threshold():
    """p = n gives the documented inf quietly: 0/0 (p = n = D, zero noise) and noise / 0."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = g.subset_minnorm_risk_theory(np.array([2, 4]), 4, 4, 1.0, 0.0)
        r_noisy = g.subset_minnorm_risk_theory(4, 4, 8, 1.0, 0.5)   # noise / 0 at p = n
    assert np.isinf(r[1]) and np.isinf(r_noisy)
    # p = 2: noise 0.5, gamma 0.5 -> 0.5 + 0.5.
    assert r[0] == pytest.approx(1.0)


_SUBSET_FUNCS = [g.subset_minnorm_risk_theory, g.subset_minnorm_risk_exact,
                 g.subset_ridge_risk_theory, g.optimal_ridge_penalty]


def test_subset_regression_curve_noise_free_full_model_is_exact():
    """sigma2 = 0 and p = D <= n: the optimal penalty is 0 and the best ridge fit is its
    lam -> 0+ limit, the least-squares fit, which recovers beta exactly, so both test errors
    are sigma2 + |beta_rest|^2 = 0 (to rounding). (It used to pass lam = 0 to ridge, which
    rejects it.)"""
    c = g.subset_regression_curve(6, 4, [4], r2=0.5, sigma2=0.0, trials=2, seed=1)
    np.testing.assert_allclose(c.ridge, 0.0, atol=1e-20)
    np.testing.assert_allclose(c.minnorm, 0.0, atol=1e-20)
    # p < D still uses ridge's positive penalty (beta_rest is noise)
    c2 = g.subset_regression_curve(6, 4, [2, 4], r2=0.5, sigma2=0.0, trials=1, seed=1)
    assert c2.ridge[0, 0] > 0 and c2.ridge[0, 1] < 1e-20


@pytest.mark.parametrize("f", _SUBSET_FUNCS)
@pytest.mark.parametrize("kwargs, pattern", [
    (dict(n=0), r"^n must be a positive integer, got 0\.$"),
    (dict(num_features=0), r"^num_features must be a positive integer, got 0\.$"),
    (dict(p=0), r"^p must "),
    (dict(p=np.array([3, 21])), r"^p must .* 1\.\.num_features=20\.$"),
])
def test_subset_functions_reject_bad_sizes(f, kwargs, pattern):
    args = dict(p=3, n=10, num_features=20, r2=2.0, sigma2=0.5) | kwargs
    with pytest.raises(ValueError, match=pattern):
        f(**args)


@pytest.mark.parametrize("f", _SUBSET_FUNCS)
def test_subset_functions_accept_p_at_both_ends(f):
    """p = 1 and p = D are valid; each function agrees with its value at the scalar p."""
    r = f(np.array([1, 20]), 10, 20, 2.0, 0.5)
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(r, [float(f(1, 10, 20, 2.0, 0.5)), float(f(20, 10, 20, 2.0, 0.5))])


def test_subset_minnorm_risk_exact_hand_values():
    """n = 10, D = 30, r2 = 3, sigma2 = 0.5; tau2 = 0.5 + 3 (30 - p) / 30, s2 = 3 p / 30."""
    p = np.array([1, 6, 8, 9, 10, 11, 12, 20, 30])
    r = g.subset_minnorm_risk_exact(p, 10, 30, 3.0, 0.5)
    tau2 = 0.5 + 3.0 * (30 - p) / 30
    s2 = 3.0 * p / 30
    ref = np.full(p.shape, np.inf)
    lo, hi = p <= 8, p >= 12
    ref[lo] = tau2[lo] * 9 / (10 - p[lo] - 1)
    ref[hi] = tau2[hi] * (p[hi] - 1) / (p[hi] - 11) + s2[hi] * (1 - 10 / p[hi])
    np.testing.assert_allclose(r, ref)
    # p = 6: tau2 = 0.5 + 2.4 = 2.9, times 9 / 3; p = 20: tau2 = 1.5 -> 1.5 * 19 / 9 + 2 * 0.5
    np.testing.assert_allclose(r[[1, 7]], [2.9 * 3, 1.5 * 19 / 9 + 1.0])


def test_subset_minnorm_risk_exact_silent_and_checks():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # n = 5, D = 6: p = 4 divides by n - p - 1 = 0; p = 6 gives 0/0 with tau2 = 0.
        r = g.subset_minnorm_risk_exact(np.array([4, 6]), 5, 6, 1.0, 0.0)
    assert np.all(np.isinf(r))
    for r2, s2, pat in [(-0.1, 1.0, r"^r2 and sigma2 must be non-negative, got r2=-0\.1, "),
                        (1.0, -0.1, r"^r2 and sigma2 must be non-negative, got r2=1\.0, "
                                    r"sigma2=-0\.1\.$")]:
        with pytest.raises(ValueError, match=pat):
            g.subset_minnorm_risk_exact(3, 10, 20, r2, s2)
    with pytest.raises(ValueError, match=r"^p must hold integers in 1\.\.num_features=20\.$"):
        g.subset_minnorm_risk_exact(np.array([3.0, 4.5]), 10, 20, 1.0, 1.0)
    # zero signal and noise are valid: the error is 0 everywhere away from the threshold
    np.testing.assert_array_equal(g.subset_minnorm_risk_exact(np.array([2, 18]), 10, 20, 0.0,
                                                              0.0), [0.0, 0.0])
    # r2 = sigma2 = 0.5 (below 1) valid: p = 2, tau2 = 0.5 + 0.5 * 18 / 20 = 0.95, times 9 / 7
    assert float(g.subset_minnorm_risk_exact(2, 10, 20, 0.5, 0.5)) == pytest.approx(0.95 * 9 / 7)


def test_optimal_ridge_penalty_hand_values_and_checks():
    """noise (p / n) / signal with signal = r2 p / D, noise = sigma2 + r2 (1 - p / D)."""
    # p = 10 of D = 40, n = 5, r2 = 2, sigma2 = 0: signal 0.5, noise 1.5, lam = 1.5 * 2 / 0.5.
    np.testing.assert_allclose(g.optimal_ridge_penalty(np.array([10, 40]), 5, 40, 2.0, 0.0),
                               [6.0, 0.0])
    # r2 = 0.5, sigma2 = 0.5 (both below 1, valid): p = D = 4, n = 2: 0.5 * 2 / 0.5 = 2.
    assert float(g.optimal_ridge_penalty(4, 2, 4, 0.5, 0.5)) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"^r2 must be positive \(the signal's squared norm\), "
                                         r"got 0\.0\.$"):
        g.optimal_ridge_penalty(4, 2, 4, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"^sigma2 must be non-negative \(a noise variance\), "
                                         r"got -0\.5\.$"):
        g.optimal_ridge_penalty(4, 2, 4, 1.0, -0.5)
    with pytest.raises(ValueError, match=r"^sigma2 must be non-negative"):
        g.optimal_ridge_penalty(4, 2, 4, 1.0, np.nan)


def test_marchenko_pastur_stieltjes_closed_form_and_checks():
    """At gamma = 1 the quadratic gamma lam m^2 + (1 - gamma + lam) m - 1 = 0 has root
    m = (-lam + sqrt(lam^2 + 4 lam)) / (2 lam); lam = 2 gives (-2 + sqrt 12) / 4. For gamma = 2,
    lam = 1: b = 0, m = sqrt(8) / 4. Also m solves the quadratic for random inputs."""
    assert float(g.marchenko_pastur_stieltjes(2.0, 1.0)) == pytest.approx((-2 + np.sqrt(12)) / 4)
    assert float(g.marchenko_pastur_stieltjes(1.0, 2.0)) == pytest.approx(np.sqrt(8) / 4)
    lam = np.array([0.1, 0.5, 3.0])
    gam = np.array([[0.3], [2.5]])
    m = g.marchenko_pastur_stieltjes(lam, gam)
    assert m.shape == (2, 3) and np.all(m > 0)
    np.testing.assert_allclose(gam * lam * m ** 2 + (1 - gam + lam) * m - 1, 0, atol=1e-12)
    for lam_, gam_ in [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0)]:
        with pytest.raises(ValueError, match=r"^lam and gamma must be positive\.$"):
            g.marchenko_pastur_stieltjes(lam_, gam_)
    # lam = gamma = 0.5 is valid: b = 1, m = (-1 + sqrt(2)) / 0.5
    assert float(g.marchenko_pastur_stieltjes(0.5, 0.5)) == pytest.approx((np.sqrt(2) - 1) / 0.5)


def test_subset_ridge_risk_theory_hand_formula():
    """noise + noise gamma m(-lam) with lam = noise gamma / signal, computed by hand."""
    p = np.array([4, 10, 30])
    n, d, r2, s2 = 10, 40, 2.0, 0.5
    r = g.subset_ridge_risk_theory(p, n, d, r2, s2)
    noise = s2 + r2 * (1 - p / d)
    gam = p / n
    lam = noise * gam / (r2 * p / d)
    b = 1 - gam + lam
    m = (-b + np.sqrt(b * b + 4 * gam * lam)) / (2 * gam * lam)
    np.testing.assert_allclose(r, noise + noise * gam * m)


def _regression_curve_by_hand(n, d, ps, r2, sigma2, trials, seed):
    """The procedure of subset_regression_curve written out with numpy pinv and scikit-learn."""
    rng = np.random.default_rng(seed)
    mn, rd = np.empty((trials, len(ps))), np.empty((trials, len(ps)))
    for t in range(trials):
        beta = rng.standard_normal(d)
        beta = beta * np.sqrt(r2) / np.sqrt(np.sum(beta ** 2))
        x = rng.standard_normal((n, d))
        y = x @ beta + np.sqrt(sigma2) * rng.standard_normal(n)
        for j, p in enumerate(ps):
            rest = sigma2 + np.sum(beta[p:] ** 2)
            mn[t, j] = rest + np.sum((np.linalg.pinv(x[:, :p]) @ y - beta[:p]) ** 2)
            lam = (sigma2 + r2 * (1 - p / d)) * (p / n) / (r2 * p / d)
            b = Ridge(alpha=n * lam, fit_intercept=False, solver="svd").fit(x[:, :p], y).coef_
            rd[t, j] = rest + np.sum((b - beta[:p]) ** 2)
    return mn, rd


def test_subset_regression_curve_matches_procedure_by_hand():
    """Default seed 0, two trials, p below and above n, against the procedure by hand."""
    ps = [1, 3, 8, 12]
    c = g.subset_regression_curve(6, 12, ps, r2=2.0, sigma2=0.3, trials=2)
    mn, rd = _regression_curve_by_hand(6, 12, ps, 2.0, 0.3, 2, seed=0)
    np.testing.assert_allclose(c.minnorm, mn, rtol=1e-8)
    np.testing.assert_allclose(c.ridge, rd, rtol=1e-8)
    np.testing.assert_array_equal(c.p, ps)
    # float p values are taken as the integers they hold
    c2 = g.subset_regression_curve(6, 12, np.array([1.0, 3.0, 8.0, 12.0]), r2=2.0, sigma2=0.3,
                                   trials=2)
    assert np.issubdtype(c2.p.dtype, np.integer)
    np.testing.assert_allclose(c2.minnorm, mn, rtol=1e-8)


def test_subset_regression_curve_zero_noise_and_bounds():
    """sigma2 = 0 is valid (p = D would give a zero optimal penalty, which ridge rejects, so
    p < D here); r2 = 0.5 < 1 is valid. Against the procedure by hand."""
    c = g.subset_regression_curve(6, 4, [1, 3], r2=0.5, sigma2=0.0, trials=1, seed=2)
    mn, rd = _regression_curve_by_hand(6, 4, [1, 3], 0.5, 0.0, 1, seed=2)
    np.testing.assert_allclose(c.minnorm, mn, rtol=1e-8)
    np.testing.assert_allclose(c.ridge, rd, rtol=1e-8)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(n=0), r"^n must be a positive integer, got 0\.$"),
    (dict(num_features=0), r"^num_features must be a positive integer, got 0\.$"),
    (dict(trials=0), r"^trials must be a positive integer, got 0\.$"),
    (dict(p_values=[]), r"^p_values must be a non-empty list of integers in 1\.\.10, got \[\]\.$"),
    (dict(p_values=[[2]]), r"^p_values must be a non-empty list of integers in 1\.\.10"),
    (dict(p_values=[0, 2]), r"^p_values must be a non-empty list of integers in 1\.\.10"),
    (dict(p_values=[2, 11]), r"^p_values must be a non-empty list of integers in 1\.\.10"),
    (dict(r2=-0.1), r"^r2 and sigma2 must be non-negative, got r2=-0\.1, sigma2=1\.0\.$"),
    (dict(sigma2=-0.1), r"^r2 and sigma2 must be non-negative, got r2=1\.0, sigma2=-0\.1\.$"),
])
def test_subset_regression_curve_rejects_bad_input_exactly(kwargs, pattern):
    args = dict(n=5, num_features=10, p_values=[2], r2=1.0, sigma2=1.0, trials=1) | kwargs
    with pytest.raises(ValueError, match=pattern):
        g.subset_regression_curve(**args)


def test_subset_regression_curve_accepts_single_p_at_both_ends():
    """p_values = [1] and [D] are valid, with r2 = 0.5 < 1 and sigma2 = 0.5 < 1."""
    for ps in ([1], [10]):
        c = g.subset_regression_curve(5, 10, ps, r2=0.5, sigma2=0.5, trials=1, seed=3)
        mn, _ = _regression_curve_by_hand(5, 10, ps, 0.5, 0.5, 1, seed=3)
        np.testing.assert_allclose(c.minnorm, mn, rtol=1e-8)


def _features_by_hand(xtr, ytr, xte, yte, ps, seed, lams=None, xva=None, yva=None):
    """random_features_curve by hand: features with numpy, fits with pinv / scikit-learn."""
    w = np.random.default_rng(seed).standard_normal((xtr.shape[1], max(ps)))
    feat = {k: np.maximum(v @ w / np.sqrt(xtr.shape[1]), 0) for k, v in
            (("tr", xtr), ("te", xte), ("va", xva)) if v is not None}
    eye = np.eye(3)
    res = {k: [] for k in ("train_mse", "test_mse", "test_error", "r_mse", "r_err", "r_lam")}

    def score(coef, f, lab):
        pred = f @ coef
        return np.mean(np.sum((pred - eye[lab]) ** 2, 1)), np.mean(pred.argmax(1) != lab)

    for p in ps:
        ftr, fte = feat["tr"][:, :p], feat["te"][:, :p]
        coef = np.linalg.pinv(ftr) @ eye[ytr]
        res["train_mse"].append(score(coef, ftr, ytr)[0])
        mse, err = score(coef, fte, yte)
        res["test_mse"].append(mse)
        res["test_error"].append(err)
        if lams is None:
            continue
        n = len(ytr)
        cs = [Ridge(alpha=n * lam, fit_intercept=False, solver="svd").fit(ftr, eye[ytr]).coef_.T
              for lam in lams]
        k = int(np.argmin([score(c, feat["va"][:, :p], yva)[0] for c in cs]))
        mse, err = score(cs[k], fte, yte)
        res["r_mse"].append(mse)
        res["r_err"].append(err)
        res["r_lam"].append(lams[k])
    return res


def test_random_features_curve_default_seed_without_ridge():
    """Default seed 0, three p values (below and above n = 30), no penalties: by hand."""
    (xtr, ytr), (xte, yte), _ = _toy_classes(2)
    ps = [1, 12, 40]
    c = g.random_features_curve(xtr, ytr, xte, yte, ps, num_classes=3)
    ref = _features_by_hand(xtr, ytr, xte, yte, ps, seed=0)
    np.testing.assert_array_equal(c.p, ps)
    assert np.issubdtype(c.p.dtype, np.integer)
    np.testing.assert_allclose(c.train_mse[:2], ref["train_mse"][:2], rtol=1e-8)
    assert c.train_mse[2] < 1e-20
    np.testing.assert_allclose(c.test_mse, ref["test_mse"], rtol=1e-8)
    np.testing.assert_array_equal(c.test_error, ref["test_error"])
    assert c.ridge_test_mse is None and c.ridge_test_error is None and c.ridge_lam is None


def test_random_features_curve_ridge_against_scikit_learn():
    """Ridge for each penalty by scikit-learn (alpha = n lam); chosen by validation MSE."""
    (xtr, ytr), (xte, yte), (xva, yva) = _toy_classes(3)
    ps, lams = [3, 20, 45], [1e-4, 0.05, 0.5, 5.0]
    c = g.random_features_curve(xtr, ytr, xte, yte, ps, num_classes=3, seed=1, lams=lams,
                                x_val=xva, y_val=yva)
    ref = _features_by_hand(xtr, ytr, xte, yte, ps, 1, lams, xva, yva)
    np.testing.assert_allclose(c.ridge_test_mse, ref["r_mse"], rtol=1e-6)
    np.testing.assert_array_equal(c.ridge_test_error, ref["r_err"])
    np.testing.assert_array_equal(c.ridge_lam, ref["r_lam"])
    np.testing.assert_allclose(c.test_mse, ref["test_mse"], rtol=1e-6)


def _rfc_args(**kw):
    (xtr, ytr), (xte, yte), (xva, yva) = _toy_classes(4)
    args = dict(x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, p_values=[4], num_classes=3,
                lams=[0.1], x_val=xva, y_val=yva)
    return args | kw


@pytest.mark.parametrize("kw, pattern", [
    (dict(num_classes=0), r"^num_classes must be a positive integer, got 0\.$"),
    (dict(x_val=None), r"^lams needs a validation set: pass x_val and y_val\.$"),
    (dict(y_val=None), r"^lams needs a validation set: pass x_val and y_val\.$"),
    (dict(lams=[]), r"^lams must be a non-empty list of positive penalties, got \[\]\.$"),
    (dict(lams=[[0.1]]), r"^lams must be a non-empty list of positive penalties"),
    (dict(lams=[0.1, 0.0]), r"^lams must be a non-empty list of positive penalties"),
    (dict(lams=[np.nan]), r"^lams must be a non-empty list of positive penalties"),
    (dict(x_train=np.ones(30)), r"^x_train must be a 2-D array \(n, d\), got shape \(30,\)\.$"),
    (dict(x_test=np.ones((40, 4))), r"^x_test must be a 2-D array \(m, 5\), got shape \(40, 4\)"),
    (dict(x_test=np.ones((40, 5, 1))), r"^x_test must be a 2-D array \(m, 5\)"),
    (dict(x_val=np.ones(25)), r"^x_val must be a 2-D array \(m, 5\), got shape \(25,\)\.$"),
    (dict(y_train=np.zeros(29, int)), r"^y_train must hold 30 integer labels in 0\.\.2\.$"),
    (dict(y_test=np.zeros(40)), r"^y_test must hold 40 integer labels in 0\.\.2\.$"),
    (dict(y_test=np.full(40, -1)), r"^y_test must hold 40 integer labels in 0\.\.2\.$"),
    (dict(y_val=np.full(25, 3)), r"^y_val must hold 25 integer labels in 0\.\.2\.$"),
    (dict(p_values=[]), r"^p_values must be a non-empty list of positive integers, got \[\]\.$"),
    (dict(p_values=[[4]]), r"^p_values must be a non-empty list of positive integers"),
    (dict(p_values=[4.0]), r"^p_values must be a non-empty list of positive integers"),
    (dict(p_values=[4, 0]), r"^p_values must be a non-empty list of positive integers"),
])
def test_random_features_curve_rejects_bad_input_exactly(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        g.random_features_curve(**_rfc_args(**kw))


def test_random_features_curve_accepts_boundary_input():
    """p = 1, labels exactly 0 and num_classes - 1, a single penalty 0.5 (< 1)."""
    (xtr, ytr), (xte, yte), (xva, yva) = _toy_classes(5)
    ytr, yte, yva = ytr.copy(), yte.copy(), yva.copy()
    ytr[:2], yte[:2], yva[:2] = [0, 2], [0, 2], [0, 2]
    c = g.random_features_curve(xtr, ytr, xte, yte, [1, 2], num_classes=3, lams=[0.5],
                                x_val=xva, y_val=yva)
    ref = _features_by_hand(xtr, ytr, xte, yte, [1, 2], 0, [0.5], xva, yva)
    np.testing.assert_allclose(c.test_mse, ref["test_mse"], rtol=1e-8)
    np.testing.assert_allclose(c.ridge_test_mse, ref["r_mse"], rtol=1e-6)
