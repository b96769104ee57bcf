"""Two-sample tests and nearest-neighbour memorization checks for evaluating generative models.

The kernel two-sample test of Gretton et al. (JMLR 2012): the unbiased estimator of the squared
maximum mean discrepancy (:func:`mmd2_unbiased`) with a Gaussian kernel whose bandwidth is set by
the median heuristic (:func:`median_bandwidth`), calibrated by a permutation null
(:func:`permutation_test`). The permutation test computes the pooled kernel matrix once and
evaluates every permuted statistic from it by matrix products over blocks of permutations, so a
test with ``B`` permutations of ``N`` points costs ``O(N^2 d + B N^2)`` and memory ``O(N^2 +
block N)``.

The memorization check compares, for each generated point and each held-out test point, the
distance to its nearest training point (:func:`nn_distances`); :func:`data_copying_z` turns the
two sets of distances into the Mann-Whitney statistic of Meehan, Chaudhuri and Dasgupta
(AISTATS 2020), a Z-score that is markedly negative when generated points sit closer to the
training set than fresh data do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["pairwise_sq_distances", "gaussian_kernel", "median_bandwidth", "mmd2_unbiased",
           "mmd2_from_kernel", "PermutationResult", "permutation_test", "nn_distances",
           "data_copying_z"]


def _as_points(name: str, value: object) -> np.ndarray:
    """``value`` as a float array of shape (n, d) with n >= 1 and finite entries."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be an array of points of shape (n, d), got shape "
                         f"{np.shape(value)}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers.")
    return arr


def _same_dim(x: np.ndarray, y: np.ndarray, names: str = "x and y") -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{names} must have the same dimension, got {x.shape[1]} and "
                         f"{y.shape[1]}.")


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def pairwise_sq_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``x`` (n, d) and ``y`` (m, d): (n, m).

    Computed as ``|x|^2 + |y|^2 - 2 x y^T`` and clipped at 0 (rounding can make it negative).
    """
    x, y = _as_points("x", x), _as_points("y", y)
    _same_dim(x, y)
    d2 = (x**2).sum(1)[:, None] + (y**2).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d2, 0.0)


def gaussian_kernel(x: np.ndarray, y: np.ndarray, bandwidth: float) -> np.ndarray:
    """The Gaussian kernel matrix ``exp(-|x_i - y_j|^2 / (2 bandwidth^2))``, shape (n, m)."""
    bandwidth = _positive("bandwidth", bandwidth)
    return np.exp(-pairwise_sq_distances(x, y) / (2.0 * bandwidth**2))


def median_bandwidth(x: np.ndarray, y: np.ndarray | None = None) -> float:
    """The median heuristic: the median Euclidean distance between distinct pooled points.

    Pools ``x`` (n, d) and ``y`` (m, d) (or uses ``x`` alone) and returns the median of
    ``|z_i - z_j|`` over pairs ``i < j``, the bandwidth ``sigma`` of the Gaussian kernel
    ``exp(-|z - z'|^2 / (2 sigma^2))`` used by Gretton et al. (2012).

    Raises:
        ValueError: with fewer than two points, or if the median distance is zero.
    """
    z = _as_points("x", x) if y is None else np.vstack([_as_points("x", x), _as_points("y", y)])
    if z.shape[0] < 2:
        raise ValueError("median_bandwidth needs at least two points.")
    d2 = pairwise_sq_distances(z, z)
    med = float(np.median(np.sqrt(d2[np.triu_indices(z.shape[0], k=1)])))
    if med <= 0:
        raise ValueError("the median distance between the points is zero; pass a bandwidth.")
    return med


def mmd2_from_kernel(kernel: np.ndarray, m: int) -> float:
    """The unbiased MMD^2 from the pooled kernel matrix of ``x`` (first ``m`` rows) and ``y``.

    Args:
        kernel: (N, N) symmetric matrix ``k(z_i, z_j)`` of the pooled sample ``z = (x, y)``.
        m: the size of ``x``; ``y`` has ``N - m`` points. Both need at least two.

    Returns:
        ``sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (n (n-1))
        - 2 sum_{i, j} k(x_i, y_j) / (m n)``.
    """
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must be a square matrix, got shape {kernel.shape}.")
    m = _positive_int("m", m, minimum=2)
    n = kernel.shape[0] - m
    if n < 2:
        raise ValueError(f"both samples need at least two points, got m={m} and n={n}.")
    kxx, kyy, kxy = kernel[:m, :m], kernel[m:, m:], kernel[:m, m:]
    sxx = kxx.sum() - np.trace(kxx)
    syy = kyy.sum() - np.trace(kyy)
    return float(sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * kxy.sum() / (m * n))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """The unbiased estimate of MMD^2 between samples ``x`` (m, d) and ``y`` (n, d).

    Gaussian kernel with ``bandwidth`` (default: :func:`median_bandwidth` of the pooled sample).
    This is the U-statistic ``MMD^2_u`` of Gretton et al. (2012, eq. 3); it can be negative.
    """
    x, y = _as_points("x", x), _as_points("y", y)
    _same_dim(x, y)
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError("x and y need at least two points each.")
    if bandwidth is None:
        bandwidth = median_bandwidth(x, y)
    z = np.vstack([x, y])
    return mmd2_from_kernel(gaussian_kernel(z, z, bandwidth), x.shape[0])


@dataclass(frozen=True)
class PermutationResult:
    """The outcome of a permutation two-sample test.

    Attributes:
        statistic: the MMD^2_u of the observed split.
        p_value: ``(1 + #{b : null[b] >= statistic}) / (B + 1)``.
        null: the statistics of the ``B`` random relabellings, shape (B,).
        bandwidth: the Gaussian kernel's bandwidth used.
    """

    statistic: float
    p_value: float
    null: np.ndarray
    bandwidth: float


def _split_statistics(k0: np.ndarray, rows: np.ndarray, m: int) -> np.ndarray:
    """MMD^2_u of each split, given by the rows of indicators ``rows`` (b, N) of the first sample.

    ``k0`` is the pooled kernel matrix with a zero diagonal.
    """
    n_all = k0.shape[0]
    n = n_all - m
    total = k0.sum()
    row_sums = k0.sum(axis=1)
    ka = rows @ k0
    sxx = np.einsum("bi,bi->b", ka, rows)
    sxy = rows @ row_sums - sxx
    syy = total - sxx - 2.0 * sxy
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * sxy / (m * n)


def permutation_test(x: np.ndarray, y: np.ndarray, n_permutations: int = 199,
                     bandwidth: float | None = None, rng: np.random.Generator | None = None,
                     block: int = 256) -> PermutationResult:
    """The MMD two-sample test with a Gaussian kernel and a permutation null.

    The pooled kernel matrix is computed once; each of the ``n_permutations`` random
    relabellings (uniform permutations of the pooled sample, drawn independently) is evaluated
    from it, ``block`` at a time, by matrix products. The p-value
    ``(1 + #{b : T_b >= T}) / (B + 1)`` is valid at every sample size when the pooled sample is
    exchangeable under the null: ``P(p <= u) <= u`` for all ``u`` in [0, 1].

    Args:
        x: (m, d) sample, m >= 2.
        y: (n, d) sample, n >= 2.
        n_permutations: the number ``B`` of random relabellings.
        bandwidth: the Gaussian kernel's bandwidth; default :func:`median_bandwidth` of the
            pooled sample (computed once, on the observed pooled sample, which every relabelling
            shares).
        rng: the NumPy generator the permutations are drawn from (default: a fresh unseeded one).
        block: how many relabellings to evaluate at once (memory ``block * (m + n)`` floats).

    Returns:
        a :class:`PermutationResult`.
    """
    x, y = _as_points("x", x), _as_points("y", y)
    _same_dim(x, y)
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError("x and y need at least two points each.")
    n_permutations = _positive_int("n_permutations", n_permutations)
    block = _positive_int("block", block)
    if rng is None:
        rng = np.random.default_rng()
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
    z = np.vstack([x, y])
    if bandwidth is None:
        bandwidth = median_bandwidth(z)
    k0 = gaussian_kernel(z, z, bandwidth)
    np.fill_diagonal(k0, 0.0)
    n_all = m + n
    observed = np.zeros((1, n_all))
    observed[0, :m] = 1.0
    statistic = float(_split_statistics(k0, observed, m)[0])
    null = np.empty(n_permutations)
    for start in range(0, n_permutations, block):
        b = min(block, n_permutations - start)
        perms = np.argsort(rng.random((b, n_all)), axis=1)[:, :m]
        rows = np.zeros((b, n_all))
        np.put_along_axis(rows, perms, 1.0, axis=1)
        null[start:start + b] = _split_statistics(k0, rows, m)
    p_value = (1.0 + np.count_nonzero(null >= statistic)) / (n_permutations + 1.0)
    return PermutationResult(statistic, float(p_value), null, float(bandwidth))


def nn_distances(queries: np.ndarray, reference: np.ndarray, block: int = 1024) -> np.ndarray:
    """Euclidean distance from each query point (q, d) to its nearest point of ``reference``.

    Streams the queries in blocks of ``block`` rows (memory ``block * len(reference)``).

    Returns:
        an array of shape (q,).
    """
    queries, reference = _as_points("queries", queries), _as_points("reference", reference)
    _same_dim(queries, reference, "queries and reference")
    block = _positive_int("block", block)
    out = np.empty(queries.shape[0])
    for start in range(0, queries.shape[0], block):
        d2 = pairwise_sq_distances(queries[start:start + block], reference)
        out[start:start + block] = np.sqrt(d2.min(axis=1))
    return out


def data_copying_z(generated_distances: np.ndarray, test_distances: np.ndarray) -> float:
    """The Mann-Whitney Z-score comparing generated and held-out nearest-training distances.

    ``U`` counts the pairs (generated point, test point) where the generated point lies farther
    from the training set than the test point (ties count 1/2), and
    ``Z = (U - m n / 2) / sqrt(m n (m + n + 1) / 12)`` with ``m`` generated and ``n`` test
    distances (no tie correction). If generated and test points are independent draws from the
    same distribution, independent of the training set, ``Z`` is approximately standard normal;
    a markedly negative ``Z`` means the generated points sit closer to the training set than
    fresh data do: the data-copying statistic ``Z_U`` of Meehan, Chaudhuri and Dasgupta (2020),
    here without their partition into cells.

    Args:
        generated_distances: (m,) distances of generated points to their nearest training point.
        test_distances: (n,) the same for held-out points.
    """
    g = np.asarray(generated_distances, dtype=float).ravel()
    t = np.asarray(test_distances, dtype=float).ravel()
    if g.size < 1 or t.size < 1:
        raise ValueError("generated_distances and test_distances must be non-empty.")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(t))):
        raise ValueError("generated_distances and test_distances must be finite.")
    m, n = g.size, t.size
    pooled = np.concatenate([g, t])
    order = np.argsort(pooled, kind="mergesort")
    ranks = np.empty(m + n)
    ranks[order] = np.arange(1, m + n + 1)
    sorted_vals = pooled[order]
    # Average the ranks of tied values.
    _, first, counts = np.unique(sorted_vals, return_index=True, return_counts=True)
    for start, count in zip(first[counts > 1], counts[counts > 1]):
        idx = order[start:start + count]
        ranks[idx] = ranks[idx].mean()
    u = ranks[:m].sum() - m * (m + 1) / 2.0
    return float((u - m * n / 2.0) / np.sqrt(m * n * (m + n + 1) / 12.0))
