"""Linear models past the interpolation threshold: min-norm least squares, ridge, random features.

The double-descent chapter fits linear regressions whose number of features ``p`` sweeps past
the number of samples ``n``. This module holds the estimators (``min_norm_lstsq``,
``ridge``), a random-feature map (``random_relu_features``), the risk of min-norm regression
with isotropic Gaussian features, exact at finite ``n`` (``subset_minnorm_risk_exact``) and in
the high-dimensional limit (``minnorm_risk_theory``, ``subset_minnorm_risk_theory``), the
simulation that measures it (``subset_regression_curve``), the limiting risk of optimally tuned
ridge (``subset_ridge_risk_theory``), and the width sweep of a random-features network
(``random_features_curve``).

Conventions: designs ``x`` have shape ``(n, p)`` (one sample per row), responses ``y`` shape
``(n,)``. Ridge is parametrized as ``(x.T x / n + lam I)^(-1) x.T y / n``, so that ``lam`` is
comparable across ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dlscience.checks import positive_int as _check_positive_int


def _as_design(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (n, p), got shape {x.shape}.")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a 1-D array with x.shape[0] = {x.shape[0]} entries, "
                         f"got shape {y.shape}.")
    return x, y


def min_norm_lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The minimum-norm least-squares solution ``pinv(x) @ y``.

    When ``p <= n`` and ``x`` has full column rank this is ordinary least squares; when
    ``p > n`` it is the interpolating solution of smallest Euclidean norm, the limit of ridge
    as ``lam -> 0`` and the point gradient descent from zero converges to. It is computed by
    ``np.linalg.lstsq`` (LAPACK ``gelsd``, an SVD), not from the normal equations: near the
    interpolation threshold ``p = n`` the design is badly conditioned, and forming ``x.T x``
    or ``x x.T`` would square its condition number. Singular values below
    ``eps * max(n, p)`` times the largest are treated as zero.

    Args:
        x: design, shape ``(n, p)``.
        y: responses, shape ``(n,)`` or ``(n, k)`` for ``k`` responses fitted at once.

    Returns:
        coefficients, shape ``(p,)`` or ``(p, k)``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (n, p), got shape {x.shape}.")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be an array of shape ({x.shape[0]},) or ({x.shape[0]}, k) to "
                         f"match x, got shape {y.shape}.")
    return np.linalg.lstsq(x, y, rcond=None)[0]


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


def subset_minnorm_risk_exact(p: np.ndarray | float, n: int, num_features: int, r2: float,
                              sigma2: float) -> np.ndarray:
    """Exact expected test error of min-norm regression on the first ``p`` of ``D`` features.

    Same model as ``subset_minnorm_risk_theory``, at finite ``n`` and ``p``: with
    ``tau2 = sigma2 + r2 (D - p) / D`` (noise plus omitted signal, in expectation) and
    ``s2 = r2 p / D`` (the signal the learner can see), the expected test error
    ``E (y - x_p @ beta_hat)^2`` over the training draw, the noise and ``beta`` is

    * ``tau2 (n - 1) / (n - p - 1)`` for ``p <= n - 2`` (the mean of an inverse Wishart matrix,
      ``E tr (X^T X)^(-1) = p / (n - p - 1)``);
    * ``tau2 (p - 1) / (p - n - 1) + s2 (1 - n / p)`` for ``p >= n + 2`` (bias from the
      projection onto a uniformly random ``n``-dimensional row space, variance from
      ``E tr (X X^T)^(-1) = n / (p - n - 1)``);
    * ``inf`` for ``|p - n| <= 1``, where the inverse Wishart matrix has no mean.

    Args:
        p: number of features used, scalar or array of integers in ``1..num_features``.
        n: number of training samples.
        num_features: total number of features ``D``.
        r2: squared norm of ``beta``, non-negative.
        sigma2: noise variance, non-negative.

    Returns:
        the expected test error, same shape as ``p``.
    """
    n = _check_positive_int("n", n)
    d = _check_positive_int("num_features", num_features)
    p = np.asarray(p, dtype=np.float64)
    if np.any(p < 1) or np.any(p > d) or np.any(p != np.round(p)):
        raise ValueError(f"p must hold integers in 1..num_features={d}.")
    if r2 < 0 or sigma2 < 0:
        raise ValueError(f"r2 and sigma2 must be non-negative, got r2={r2!r}, sigma2={sigma2!r}.")
    tau2 = sigma2 + r2 * (d - p) / d
    s2 = r2 * p / d
    with np.errstate(divide="ignore", invalid="ignore"):
        under = tau2 * (n - 1) / (n - p - 1)
        over = tau2 * (p - 1) / (p - n - 1) + s2 * (1.0 - n / p)
    return np.where(p <= n - 2, under, np.where(p >= n + 2, over, np.inf))


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
    n = _check_positive_int("n", n)
    num_features = _check_positive_int("num_features", num_features)
    p = np.asarray(p, dtype=np.float64)
    if np.any(p < 1) or np.any(p > num_features):
        raise ValueError(f"p must lie in 1..num_features={num_features}.")
    if not r2 > 0:
        raise ValueError(f"r2 must be positive (the signal's squared norm), got {r2!r}.")
    if not sigma2 >= 0:
        raise ValueError(f"sigma2 must be non-negative (a noise variance), got {sigma2!r}.")
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
            # A zero optimal penalty (no noise, nothing left out): ridge's limit as lam -> 0+
            # is the min-norm fit.
            lam = float(lams[j])
            b = ridge(x[:, :p], y, lam) if lam > 0 else min_norm_lstsq(x[:, :p], y)
            best[t, j] = rest + float(np.sum((b - beta[:p]) ** 2))
    return RegressionCurve(p=ps, minnorm=minnorm, ridge=best)


@dataclass(frozen=True)
class FeaturesCurve:
    """Errors measured by ``random_features_curve``, one entry per number of features.

    Attributes:
        p: the numbers of random features, shape ``(k,)``.
        train_mse: training mean squared error of the min-norm fit, shape ``(k,)``.
        test_mse: test mean squared error (summed over the outputs) of the min-norm fit.
        test_error: test classification error (argmax of the outputs) of the min-norm fit.
        ridge_test_mse: test mean squared error of ridge with the penalty that minimizes the
            validation error, per ``p``; ``None`` when no penalties were given.
        ridge_test_error: its test classification error, or ``None``.
        ridge_lam: the chosen penalties, or ``None``.
    """

    p: np.ndarray
    train_mse: np.ndarray
    test_mse: np.ndarray
    test_error: np.ndarray
    ridge_test_mse: np.ndarray | None = None
    ridge_test_error: np.ndarray | None = None
    ridge_lam: np.ndarray | None = None


def random_features_curve(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                          y_test: np.ndarray, p_values: Sequence[int], *, num_classes: int,
                          seed: int = 0, lams: Sequence[float] | None = None,
                          x_val: np.ndarray | None = None, y_val: np.ndarray | None = None
                          ) -> FeaturesCurve:
    """Model-wise sweep of a random-features model: a two-layer ReLU network whose first layer
    is random and fixed and whose last layer is fitted by min-norm least squares.

    One draw of ``max(p_values)`` random ReLU features (``random_relu_features`` with ``seed``)
    is made; the model with ``p`` features uses the first ``p`` of them, so the models are
    nested, as in the linear subset model. The last layer regresses the one-hot labels by
    ``min_norm_lstsq``, which interpolates the training set once ``p >= n`` (for features of
    full rank). Predictions are the argmax of the ``num_classes`` outputs.

    If ``lams`` is given, ridge (``(F.T F / n + lam I)^(-1) F.T Y / n``, for each penalty in
    ``lams``) is also fitted for every ``p`` from the same SVD, and the penalty with the
    smallest validation mean squared error on ``(x_val, y_val)`` is kept.

    Args:
        x_train: inputs ``(n, d)``; y_train: labels ``(n,)`` in ``0..num_classes-1``.
        x_test, y_test: test inputs and labels.
        p_values: numbers of features, positive integers.
        num_classes: number of classes (outputs of the last layer).
        seed: seeds the first layer.
        lams: ridge penalties to choose from (positive), or ``None`` for min-norm only.
        x_val, y_val: validation inputs and labels, required with ``lams``.

    Returns:
        a ``FeaturesCurve``.
    """
    num_classes = _check_positive_int("num_classes", num_classes)
    xs = {"x_train": x_train, "x_test": x_test}
    ys = {"y_train": y_train, "y_test": y_test}
    if lams is not None:
        if x_val is None or y_val is None:
            raise ValueError("lams needs a validation set: pass x_val and y_val.")
        xs["x_val"], ys["y_val"] = x_val, y_val
        lam_arr = np.asarray(lams, dtype=np.float64)
        if lam_arr.ndim != 1 or lam_arr.size == 0 or np.any(~(lam_arr > 0)):
            raise ValueError(f"lams must be a non-empty list of positive penalties, got {lams!r}.")
    xs = {k: np.asarray(v, dtype=np.float64) for k, v in xs.items()}
    ys = {k: np.asarray(v) for k, v in ys.items()}
    if xs["x_train"].ndim != 2:
        raise ValueError(f"x_train must be a 2-D array (n, d), got shape {xs['x_train'].shape}.")
    dim = xs["x_train"].shape[1]
    for k, v in xs.items():
        if v.ndim != 2 or v.shape[1] != dim:
            raise ValueError(f"{k} must be a 2-D array (m, {dim}), got shape {v.shape}.")
        lab = ys["y" + k[1:]]
        if lab.shape != (v.shape[0],) or not np.issubdtype(lab.dtype, np.integer) \
                or lab.min() < 0 or lab.max() >= num_classes:
            raise ValueError(f"y{k[1:]} must hold {v.shape[0]} integer labels in "
                             f"0..{num_classes - 1}.")
    ps = np.asarray(p_values)
    if ps.ndim != 1 or ps.size == 0 or not np.issubdtype(ps.dtype, np.integer) or np.any(ps < 1):
        raise ValueError(f"p_values must be a non-empty list of positive integers, got "
                         f"{p_values!r}.")
    feats = {k: random_relu_features(v, int(ps.max()), seed=seed) for k, v in xs.items()}
    onehot = np.eye(num_classes)
    y_tr, y_te = onehot[ys["y_train"]], onehot[ys["y_test"]]
    n = y_tr.shape[0]
    out: dict[str, list[float]] = {k: [] for k in ("train_mse", "test_mse", "test_error", "r_mse",
                                                  "r_err", "r_lam")}

    def scores(coef: np.ndarray, f: np.ndarray, y1: np.ndarray, lab: np.ndarray
               ) -> tuple[float, float]:
        pred = f @ coef
        return float(np.mean(np.sum((pred - y1) ** 2, axis=1))), float(np.mean(
            pred.argmax(axis=1) != lab))

    for p in ps:
        f_tr, f_te = feats["x_train"][:, :p], feats["x_test"][:, :p]
        coef = min_norm_lstsq(f_tr, y_tr)
        out["train_mse"].append(scores(coef, f_tr, y_tr, ys["y_train"])[0])
        mse, err = scores(coef, f_te, y_te, ys["y_test"])
        out["test_mse"].append(mse)
        out["test_error"].append(err)
        if lams is None:
            continue
        u, s, vt = np.linalg.svd(f_tr, full_matrices=False)
        uty = u.T @ y_tr
        f_va, y_va = feats["x_val"][:, :p], onehot[ys["y_val"]]
        coefs = [vt.T @ (((s / n) / (s ** 2 / n + lam))[:, None] * uty) for lam in lam_arr]
        best = int(np.argmin([scores(c, f_va, y_va, ys["y_val"])[0] for c in coefs]))
        mse, err = scores(coefs[best], f_te, y_te, ys["y_test"])
        out["r_mse"].append(mse)
        out["r_err"].append(err)
        out["r_lam"].append(float(lam_arr[best]))
    arr = {k: np.array(v) for k, v in out.items()}
    has_ridge = lams is not None
    return FeaturesCurve(p=ps.astype(int), train_mse=arr["train_mse"], test_mse=arr["test_mse"],
                         test_error=arr["test_error"],
                         ridge_test_mse=arr["r_mse"] if has_ridge else None,
                         ridge_test_error=arr["r_err"] if has_ridge else None,
                         ridge_lam=arr["r_lam"] if has_ridge else None)
