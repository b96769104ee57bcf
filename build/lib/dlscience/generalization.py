"""Linear models past the interpolation threshold: min-norm least squares, ridge, random features.

The double-descent chapter fits linear regressions whose number of features ``p`` sweeps past
the number of samples ``n``. This module holds the estimators (``min_norm_lstsq``,
``ridge``), a random-feature map (``random_relu_features``), the asymptotic risk of
min-norm regression with isotropic Gaussian features (``minnorm_risk_theory``,
``subset_minnorm_risk_theory``) and the simulation that measures it
(``subset_regression_curve``), and the risk of
optimally tuned ridge (``subset_ridge_risk_theory``).

Conventions: designs ``x`` have shape ``(n, p)`` (one sample per row), responses ``y`` shape
``(n,)``. Ridge is parametrized as ``(x.T x / n + lam I)^(-1) x.T y / n``, so that ``lam`` is
comparable across ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _as_design(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (n, p), got shape {x.shape}.")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a 1-D array with x.shape[0] = {x.shape[0]} entries, "
                         f"got shape {y.shape}.")
    return x, y


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def min_norm_lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The minimum-norm least-squares solution ``pinv(x) @ y``.

    When ``p <= n`` and ``x`` has full column rank this is ordinary least squares; when
    ``p > n`` it is the interpolating solution of smallest Euclidean norm, the limit of ridge
    as ``lam -> 0`` and the point gradient descent from zero converges to. It is computed from
    the normal equations, ``(x.T x)^(-1) x.T y`` or ``x.T (x x.T)^(-1) y``, which is exact when
    ``x`` has full rank (almost surely for Gaussian designs, even at ``p = n``) and several
    times faster than an SVD.

    Args:
        x: design, shape ``(n, p)``.
        y: responses, shape ``(n,)``.

    Returns:
        coefficients, shape ``(p,)``.
    """
    x, y = _as_design(x, y)
    n, p = x.shape
    if p <= n:
        return np.linalg.solve(x.T @ x, x.T @ y)
    return x.T @ np.linalg.solve(x @ x.T, y)


def ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge regression ``(x.T x / n + lam I)^(-1) x.T y / n``.

    Solved in the primal (a ``p x p`` system) when ``p <= n`` and in the dual (an ``n x n``
    system, ``x.T (x x.T / n + lam I)^(-1) y / n``) otherwise; both give the same coefficients.

    Args:
        x: design, shape ``(n, p)``.
        y: responses, shape ``(n,)``.
        lam: the penalty, positive.

    Returns:
        coefficients, shape ``(p,)``.
    """
    x, y = _as_design(x, y)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"lam must be a positive number, got {lam!r}.")
    n, p = x.shape
    if p <= n:
        return np.linalg.solve(x.T @ x / n + lam * np.eye(p), x.T @ y / n)
    return x.T @ np.linalg.solve(x @ x.T / n + lam * np.eye(n), y) / n


def random_relu_features(x: np.ndarray, p: int, seed: int = 0) -> np.ndarray:
    """Random ReLU features ``max(0, x W / sqrt(d))`` of Rahimi and Recht, W Gaussian.

    The same ``seed`` gives the same ``W``, so training and test inputs are mapped alike.

    Args:
        x: inputs, shape ``(n, d)``.
        p: number of features.
        seed: seeds ``W`` (shape ``(d, p)``, standard normal entries).

    Returns:
        features, shape ``(n, p)``, float64.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (n, d), got shape {x.shape}.")
    p = _check_positive_int("p", p)
    w = np.random.default_rng(seed).standard_normal((x.shape[1], p))
    return np.maximum(x @ w / np.sqrt(x.shape[1]), 0.0)


def minnorm_risk_theory(gamma: np.ndarray | float, r2: float, sigma2: float) -> np.ndarray:
    """Limiting excess risk of min-norm least squares with isotropic features (Hastie et al.).

    Model: ``x ~ N(0, I_p)``, ``y = x @ beta + noise``, ``|beta|^2 = r2``, noise variance
    ``sigma2``; ``n, p -> infinity`` with ``p / n -> gamma``. The excess risk
    ``E (x @ (beta_hat - beta))^2`` tends to ``sigma2 gamma / (1 - gamma)`` for ``gamma < 1``
    and to ``r2 (1 - 1/gamma) + sigma2 / (gamma - 1)`` for ``gamma > 1``; it is infinite at 1.

    Args:
        gamma: ratio ``p / n``, scalar or array, positive.
        r2: squared norm of the signal, non-negative.
        sigma2: noise variance, non-negative.

    Returns:
        the risk, same shape as ``gamma`` (``inf`` where ``gamma == 1``).
    """
    g = np.asarray(gamma, dtype=np.float64)
    if np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("gamma must hold positive finite ratios p / n.")
    if r2 < 0 or sigma2 < 0:
        raise ValueError(f"r2 and sigma2 must be non-negative, got r2={r2!r}, sigma2={sigma2!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        under = sigma2 * g / (1.0 - g)
        over = r2 * (1.0 - 1.0 / g) + sigma2 / (g - 1.0)
    return np.where(g < 1, under, np.where(g > 1, over, np.inf))


def subset_minnorm_risk_theory(p: np.ndarray | float, n: int, num_features: int, r2: float,
                               sigma2: float) -> np.ndarray:
    """Limiting test error of min-norm regression on the first ``p`` of ``num_features`` features.

    Model: ``x ~ N(0, I_D)`` with ``D = num_features``, ``y = x @ beta + noise``, ``beta``
    uniform on the sphere of radius ``sqrt(r2)``, noise variance ``sigma2``; the fit uses only
    the first ``p`` coordinates. The omitted coordinates act as independent Gaussian noise, so the
    isotropic result (``minnorm_risk_theory``) applies with signal ``r2 p / D`` and noise
    ``sigma2 + r2 (1 - p / D)``. The test error ``E (y - x_p @ beta_hat)^2`` is that noise plus
    the excess risk at ``gamma = p / n``.

    Args:
        p: number of features used, scalar or array, in ``1..num_features``.
        n: number of training samples.
        num_features: total number of features ``D``.
        r2: squared norm of the full signal ``beta``.
        sigma2: noise variance.

    Returns:
        the test error, same shape as ``p``.
    """
    n = _check_positive_int("n", n)
    d = _check_positive_int("num_features", num_features)
    p = np.asarray(p, dtype=np.float64)
    if np.any(p < 1) or np.any(p > d):
        raise ValueError(f"p must lie in 1..num_features={d}.")
    signal = r2 * p / d
    noise = sigma2 + r2 * (1.0 - p / d)
    gamma = p / n
    with np.errstate(divide="ignore", invalid="ignore"):
        under = noise * gamma / (1.0 - gamma)
        over = signal * (1.0 - 1.0 / gamma) + noise / (gamma - 1.0)
    excess = np.where(gamma < 1, under, np.where(gamma > 1, over, np.inf))
    return noise + excess


@dataclass(frozen=True)
class RegressionCurve:
    """Test errors measured by ``subset_regression_curve``.

    Attributes:
        p: the numbers of features used, shape ``(k,)``.
        minnorm: test error of min-norm least squares, shape ``(trials, k)``.
        ridge: test error of ridge at the optimal penalty, shape ``(trials, k)``.
    """

    p: np.ndarray
    minnorm: np.ndarray
    ridge: np.ndarray


def optimal_ridge_penalty(p: np.ndarray | float, n: int, num_features: int, r2: float,
                          sigma2: float) -> np.ndarray:
    """The Bayes-optimal ridge penalty for the model of ``subset_minnorm_risk_theory``.

    With effective signal ``r2 p / D`` and noise ``sigma2 + r2 (1 - p / D)`` it is
    ``noise * (p / n) / signal`` in the parametrization of ``ridge``.
    """
    p = np.asarray(p, dtype=np.float64)
    signal = r2 * p / num_features
    noise = sigma2 + r2 * (1.0 - p / num_features)
    return noise * (p / n) / signal


def marchenko_pastur_stieltjes(lam: np.ndarray | float, gamma: np.ndarray | float) -> np.ndarray:
    """Stieltjes transform ``m(-lam) = E 1 / (s + lam)`` of the Marchenko-Pastur law.

    The law is the limiting spectrum of ``x.T x / n`` for ``x`` of shape ``(n, p)`` with
    standard normal entries and ``p / n -> gamma`` (it has an atom of mass ``1 - 1/gamma`` at 0
    when ``gamma > 1``). Closed form:
    ``(-(1 - gamma + lam) + sqrt((1 - gamma + lam)^2 + 4 gamma lam)) / (2 gamma lam)``.

    Args:
        lam: positive, scalar or array.
        gamma: positive, scalar or array (broadcast against ``lam``).

    Returns:
        ``m(-lam)``, broadcast shape of the inputs.
    """
    lam = np.asarray(lam, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    if np.any(lam <= 0) or np.any(gamma <= 0):
        raise ValueError("lam and gamma must be positive.")
    b = 1.0 - gamma + lam
    return (-b + np.sqrt(b * b + 4.0 * gamma * lam)) / (2.0 * gamma * lam)


def subset_ridge_risk_theory(p: np.ndarray | float, n: int, num_features: int, r2: float,
                             sigma2: float) -> np.ndarray:
    """Limiting test error of optimally tuned ridge, model of ``subset_minnorm_risk_theory``.

    At the penalty of ``optimal_ridge_penalty``, ridge is the posterior mean for a Gaussian
    prior on the coefficients, and its excess risk is the posterior variance,
    ``noise * gamma * m(-lam)`` with ``m`` from ``marchenko_pastur_stieltjes``,
    ``gamma = p / n`` and ``noise = sigma2 + r2 (1 - p / D)``.

    Returns:
        the test error (noise plus excess risk), same shape as ``p``.
    """
    n = _check_positive_int("n", n)
    d = _check_positive_int("num_features", num_features)
    p = np.asarray(p, dtype=np.float64)
    if np.any(p < 1) or np.any(p > d):
        raise ValueError(f"p must lie in 1..num_features={d}.")
    noise = sigma2 + r2 * (1.0 - p / d)
    lam = optimal_ridge_penalty(p, n, d, r2, sigma2)
    return noise + noise * (p / n) * marchenko_pastur_stieltjes(lam, p / n)


def subset_regression_curve(n: int, num_features: int, p_values: Sequence[int], *, r2: float,
                            sigma2: float, trials: int, seed: int = 0) -> RegressionCurve:
    """Measure the test error of min-norm and optimal ridge regression as ``p`` sweeps.

    Each trial draws ``beta`` uniform on the sphere of radius ``sqrt(r2)`` in ``R^D``, a design
    ``X`` of shape ``(n, D)`` with standard normal entries and ``y = X beta + noise``, then fits
    on the first ``p`` columns for every ``p`` in ``p_values``. Because the features are
    isotropic, the test error of a fit ``b`` is computed exactly, without a test set:
    ``sigma2 + |beta_rest|^2 + |b - beta_p|^2``.

    Args:
        n: training samples.
        num_features: total number of features ``D``.
        p_values: numbers of features to fit with, each in ``1..D``.
        r2: squared norm of ``beta``.
        sigma2: noise variance.
        trials: independent repetitions.
        seed: seeds everything.

    Returns:
        a ``RegressionCurve``.
    """
    n = _check_positive_int("n", n)
    d = _check_positive_int("num_features", num_features)
    trials = _check_positive_int("trials", trials)
    ps = np.asarray(p_values, dtype=int)
    if ps.ndim != 1 or len(ps) == 0 or np.any(ps < 1) or np.any(ps > d):
        raise ValueError(f"p_values must be a non-empty list of integers in 1..{d}, "
                         f"got {p_values!r}.")
    if r2 < 0 or sigma2 < 0:
        raise ValueError(f"r2 and sigma2 must be non-negative, got r2={r2!r}, sigma2={sigma2!r}.")
    rng = np.random.default_rng(seed)
    lams = optimal_ridge_penalty(ps, n, d, r2, sigma2)
    minnorm = np.empty((trials, len(ps)))
    best = np.empty((trials, len(ps)))
    for t in range(trials):
        beta = rng.standard_normal(d)
        beta *= np.sqrt(r2) / np.linalg.norm(beta)
        x = rng.standard_normal((n, d))
        y = x @ beta + np.sqrt(sigma2) * rng.standard_normal(n)
        for j, p in enumerate(ps):
            rest = sigma2 + float(beta[p:] @ beta[p:])
            b = min_norm_lstsq(x[:, :p], y)
            minnorm[t, j] = rest + float(np.sum((b - beta[:p]) ** 2))
            b = ridge(x[:, :p], y, float(lams[j]))
            best[t, j] = rest + float(np.sum((b - beta[:p]) ** 2))
    return RegressionCurve(p=ps, minnorm=minnorm, ridge=best)
