"""MMD, the permutation test and the data-copying statistic against loops, SciPy and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from dlscience import twosample as ts
from dlscience.twosample import _split_statistics
from scipy.spatial.distance import cdist, pdist
from scipy.stats import binom, mannwhitneyu


def _naive_mmd2(x, y, bandwidth):
    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * bandwidth**2))

    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n))
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)


def test_mmd2_by_hand():
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    e = np.exp
    by_hand = e(-0.5) + e(-2.0) - 2 * (1 + e(-2.0) + 2 * e(-0.5)) / 4
    assert ts.mmd2_unbiased(x, y, bandwidth=1.0) == pytest.approx(by_hand, rel=1e-12)


def test_mmd2_matches_a_double_loop():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(9, 3)) + 0.3
    for bandwidth in (0.5, 1.7):
        assert ts.mmd2_unbiased(x, y, bandwidth) == pytest.approx(_naive_mmd2(x, y, bandwidth),
                                                                  rel=1e-10)


def test_mmd2_is_unbiased_for_the_population_value():
    # 1-D N(0, 1) against N(1, 1), bandwidth s: E k(X, X') = s / sqrt(s^2 + 2) and
    # E k(X, Y) = s / sqrt(s^2 + 2) * exp(-1 / (2 (s^2 + 2))), so MMD^2 = 2 a (1 - exp(...)).
    s = 1.0
    a = s / np.sqrt(s**2 + 2)
    population = 2 * a * (1 - np.exp(-1 / (2 * (s**2 + 2))))
    rng = np.random.default_rng(1)
    estimates = [ts.mmd2_unbiased(rng.normal(size=(5, 1)), rng.normal(size=(5, 1)) + 1, s)
                 for _ in range(20000)]
    se = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - population) < 4 * se


def test_median_bandwidth_matches_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(11, 4)), rng.normal(size=(6, 4))
    assert ts.median_bandwidth(x, y) == pytest.approx(np.median(pdist(np.vstack([x, y]))))


def test_split_statistics_match_the_kernel_formula():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(12, 2))
    kernel = ts.gaussian_kernel(z, z, 1.3)
    k0 = kernel.copy()
    np.fill_diagonal(k0, 0.0)
    m = 5
    perms = [rng.permutation(12) for _ in range(4)]
    rows = np.zeros((4, 12))
    for b, p in enumerate(perms):
        rows[b, p[:m]] = 1.0
    fast = _split_statistics(k0, rows, m)
    slow = [ts.mmd2_from_kernel(kernel[np.ix_(p, p)], m) for p in perms]
    np.testing.assert_allclose(fast, slow, rtol=1e-10)


def test_permutation_test_statistic_and_blocks():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(10, 3))
    a = ts.permutation_test(x, y, 50, rng=np.random.default_rng(9), block=7)
    b = ts.permutation_test(x, y, 50, rng=np.random.default_rng(9), block=256)
    assert a.statistic == pytest.approx(ts.mmd2_unbiased(x, y, a.bandwidth), rel=1e-10)
    assert a.bandwidth == pytest.approx(ts.median_bandwidth(x, y))
    # Blocks change the order of evaluation, not the draws: same null up to rounding.
    np.testing.assert_allclose(a.null, b.null, rtol=1e-10)
    assert a.p_value == (1 + np.sum(a.null >= a.statistic)) / 51


def test_permutation_p_value_is_valid_under_the_null():
    rng = np.random.default_rng(5)
    tests, alpha = 600, 0.1
    p = np.array([ts.permutation_test(rng.normal(size=(6, 2)), rng.normal(size=(6, 2)), 19,
                                      rng=rng).p_value for _ in range(tests)])
    assert np.all(p >= 1 / 20) and np.allclose(p * 20, np.round(p * 20))
    rejections = np.sum(p <= alpha)
    assert rejections <= binom.isf(0.001, tests, alpha)
    assert rejections >= binom.ppf(0.001, tests, alpha)


def test_permutation_test_rejects_a_large_shift():
    rng = np.random.default_rng(6)
    result = ts.permutation_test(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 3, 99,
                                 rng=rng)
    assert result.p_value == pytest.approx(1 / 100)


def test_nn_distances_match_scipy():
    rng = np.random.default_rng(7)
    q, r = rng.normal(size=(25, 3)), rng.normal(size=(40, 3))
    np.testing.assert_allclose(ts.nn_distances(q, r, block=6), cdist(q, r).min(axis=1),
                               rtol=1e-9, atol=1e-12)


def test_data_copying_z_matches_mann_whitney():
    rng = np.random.default_rng(8)
    g = np.round(rng.exponential(size=30), 1)            # rounding makes ties
    t = np.round(rng.exponential(size=45) * 1.3, 1)
    u = mannwhitneyu(g, t).statistic
    m, n = len(g), len(t)
    expected = (u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
    assert ts.data_copying_z(g, t) == pytest.approx(expected, rel=1e-12)
    # Every generated point closer than every test point: the smallest possible Z.
    assert ts.data_copying_z(np.zeros(5), np.ones(7)) == pytest.approx(
        -np.sqrt(3 * 5 * 7 / 13), rel=1e-12)


def test_mmd2_is_symmetric_in_the_two_samples():
    # The chapter's tie remark: with m = n, a labelling and its complement give the same statistic.
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(9, 2)) + 0.5
    assert ts.mmd2_unbiased(x, y, 0.8) == pytest.approx(ts.mmd2_unbiased(y, x, 0.8), rel=1e-12)


def test_linear_kernel_statistic_has_the_variance_of_the_proposition():
    # eg-prop-mean-difference: with the linear kernel and N(0, Sigma) samples,
    # Var S = 2 tr(Sigma^2) (1/(m(m-1)) + 1/(n(n-1)) + 2/(mn)) and E S = 0.
    rng = np.random.default_rng(11)
    m, n, scales = 5, 7, np.array([1.0, 2.0, 0.5])
    sigma2 = scales**2                                   # diagonal Sigma
    values = []
    for _ in range(40000):
        z = np.vstack([rng.normal(size=(m, 3)), rng.normal(size=(n, 3))]) * scales
        values.append(ts.mmd2_from_kernel(z @ z.T, m))
    values = np.array(values)
    var_theory = 2 * np.sum(sigma2**2) * (1 / (m * (m - 1)) + 1 / (n * (n - 1)) + 2 / (m * n))
    assert abs(values.mean()) < 4 * np.sqrt(var_theory / len(values))
    assert values.var() == pytest.approx(var_theory, rel=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: ts.mmd2_unbiased(np.zeros((1, 2)), np.zeros((3, 2))), "at least two"),
    (lambda: ts.mmd2_unbiased(np.zeros((3, 2)), np.zeros((3, 4))), "same dimension"),
    (lambda: ts.gaussian_kernel(np.zeros((2, 1)), np.zeros((2, 1)), 0.0), "bandwidth"),
    (lambda: ts.median_bandwidth(np.zeros((3, 2))), "median distance"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((3, 1)), 0), "n_permutations"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((3, 1)), 5, block=0), "block"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((3, 1)), 5, rng=1), "rng"),
    (lambda: ts.mmd2_from_kernel(np.eye(3), 2), "at least two"),
    (lambda: ts.nn_distances(np.zeros((2, 2)), np.zeros((2, 3))), "queries and reference"),
    (lambda: ts.data_copying_z([], [1.0]), "non-empty"),
    (lambda: ts.mmd2_unbiased(np.full((3, 1), np.nan), np.zeros((3, 1))), "finite"),
    (lambda: ts.mmd2_from_kernel(np.zeros((3, 4)), 2), "square"),
    (lambda: ts.data_copying_z([np.inf], [1.0]), "finite"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
