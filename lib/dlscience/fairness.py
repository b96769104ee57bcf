"""Group fairness: criteria, the impossibility identity, and equalized-odds post-processing.

**A synthetic population.** :class:`FairnessProblem` has a binary group attribute ``a`` (with
``P(a = 1) = group_share``), a label ``y`` whose base rate ``P(y = 1 | a)`` depends on the group,
and features ``x | y, a ~ N((2y - 1) m_a u, I_d)`` along a fixed unit direction ``u``, whose
informativeness ``m_a`` may also depend on the group. Its Bayes score
:func:`bayes_score` is ``P(y = 1 | x, a)``, calibrated within groups by construction, and
:func:`population_roc` gives its exact ROC curve in each group (binormal), and
:func:`population_equalized_odds` the best classifier derived from it under equalized odds.
:func:`sample_population` draws examples; :func:`design_matrix` and :func:`fit_logistic` fit a
logistic-regression score with (``group_aware=True``) or without access to ``a``.

**Criteria** (``pred`` may be hard 0/1 predictions or the probabilities ``P(yhat = 1)`` of a
randomized classifier; rates are then expected rates): :func:`group_rates` (per group: base
rate, selection rate, TPR, FPR, FNR, PPV), :func:`demographic_parity_difference` and
:func:`equalized_odds_difference` (the definitions of Fairlearn: largest difference between
groups of the selection rate; the larger of the TPR and FPR differences),
:func:`generalized_rates` (the mean score of the negatives and of the positives of each group,
the balance quantities of Kleinberg, Mullainathan and Raghavan, ITCS 2017), and
:func:`chouldechova_fpr`, the identity ``FPR = p/(1-p) (1-PPV)/PPV (1-FNR)`` of Chouldechova
(2017). Calibration within groups is measured with :func:`dlscience.calibration.reliability_bins`
and :func:`dlscience.calibration.ece` applied to each group's examples (the score as the
confidence, the label as the outcome): the same equal-width binned estimator, so this module
has no copy of its own.

**Post-processing** (Hardt, Price and Srebro 2016). :func:`roc_points` lists the (FPR, TPR)
points of all thresholds of a score, :func:`convex_hull` their convex hull, and
:func:`fit_equalized_odds` solves the linear program: minimize the error of a classifier that, in
each group, randomizes between thresholds of the score, subject to equal TPR and equal FPR in all
groups. It returns an :class:`EqualizedOddsPostprocessor`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize, minimize_scalar
from scipy.special import expit, log_expit, logit
from scipy.stats import norm

from .checks import positive_int

__all__ = ["FairnessProblem", "FairData", "GroupRates", "EqualizedOddsPostprocessor",
           "sample_population", "bayes_score", "population_rates", "population_roc",
           "population_equalized_odds", "population_generalized_rates", "design_matrix",
           "fit_logistic", "logistic_score", "group_rates", "demographic_parity_difference",
           "equalized_odds_difference", "chouldechova_fpr", "generalized_rates", "roc_points",
           "convex_hull", "fit_equalized_odds"]


def _open_unit(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}.")
    return float(value)


def _labels(name: str, y: object, n: int | None = None) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}.")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1.")
    return arr.astype(np.int64)


def _probs(name: str, p: object, n: int) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}.")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must hold numbers in [0, 1].")
    return arr


def _groups(a: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The group labels as given and their sorted distinct values."""
    arr = np.asarray(a)
    if arr.shape != (n,):
        raise ValueError(f"a (the group attribute) must have shape ({n},), got {arr.shape}.")
    values = np.unique(arr)
    if values.size < 1:
        raise ValueError("a (the group attribute) is empty.")
    return arr, values


@dataclass(frozen=True)
class FairnessProblem:
    """A population with a binary group attribute (see the module docstring).

    Attributes:
        group_share: ``P(a = 1)``.
        base_rates: ``(P(y = 1 | a = 0), P(y = 1 | a = 1))``.
        separations: ``(m_0, m_1)``: in group ``a`` the class means are ``+- m_a u``.
        dim: the feature dimension ``d``; ``u = (1, ..., 1) / sqrt(d)``.
    """

    group_share: float = 0.35
    base_rates: tuple[float, float] = (0.3, 0.5)
    separations: tuple[float, float] = (1.2, 0.8)
    dim: int = 5

    def __post_init__(self) -> None:
        _open_unit("group_share", self.group_share)
        if len(self.base_rates) != 2 or len(self.separations) != 2:
            raise ValueError("base_rates and separations must each hold two numbers, one per "
                             "group.")
        for k in range(2):
            _open_unit(f"base_rates[{k}]", self.base_rates[k])
            m = self.separations[k]
            if isinstance(m, bool) or not isinstance(m, numbers.Real) or not 0 < m < np.inf:
                raise ValueError(f"separations[{k}] must be a positive number, got {m!r}.")
        positive_int("dim", self.dim)

    @property
    def direction(self) -> np.ndarray:
        """The unit vector ``u``, shape ``(dim,)``."""
        return np.full(self.dim, 1.0 / np.sqrt(self.dim))


@dataclass(frozen=True)
class FairData:
    """Examples: features ``x (n, d)``, group ``a (n,)`` and label ``y (n,)`` (int64 in {0, 1})."""

    x: np.ndarray
    a: np.ndarray
    y: np.ndarray


def sample_population(problem: FairnessProblem, n: int, rng: np.random.Generator) -> FairData:
    """Draw ``n`` independent examples of ``problem``.

    Args:
        problem: the population.
        n: number of examples.
        rng: the NumPy generator to draw from.
    """
    if not isinstance(problem, FairnessProblem):
        raise TypeError(f"problem must be a FairnessProblem, got {type(problem).__name__}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
    n = positive_int("n", n)
    a = (rng.random(n) < problem.group_share).astype(np.int64)
    p = np.asarray(problem.base_rates)[a]
    y = (rng.random(n) < p).astype(np.int64)
    m = np.asarray(problem.separations)[a]
    x = ((2 * y - 1) * m)[:, None] * problem.direction + rng.standard_normal((n, problem.dim))
    return FairData(x=x, a=a, y=y)


def bayes_score(problem: FairnessProblem, x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``P(y = 1 | x, a)`` in ``problem``: ``sigmoid(logit(p_a) + 2 m_a u . x)``. Shape ``(n,)``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != problem.dim:
        raise ValueError(f"x must have shape (n, {problem.dim}), got {x.shape}.")
    a = _labels("a", a, x.shape[0])
    z = x @ problem.direction
    return expit(logit(np.asarray(problem.base_rates)[a]) + 2 * np.asarray(problem.separations)[a]
                 * z)


def population_rates(problem: FairnessProblem, group: int,
                     threshold: float) -> tuple[float, float]:
    """Exact ``(FPR, TPR)`` in ``group`` of the classifier ``bayes_score >= threshold``.

    With ``z = u . x ~ N(+-m, 1)`` the rule is ``z >= c`` for
    ``c = (logit(threshold) - logit(p)) / (2 m)``, so ``FPR = Phi(-m - c)``, ``TPR = Phi(m - c)``.
    """
    if group not in (0, 1):
        raise ValueError(f"group must be 0 or 1, got {group!r}.")
    threshold = _open_unit("threshold", threshold)
    m, p = problem.separations[group], problem.base_rates[group]
    c = (logit(threshold) - logit(p)) / (2 * m)
    return float(norm.cdf(-m - c)), float(norm.cdf(m - c))


def population_roc(problem: FairnessProblem, group: int, fpr: np.ndarray) -> np.ndarray:
    """The exact ROC curve of the Bayes score in ``group``: ``TPR = Phi(2 m + Phi^-1(FPR))``.

    It is concave (the likelihood ratio is monotone), so it is its own convex hull.
    """
    if group not in (0, 1):
        raise ValueError(f"group must be 0 or 1, got {group!r}.")
    fpr = np.asarray(fpr, dtype=np.float64)
    if (fpr < 0).any() or (fpr > 1).any():
        raise ValueError("fpr must hold numbers in [0, 1].")
    return norm.cdf(2 * problem.separations[group] + norm.ppf(fpr))


def population_equalized_odds(problem: FairnessProblem) -> tuple[float, float, float]:
    """The most accurate equalized-odds classifier derived from the Bayes score, in the population.

    A common operating point ``(F, T)`` is achievable in both groups iff ``F <= T <= ROC_a(F)``
    for both (the region between each concave ROC curve and the diagonal); the accuracy
    ``sum_a pi_a [p_a T + (1 - p_a)(1 - F)]`` increases with ``T``, so ``T = min_a ROC_a(F)``,
    and the accuracy, concave in ``F``, is maximized by a bounded scalar search.

    Returns:
        ``(F, T, accuracy)`` at the optimum.
    """
    pi = np.array([1 - problem.group_share, problem.group_share])
    p = np.asarray(problem.base_rates)

    def neg_acc(f: float) -> float:
        t = min(float(population_roc(problem, g, np.array([f]))[0]) for g in (0, 1))
        return -float(pi @ (p * t + (1 - p) * (1 - f)))

    res = minimize_scalar(neg_acc, bounds=(0.0, 1.0), method="bounded",
                          options={"xatol": 1e-10})
    f = float(res.x)
    t = min(float(population_roc(problem, g, np.array([f]))[0]) for g in (0, 1))
    return f, t, -float(res.fun)


def population_generalized_rates(problem: FairnessProblem,
                                 nodes: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Exact balance quantities of the Bayes score: ``(gFPR, gFNR)``, each of shape ``(2,)``.

    ``gFPR_a = E[S | y = 0, a]`` and ``gFNR_a = 1 - E[S | y = 1, a]``, with
    ``S = sigmoid(logit p_a + 2 m_a z)`` and ``z ~ N(+-m_a, 1)``, by Gauss-Hermite quadrature
    with ``nodes`` nodes.
    """
    nodes = positive_int("nodes", nodes)
    x, w = np.polynomial.hermite.hermgauss(nodes)
    gfpr, gfnr = np.empty(2), np.empty(2)
    for g in (0, 1):
        m, p = problem.separations[g], problem.base_rates[g]

        def mean_score(mu: float, m: float = m, p: float = p) -> float:
            z = mu + np.sqrt(2.0) * x
            return float(w @ expit(logit(p) + 2 * m * z) / np.sqrt(np.pi))

        gfpr[g] = mean_score(-m)
        gfnr[g] = 1 - mean_score(m)
    return gfpr, gfnr


def design_matrix(x: np.ndarray, a: np.ndarray, *, group_aware: bool = True) -> np.ndarray:
    """Features for logistic regression, with a constant column.

    ``group_aware=True``: ``[1, a, x, a x]`` (shape ``(n, 2 + 2d)``), in which the model of the
    population is well specified (its log-odds are linear in ``x`` with a slope and intercept per
    group). ``group_aware=False``: ``[1, x]``, a group-blind score.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {x.shape}.")
    ones = np.ones((x.shape[0], 1))
    if not group_aware:
        return np.hstack([ones, x])
    a = _labels("a", a, x.shape[0]).astype(np.float64)[:, None]
    return np.hstack([ones, a, x, a * x])


def fit_logistic(features: np.ndarray, y: np.ndarray, *, l2: float = 0.0,
                 tol: float = 1e-10) -> np.ndarray:
    """Weights minimizing the mean logistic loss ``+ l2/2 |w|^2`` (L-BFGS, exact gradient).

    At the minimum with ``l2 = 0`` the gradient vanishes: for every column ``j`` of ``features``,
    ``sum_i (score_i - y_i) features_ij = 0``. With a column per group indicator (as in
    :func:`design_matrix`), the mean score of each group then equals its base rate.

    Args:
        features: ``(n, k)``.
        y: labels ``(n,)`` in {0, 1}.
        l2: weight decay (``>= 0``; applied to every weight).
        tol: gradient tolerance of L-BFGS.

    Returns:
        ``w``, shape ``(k,)``.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must have shape (n, k), got {f.shape}.")
    y = _labels("y", y, f.shape[0]).astype(np.float64)
    if isinstance(l2, bool) or not isinstance(l2, numbers.Real) or l2 < 0:
        raise ValueError(f"l2 must be a non-negative number, got {l2!r}.")
    n = f.shape[0]
    sign = 2 * y - 1

    def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = f @ w
        loss = -log_expit(sign * z).mean() + 0.5 * l2 * w @ w
        grad = f.T @ (expit(z) - y) / n + l2 * w
        return float(loss), grad

    res = minimize(loss_grad, np.zeros(f.shape[1]), jac=True, method="L-BFGS-B",
                   options={"gtol": tol, "ftol": 0.0, "maxiter": 10_000})
    return res.x


def logistic_score(features: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sigmoid(features @ w)``, shape ``(n,)``."""
    return expit(np.asarray(features, dtype=np.float64) @ np.asarray(w, dtype=np.float64))


@dataclass(frozen=True)
class GroupRates:
    """Per-group rates of a (possibly randomized) classifier; arrays of shape ``(groups,)``.

    Attributes:
        groups: the group values, sorted.
        n: examples per group.
        base_rate: ``P(y = 1 | a)``.
        selection_rate: ``P(yhat = 1 | a)``.
        tpr: ``P(yhat = 1 | y = 1, a)``.
        fpr: ``P(yhat = 1 | y = 0, a)``.
        fnr: ``1 - tpr``.
        ppv: ``P(y = 1 | yhat = 1, a)`` (``nan`` if nothing is selected).
        accuracy: ``P(yhat = y | a)``.
    """

    groups: np.ndarray
    n: np.ndarray
    base_rate: np.ndarray
    selection_rate: np.ndarray
    tpr: np.ndarray
    fpr: np.ndarray
    fnr: np.ndarray
    ppv: np.ndarray
    accuracy: np.ndarray


def group_rates(y: np.ndarray, pred: np.ndarray, a: np.ndarray) -> GroupRates:
    """Rates of the predictions ``pred`` in each group of ``a``.

    Args:
        y: labels ``(n,)`` in {0, 1}.
        pred: hard predictions in {0, 1}, or ``P(yhat = 1)`` in ``[0, 1]`` for a randomized
            classifier (the rates are then its expected rates), shape ``(n,)``.
        a: group attribute ``(n,)``, any values (each distinct value is a group).

    Raises:
        ValueError: on shapes or values out of range, or a group with no positive or no
            negative example (its TPR or FPR would be undefined).
    """
    y = _labels("y", y)
    n = y.shape[0]
    pred = _probs("pred", pred, n)
    a, values = _groups(a, n)
    out: dict[str, list[float]] = {k: [] for k in ("n", "base_rate", "selection_rate", "tpr",
                                                   "fpr", "ppv", "accuracy")}
    for v in values:
        m = a == v
        yy, pp = y[m], pred[m]
        pos, neg = yy == 1, yy == 0
        if not pos.any() or not neg.any():
            raise ValueError(f"group {v!r} has no positive or no negative example: its TPR/FPR "
                             "are undefined.")
        sel = pp.sum()
        out["n"].append(m.sum())
        out["base_rate"].append(pos.mean())
        out["selection_rate"].append(pp.mean())
        out["tpr"].append(pp[pos].mean())
        out["fpr"].append(pp[neg].mean())
        out["ppv"].append(pp[pos].sum() / sel if sel > 0 else np.nan)
        out["accuracy"].append((pp * yy + (1 - pp) * (1 - yy)).mean())
    arr = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    return GroupRates(groups=values, n=arr["n"].astype(np.int64), base_rate=arr["base_rate"],
                      selection_rate=arr["selection_rate"], tpr=arr["tpr"], fpr=arr["fpr"],
                      fnr=1 - arr["tpr"], ppv=arr["ppv"], accuracy=arr["accuracy"])


def demographic_parity_difference(pred: np.ndarray, a: np.ndarray) -> float:
    """Largest difference between groups of the selection rate ``P(yhat = 1 | a)``.

    ``pred``: hard predictions or probabilities ``P(yhat = 1)``, shape ``(n,)``.
    """
    pred = np.asarray(pred, dtype=np.float64)
    pred = _probs("pred", pred, pred.shape[0] if pred.ndim == 1 else -1)
    a, values = _groups(a, pred.shape[0])
    rates = np.array([pred[a == v].mean() for v in values])
    return float(rates.max() - rates.min())


def equalized_odds_difference(y: np.ndarray, pred: np.ndarray, a: np.ndarray) -> float:
    """The larger of the between-group differences of the TPR and of the FPR (Fairlearn's
    definition): zero exactly when the classifier satisfies equalized odds."""
    r = group_rates(y, pred, a)
    return float(max(r.tpr.max() - r.tpr.min(), r.fpr.max() - r.fpr.min()))


def chouldechova_fpr(base_rate: np.ndarray | float, ppv: np.ndarray | float,
                     fnr: np.ndarray | float) -> np.ndarray:
    """The FPR that Chouldechova's identity assigns to a base rate, PPV and FNR:
    ``p / (1 - p) * (1 - PPV) / PPV * (1 - FNR)``."""
    p = np.asarray(base_rate, dtype=np.float64)
    ppv = np.asarray(ppv, dtype=np.float64)
    fnr = np.asarray(fnr, dtype=np.float64)
    if ((p <= 0) | (p >= 1)).any():
        raise ValueError("base_rate must be in (0, 1).")
    if ((ppv <= 0) | (ppv > 1)).any():
        raise ValueError("ppv must be in (0, 1].")
    if ((fnr < 0) | (fnr > 1)).any():
        raise ValueError("fnr must be in [0, 1].")
    return p / (1 - p) * (1 - ppv) / ppv * (1 - fnr)


def generalized_rates(y: np.ndarray, score: np.ndarray,
                      a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kleinberg et al.'s balance quantities in each group of ``a`` (sorted).

    Returns ``(base_rate, mean_score_neg, mean_score_pos)``, shapes ``(groups,)``: the base rate
    ``p``, the mean score of the negatives (a generalized FPR) and of the positives (one minus a
    generalized FNR). For any score, ``(1 - p) mean_score_neg + p mean_score_pos`` is the group's
    mean score; calibration within the group makes it ``p``.
    """
    y = _labels("y", y)
    score = _probs("score", score, y.shape[0])
    a, values = _groups(a, y.shape[0])
    p, neg, pos = [], [], []
    for v in values:
        m = a == v
        yy, ss = y[m], score[m]
        if yy.min() == yy.max():
            raise ValueError(f"group {v!r} has no positive or no negative example.")
        p.append(yy.mean())
        neg.append(ss[yy == 0].mean())
        pos.append(ss[yy == 1].mean())
    return np.array(p), np.array(neg), np.array(pos)


def roc_points(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (FPR, TPR) of every classifier ``score >= threshold``.

    Returns ``(thresholds, fpr, tpr)``, each of shape ``(k + 1,)`` for ``k`` distinct scores:
    thresholds in decreasing order, from ``+inf`` (nothing selected, the point (0, 0)) through
    the distinct scores, the last one replaced by ``-inf`` (everything selected, (1, 1)).
    """
    y = _labels("y", y)
    score = np.asarray(score, dtype=np.float64)
    if score.shape != y.shape or not np.isfinite(score).all():
        raise ValueError(f"score must hold finite numbers, shape {y.shape}, got {score.shape}.")
    n_pos, n_neg = y.sum(), (1 - y).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("y must hold both classes to define an ROC curve.")
    uniq, inverse = np.unique(score, return_inverse=True)
    pos_at = np.bincount(inverse, weights=y, minlength=uniq.size)[::-1]
    neg_at = np.bincount(inverse, weights=1 - y, minlength=uniq.size)[::-1]
    tpr = np.concatenate([[0.0], np.cumsum(pos_at) / n_pos])
    fpr = np.concatenate([[0.0], np.cumsum(neg_at) / n_neg])
    thresholds = np.concatenate([[np.inf], uniq[::-1]])
    thresholds[-1] = -np.inf
    tpr[-1], fpr[-1] = 1.0, 1.0
    return thresholds, fpr, tpr


def convex_hull(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Indices of the vertices of the convex hull of the points ``(fpr_i, tpr_i)``.

    Andrew's monotone chain: the upper chain from the leftmost to the rightmost point, then the
    lower chain back; collinear points are dropped. Returns ``int64`` indices.
    """
    fpr = np.asarray(fpr, dtype=np.float64)
    tpr = np.asarray(tpr, dtype=np.float64)
    if fpr.shape != tpr.shape or fpr.ndim != 1 or fpr.size == 0:
        raise ValueError("fpr and tpr must be non-empty one-dimensional arrays of one shape.")
    order = np.lexsort((tpr, fpr))

    def chain(indices: np.ndarray, upper: bool) -> list[int]:
        out: list[int] = []
        for i in indices:
            while len(out) >= 2:
                o, b = out[-2], out[-1]
                cross = ((fpr[b] - fpr[o]) * (tpr[i] - tpr[o])
                         - (tpr[b] - tpr[o]) * (fpr[i] - fpr[o]))
                if (cross >= 0) if upper else (cross <= 0):
                    out.pop()
                else:
                    break
            out.append(int(i))
        return out

    upper = chain(order, upper=True)
    lower = chain(order, upper=False)
    hull = upper + lower[::-1][1:-1]
    return np.asarray(list(dict.fromkeys(hull)), dtype=np.int64)


@dataclass(frozen=True)
class EqualizedOddsPostprocessor:
    """A derived classifier: in group ``groups[g]`` it applies threshold ``thresholds[g][k]``
    with probability ``weights[g][k]`` (``yhat = 1`` iff ``score >= threshold``).

    Attributes:
        groups: the group values, sorted.
        thresholds: one array of thresholds per group.
        weights: the matching probabilities (each sums to 1).
        fpr: the common false-positive rate on the data it was fitted on.
        tpr: the common true-positive rate on the data it was fitted on.
        error: its expected error rate on that data.
    """

    groups: np.ndarray
    thresholds: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    fpr: float
    tpr: float
    error: float

    def proba(self, score: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``P(yhat = 1 | score, a) = sum_k weights_k 1[score >= thresholds_k]``, shape ``(n,)``.

        Raises:
            ValueError: for a group value that was not seen when fitting.
        """
        score = np.asarray(score, dtype=np.float64)
        if score.ndim != 1:
            raise ValueError(f"score must be one-dimensional, got shape {score.shape}.")
        a = np.asarray(a)
        if a.shape != score.shape:
            raise ValueError(f"a must have shape {score.shape}, got {a.shape}.")
        unknown = np.setdiff1d(np.unique(a), self.groups)
        if unknown.size:
            raise ValueError(f"a holds groups not seen when fitting: {unknown.tolist()}.")
        out = np.zeros(score.shape)
        for g, v in enumerate(self.groups):
            m = a == v
            out[m] = (self.weights[g][None, :]
                      * (score[m][:, None] >= self.thresholds[g][None, :])).sum(axis=1)
        return np.clip(out, 0.0, 1.0)

    def predict(self, score: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Randomized hard predictions (``int64`` in {0, 1}) drawn with :meth:`proba`."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
        p = self.proba(score, a)
        return (rng.random(p.shape) < p).astype(np.int64)


def fit_equalized_odds(y: np.ndarray, score: np.ndarray,
                       a: np.ndarray) -> EqualizedOddsPostprocessor:
    """Hardt, Price and Srebro's (NeurIPS 2016) equalized-odds post-processing of a score, by LP.

    In each group the achievable (FPR, TPR) of classifiers that randomize between thresholds of
    the score form the convex hull of the group's ROC points (:func:`roc_points`,
    :func:`convex_hull`). The linear program chooses, per group, a probability vector over the
    hull's vertices minimizing the expected number of errors
    ``sum_a [N_a FPR_a + P_a (1 - TPR_a)]`` subject to ``FPR_a = FPR_0`` and ``TPR_a = TPR_0``
    for all groups; it is solved by HiGHS (:func:`scipy.optimize.linprog`).

    Args:
        y: labels ``(n,)`` in {0, 1}.
        score: real scores ``(n,)`` (higher means more likely positive).
        a: group attribute ``(n,)``; every group needs both classes.

    Returns:
        the fitted :class:`EqualizedOddsPostprocessor`.
    """
    y = _labels("y", y)
    n = y.shape[0]
    score = np.asarray(score, dtype=np.float64)
    if score.shape != (n,) or not np.isfinite(score).all():
        raise ValueError(f"score must hold finite numbers, shape ({n},), got {score.shape}.")
    a, values = _groups(a, n)
    blocks = []
    for v in values:
        m = a == v
        if y[m].min() == y[m].max():
            raise ValueError(f"group {v!r} has no positive or no negative example.")
        thr, fpr, tpr = roc_points(y[m], score[m])
        h = convex_hull(fpr, tpr)
        blocks.append((thr[h], fpr[h], tpr[h], (1 - y[m]).sum(), y[m].sum()))
    sizes = [b[0].size for b in blocks]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    nvar = int(offsets[-1])
    cost = np.zeros(nvar)
    a_eq, b_eq = [], []
    for g, (_, fpr, tpr, n_neg, n_pos) in enumerate(blocks):
        sl = slice(offsets[g], offsets[g + 1])
        cost[sl] = n_neg * fpr - n_pos * tpr          # errors up to the constant sum_a P_a
        row = np.zeros(nvar)
        row[sl] = 1.0
        a_eq.append(row)
        b_eq.append(1.0)
        if g > 0:
            for k in (1, 2):                          # equal FPR, equal TPR with group 0
                row = np.zeros(nvar)
                row[sl] = blocks[g][k]
                row[offsets[0]:offsets[1]] = -blocks[0][k]
                a_eq.append(row)
                b_eq.append(0.0)
    res = linprog(cost / n, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None),
                  method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible (the diagonal)
        raise RuntimeError(f"the equalized-odds LP failed: {res.message}")
    lam = np.clip(res.x, 0.0, None)
    thresholds, weights = [], []
    for g, (thr, *_rest) in enumerate(blocks):
        w = lam[offsets[g]:offsets[g + 1]]
        w = w / w.sum()
        keep = w > 1e-12
        thresholds.append(thr[keep])
        weights.append(w[keep] / w[keep].sum())
    fpr0 = float(lam[offsets[0]:offsets[1]] @ blocks[0][1])
    tpr0 = float(lam[offsets[0]:offsets[1]] @ blocks[0][2])
    error = float(res.fun + y.sum() / n)
    return EqualizedOddsPostprocessor(groups=values, thresholds=tuple(thresholds),
                                      weights=tuple(weights), fpr=fpr0, tpr=tpr0, error=error)
