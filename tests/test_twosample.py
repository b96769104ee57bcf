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


# --- exact values, defaults, boundaries and messages -----------------------------------------

def test_pairwise_sq_distances_by_hand_and_one_dimensional_input():
    """1-D input is n points on a line: squared gaps by hand; 2-D against scipy's cdist."""
    np.testing.assert_array_equal(ts.pairwise_sq_distances([0.0, 1.0, 3.0], [1.0, -1.0]),
                                  [[1.0, 1.0], [0.0, 4.0], [4.0, 16.0]])
    x, y = np.array([[0.0, 1.0, 2.0]]), np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ts.pairwise_sq_distances(x, y), cdist(x, y) ** 2)
    # identical points: rounding can give a tiny negative number, which is clipped to 0
    z = np.array([[0.1, 0.7, 1e3]])
    assert ts.pairwise_sq_distances(z, z)[0, 0] == 0.0


def test_gaussian_kernel_by_hand():
    """exp(-|x - y|^2 / (2 s^2)): distance^2 4 with s = 0.5 gives exp(-8), s = 3 gives exp(-2/9)."""
    x, y = np.array([[0.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(ts.gaussian_kernel(x, y, 0.5), [[np.exp(-8.0), 1.0]])
    np.testing.assert_allclose(ts.gaussian_kernel(x, y, 3), [[np.exp(-4.0 / 18.0), 1.0]])


@pytest.mark.parametrize("bandwidth", [0.0, -1.0, np.inf, np.nan, True, "1"])
def test_gaussian_kernel_rejects_bad_bandwidth(bandwidth):
    with pytest.raises(ValueError, match=r"^bandwidth must be a positive number, got "):
        ts.gaussian_kernel(np.zeros((2, 1)), np.zeros((2, 1)), bandwidth)


def test_median_bandwidth_two_points_and_x_alone():
    """Two points: the one distance; x alone against scipy's pdist median."""
    assert ts.median_bandwidth([[0.0, 0.0], [3.0, 4.0]]) == 5.0
    assert ts.median_bandwidth(np.array([[0.0]]), np.array([[2.5]])) == 2.5
    x = np.random.default_rng(12).normal(size=(7, 3))
    assert ts.median_bandwidth(x) == pytest.approx(np.median(pdist(x)), rel=1e-12)


@pytest.mark.parametrize("call, pattern", [
    (lambda: ts.median_bandwidth(np.zeros((1, 2))),
     r"^median_bandwidth needs at least two points\.$"),
    (lambda: ts.median_bandwidth(np.ones((3, 2))),
     r"^the median distance between the points is zero; pass a bandwidth\.$"),
    (lambda: ts.median_bandwidth(np.zeros((0, 2))),
     r"^x must be an array of points of shape \(n, d\), got shape \(0, 2\)\.$"),
    (lambda: ts.median_bandwidth(np.zeros((0, 1)), np.zeros((2, 1))),
     r"^x must be an array of points of shape \(n, d\), got shape \(0, 1\)\.$"),
    (lambda: ts.median_bandwidth(np.zeros((2, 1)), np.zeros((2, 0))),
     r"^y must be an array of points of shape \(n, d\), got shape \(2, 0\)\.$"),
    (lambda: ts.pairwise_sq_distances(np.zeros((2, 2, 2)), np.zeros((2, 2))),
     r"^x must be an array of points of shape \(n, d\), got shape \(2, 2, 2\)\.$"),
    (lambda: ts.pairwise_sq_distances(np.zeros((2, 2)), [[np.inf, 0.0]]),
     r"^y must hold finite numbers\.$"),
    (lambda: ts.pairwise_sq_distances(np.zeros((2, 2)), np.zeros((2, 3))),
     r"^x and y must have the same dimension, got 2 and 3\.$"),
    (lambda: ts.mmd2_unbiased(np.zeros((0, 1)), np.zeros((3, 1))),
     r"^x must be an array of points"),
    (lambda: ts.mmd2_unbiased(np.zeros((3, 1)), np.zeros((3, 0))),
     r"^y must be an array of points"),
    (lambda: ts.mmd2_unbiased(np.zeros((3, 1)), np.zeros((1, 1))),
     r"^x and y need at least two points each\.$"),
    (lambda: ts.mmd2_unbiased(np.zeros((1, 1)), np.zeros((3, 1))),
     r"^x and y need at least two points each\.$"),
    (lambda: ts.mmd2_from_kernel(np.eye(4), 1), r"^m must be an integer >= 2, got 1\.$"),
    (lambda: ts.mmd2_from_kernel(np.eye(4), 2.0), r"^m must be an integer >= 2, got 2\.0\.$"),
    (lambda: ts.mmd2_from_kernel(np.eye(4), True), r"^m must be an integer >= 2, got True\.$"),
    (lambda: ts.mmd2_from_kernel(np.eye(5), 4),
     r"^both samples need at least two points, got m=4 and n=1\.$"),
    (lambda: ts.mmd2_from_kernel(np.ones(4), 2),
     r"^kernel must be a square matrix, got shape \(4,\)\.$"),
    (lambda: ts.mmd2_from_kernel(np.ones((4, 4, 4)), 2),
     r"^kernel must be a square matrix, got shape \(4, 4, 4\)\.$"),
    (lambda: ts.permutation_test(np.zeros((0, 1)), np.zeros((3, 1))),
     r"^x must be an array of points"),
    (lambda: ts.permutation_test(np.zeros((3, 1)), np.zeros((3, 0))),
     r"^y must be an array of points"),
    (lambda: ts.permutation_test(np.zeros((3, 1)), np.zeros((3, 2))),
     r"^x and y must have the same dimension, got 1 and 2\.$"),
    (lambda: ts.permutation_test(np.ones((1, 1)), np.zeros((3, 1))),
     r"^x and y need at least two points each\.$"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((1, 1))),
     r"^x and y need at least two points each\.$"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((3, 1)), 0),
     r"^n_permutations must be an integer >= 1, got 0\.$"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((3, 1)), 5, block=0),
     r"^block must be an integer >= 1, got 0\.$"),
    (lambda: ts.permutation_test(np.ones((3, 1)), np.zeros((3, 1)), 5, rng=1),
     r"^rng must be a numpy\.random\.Generator, got int\.$"),
    (lambda: ts.nn_distances(np.zeros((0, 2)), np.zeros((2, 2))),
     r"^queries must be an array of points"),
    (lambda: ts.nn_distances(np.zeros((2, 2)), np.zeros((0, 2))),
     r"^reference must be an array of points"),
    (lambda: ts.nn_distances(np.zeros((2, 2)), np.zeros((2, 3))),
     r"^queries and reference must have the same dimension, got 2 and 3\.$"),
    (lambda: ts.nn_distances(np.zeros((2, 2)), np.zeros((2, 2)), block=0),
     r"^block must be an integer >= 1, got 0\.$"),
    (lambda: ts.data_copying_z([], [1.0]),
     r"^generated_distances and test_distances must be non-empty\.$"),
    (lambda: ts.data_copying_z([1.0], []),
     r"^generated_distances and test_distances must be non-empty\.$"),
    (lambda: ts.data_copying_z([1.0], [np.nan]),
     r"^generated_distances and test_distances must be finite\.$"),
    (lambda: ts.data_copying_z([np.inf, 1.0], [1.0]),
     r"^generated_distances and test_distances must be finite\.$"),
])
def test_invalid_arguments_exact_messages(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_mmd2_smallest_samples_and_default_bandwidth():
    """m = n = 2 is valid; the default bandwidth is the pooled median (scipy pdist)."""
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    # pooled distances 1, 0, 2, 1, 1, 2: median 1, so the value of test_mmd2_by_hand.
    assert np.median(pdist(np.vstack([x, y]))) == 1.0
    e = np.exp
    by_hand = e(-0.5) + e(-2.0) - 2 * (1 + e(-2.0) + 2 * e(-0.5)) / 4
    assert ts.mmd2_unbiased(x, y) == pytest.approx(by_hand, rel=1e-12)
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(4, 2))
    s = np.median(pdist(np.vstack([a, b])))
    assert ts.mmd2_unbiased(a, b) == pytest.approx(_naive_mmd2(a, b, s), rel=1e-10)
    assert ts.mmd2_unbiased(b, a) == pytest.approx(_naive_mmd2(b, a, s), rel=1e-10)


def test_mmd2_from_kernel_by_hand_unequal_sizes():
    """A non-symmetric-looking but explicit kernel, m = 2, n = 3, the formula by loops."""
    rng = np.random.default_rng(14)
    a = rng.normal(size=(5, 5))
    k = a @ a.T
    m, n = 2, 3
    sxx = sum(k[i, j] for i in range(m) for j in range(m) if i != j)
    syy = sum(k[i, j] for i in range(m, 5) for j in range(m, 5) if i != j)
    sxy = sum(k[i, j] for i in range(m) for j in range(m, 5))
    ref = sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)
    assert ts.mmd2_from_kernel(k, 2) == pytest.approx(ref, rel=1e-12)
    assert ts.mmd2_from_kernel(k.tolist(), np.int64(2)) == pytest.approx(ref, rel=1e-12)
    # m = 3, n = 2 (both at the minimum of two on the y side)
    sxx = sum(k[i, j] for i in range(3) for j in range(3) if i != j)
    syy = k[3, 4] + k[4, 3]
    sxy = k[:3, 3:].sum()
    assert ts.mmd2_from_kernel(k, 3) == pytest.approx(sxx / 6 + syy / 2 - 2 * sxy / 6, rel=1e-12)


def _null_by_hand(x, y, b, seed, bandwidth, block):
    """The documented relabellings: argsort of uniform draws, first m indices, in blocks."""
    rng = np.random.default_rng(seed)
    z = np.vstack([x, y])
    m, n_all = len(x), len(z)
    null = []
    for start in range(0, b, block):
        for perm in np.argsort(rng.random((min(block, b - start), n_all)), axis=1):
            null.append(_naive_mmd2(z[perm[:m]], z[perm[m:]], bandwidth))
    return np.array(null)


def test_permutation_test_null_by_hand():
    """Every permuted statistic against a double loop on the relabelled sample; p-value count."""
    rng = np.random.default_rng(15)
    x, y = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)) + 0.7
    r = ts.permutation_test(x, y, 9, bandwidth=0.9, rng=np.random.default_rng(3), block=4)
    ref = _null_by_hand(x, y, 9, 3, 0.9, 4)
    np.testing.assert_allclose(r.null, ref, rtol=1e-10, atol=1e-14)
    assert r.statistic == pytest.approx(_naive_mmd2(x, y, 0.9), rel=1e-12)
    assert r.bandwidth == 0.9 and isinstance(r.bandwidth, float)
    assert r.p_value == (1 + np.sum(ref >= r.statistic - 1e-12)) / 10


def test_permutation_test_smallest_samples_and_single_permutation():
    """m = n = 2, B = 1, block 1: the null is one relabelled statistic; p is 1/2 or 1."""
    x, y = np.array([[0.0], [0.3]]), np.array([[2.0], [2.4]])
    r = ts.permutation_test(x, y, 1, rng=np.random.default_rng(0), block=1)
    s = np.median(pdist(np.vstack([x, y])))
    assert r.bandwidth == pytest.approx(s)
    np.testing.assert_allclose(r.null, _null_by_hand(x, y, 1, 0, s, 1), rtol=1e-10)
    assert r.p_value == (1.0 + float(r.null[0] >= r.statistic)) / 2.0


def test_permutation_test_defaults():
    """Default B = 199 and an unseeded generator: p-value on the grid k / 200, at least 1/200;
    a shift of 6 standard deviations is detected with the smallest p-value."""
    rng = np.random.default_rng(16)
    x, y = rng.normal(size=(12, 1)), rng.normal(size=(12, 1)) + 6.0
    r = ts.permutation_test(x, y)
    assert r.null.shape == (199,)
    assert r.p_value == pytest.approx(1 / 200)
    r = ts.permutation_test(x, x + 1e-3 * rng.normal(size=(12, 1)))
    assert r.p_value * 200 == pytest.approx(round(r.p_value * 200)) and r.p_value >= 1 / 200


def test_permutation_p_value_counts_ties():
    """x = y = {0, 1}: the observed split has the smallest statistic, so every relabelling ties
    with it or exceeds it, and ties count (>=): p = (1 + B) / (B + 1) = 1 exactly."""
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]])
    r = ts.permutation_test(x, y, 30, bandwidth=1.0, rng=np.random.default_rng(2))
    assert np.all(r.null >= r.statistic) and np.any(r.null == r.statistic)
    assert r.p_value == 1.0


def test_nn_distances_by_hand_default_block_and_one_row_blocks():
    """Points on a line: nearest-reference distances by hand, with block 1 and the default."""
    q, ref = [0.0, 2.5, -4.0, 10.0], [1.0, 3.0, -1.0]
    expected = [1.0, 0.5, 3.0, 7.0]
    np.testing.assert_allclose(ts.nn_distances(q, ref), expected)
    np.testing.assert_allclose(ts.nn_distances(q, ref, block=1), expected)
    np.testing.assert_allclose(ts.nn_distances(q, ref, block=3), expected)
    rng = np.random.default_rng(17)
    a, b = rng.normal(size=(1030, 2)), rng.normal(size=(5, 2))
    np.testing.assert_allclose(ts.nn_distances(a, b), cdist(a, b).min(axis=1), rtol=1e-9,
                               atol=1e-12)


def test_data_copying_z_single_points_and_ties():
    """m = n = 1: U = 0, 1/2 or 1 and Z = (U - 1/2) / sqrt(3 / 12) = (U - 1/2) * 2."""
    assert ts.data_copying_z([1.0], [2.0]) == pytest.approx(-1.0)
    assert ts.data_copying_z([3.0], [2.0]) == pytest.approx(1.0)
    assert ts.data_copying_z([2.0], [2.0]) == 0.0
    # m = 3, n = 2 with a three-way tie, against scipy's Mann-Whitney U
    g, t = np.array([1.0, 2.0, 2.0]), np.array([2.0, 0.5])
    u = mannwhitneyu(g, t).statistic
    assert ts.data_copying_z(g, t) == pytest.approx((u - 3) / np.sqrt(6 * 6 / 12), rel=1e-12)
    # generated farther than every test point: the largest Z, sqrt(3 m n / (m + n + 1))
    assert ts.data_copying_z([[5.0, 6.0]], [1.0, 2.0, 3.0]) == pytest.approx(
        np.sqrt(3 * 2 * 3 / 6), rel=1e-12)
    # integer input is accepted and equals the float version
    assert ts.data_copying_z([3, 1, 4], [1, 5]) == ts.data_copying_z([3.0, 1.0, 4.0], [1.0, 5.0])
