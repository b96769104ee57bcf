"""Generalization bounds: concentration, VC theory, Rademacher complexity and PAC-Bayes.

Every bound here is a plain function of the quantities it depends on (sample size ``n``,
confidence ``delta``, VC dimension, KL divergence...), so that a chapter can plot it against what
it measures. Logarithms are natural. The classification chapters use the 0-1 loss, so every risk
lies in ``[0, 1]``.

* Concentration: :func:`hoeffding_tail`, :func:`hoeffding_epsilon`, :func:`union_bound_epsilon`.
* VC theory: :func:`sauer_log_growth`, :func:`vc_gap_bound`, :func:`vc_sample_complexity`, and
  brute-force shattering by affine classifiers, :func:`affine_separator`,
  :func:`affinely_separable`, :func:`count_dichotomies`, :func:`cover_count`,
  :func:`radon_partition`.
* Rademacher complexity: :func:`rademacher_finite`, :func:`rademacher_linear`,
  :func:`rademacher_linear_bound`.
* The realizable case and stability: :func:`realizable_epsilon`, :func:`ridge_stability_bound`.
* PAC-Bayes: :func:`kl_bernoulli`, :func:`kl_inverse`, :func:`mcallester_bound`,
  :func:`pac_bayes_kl_bound`, :func:`catoni_bound`, :func:`sample_convergence_bound`,
  :func:`gaussian_kl`, and for stochastic networks :func:`mlp_logits`, :func:`gibbs_errors`;
  for comparison, the held-out :func:`test_set_bound`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from scipy.optimize import linprog
from scipy.special import gammaln, logsumexp

from dlscience.checks import positive_int as _check_positive_int


def _check_nonnegative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def _check_delta(delta: float) -> float:
    if not 0.0 < float(delta) < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}.")
    return float(delta)


def _check_risk(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    return float(value)


def _check_nonnegative(name: str, value: float) -> float:
    if not float(value) >= 0.0:
        raise ValueError(f"{name} must be non-negative, got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------------------------
# Concentration
# --------------------------------------------------------------------------------------------

def hoeffding_tail(n: int, eps: float | np.ndarray, two_sided: bool = True) -> np.ndarray:
    """Hoeffding's bound on the tail of a mean of ``n`` independent variables with values in [0, 1].

    ``P(|mean - E mean| >= eps) <= 2 exp(-2 n eps^2)`` (``two_sided``), or ``exp(-2 n eps^2)``
    for one side. The value is capped at 1.

    Args:
        n: number of variables averaged.
        eps: deviation(s), any shape, non-negative.
        two_sided: bound both tails (factor 2) or one.

    Returns:
        an array of the shape of ``eps``.
    """
    n = _check_positive_int("n", n)
    eps = np.asarray(eps, dtype=float)
    if np.any(eps < 0):
        raise ValueError(f"eps must be non-negative, got {eps!r}.")
    return np.minimum(1.0, (2.0 if two_sided else 1.0) * np.exp(-2.0 * n * eps**2))


def hoeffding_epsilon(n: int, delta: float, two_sided: bool = True) -> float:
    """The deviation ``eps`` at which Hoeffding's bound equals ``delta``.

    ``eps = sqrt(log(2 / delta) / (2 n))`` (two-sided) or ``sqrt(log(1 / delta) / (2 n))``.
    """
    n = _check_positive_int("n", n)
    delta = _check_delta(delta)
    return math.sqrt(math.log((2.0 if two_sided else 1.0) / delta) / (2.0 * n))


def union_bound_epsilon(n: int, log_class_size: float, delta: float) -> float:
    """Uniform deviation for a finite class of ``|H|`` classifiers, by Hoeffding and a union bound.

    With probability at least ``1 - delta`` over ``n`` i.i.d. examples, every ``h`` in ``H``
    has ``|risk(h) - empirical risk(h)| <= sqrt((log|H| + log(2 / delta)) / (2 n))``.

    Args:
        n: sample size.
        log_class_size: ``log |H|`` (natural log; pass the log so that classes such as all
            networks with ``W`` 32-bit weights, ``|H| = 2^(32 W)``, do not overflow).
        delta: confidence parameter in (0, 1).
    """
    n = _check_positive_int("n", n)
    log_class_size = _check_nonnegative("log_class_size", log_class_size)
    delta = _check_delta(delta)
    return math.sqrt((log_class_size + math.log(2.0 / delta)) / (2.0 * n))


# --------------------------------------------------------------------------------------------
# VC theory
# --------------------------------------------------------------------------------------------

def sauer_log_growth(n: int, vc_dim: int) -> float:
    """Log of Sauer's bound on the growth function: ``log sum_{i <= min(d, n)} C(n, i)``.

    A class of VC dimension ``d`` realizes at most that many labelings of any ``n`` points. When
    ``d >= n`` the sum is ``2^n`` and the bound says nothing beyond the trivial count.
    """
    n = _check_positive_int("n", n)
    vc_dim = _check_nonnegative_int("vc_dim", vc_dim)
    i = np.arange(min(vc_dim, n) + 1)
    log_binom = gammaln(n + 1) - gammaln(i + 1) - gammaln(n - i + 1)
    return float(logsumexp(log_binom))


def vc_gap_bound(n: int, vc_dim: int, delta: float) -> float:
    """Uniform bound on ``risk(h) - empirical risk(h)`` over a class of VC dimension ``vc_dim``.

    With probability at least ``1 - delta`` over ``n`` i.i.d. examples, for every ``h`` in the
    class (0-1 loss; Mohri, Rostamizadeh and Talwalkar, 2018, corollaries 3.8 and 3.18)::

        risk(h) <= empirical risk(h) + sqrt(2 log Pi(n) / n) + sqrt(log(1 / delta) / (2 n)),

    with ``log Pi(n)`` bounded by :func:`sauer_log_growth`. The returned gap exceeds 1, so the
    bound is vacuous, as soon as ``vc_dim >= n``.
    """
    delta = _check_delta(delta)
    log_growth = sauer_log_growth(n, vc_dim)
    return math.sqrt(2.0 * log_growth / n) + math.sqrt(math.log(1.0 / delta) / (2.0 * n))


def vc_sample_complexity(vc_dim: int, eps: float, delta: float) -> int:
    """Smallest ``n`` at which :func:`vc_gap_bound` is at most ``eps``.

    It grows like ``(d log(1 / eps) + log(1 / delta)) / eps^2``, up to constants.

    Args:
        vc_dim: VC dimension ``d`` (positive).
        eps: target gap in (0, 1).
        delta: confidence parameter in (0, 1).
    """
    vc_dim = _check_positive_int("vc_dim", vc_dim)
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must be in (0, 1), got {eps!r}.")
    delta = _check_delta(delta)
    hi = 1
    while vc_gap_bound(hi, vc_dim, delta) > eps:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:  # invariant: the bound at lo is > eps (or lo = 0), at hi is <= eps
        mid = (lo + hi) // 2
        if vc_gap_bound(mid, vc_dim, delta) <= eps:
            hi = mid
        else:
            lo = mid
    return hi


def affine_separator(points: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """An affine classifier ``x -> [<w, x> + b >= 0]`` that realizes ``labels`` on ``points``,
    or ``None`` if there is none.

    Found by a linear-programming feasibility test: the labelling is realizable if and only if
    some ``(w, b)`` has ``s_i (<w, x_i> + b) >= 1`` for all ``i``, with ``s_i = 2 labels_i - 1``
    (a strict separation can always be rescaled to margin 1).

    Args:
        points: array ``(m, d)``.
        labels: array ``(m,)`` with values in {0, 1}.

    Returns:
        the array ``(w_1, ..., w_d, b)`` of shape ``(d + 1,)``, or ``None``.
    """
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels)
    if points.ndim != 2:
        raise ValueError(f"points must be an (m, d) array, got shape {points.shape}.")
    if labels.shape != (points.shape[0],) or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be an ({points.shape[0]},) array of 0/1, got {labels!r}.")
    signs = 2.0 * labels - 1.0
    m, d = points.shape
    # Variables (w, b), free. Constraints -s_i (<w, x_i> + b) <= -1.
    a_ub = -signs[:, None] * np.c_[points, np.ones(m)]
    messages = []
    # HiGHS's default (dual simplex) sometimes ends a barely infeasible problem with status
    # "unknown" (e.g. 60 Gaussian points in dimension 25); its interior-point method then decides.
    for method in ("highs", "highs-ipm", "highs-ds"):
        res = linprog(np.zeros(d + 1), A_ub=a_ub, b_ub=-np.ones(m),
                      bounds=[(None, None)] * (d + 1), method=method)
        if res.status in (0, 2):
            return res.x if res.status == 0 else None
        messages.append(f"{method}: {res.message}")
    # Last resort, a problem that is always feasible and bounded: the largest margin t with
    # s_i (<w, x_i> + b) >= t over the box |w_j|, |b| <= 1; separable if and only if t > 0.
    cost = np.zeros(d + 2)
    cost[-1] = -1.0
    res = linprog(cost, A_ub=np.c_[a_ub, np.ones(m)], b_ub=np.zeros(m),
                  bounds=[(-1.0, 1.0)] * (d + 1) + [(None, 1.0)], method="highs")
    if res.status != 0:
        messages.append(f"margin: {res.message}")
        raise RuntimeError("linprog failed: " + "; ".join(messages))
    return res.x[:-1] / res.x[-1] if res.x[-1] > 0 else None


def affinely_separable(points: np.ndarray, labels: np.ndarray) -> bool:
    """Whether :func:`affine_separator` finds an affine classifier realizing ``labels``."""
    return affine_separator(points, labels) is not None


def count_dichotomies(points: np.ndarray) -> int:
    """Number of the ``2^m`` labelings of ``points`` (shape ``(m, d)``) that an affine classifier
    realizes, by brute force over the labelings (one linear program each).

    A labelling is realizable exactly when its complement is (negate ``w`` and ``b``), so only
    the ``2^(m - 1)`` labelings with ``labels[0] = 0`` are tested and the count is doubled. The
    points are shattered when the count is ``2^m``.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or not 1 <= points.shape[0] <= 16:
        raise ValueError(f"points must be an (m, d) array with 1 <= m <= 16, got shape "
                         f"{points.shape}.")
    return 2 * sum(affinely_separable(points, np.array((0, *lab)))
                   for lab in itertools.product((0, 1), repeat=points.shape[0] - 1))


def cover_count(m: int, d: int) -> int:
    """Cover's (1965) count of the labelings of ``m`` points in general position in ``R^d`` that
    affine classifiers realize: ``2 sum_{i=0}^{d} C(m - 1, i)``."""
    m = _check_positive_int("m", m)
    d = _check_positive_int("d", d)
    return 2 * sum(math.comb(m - 1, i) for i in range(d + 1))


def radon_partition(points: np.ndarray) -> np.ndarray:
    """Radon's partition of ``d + 2`` points in ``R^d`` into two sets whose convex hulls meet.

    Takes a non-zero ``a`` with ``sum_i a_i x_i = 0`` and ``sum_i a_i = 0`` (it exists because
    these are ``d + 1`` equations in ``d + 2`` unknowns); the sets are ``{a_i > 0}`` and
    ``{a_i <= 0}``.

    Args:
        points: array ``(d + 2, d)``.

    Returns:
        a boolean array ``(d + 2,)``, true on the set ``{a_i > 0}``.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] != points.shape[1] + 2:
        raise ValueError(f"points must be a (d + 2, d) array, got shape {points.shape}.")
    system = np.vstack([points.T, np.ones(points.shape[0])])  # (d + 1, d + 2)
    a = np.linalg.svd(system)[2][-1]  # a unit vector of the null space
    return a > 0


# --------------------------------------------------------------------------------------------
# Rademacher complexity
# --------------------------------------------------------------------------------------------

def rademacher_finite(outputs: np.ndarray, num_draws: int, seed: int = 0) -> float:
    """Monte Carlo estimate of the empirical Rademacher complexity of a finite set of functions.

    ``E_sigma max_k (1/n) sum_i sigma_i outputs[k, i]``, with ``sigma`` uniform on
    ``{-1, +1}^n``, averaged over ``num_draws`` draws of ``sigma``.

    Args:
        outputs: array ``(K, n)``: row ``k`` holds the values of function ``k`` on the ``n``
            sample points.
        num_draws: number of sign vectors drawn.
        seed: seed of the draws.
    """
    outputs = np.asarray(outputs, dtype=float)
    if outputs.ndim != 2:
        raise ValueError(f"outputs must be a (K, n) array, got shape {outputs.shape}.")
    num_draws = _check_positive_int("num_draws", num_draws)
    sigma = np.random.default_rng(seed).choice([-1.0, 1.0], size=(num_draws, outputs.shape[1]))
    return float((sigma @ outputs.T).max(axis=1).mean() / outputs.shape[1])


def rademacher_linear(x: np.ndarray, norm_bound: float, num_draws: int, seed: int = 0) -> float:
    """Monte Carlo estimate of the empirical Rademacher complexity of the linear class
    ``{x -> <w, x> : ||w||_2 <= B}`` on the sample ``x`` (shape ``(n, d)``).

    The supremum over the ball is explicit, ``sup_w (1/n) sum_i sigma_i <w, x_i> =
    (B / n) ||sum_i sigma_i x_i||``, so only the expectation over ``sigma`` is estimated, from
    ``num_draws`` sign vectors.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be an (n, d) array, got shape {x.shape}.")
    norm_bound = _check_nonnegative("norm_bound", norm_bound)
    num_draws = _check_positive_int("num_draws", num_draws)
    sigma = np.random.default_rng(seed).choice([-1.0, 1.0], size=(num_draws, x.shape[0]))
    return float(norm_bound * np.linalg.norm(sigma @ x, axis=1).mean() / x.shape[0])


def rademacher_linear_bound(x: np.ndarray, norm_bound: float) -> float:
    """The bound ``(B / n) sqrt(sum_i ||x_i||^2)`` on :func:`rademacher_linear` (by Jensen).

    It is itself at most ``B max_i ||x_i|| / sqrt(n)``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be an (n, d) array, got shape {x.shape}.")
    norm_bound = _check_nonnegative("norm_bound", norm_bound)
    return float(norm_bound * math.sqrt(float((x**2).sum())) / x.shape[0])


# --------------------------------------------------------------------------------------------
# PAC-Bayes
# --------------------------------------------------------------------------------------------

def kl_bernoulli(q: float | np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """``kl(q || p) = q log(q / p) + (1 - q) log((1 - q) / (1 - p))`` for Bernoulli parameters.

    Uses ``0 log 0 = 0``; the value is infinite where ``p`` is 0 or 1 and ``q`` differs.
    Broadcasts over arrays.
    """
    q = np.asarray(q, dtype=float)
    p = np.asarray(p, dtype=float)
    if np.any((q < 0) | (q > 1)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"q and p must lie in [0, 1], got q={q!r}, p={p!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(q > 0, q * np.log(q / p), 0.0)
        b = np.where(q < 1, (1 - q) * np.log((1 - q) / (1 - p)), 0.0)
    return a + b


def kl_inverse(q: float, c: float, tol: float = 1e-12) -> float:
    """The upper inverse of the binary kl: ``max {p in [q, 1] : kl(q || p) <= c}``, by bisection.

    ``kl(q || p)`` increases in ``p`` on ``[q, 1]``, so bisection on that interval converges.

    Args:
        q: empirical risk in [0, 1].
        c: budget, non-negative.
        tol: width of the final bracket.

    Returns:
        the inverse, to within ``tol``, rounded up (so it remains a valid upper bound).
    """
    q = _check_risk("q", q)
    c = _check_nonnegative("c", c)
    if kl_bernoulli(q, 1.0) <= c:
        return 1.0
    lo, hi = q, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if kl_bernoulli(q, mid) > c:
            hi = mid
        else:
            lo = mid
    return hi


def _pac_bayes_complexity(kl: float, n: int, delta: float) -> float:
    """``(KL + log(2 sqrt(n) / delta)) / n``, the budget shared by the Maurer-style bounds."""
    return (kl + math.log(2.0 * math.sqrt(n) / delta)) / n


def mcallester_bound(emp_risk: float, kl: float, n: int, delta: float) -> float:
    """McAllester's PAC-Bayes bound (in Maurer's form) on the risk of a Gibbs classifier ``Q``.

    ``risk(Q) <= emp_risk + sqrt((KL(Q || P) + log(2 sqrt(n) / delta)) / (2 n))``, with
    probability at least ``1 - delta``, simultaneously for every posterior ``Q``.
    """
    emp_risk = _check_risk("emp_risk", emp_risk)
    kl = _check_nonnegative("kl", kl)
    n = _check_positive_int("n", n)
    delta = _check_delta(delta)
    return emp_risk + math.sqrt(_pac_bayes_complexity(kl, n, delta) / 2.0)


def pac_bayes_kl_bound(emp_risk: float, kl: float, n: int, delta: float) -> float:
    """The Langford-Seeger (kl) PAC-Bayes bound: the largest ``p`` with
    ``kl(emp_risk || p) <= (KL(Q || P) + log(2 sqrt(n) / delta)) / n``.

    By Pinsker's inequality it is never larger than :func:`mcallester_bound`.
    """
    emp_risk = _check_risk("emp_risk", emp_risk)
    kl = _check_nonnegative("kl", kl)
    n = _check_positive_int("n", n)
    delta = _check_delta(delta)
    return kl_inverse(emp_risk, _pac_bayes_complexity(kl, n, delta))


def catoni_bound(emp_risk: float, kl: float, n: int, delta: float, beta: float) -> float:
    """Catoni's PAC-Bayes bound for a fixed inverse temperature ``beta > 0``:

    ``risk(Q) <= (1 - exp(-beta emp_risk - (KL(Q || P) + log(1 / delta)) / n)) /
    (1 - exp(-beta))``, with probability at least ``1 - delta``, for every ``Q``.
    """
    emp_risk = _check_risk("emp_risk", emp_risk)
    kl = _check_nonnegative("kl", kl)
    n = _check_positive_int("n", n)
    delta = _check_delta(delta)
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta!r}.")
    return -math.expm1(-beta * emp_risk - (kl + math.log(1.0 / delta)) / n) / -math.expm1(-beta)


def sample_convergence_bound(emp_error: float, num_samples: int, delta: float) -> float:
    """Upper confidence bound on the error of a stochastic classifier from Monte Carlo samples.

    If ``emp_error`` is the average error of ``num_samples`` independent draws of the classifier,
    its expectation is at most ``kl_inverse(emp_error, log(2 / delta) / num_samples)`` with
    probability at least ``1 - delta`` (Langford and Caruana, 2001).
    """
    emp_error = _check_risk("emp_error", emp_error)
    num_samples = _check_positive_int("num_samples", num_samples)
    delta = _check_delta(delta)
    return kl_inverse(emp_error, math.log(2.0 / delta) / num_samples)


def gaussian_kl(mean_q: torch.Tensor, log_std_q: torch.Tensor, mean_p: torch.Tensor,
                std_p: float | torch.Tensor) -> torch.Tensor:
    """``KL(N(mean_q, diag std_q^2) || N(mean_p, std_p^2 I))``, differentiable in its arguments.

    Args:
        mean_q, log_std_q: posterior means and log standard deviations, same shape ``(W,)``.
        mean_p: prior means ``(W,)``.
        std_p: prior standard deviation, a positive scalar (float or 0-d tensor).

    Returns:
        a 0-d tensor, in nats.
    """
    if mean_q.shape != log_std_q.shape or mean_q.shape != mean_p.shape:
        raise ValueError(f"mean_q, log_std_q and mean_p must have the same shape, got "
                         f"{tuple(mean_q.shape)}, {tuple(log_std_q.shape)}, "
                         f"{tuple(mean_p.shape)}.")
    std_p = torch.as_tensor(std_p, dtype=mean_q.dtype)
    if std_p.numel() != 1 or not bool(std_p > 0):
        raise ValueError(f"std_p must be a positive scalar, got {std_p!r}.")
    var_ratio = torch.exp(2 * log_std_q) / std_p**2
    gap = (mean_q - mean_p) ** 2 / std_p**2
    return 0.5 * torch.sum(var_ratio + gap - 1.0 - torch.log(var_ratio))


def mlp_logits(theta: torch.Tensor, x: torch.Tensor, widths: list[int]) -> torch.Tensor:
    """Outputs of ``K`` ReLU MLPs with layer sizes ``widths``, given as flat parameter vectors.

    The layout of each row of ``theta`` is that of
    ``torch.nn.utils.parameters_to_vector(models.MLP(widths).parameters())``: for each layer its
    weight ``(out, in)`` row-major, then its bias ``(out,)``.

    Args:
        theta: array ``(K, P)`` of ``K`` parameter vectors.
        x: inputs ``(n, widths[0])``.
        widths: layer sizes, input first.

    Returns:
        logits ``(K, n, widths[-1])``.
    """
    sizes = [o * i + o for i, o in zip(widths[:-1], widths[1:])]
    if theta.ndim != 2 or theta.shape[1] != sum(sizes):
        raise ValueError(f"theta must be a (K, {sum(sizes)}) array for widths {widths}, got "
                         f"shape {tuple(theta.shape)}.")
    if x.ndim != 2 or x.shape[1] != widths[0]:
        raise ValueError(f"x must be an (n, {widths[0]}) array, got shape {tuple(x.shape)}.")
    h = x.expand(theta.shape[0], *x.shape)
    offset = 0
    for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        weight = theta[:, offset:offset + fan_out * fan_in].view(-1, fan_out, fan_in)
        offset += fan_out * fan_in
        bias = theta[:, offset:offset + fan_out]
        offset += fan_out
        h = torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2))
        if layer < len(widths) - 2:
            h = torch.relu(h)
    return h


def gibbs_errors(mean: torch.Tensor, std: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 widths: list[int], num_samples: int, seed: int = 0,
                 chunk: int = 50) -> np.ndarray:
    """Error rates of ``num_samples`` networks drawn from the Gaussian ``N(mean, diag std^2)``.

    Each draw is an MLP with layer sizes ``widths`` (layout of :func:`mlp_logits`) that
    classifies by arg-max; its error rate on ``(x, y)`` is one entry of the result. The mean
    of the result estimates the error of the stochastic (Gibbs) classifier.

    The draws are streamed: ``chunk`` networks are drawn, evaluated and discarded at a time, and
    only their error rates are kept, written into one preallocated array. Peak memory is
    therefore about ``chunk * (P + 3 * n * max(widths))`` numbers for the chunk plus
    ``8 * num_samples`` bytes for the result. (Keeping one small tensor per chunk alive
    instead, e.g. in a list, fragments the allocator's heap between the
    large temporary activations, and resident memory then grows with ``num_samples``.)

    Args:
        mean, std: parameter means and standard deviations, shape ``(P,)``.
        x: inputs ``(n, widths[0])``; y: labels ``(n,)``.
        widths: layer sizes, input first.
        num_samples: number of networks drawn.
        seed: seed of the draws (a ``torch.Generator`` of its own: the draws do not touch the
            global random state).
        chunk: networks evaluated at once.

    Returns:
        an array ``(num_samples,)`` of error rates in [0, 1].
    """
    num_samples = _check_positive_int("num_samples", num_samples)
    chunk = _check_positive_int("chunk", chunk)
    if mean.shape != std.shape or mean.ndim != 1:
        raise ValueError(f"mean and std must be vectors of the same shape, got "
                         f"{tuple(mean.shape)} and {tuple(std.shape)}.")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a vector of {x.shape[0]} labels, got shape "
                         f"{tuple(y.shape)}.")
    gen = torch.Generator().manual_seed(seed)
    errors = np.empty(num_samples)
    with torch.no_grad():
        for start in range(0, num_samples, chunk):
            k = min(chunk, num_samples - start)
            theta = mean + std * torch.randn(k, mean.numel(), generator=gen, dtype=mean.dtype)
            wrong = (mlp_logits(theta, x, widths).argmax(-1) != y).sum(1)
            errors[start:start + k] = wrong.numpy() / y.shape[0]
    return errors


def test_set_bound(errors: int, m: int, delta: float, tol: float = 1e-12) -> float:
    """Langford's (2005) test-set bound: an upper confidence bound on the risk of one fixed
    classifier from its number of ``errors`` on ``m`` held-out examples.

    The largest ``p`` with ``P(Binomial(m, p) <= errors) >= delta`` (the inverse of the binomial
    tail, the one-sided Clopper-Pearson limit), found by bisection. With probability at least
    ``1 - delta`` over the held-out sample, the risk is at most this value. It is never larger
    than its Chernoff relaxation ``kl_inverse(errors / m, log(1 / delta) / m)``.

    Args:
        errors: number of mistakes on the held-out set, ``0 <= errors <= m``.
        m: size of the held-out set (drawn independently of the classifier).
        delta: confidence parameter in (0, 1).
        tol: width of the final bracket (the result is rounded up).
    """
    from scipy.stats import binom

    m = _check_positive_int("m", m)
    errors = _check_nonnegative_int("errors", errors)
    if errors > m:
        raise ValueError(f"errors must be at most m = {m}, got {errors!r}.")
    delta = _check_delta(delta)
    if errors == m:
        return 1.0
    lo, hi = errors / m, 1.0  # the tail P(B <= errors) decreases in p
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if binom.cdf(errors, m, mid) >= delta:
            lo = mid
        else:
            hi = mid
    return hi


# --------------------------------------------------------------------------------------------
# The realizable case and algorithmic stability (classical-theory chapter)
# --------------------------------------------------------------------------------------------

def realizable_epsilon(n: int, log_class_size: float, delta: float) -> float:
    """Risk bound for a classifier with zero training error in a finite class (realizable case).

    With probability at least ``1 - delta`` over ``n`` i.i.d. examples, every ``h`` in ``H`` with
    no training error has risk at most ``(log|H| + log(1 / delta)) / n``: a fixed ``h`` of risk
    above ``eps`` fits all ``n`` examples with probability at most ``(1 - eps)^n <= e^(-n eps)``,
    and a union bound over ``H`` does the rest. The rate is ``1 / n``, against ``1 / sqrt(n)``
    for :func:`union_bound_epsilon`.

    Args:
        n: sample size.
        log_class_size: ``log |H|`` (natural log).
        delta: confidence parameter in (0, 1).
    """
    n = _check_positive_int("n", n)
    log_class_size = _check_nonnegative("log_class_size", log_class_size)
    delta = _check_delta(delta)
    return (log_class_size + math.log(1.0 / delta)) / n


def ridge_stability_bound(radius: float, y_max: float, lam: float, n: int) -> float:
    """Uniform (replace-one) stability of ridge regression under the square loss.

    For ``w_S = argmin (1/n) sum_i (<w, x_i> - y_i)^2 + lam ||w||^2`` with ``||x|| <= radius``
    and ``|y| <= y_max`` for every example, replacing one example of ``S`` changes the loss
    ``(<w, x> - y)^2`` at any such point ``(x, y)`` by at most::

        sigma^2 radius^2 / (lam n),   sigma = 2 y_max (1 + radius / sqrt(lam)),

    where ``sigma`` is the Lipschitz constant of the loss in the prediction over the predictions
    ``|<w, x>| <= radius y_max / sqrt(lam)`` that ridge can make (``||w_S|| <= y_max / sqrt(lam)``).
    The proof is the strong-convexity argument of the classical-theory chapter; Bousquet and
    Elisseeff (2002) obtain half this constant for stability with respect to removing one example.

    Args:
        radius: bound ``kappa`` on ``||x||``, positive.
        y_max: bound ``B`` on ``|y|``, positive.
        lam: ridge penalty, positive.
        n: sample size.
    """
    n = _check_positive_int("n", n)
    for name, value in (("radius", radius), ("y_max", y_max), ("lam", lam)):
        if not (math.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}.")
    sigma = 2.0 * y_max * (1.0 + radius / math.sqrt(lam))
    return sigma**2 * radius**2 / (lam * n)
