"""Linear models whose training dynamics can be solved: the laboratory of implicit bias.

Everything here is NumPy in float64, full batch, deterministic. It holds

* gradient descent on least squares and its closed forms (minimum-norm solution, ridge path,
  gradient flow from zero);
* gradient descent on the logistic loss for separable data and the hard-margin SVM it approaches;
* gradient descent on a symmetric factorization ``W = U U^T`` for matrix completion, and the
  minimum-nuclear-norm completion it is compared with (ADMM, with a certified lower bound);
* diagonal linear networks ``w = u*u - v*v``, the limit of their gradient flow, and basis pursuit;
* deep linear networks ``W_N ... W_1`` trained on a target map, the analytic learning curve of a
  mode (Saxe et al.), the balancedness matrices ``W_{j+1}^T W_{j+1} - W_j W_j^T``, balanced
  factorizations and the end-to-end (preconditioned) dynamics of Arora, Cohen and Hazan;
* a two-layer ReLU network with per-unit rescaling symmetry, for conservation laws.

Conventions: data matrices ``X`` have shape ``(n, d)`` (one example per row); the least-squares
loss is ``(1/2n) ||X w - y||^2``; the logistic loss is the mean of ``log(1 + exp(-y_i w.x_i))``
with labels in ``{-1, +1}``; the deep linear loss is ``(1/2) ||target - W_N ... W_1||_F^2``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit

from dlscience.checks import positive_int as _positive_int

__all__ = [
    "NuclearCompletion",
    "balanced_factors",
    "balancedness",
    "basis_pursuit",
    "completion_gd",
    "deep_linear_flow",
    "deep_linear_gd",
    "deep_linear_grads",
    "diagonal_net_gd",
    "diagonal_net_limit",
    "end_to_end_velocity",
    "gd_least_squares",
    "gradient_flow_least_squares",
    "logistic_gd",
    "max_margin",
    "min_norm_solution",
    "min_nuclear_norm_completion",
    "nuclear_norm",
    "relu_net_gd",
    "ridge_path",
    "saxe_mode",
]


def _positive_float(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}.") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return v


def _design(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n, d), got shape {X.shape}.")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}.")
    return X, y


def _record_steps(steps: int, record: Sequence[int] | np.ndarray | None) -> np.ndarray:
    if record is None:
        return np.array([steps])
    rec = np.unique(np.asarray(record, dtype=np.int64))
    if rec.size == 0 or rec[0] < 0 or rec[-1] > steps:
        raise ValueError(f"record must hold step counts in [0, steps={steps}], got {record!r}.")
    return rec


# ---------------------------------------------------------------------------------------------
# Least squares
# ---------------------------------------------------------------------------------------------


def _recorded_path(w: np.ndarray, update: Callable[[np.ndarray], np.ndarray],
                   record: np.ndarray) -> np.ndarray:
    """Iterate ``w <- update(w)`` up to the last step of ``record`` (sorted step counts, from
    ``_record_steps``) and return the iterates at those steps, shape ``(len(record), d)``."""
    out = np.empty((record.size, w.size))
    j = 0
    for k in range(int(record[-1]) + 1):
        while j < record.size and record[j] == k:
            out[j] = w
            j += 1
        if k < record[-1]:
            w = update(w)
    return out


def gd_least_squares(X: np.ndarray, y: np.ndarray, eta: float, steps: int,
                     w0: np.ndarray | None = None,
                     record: Sequence[int] | np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent on ``(1/2n) ||X w - y||^2``.

    Args:
        X: design, shape ``(n, d)``. y: targets, shape ``(n,)``.
        eta: step size. steps: number of steps.
        w0: initial weights, shape ``(d,)`` (default zero).
        record: step counts at which to keep the iterate (default: only the last).

    Returns:
        ``(record, W)``: the recorded step counts, shape ``(k,)``, and iterates, shape ``(k, d)``.
    """
    X, y = _design(X, y)
    eta, steps = _positive_float("eta", eta), _positive_int("steps", steps)
    rec = _record_steps(steps, record)
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    if w.shape != (d,):
        raise ValueError(f"w0 must have shape ({d},), got {w.shape}.")
    return rec, _recorded_path(w, lambda w: w - eta * (X.T @ (X @ w - y)) / n, rec)


def min_norm_solution(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The minimum-Euclidean-norm least-squares solution ``pinv(X) y``, shape ``(d,)``."""
    X, y = _design(X, y)
    return np.linalg.pinv(X) @ y


def ridge_path(X: np.ndarray, y: np.ndarray, lambdas: Sequence[float] | np.ndarray
               ) -> np.ndarray:
    """Ridge solutions of ``(1/2n) ||X w - y||^2 + (lam/2) ||w||^2`` for each ``lam``.

    Returns:
        shape ``(len(lambdas), d)``: ``(X^T X / n + lam I)^{-1} X^T y / n`` computed by the SVD.
    """
    X, y = _design(X, y)
    lam = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
    if np.any(lam <= 0):
        raise ValueError(f"lambdas must be positive, got {lambdas!r}.")
    n = X.shape[0]
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    coef = (s / n) / (s[None, :] ** 2 / n + lam[:, None])       # (k, r)
    return (coef * (u.T @ y)[None, :]) @ vt


def gradient_flow_least_squares(X: np.ndarray, y: np.ndarray,
                                times: Sequence[float] | np.ndarray) -> np.ndarray:
    """Gradient flow on ``(1/2n) ||X w - y||^2`` from ``w = 0``, in closed form.

    In the SVD ``X = U diag(s) V^T`` the flow is ``w(t) = V diag((1 - exp(-t s^2/n)) / s) U^T y``.

    Returns:
        shape ``(len(times), d)``.
    """
    X, y = _design(X, y)
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if np.any(t < 0):
        raise ValueError(f"times must be non-negative, got {times!r}.")
    n = X.shape[0]
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    keep = s > s.max() * 1e-12
    u, s, vt = u[:, keep], s[keep], vt[keep]
    coef = -np.expm1(-t[:, None] * s[None, :] ** 2 / n) / s[None, :]
    return (coef * (u.T @ y)[None, :]) @ vt


# ---------------------------------------------------------------------------------------------
# Logistic regression on separable data
# ---------------------------------------------------------------------------------------------

def logistic_gd(X: np.ndarray, y: np.ndarray, eta: float, steps: int,
                record: Sequence[int] | np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent from zero on the mean logistic loss ``mean(log(1 + exp(-y_i w.x_i)))``.

    No bias term (append a constant column to ``X`` for one). Labels ``y`` must be in
    ``{-1, +1}``.

    Returns:
        ``(record, W)``: recorded step counts ``(k,)`` and iterates ``(k, d)``.
    """
    X, y = _design(X, y)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("y must hold labels in {-1, +1}.")
    eta, steps = _positive_float("eta", eta), _positive_int("steps", steps)
    rec = _record_steps(steps, record)
    n, d = X.shape
    Z = X * y[:, None]                      # rows y_i x_i
    w = np.zeros(d)
    # the derivative of log(1 + exp(-m)) is -sigmoid(-m), m = margins
    return rec, _recorded_path(w, lambda w: w + (eta / n) * (Z.T @ expit(-(Z @ w))), rec)


def max_margin(X: np.ndarray, y: np.ndarray, C: float = 1e10) -> np.ndarray:
    """The hard-margin SVM through the origin: ``argmin ||w||`` s.t. ``y_i w.x_i >= 1``.

    Solved with scikit-learn's ``SVC(kernel="linear", C=C)``. ``SVC`` always fits an intercept;
    adding the reflected points ``(-x_i, -y_i)`` makes the problem symmetric, so its intercept is
    zero and its ``w`` is the homogeneous max-margin vector. The data must be separable.

    Returns:
        shape ``(d,)``, scaled so that the smallest margin ``min y_i w.x_i`` is 1.
    """
    from sklearn.svm import SVC

    X, y = _design(X, y)
    C = _positive_float("C", C)
    Xs, ys = np.vstack([X, -X]), np.concatenate([y, -y])
    svc = SVC(kernel="linear", C=C, tol=1e-10).fit(Xs, ys)
    w = svc.coef_.ravel().astype(np.float64)
    margin = np.min(y * (X @ w))
    if margin <= 0:
        raise ValueError("X, y is not linearly separable through the origin.")
    return w / margin


# ---------------------------------------------------------------------------------------------
# Matrix completion with a symmetric factorization
# ---------------------------------------------------------------------------------------------

def nuclear_norm(W: np.ndarray) -> float:
    """Sum of the singular values of a 2-D array."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D array, got shape {W.shape}.")
    return float(np.linalg.svd(W, compute_uv=False).sum())


def completion_gd(M: np.ndarray, mask: np.ndarray, U0: np.ndarray,
                  eta: float | Sequence[float] | np.ndarray, steps: int) -> np.ndarray:
    """Gradient descent on ``(1/2) sum_{mask} ((U U^T)_{ij} - M_{ij})^2`` over the factor ``U``.

    Several runs can go at once: give ``U0`` a leading batch axis and ``eta`` one value per run.

    Args:
        M: symmetric target, shape ``(d, d)`` (only the masked entries are used).
        mask: symmetric boolean array ``(d, d)``, the observed entries.
        U0: initial factor, shape ``(d, k)`` or ``(K, d, k)`` for ``K`` runs.
        eta: step size, a scalar or shape ``(K,)``. steps: number of steps.

    Returns:
        the final factor(s) ``U``, same shape as ``U0``; the solution is ``U @ U.T``.
    """
    M = np.asarray(M, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    U = np.array(U0, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.allclose(M, M.T):
        raise ValueError(f"M must be a symmetric square array, got shape {M.shape}.")
    if mask.shape != M.shape or not np.array_equal(mask, mask.T):
        raise ValueError("mask must be a symmetric boolean array with the shape of M.")
    single = U.ndim == 2
    if single:
        U = U[None]
    if U.ndim != 3 or U.shape[1] != M.shape[0]:
        raise ValueError(f"U0 must have shape ({M.shape[0]}, k) or (K, {M.shape[0]}, k), "
                         f"got {np.shape(U0)}.")
    lr = np.broadcast_to(np.asarray(eta, dtype=np.float64), (U.shape[0],))
    if np.any(lr <= 0):
        raise ValueError(f"eta must be positive, got {eta!r}.")
    steps = _positive_int("steps", steps)
    P = mask.astype(np.float64)
    lr = lr[:, None, None]
    for _ in range(steps):
        R = P * (U @ U.transpose(0, 2, 1) - M)
        U = U - lr * 2.0 * (R @ U)
    return U[0] if single else U


@dataclass(frozen=True)
class NuclearCompletion:
    """The result of ``min_nuclear_norm_completion``.

    Attributes:
        W: the completion found, shape of ``M`` (positive semi-definite when ``psd``).
        value: its nuclear norm (its trace when ``psd``).
        lower_bound: a certified lower bound on the minimum, from weak duality: a matrix ``Y``
            supported on the observed entries with ``||Y||_2 <= 1`` (with ``lambda_max(Y) <= 1``
            when ``psd``) gives ``<Y, M> <= ||W'||_*`` for every feasible ``W'``.
        residual: the largest violation ``max |W - M|`` on the observed entries.
        iterations: ADMM iterations run.
    """

    W: np.ndarray
    value: float
    lower_bound: float
    residual: float
    iterations: int


def min_nuclear_norm_completion(M: np.ndarray, mask: np.ndarray, *, psd: bool = False,
                                rho: float = 1.0, max_iter: int = 20_000, tol: float = 1e-10
                                ) -> NuclearCompletion:
    """The minimum-nuclear-norm completion ``argmin ||W||_*`` s.t. ``W_ij = M_ij`` on ``mask``.

    With ``psd=True`` the minimum is over positive semi-definite ``W`` (then ``||W||_* =
    tr W``), the problem of Gunasekar et al.'s conjecture. Solved by ADMM on the splitting
    ``W = Z``, with ``W`` carrying the norm (a proximal step: singular value thresholding, or
    for ``psd`` an eigenvalue shift-and-clip) and ``Z`` the observed entries (a projection).
    The scaled dual variable is supported on the observed entries and, rescaled to be dual
    feasible, certifies a lower bound on the minimum, so the result says how close to optimal
    it is (``value - lower_bound``) whether or not the iteration has converged.

    Args:
        M: target, shape ``(d1, d2)`` (square and symmetric when ``psd``); only the observed
            entries are used.
        mask: boolean array of the shape of ``M``, the observed entries (symmetric when
            ``psd``).
        psd: restrict to symmetric positive semi-definite completions.
        rho: ADMM penalty parameter, positive.
        max_iter: most iterations.
        tol: stop when the primal residual ``max |W - Z|`` and the change of ``Z`` (times
            ``rho``) fall below ``tol`` times ``max(1, max |M_obs|)``.

    Returns:
        a ``NuclearCompletion``.
    """
    M = np.asarray(M, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if M.ndim != 2:
        raise ValueError(f"M must be a 2-D array, got shape {M.shape}.")
    if mask.shape != M.shape:
        raise ValueError(f"mask must have the shape of M {M.shape}, got {mask.shape}.")
    if psd and (M.shape[0] != M.shape[1] or not np.allclose(M[mask], M.T[mask])
                or not np.array_equal(mask, mask.T)):
        raise ValueError("with psd=True, M must be square and symmetric on a symmetric mask.")
    rho = _positive_float("rho", rho)
    max_iter, tol = _positive_int("max_iter", max_iter), _positive_float("tol", tol)
    target = np.where(mask, M, 0.0)
    scale = max(1.0, float(np.abs(target).max()))

    def prox(V: np.ndarray) -> np.ndarray:
        if psd:
            lam, Q = np.linalg.eigh((V + V.T) / 2)
            return (Q * np.maximum(lam - 1.0 / rho, 0.0)) @ Q.T
        u, s, vt = np.linalg.svd(V, full_matrices=False)
        return (u * np.maximum(s - 1.0 / rho, 0.0)) @ vt

    Z, U = target.copy(), np.zeros_like(target)
    W = Z
    k = 0
    for k in range(1, max_iter + 1):
        W = prox(Z - U)
        Z_new = np.where(mask, target, W + U)
        U = U + W - Z_new
        change, Z = rho * np.abs(Z_new - Z).max(), Z_new
        if k % 25 == 0 and np.abs(W - Z).max() < tol * scale and change < tol * scale:
            break
    Y = -rho * U                       # zero off the mask by construction
    if psd:
        Y = (Y + Y.T) / 2
        top = float(np.linalg.eigvalsh(Y)[-1])
        value = float(np.trace(W))
    else:
        top = float(np.linalg.norm(Y, 2))
        value = nuclear_norm(W)
    Y = Y / max(1.0, top) if top > 0 else Y
    return NuclearCompletion(W=W, value=value, lower_bound=float(np.sum(Y * target)),
                             residual=float(np.abs(W - M)[mask].max()) if mask.any() else 0.0,
                             iterations=k)


# ---------------------------------------------------------------------------------------------
# Diagonal linear networks
# ---------------------------------------------------------------------------------------------

def diagonal_net_gd(X: np.ndarray, y: np.ndarray, alphas: Sequence[float] | np.ndarray,
                    eta: Sequence[float] | np.ndarray, steps: int) -> np.ndarray:
    """Gradient descent on ``(1/2n) ||X (u*u - v*v) - y||^2`` from ``u = v = alpha * 1``.

    Runs one network per initialization scale, all at once (one matrix product per step).

    Args:
        X: design ``(n, d)``. y: targets ``(n,)``.
        alphas: initialization scales, shape ``(K,)``.
        eta: step size per scale, shape ``(K,)`` (a scalar is broadcast).
        steps: number of steps.

    Returns:
        the regression vectors ``w = u*u - v*v``, shape ``(K, d)``.
    """
    X, y = _design(X, y)
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if np.any(a <= 0):
        raise ValueError(f"alphas must be positive, got {alphas!r}.")
    lr = np.broadcast_to(np.asarray(eta, dtype=np.float64), a.shape)
    if np.any(lr <= 0):
        raise ValueError(f"eta must be positive, got {eta!r}.")
    steps = _positive_int("steps", steps)
    n, d = X.shape
    U = np.tile(a, (d, 1))                   # (d, K)
    V = U.copy()
    for _ in range(steps):
        g = X.T @ (X @ (U * U - V * V) - y[:, None]) / n      # (d, K), dL/dw
        U, V = U - lr * 2.0 * U * g, V + lr * 2.0 * V * g
    return (U * U - V * V).T


def diagonal_net_limit(X: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """The limit of gradient flow of the diagonal network started at ``u = v = alpha * 1``.

    Along the flow ``w(t) = 2 alpha^2 sinh(X^T beta(t))`` for some ``beta`` in ``R^n``
    (Woodworth et al. 2020); the limit is the interpolating point of this family, found by
    minimizing the convex function ``2 alpha^2 sum cosh(X^T beta) - y.beta`` with Newton's method.
    It is also the minimizer of the potential ``Q_alpha`` among interpolants.

    Returns:
        shape ``(d,)``, with ``X w = y`` to solver precision.
    """
    X, y = _design(X, y)
    alpha = _positive_float("alpha", alpha)
    c = 2.0 * alpha ** 2

    def fun(b: np.ndarray) -> float:
        z = X.T @ b
        return float(c * np.sum(np.cosh(z)) - y @ b)

    def jac(b: np.ndarray) -> np.ndarray:
        return X @ (c * np.sinh(X.T @ b)) - y

    def hess(b: np.ndarray) -> np.ndarray:
        return (X * (c * np.cosh(X.T @ b))) @ X.T

    beta = np.zeros(X.shape[0])
    res = optimize.minimize(fun, beta, jac=jac, hess=hess, method="trust-exact",
                            options={"gtol": 1e-12, "maxiter": 2000})
    w = c * np.sinh(X.T @ res.x)
    scale = max(1.0, float(np.abs(y).max()))
    if np.abs(X @ w - y).max() > 1e-6 * scale:
        raise RuntimeError(f"diagonal_net_limit did not converge for alpha={alpha}: "
                           f"residual {np.abs(X @ w - y).max():.2e}.")
    return w


def basis_pursuit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The minimum-l1-norm interpolant ``argmin ||w||_1`` s.t. ``X w = y``, by linear programming.

    Solved as ``w = p - q`` with ``p, q >= 0`` by ``scipy.optimize.linprog`` (HiGHS).

    Returns:
        shape ``(d,)``.
    """
    X, y = _design(X, y)
    d = X.shape[1]
    res = optimize.linprog(np.ones(2 * d), A_eq=np.hstack([X, -X]), b_eq=y,
                           bounds=[(0, None)] * (2 * d), method="highs")
    if not res.success:
        raise RuntimeError(f"basis_pursuit: linprog failed: {res.message}")
    return res.x[:d] - res.x[d:]


# ---------------------------------------------------------------------------------------------
# Deep linear networks
# ---------------------------------------------------------------------------------------------

def _check_chain(weights: Sequence[np.ndarray], target: np.ndarray
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    Ws = [np.array(W, dtype=np.float64) for W in weights]
    T = np.asarray(target, dtype=np.float64)
    if not Ws or any(W.ndim != 2 for W in Ws):
        raise ValueError("weights must be a non-empty list of 2-D arrays [W_1, ..., W_N].")
    for j in range(1, len(Ws)):
        if Ws[j].shape[1] != Ws[j - 1].shape[0]:
            raise ValueError(f"weights do not chain: W_{j} has shape {Ws[j - 1].shape} and "
                             f"W_{j + 1} has shape {Ws[j].shape}.")
    if T.shape != (Ws[-1].shape[0], Ws[0].shape[1]):
        raise ValueError(f"target must have shape {(Ws[-1].shape[0], Ws[0].shape[1])}, "
                         f"got {T.shape}.")
    return Ws, T


def _product(Ws: Sequence[np.ndarray]) -> np.ndarray:
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    return P


def deep_linear_grads(weights: Sequence[np.ndarray], target: np.ndarray) -> list[np.ndarray]:
    """Gradients of ``(1/2) ||target - W_N ... W_1||_F^2`` with respect to each ``W_j``.

    With whitened inputs (input covariance ``I``) and ``target`` the input-output correlation
    matrix, this is the squared loss of the network ``x -> W_N ... W_1 x`` up to a constant.

    Args:
        weights: ``[W_1, ..., W_N]``, ``W_j`` of shape ``(d_j, d_{j-1})``.
        target: shape ``(d_N, d_0)``.

    Returns:
        ``[dL/dW_1, ..., dL/dW_N]``, same shapes as the weights.
    """
    Ws, T = _check_chain(weights, target)
    E = _product(Ws) - T
    grads = []
    for j in range(len(Ws)):
        below = _product(Ws[:j]) if j > 0 else np.eye(Ws[0].shape[1])
        above = _product(Ws[j + 1:]) if j + 1 < len(Ws) else np.eye(Ws[-1].shape[0])
        grads.append(above.T @ E @ below.T)
    return grads


def deep_linear_gd(weights: Sequence[np.ndarray], target: np.ndarray, eta: float, steps: int,
                   record: Sequence[int] | np.ndarray | None = None
                   ) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Gradient descent on ``(1/2) ||target - W_N ... W_1||_F^2``.

    Returns:
        ``(record, snapshots)``: the recorded step counts ``(k,)`` and, for each, a copy of the
        weight list ``[W_1, ..., W_N]``.
    """
    Ws, T = _check_chain(weights, target)
    eta, steps = _positive_float("eta", eta), _positive_int("steps", steps)
    rec = _record_steps(steps, record)
    snaps: list[list[np.ndarray]] = []
    j = 0
    for k in range(steps + 1):
        while j < rec.size and rec[j] == k:
            snaps.append([W.copy() for W in Ws])
            j += 1
        if k == steps:
            break
        grads = deep_linear_grads(Ws, T)
        Ws = [W - eta * G for W, G in zip(Ws, grads, strict=True)]
    return rec, snaps


def deep_linear_flow(weights: Sequence[np.ndarray], target: np.ndarray, t_end: float,
                     rtol: float = 1e-11, atol: float = 1e-13) -> list[np.ndarray]:
    """Gradient flow on ``(1/2) ||target - W_N ... W_1||_F^2`` up to time ``t_end``.

    Integrated with ``scipy.integrate.solve_ivp`` (DOP853) at tolerances ``rtol``, ``atol``.

    Returns:
        the weight list ``[W_1, ..., W_N]`` at time ``t_end``.
    """
    from scipy.integrate import solve_ivp

    Ws, T = _check_chain(weights, target)
    t_end = _positive_float("t_end", t_end)
    shapes = [W.shape for W in Ws]
    cuts = np.cumsum([0] + [W.size for W in Ws])

    def unpack(theta: np.ndarray) -> list[np.ndarray]:
        return [theta[cuts[j]:cuts[j + 1]].reshape(shapes[j]) for j in range(len(shapes))]

    def rhs(_t: float, theta: np.ndarray) -> np.ndarray:
        return -np.concatenate([G.ravel() for G in deep_linear_grads(unpack(theta), T)])

    theta0 = np.concatenate([W.ravel() for W in Ws])
    sol = solve_ivp(rhs, (0.0, t_end), theta0, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"deep_linear_flow: integration failed: {sol.message}")
    return unpack(sol.y[:, -1])


def balancedness(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The matrices ``W_{j+1}^T W_{j+1} - W_j W_j^T``, ``j = 1 .. N-1``, each ``(d_j, d_j)``.

    Gradient flow on any loss of the product ``W_N ... W_1`` leaves them unchanged
    (Du, Hu and Lee 2018).
    """
    Ws = [np.asarray(W, dtype=np.float64) for W in weights]
    if len(Ws) < 2:
        raise ValueError("balancedness needs at least two weight matrices.")
    return [Ws[j + 1].T @ Ws[j + 1] - Ws[j] @ Ws[j].T for j in range(len(Ws) - 1)]


def saxe_mode(s: float | np.ndarray, u0: float | np.ndarray, t: float | np.ndarray
              ) -> np.ndarray:
    """Analytic strength of one mode of a two-layer linear network (Saxe et al. 2014).

    Under gradient flow on ``(1/2) ||target - W_2 W_1||_F^2`` (time constant 1) a decoupled mode
    of singular value ``s`` with initial strength ``u0`` follows ``du/dt = 2 u (s - u)``, whose
    solution is ``u(t) = s / (1 + (s/u0 - 1) exp(-2 s t))``. Arguments broadcast.
    """
    s, u0, t = (np.asarray(v, dtype=np.float64) for v in (s, u0, t))
    if np.any(s <= 0) or np.any(u0 <= 0):
        raise ValueError("s and u0 must be positive.")
    return s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * t))


# ---------------------------------------------------------------------------------------------
# A two-layer ReLU network and its rescaling symmetry
# ---------------------------------------------------------------------------------------------

def relu_net_gd(X: np.ndarray, Y: np.ndarray, W1: np.ndarray, W2: np.ndarray, eta: float,
                steps: int, weight_decay: float = 0.0,
                record: Sequence[int] | np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """GD on ``(1/2n) ||relu(X W1^T) W2^T - Y||_F^2 + (weight_decay/2)(||W1||^2 + ||W2||^2)``.

    Each hidden unit ``i`` has a rescaling symmetry (incoming row ``W1[i]`` times ``c``, outgoing
    column ``W2[:, i]`` divided by ``c``); its Noether quantity is
    ``||W1[i]||^2 - ||W2[:, i]||^2``, which this function records.

    Args:
        X: inputs ``(n, d)``. Y: targets ``(n, m)``. W1: ``(h, d)``. W2: ``(m, h)``.

    Returns:
        ``(record, Q, final_loss)``: recorded step counts ``(k,)``, the per-unit quantities at
        those steps ``(k, h)``, and the final data loss.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    W1, W2 = np.array(W1, dtype=np.float64), np.array(W2, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise ValueError(f"X (n, d) and Y (n, m) must be 2-D with equal n, got {X.shape}, "
                         f"{Y.shape}.")
    if W1.shape[1] != X.shape[1] or W2.shape != (Y.shape[1], W1.shape[0]):
        raise ValueError(f"W1 must be (h, {X.shape[1]}) and W2 ({Y.shape[1]}, h), got "
                         f"{W1.shape}, {W2.shape}.")
    eta, steps = _positive_float("eta", eta), _positive_int("steps", steps)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}.")
    rec = _record_steps(steps, record)
    n = X.shape[0]
    out = np.empty((rec.size, W1.shape[0]))
    j = 0
    loss = 0.0
    for k in range(steps + 1):
        H = np.maximum(X @ W1.T, 0.0)
        R = H @ W2.T - Y
        loss = float(0.5 * np.sum(R * R) / n)
        while j < rec.size and rec[j] == k:
            out[j] = np.sum(W1 * W1, axis=1) - np.sum(W2 * W2, axis=0)
            j += 1
        if k == steps:
            break
        G2 = R.T @ H / n + weight_decay * W2
        G1 = ((R @ W2) * (H > 0)).T @ X / n + weight_decay * W1
        W1, W2 = W1 - eta * G1, W2 - eta * G2
    return rec, out, loss


# ---------------------------------------------------------------------------------------------
# End-to-end dynamics of balanced deep linear networks (Arora, Cohen and Hazan 2018)
# ---------------------------------------------------------------------------------------------

def _psd_power(A: np.ndarray, p: float) -> np.ndarray:
    """``A^p`` for a symmetric positive semi-definite ``A`` (eigenvalues clipped at 0)."""
    lam, vec = np.linalg.eigh((A + A.T) / 2)
    return (vec * np.clip(lam, 0.0, None) ** p) @ vec.T


def balanced_factors(product: np.ndarray, depth: int, hidden: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """Factors ``[W_1, ..., W_N]`` of ``product`` with all balancedness matrices zero.

    With the thin SVD ``product = U diag(s) V^T`` (rank ``r``) and matrices ``R_1 .. R_{N-1}`` of
    shape ``(hidden, r)`` with random orthonormal columns, the factors are
    ``W_1 = R_1 S V^T``, ``W_j = R_j S R_{j-1}^T`` and ``W_N = U S R_{N-1}^T`` with
    ``S = diag(s)^(1/N)``, so that ``W_N ... W_1 = product`` and
    ``W_{j+1}^T W_{j+1} = W_j W_j^T = R_j S^2 R_j^T`` (the balanced initialization of Arora, Cohen
    and Hazan 2018).

    Args:
        product: the end-to-end matrix, shape ``(d_out, d_in)``.
        depth: number of factors ``N``, at least 1.
        hidden: width of every hidden layer, at least ``min(d_out, d_in)``.
        rng: the NumPy generator for the random orthonormal frames.

    Returns:
        ``[W_1, ..., W_N]`` with ``W_1`` of shape ``(hidden, d_in)`` and ``W_N`` of shape
        ``(d_out, hidden)`` (a single factor ``[product]`` when ``depth == 1``).
    """
    P = np.asarray(product, dtype=np.float64)
    if P.ndim != 2:
        raise ValueError(f"product must be a 2-D array, got shape {P.shape}.")
    depth, hidden = _positive_int("depth", depth), _positive_int("hidden", hidden)
    if depth == 1:
        return [P.copy()]
    r = min(P.shape)
    if hidden < r:
        raise ValueError(f"hidden must be at least min(d_out, d_in) = {r}, got {hidden}.")
    U, s, Vt = np.linalg.svd(P, full_matrices=False)
    S = np.diag(s ** (1.0 / depth))
    frames = [np.linalg.qr(rng.normal(size=(hidden, r)))[0] for _ in range(depth - 1)]
    Ws = [frames[0] @ S @ Vt]
    for j in range(1, depth - 1):
        Ws.append(frames[j] @ S @ frames[j - 1].T)
    Ws.append(U @ S @ frames[-1].T)
    return Ws


def end_to_end_velocity(product: np.ndarray, grad: np.ndarray, depth: int) -> np.ndarray:
    """The preconditioned gradient of Arora, Cohen and Hazan (2018) for a depth-``N`` network.

    ``sum_{j=1..N} (W W^T)^((j-1)/N) grad (W^T W)^((N-j)/N)`` with ``W = product``: under gradient
    flow from a balanced initialization the end-to-end matrix moves as ``dW/dt = -`` this, where
    ``grad`` is the gradient of the loss at ``W``. For ``N = 1`` it is ``grad`` itself.

    Args:
        product: the end-to-end matrix ``W``, shape ``(d_out, d_in)``.
        grad: the loss gradient at ``W``, same shape.
        depth: number of layers ``N``, at least 1.

    Returns:
        an array with the shape of ``product``.
    """
    W = np.asarray(product, dtype=np.float64)
    G = np.asarray(grad, dtype=np.float64)
    if W.ndim != 2 or G.shape != W.shape:
        raise ValueError(f"product must be 2-D and grad of the same shape, got {W.shape} and "
                         f"{G.shape}.")
    N = _positive_int("depth", depth)
    left, right = W @ W.T, W.T @ W
    return sum(_psd_power(left, (j - 1) / N) @ G @ _psd_power(right, (N - j) / N)
               for j in range(1, N + 1))
