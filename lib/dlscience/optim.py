"""Optimizers on analytic problems, and the measurements that test their theory.

The problems are ones whose answer is known in closed form, so that the error of an iterate can be
measured exactly:

* ``Quadratic``: ``f(x) = 0.5 (x - x*)^T A (x - x*)`` with a Hessian ``A`` of given spectrum
  (``quadratic``, ``spectrum``);
* ``LeastSquares``: the finite sum ``f(x) = (1 / 2n) sum_i (a_i^T x - y_i)^2``, with exact and
  minibatch stochastic gradients.

The optimizers share one small interface, so that later chapters can add methods (extragradient,
optimistic gradient descent) without changing the loop. An optimizer is a frozen dataclass with

* ``init(x0)``: the initial state, a tuple of arrays whose first entry is the iterate;
* ``step(state, grad, t)``: one update at step ``t``, given the gradient oracle ``grad``
  (a function ``x -> gradient``, called as often as the method needs).

``run`` drives any optimizer and records a metric of the iterate. Iterates may carry leading batch
dimensions, shape ``(..., d)``: every problem and optimizer here works row by row, so independent
runs (seeds, initial points) advance together in one vectorized loop.

A learning rate is a number, a schedule (a function ``t -> step size``: ``constant``,
``inverse_time``, ``step_decay``), or an array of step sizes that broadcasts against the
iterate, to run several step sizes side by side (for example shape ``(k, 1, 1)`` for iterates of
shape ``(k, runs, d)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dlscience.checks import positive_int as _positive_int

# --------------------------------------------------------------------------------------------
# Input checks


def _positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def _check_lr(lr: float | np.ndarray | Callable[[int], float]) -> None:
    if callable(lr):
        return
    if isinstance(lr, np.ndarray):
        if lr.size == 0 or not np.all(lr > 0):
            raise ValueError(f"lr must hold positive step sizes, got {lr!r}.")
        return
    _positive_float("lr", lr)


def _lr_at(lr: float | np.ndarray | Callable[[int], float], t: int) -> float | np.ndarray:
    if callable(lr):
        return float(lr(t))
    return lr if isinstance(lr, np.ndarray) else float(lr)


# --------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Quadratic:
    """The quadratic ``f(x) = 0.5 (x - x*)^T A (x - x*)``, minimum value 0 at ``x*``.

    Attributes:
        hessian: the symmetric positive definite matrix ``A``, shape ``(d, d)``.
        minimizer: ``x*``, shape ``(d,)``.
        eigenvalues: the spectrum of ``A``, ascending, shape ``(d,)``.
    """

    hessian: np.ndarray
    minimizer: np.ndarray
    eigenvalues: np.ndarray

    @property
    def dim(self) -> int:
        """The dimension ``d``."""
        return int(self.minimizer.shape[0])

    @property
    def L(self) -> float:  # noqa: N802 (the book's symbol)
        """The smoothness constant, the largest eigenvalue of ``A``."""
        return float(self.eigenvalues[-1])

    @property
    def mu(self) -> float:
        """The strong-convexity constant, the smallest eigenvalue of ``A``."""
        return float(self.eigenvalues[0])

    @property
    def kappa(self) -> float:
        """The condition number ``L / mu``."""
        return self.L / self.mu

    def value(self, x: np.ndarray) -> np.ndarray:
        """``f(x)`` for ``x`` of shape ``(..., d)``; returns shape ``(...)``."""
        e = np.asarray(x) - self.minimizer
        return 0.5 * np.einsum("...i,ij,...j->...", e, self.hessian, e)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``A (x - x*)`` for ``x`` of shape ``(..., d)``; returns the same shape."""
        return (np.asarray(x) - self.minimizer) @ self.hessian

    def distance(self, x: np.ndarray) -> np.ndarray:
        """``||x - x*||`` for ``x`` of shape ``(..., d)``; returns shape ``(...)``."""
        return np.linalg.norm(np.asarray(x) - self.minimizer, axis=-1)


def spectrum(kappa: float, dim: int, L: float = 1.0, spacing: str = "log") -> np.ndarray:  # noqa: N803
    """``dim`` eigenvalues from ``L / kappa`` to ``L`` (both included), ascending.

    Args:
        kappa: condition number, at least 1.
        dim: number of eigenvalues, at least 2 (1 is allowed when ``kappa == 1``).
        L: the largest eigenvalue.
        spacing: ``"log"`` (geometric) or ``"linear"``.

    Returns:
        an array of shape ``(dim,)``.
    """
    dim = _positive_int("dim", dim)
    L = _positive_float("L", L)  # noqa: N806
    if not isinstance(kappa, (int, float, np.number)) or kappa < 1:
        raise ValueError(f"kappa must be a number >= 1, got {kappa!r}.")
    if dim == 1 and kappa != 1:
        raise ValueError(f"dim must be at least 2 to hold both L and L / kappa, got {dim!r}.")
    if spacing == "log":
        return L * np.geomspace(1.0 / kappa, 1.0, dim)
    if spacing == "linear":
        return L * np.linspace(1.0 / kappa, 1.0, dim)
    raise ValueError(f"spacing must be 'log' or 'linear', got {spacing!r}.")


def quadratic(eigenvalues: Sequence[float] | np.ndarray, minimizer: np.ndarray | None = None,
              rotate: bool = True, seed: int = 0) -> Quadratic:
    """A quadratic whose Hessian has the given eigenvalues.

    Args:
        eigenvalues: positive eigenvalues, shape ``(d,)``.
        minimizer: ``x*``, shape ``(d,)``; zero by default (then the iterate is the error, and
            float64 follows it down to ``1e-300`` without cancellation).
        rotate: if true, ``A = Q diag(eigenvalues) Q^T`` with ``Q`` a random orthogonal matrix
            (Haar, from ``seed``); if false, ``A`` is diagonal.
        seed: seed of the rotation.

    Returns:
        a ``Quadratic``.
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=float))
    if lam.ndim != 1 or lam.size == 0 or not np.all(lam > 0):
        raise ValueError(f"eigenvalues must be a non-empty 1-D array of positive numbers, "
                         f"got {eigenvalues!r}.")
    d = lam.size
    if rotate:
        rng = np.random.default_rng(seed)
        q, r = np.linalg.qr(rng.normal(size=(d, d)))
        q = q * np.sign(np.diag(r))
        hessian = (q * lam) @ q.T
        hessian = 0.5 * (hessian + hessian.T)
    else:
        hessian = np.diag(lam)
    x_star = np.zeros(d) if minimizer is None else np.asarray(minimizer, dtype=float)
    if x_star.shape != (d,):
        raise ValueError(f"minimizer must have shape ({d},), got {x_star.shape}.")
    return Quadratic(hessian=hessian, minimizer=x_star, eigenvalues=lam)


@dataclass(frozen=True)
class LeastSquares:
    """The finite sum ``f(x) = (1 / 2n) sum_i (a_i^T x - y_i)^2``.

    Attributes:
        features: the rows ``a_i``, shape ``(n, d)``.
        targets: the ``y_i``, shape ``(n,)``.
    """

    features: np.ndarray
    targets: np.ndarray

    def __post_init__(self) -> None:
        a, y = np.asarray(self.features), np.asarray(self.targets)
        if a.ndim != 2 or y.shape != (a.shape[0],):
            raise ValueError(f"features must have shape (n, d) and targets (n,), got "
                             f"{a.shape} and {y.shape}.")

    @property
    def n(self) -> int:
        """Number of terms of the sum."""
        return int(self.features.shape[0])

    @property
    def dim(self) -> int:
        """Dimension ``d`` of ``x``."""
        return int(self.features.shape[1])

    @property
    def hessian(self) -> np.ndarray:
        """``A^T A / n``, shape ``(d, d)``."""
        return self.features.T @ self.features / self.n

    @property
    def minimizer(self) -> np.ndarray:
        """The least-squares solution (minimum norm if not unique), shape ``(d,)``."""
        return np.linalg.lstsq(self.features, self.targets, rcond=None)[0]

    def loss(self, x: np.ndarray) -> np.ndarray:
        """``f(x)`` for ``x`` of shape ``(..., d)``; returns shape ``(...)``."""
        r = np.asarray(x) @ self.features.T - self.targets
        return 0.5 * np.mean(r**2, axis=-1)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """The full gradient ``A^T (A x - y) / n`` for ``x`` of shape ``(..., d)``."""
        r = np.asarray(x) @ self.features.T - self.targets
        return r @ self.features / self.n

    def example_grads(self, x: np.ndarray) -> np.ndarray:
        """Per-example gradients ``a_i (a_i^T x - y_i)`` at one point ``x`` (shape ``(d,)``).

        Returns:
            shape ``(n, d)``; their mean is ``grad(x)``.
        """
        r = self.features @ np.asarray(x) - self.targets
        return r[:, None] * self.features

    def noise_covariance(self, x: np.ndarray) -> np.ndarray:
        """Covariance of a one-example gradient drawn uniformly at ``x`` (shape ``(d,)``).

        Returns:
            ``(1/n) sum_i (g_i - g)(g_i - g)^T``, shape ``(d, d)``.
        """
        g = self.example_grads(x)
        g = g - g.mean(axis=0)
        return g.T @ g / self.n

    def stochastic_oracle(self, batch_size: int,
                          rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
        """A minibatch gradient oracle: each call draws ``batch_size`` indices with replacement.

        For ``x`` of shape ``(..., d)`` each row draws its own minibatch, so independent runs
        stay independent. The estimate is unbiased, with covariance ``noise_covariance(x) / b``.

        Args:
            batch_size: ``b``, a positive integer.
            rng: the generator the indices are drawn from.

        Returns:
            a function ``x -> minibatch gradient`` of the same shape as ``x``.
        """
        b = _positive_int("batch_size", batch_size)

        def oracle(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x)
            idx = rng.integers(0, self.n, size=(*x.shape[:-1], b))
            rows = self.features[idx]                                  # (..., b, d)
            r = np.einsum("...bd,...d->...b", rows, x) - self.targets[idx]
            return np.einsum("...b,...bd->...d", r, rows) / b

        return oracle


def random_least_squares(n: int, dim: int, noise: float, kappa: float = 1.0,
                         seed: int = 0) -> LeastSquares:
    """A random finite-sum least-squares problem with Gaussian features and label noise.

    Row ``a_i`` has independent centred Gaussian coordinates with variances spaced geometrically
    from ``1 / kappa`` to 1 (so the Hessian's condition number is close to ``kappa`` for
    ``n >> dim``); ``y_i = a_i^T w + noise * z_i`` with ``w`` and ``z_i`` standard Gaussian.

    Args:
        n: number of terms.
        dim: dimension ``d``.
        noise: standard deviation of the label noise (0 gives an interpolating problem).
        kappa: spread of the feature variances, at least 1.
        seed: seed of the draw.

    Returns:
        a ``LeastSquares`` with ``features`` of shape ``(n, dim)``.
    """
    n, dim = _positive_int("n", n), _positive_int("dim", dim)
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}.")
    rng = np.random.default_rng(seed)
    scales = np.sqrt(spectrum(kappa, dim)) if dim > 1 else np.ones(1)
    features = rng.normal(size=(n, dim)) * scales
    targets = features @ rng.normal(size=dim) + noise * rng.normal(size=n)
    return LeastSquares(features=features, targets=targets)


def sgd_expected_excess(problem: LeastSquares, lr: float | Callable[[int], float],
                        x0: np.ndarray, steps: int, batch_size: int = 1,
                        every: int = 1) -> Trace:
    """The exact expected excess loss ``E f(x_t) - f(x*)`` of SGD, by a moment recursion.

    With ``e = x - x*``, ``e+ = (I - lr_t H_B) e + lr_t m_B`` (see
    ``sgd_stationary_covariance``). The mean ``E e`` and second moment ``P = E e e^T`` obey
    closed linear recursions, iterated here for ``steps`` steps; the excess loss is
    ``tr(H P) / 2``. No sampling is involved, so this is the curve that an average over
    infinitely many SGD runs would trace.

    Args:
        problem: the least-squares problem.
        lr: a constant step or a schedule ``t -> lr_t``.
        x0: the (deterministic) initial point, shape ``(d,)``.
        steps: number of SGD steps.
        batch_size: ``b``, indices drawn with replacement.
        every: record every this many steps (and the last).

    Returns:
        a ``Trace`` of the expected excess loss, ``values`` of shape ``(m,)``.
    """
    _check_lr(lr)
    steps, every = _positive_int("steps", steps), _positive_int("every", every)
    b = _positive_int("batch_size", batch_size)
    a, h, n = problem.features, problem.hessian, problem.n
    x_star = problem.minimizer
    r = problem.targets - a @ x_star                       # residuals at the optimum
    c = (a.T * r**2) @ a / n                               # E m_1 m_1^T for one index
    mean = np.asarray(x0, dtype=float) - x_star
    second = np.outer(mean, mean)
    ts, values = [0], [0.5 * float(np.trace(h @ second))]
    for t in range(steps):
        eta = float(_lr_at(lr, t))
        quad = np.sum((a @ second) * a, axis=1)            # a_i^T P a_i
        m_p = (a.T * quad) @ a / n                         # E_i (a_i a_i^T) P (a_i a_i^T)
        cross = (a.T * (r * (a @ mean))) @ a / n           # E_i a_i (a_i^T mean) r_i a_i^T
        second = (second - eta * (h @ second + second @ h)
                  + eta**2 * (m_p / b + (1 - 1 / b) * h @ second @ h)
                  + eta**2 * c / b
                  - eta**2 * (cross + cross.T) / b)
        mean = mean - eta * (h @ mean)
        if (t + 1) % every == 0 or t + 1 == steps:
            ts.append(t + 1)
            values.append(0.5 * float(np.trace(h @ second)))
    return Trace(steps=np.asarray(ts), values=np.asarray(values))


def sgd_stationary_covariance(problem: LeastSquares, lr: float, batch_size: int = 1) -> np.ndarray:
    """The exact stationary covariance ``S = E (x - x*)(x - x*)^T`` of constant-step SGD.

    With minibatches of ``b`` indices drawn with replacement, the error ``e = x - x*`` follows
    ``e+ = (I - lr H_B) e + lr m_B`` with ``H_B`` the minibatch Hessian and ``m_B`` the minibatch
    mean of ``a_i r_i`` (``r_i = y_i - a_i^T x*``, the residuals at the optimum). The noise has
    mean zero and the stationary mean of ``e`` is zero, so ``S`` solves the linear equation

    ``H S + S H - lr ((1/b) M(S) + (1 - 1/b) H S H) = lr C / b``,

    where ``M(S) = (1/n) sum_i (a_i^T S a_i) a_i a_i^T`` and ``C = (1/n) sum_i r_i^2 a_i a_i^T``.
    It is solved here as a dense ``d^2 x d^2`` system.

    Args:
        problem: the least-squares problem.
        lr: the constant step size (the covariance exists only below the stability limit).
        batch_size: ``b``.

    Returns:
        ``S``, shape ``(d, d)``.

    Raises:
        ValueError: if ``lr`` is too large for a stationary distribution to exist.
    """
    lr = _positive_float("lr", lr)
    b = _positive_int("batch_size", batch_size)
    a, d = problem.features, problem.dim
    h = problem.hessian
    c = problem.noise_covariance(problem.minimizer)

    def operator(s: np.ndarray) -> np.ndarray:
        m = (a.T * np.sum((a @ s) * a, axis=1)) @ a / problem.n
        return h @ s + s @ h - lr * (m / b + (1 - 1 / b) * h @ s @ h)

    basis = np.eye(d * d).reshape(d * d, d, d)
    matrix = np.stack([operator(e).ravel() for e in basis], axis=1)
    s = np.linalg.solve(matrix, lr * c.ravel() / b).reshape(d, d)
    s = 0.5 * (s + s.T)
    if np.min(np.linalg.eigvalsh(s)) < -1e-12 * np.trace(s):
        raise ValueError(f"lr={lr!r} is beyond the stability limit of SGD with batch size {b}: "
                         "no stationary distribution.")
    return s


def sgd_excess_loss(problem: LeastSquares, lr: float, batch_size: int = 1,
                    first_order: bool = False) -> float:
    """The stationary excess loss ``E f(x) - f(x*) = tr(H S) / 2`` of constant-step SGD.

    Args:
        problem: the least-squares problem.
        lr: the constant step size.
        batch_size: ``b``.
        first_order: if true, return the small-step approximation ``lr tr(C) / (4 b)``, which
            follows from ``H S + S H = lr C / b``; otherwise the exact value from
            ``sgd_stationary_covariance``.
    """
    lr = _positive_float("lr", lr)
    b = _positive_int("batch_size", batch_size)
    if first_order:
        c = problem.noise_covariance(problem.minimizer)
        return lr * float(np.trace(c)) / (4 * b)
    s = sgd_stationary_covariance(problem, lr, b)
    return 0.5 * float(np.trace(problem.hessian @ s))


# --------------------------------------------------------------------------------------------
# Step-size schedules


def constant(lr: float) -> Callable[[int], float]:
    """The schedule ``t -> lr``."""
    lr = _positive_float("lr", lr)
    return lambda t: lr


def inverse_time(lr: float, decay_steps: float) -> Callable[[int], float]:
    """The Robbins-Monro schedule ``t -> lr / (1 + t / decay_steps)``.

    Its steps sum to infinity while their squares sum to a finite value.
    """
    lr = _positive_float("lr", lr)
    decay_steps = _positive_float("decay_steps", decay_steps)
    return lambda t: lr / (1.0 + t / decay_steps)


def step_decay(lr: float, factor: float, every: int) -> Callable[[int], float]:
    """The schedule ``t -> lr * factor ** (t // every)``, a drop by ``factor`` each ``every``."""
    lr = _positive_float("lr", lr)
    if not 0 < factor <= 1:
        raise ValueError(f"factor must be in (0, 1], got {factor!r}.")
    every = _positive_int("every", every)
    return lambda t: lr * factor ** (t // every)


# --------------------------------------------------------------------------------------------
# Optimizers


class Optimizer(Protocol):
    """What ``run`` needs from an optimizer."""

    def init(self, x0: np.ndarray) -> tuple[np.ndarray, ...]:
        """The initial state; its first entry is the iterate."""
        ...

    def step(self, state: tuple[np.ndarray, ...], grad: Callable[[np.ndarray], np.ndarray],
             t: int) -> tuple[np.ndarray, ...]:
        """The state after one update at step ``t``."""
        ...


@dataclass(frozen=True)
class GD:
    """Gradient descent ``x <- x - lr_t grad(x)``; with a stochastic oracle, SGD.

    Attributes:
        lr: step size: a number, a schedule ``t -> lr_t``, or an array broadcasting against x.
    """

    lr: float | np.ndarray | Callable[[int], float]

    def __post_init__(self) -> None:
        _check_lr(self.lr)

    def init(self, x0: np.ndarray) -> tuple[np.ndarray, ...]:
        """State ``(x,)``."""
        return (np.array(x0, dtype=float),)

    def step(self, state: tuple[np.ndarray, ...], grad: Callable[[np.ndarray], np.ndarray],
             t: int) -> tuple[np.ndarray, ...]:
        """One gradient step."""
        (x,) = state
        return (x - _lr_at(self.lr, t) * grad(x),)


@dataclass(frozen=True)
class MomentumMethod:
    """Base of the momentum methods: a step size, a momentum, and the state ``(x, x_prev)``.

    Attributes:
        lr: step size: a number, a schedule, or an array broadcasting against x.
        momentum: the momentum ``beta``, in ``[0, 1)``.
    """

    lr: float | np.ndarray | Callable[[int], float]
    momentum: float

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}.")

    def init(self, x0: np.ndarray) -> tuple[np.ndarray, ...]:
        """State ``(x, x_prev)`` with ``x_prev = x0``."""
        x = np.array(x0, dtype=float)
        return (x, x.copy())


@dataclass(frozen=True)
class HeavyBall(MomentumMethod):
    """Polyak's heavy ball ``x+ = x - lr grad(x) + momentum (x - x_prev)``.

    Identical to ``torch.optim.SGD(lr=lr, momentum=momentum)`` (without dampening).

    Attributes:
        lr: step size: a number, a schedule, or an array broadcasting against x.
        momentum: the momentum ``beta``, in ``[0, 1)``.
    """

    def step(self, state: tuple[np.ndarray, ...], grad: Callable[[np.ndarray], np.ndarray],
             t: int) -> tuple[np.ndarray, ...]:
        """One heavy-ball step."""
        x, x_prev = state
        return (x - _lr_at(self.lr, t) * grad(x) + self.momentum * (x - x_prev), x)


@dataclass(frozen=True)
class Nesterov(MomentumMethod):
    """Nesterov's accelerated gradient: ``y = x + momentum (x - x_prev)``, ``x+ = y - lr grad(y)``.

    The look-ahead points ``y`` are the iterates of
    ``torch.optim.SGD(lr=lr, momentum=momentum, nesterov=True)``.

    Attributes:
        lr: step size: a number, a schedule, or an array broadcasting against x.
        momentum: the momentum ``beta``, in ``[0, 1)``.
    """

    def step(self, state: tuple[np.ndarray, ...], grad: Callable[[np.ndarray], np.ndarray],
             t: int) -> tuple[np.ndarray, ...]:
        """One Nesterov step."""
        x, x_prev = state
        y = x + self.momentum * (x - x_prev)
        return (y - _lr_at(self.lr, t) * grad(y), x)


def tuned_gd(L: float, mu: float) -> GD:  # noqa: N803
    """Gradient descent with the step ``2 / (L + mu)`` that minimizes its rate on quadratics."""
    return GD(lr=2.0 / (_positive_float("L", L) + _positive_float("mu", mu)))


def tuned_heavy_ball(L: float, mu: float) -> HeavyBall:  # noqa: N803
    """Heavy ball with Polyak's step ``4 / (sqrt(L) + sqrt(mu))^2`` and momentum
    ``((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``."""
    L, mu = _positive_float("L", L), _positive_float("mu", mu)  # noqa: N806
    k = np.sqrt(L / mu)
    return HeavyBall(lr=4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2, momentum=((k - 1) / (k + 1)) ** 2)


def tuned_nesterov(L: float, mu: float) -> Nesterov:  # noqa: N803
    """Nesterov with step ``1 / L`` and momentum ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``."""
    L, mu = _positive_float("L", L), _positive_float("mu", mu)  # noqa: N806
    k = np.sqrt(L / mu)
    return Nesterov(lr=1.0 / L, momentum=(k - 1) / (k + 1))


@dataclass(frozen=True)
class Trace:
    """What ``run`` recorded.

    Attributes:
        steps: the step index of each record, shape ``(m,)``.
        values: the recorded metric, shape ``(m, ...)``.
    """

    steps: np.ndarray
    values: np.ndarray


def run(optimizer: Optimizer, grad: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, steps: int,
        record: Callable[[np.ndarray], np.ndarray] | None = None, every: int = 1) -> Trace:
    """Run ``optimizer`` for ``steps`` updates from ``x0`` and record ``record(x)``.

    Args:
        optimizer: any object with ``init`` and ``step`` (``GD``, ``HeavyBall``, ``Nesterov``...).
        grad: the gradient oracle, ``x -> gradient`` (exact or stochastic).
        x0: the initial point, shape ``(d,)`` or ``(..., d)`` for independent runs in parallel.
        steps: number of updates.
        record: the metric of the iterate to keep (default: the iterate itself).
        every: record at steps ``0, every, 2 every, ...`` and at the last step.

    Returns:
        a ``Trace`` whose ``values`` have shape ``(m, ...)``, ``m`` the number of records.
    """
    steps = _positive_int("steps", steps)
    every = _positive_int("every", every)
    if record is None:
        def record(x: np.ndarray) -> np.ndarray:
            return np.array(x, copy=True)
    state = optimizer.init(x0)
    ts, values = [0], [record(state[0])]
    for t in range(steps):
        state = optimizer.step(state, grad, t)
        if (t + 1) % every == 0 or t + 1 == steps:
            ts.append(t + 1)
            values.append(record(state[0]))
    return Trace(steps=np.asarray(ts), values=np.asarray(values))


# --------------------------------------------------------------------------------------------
# Theory and measurement


def gd_rate(lr: float, eigenvalues: Sequence[float] | np.ndarray) -> float:
    """The asymptotic rate ``max_i |1 - lr lambda_i|`` of gradient descent on a quadratic."""
    lam = np.asarray(eigenvalues, dtype=float)
    return float(np.max(np.abs(1.0 - _positive_float("lr", lr) * lam)))


def momentum_rate(lr: float, momentum: float, eigenvalues: Sequence[float] | np.ndarray,
                  nesterov: bool = False) -> float:
    """The asymptotic rate (spectral radius of the iteration matrix) of heavy ball or Nesterov.

    On the eigendirection with eigenvalue ``lambda`` each method is a two-term linear recursion
    for the error, ``e+ = (1 + beta - lr lambda) e - beta e_prev`` (heavy ball) or
    ``e+ = (1 + beta)(1 - lr lambda) e - beta (1 - lr lambda) e_prev`` (Nesterov). The rate is
    the largest modulus of a root of the characteristic polynomial, over all eigenvalues.
    """
    lr = _positive_float("lr", lr)
    lam = np.asarray(eigenvalues, dtype=float)
    rho = 0.0
    for value in lam:
        if nesterov:
            s = 1.0 - lr * value
            coeffs = [1.0, -(1.0 + momentum) * s, momentum * s]
        else:
            coeffs = [1.0, -(1.0 + momentum - lr * value), momentum]
        rho = max(rho, float(np.max(np.abs(np.roots(coeffs)))))
    return rho


def fit_rate(errors: np.ndarray, start: int = 0, stop: int | None = None) -> float:
    """The linear rate ``r`` of ``errors[t] ~ C r^t``: ``exp`` of the least-squares slope of
    ``log errors[t]`` against ``t`` over ``t in [start, stop)``.

    Args:
        errors: positive values, shape ``(T,)``, one per iteration.
        start, stop: the window of iterations fitted (fit the tail to get the asymptotic rate).
    """
    e = np.asarray(errors, dtype=float)
    stop = e.size if stop is None else stop
    if e.ndim != 1 or not 0 <= start < stop - 1 or stop > e.size:
        raise ValueError(f"need a 1-D errors array and 0 <= start < stop - 1 <= len(errors) - 1, "
                         f"got shape {e.shape}, start={start!r}, stop={stop!r}.")
    window = e[start:stop]
    if not np.all(window > 0):
        raise ValueError("errors must be positive in the fitted window.")
    t = np.arange(start, stop)
    return float(np.exp(np.polyfit(t, np.log(window), 1)[0]))


def iterations_to(errors: np.ndarray, tol: float) -> int:
    """The first index ``t`` with ``errors[t] <= tol``.

    Raises:
        ValueError: if ``errors`` never reaches ``tol``.
    """
    e = np.asarray(errors, dtype=float)
    hit = np.flatnonzero(e <= tol)
    if hit.size == 0:
        raise ValueError(f"errors never reach tol={tol!r} (smallest value {e.min():.3g}); "
                         "run more steps.")
    return int(hit[0])


def fit_power_law(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
                  ) -> tuple[float, float]:
    """Fit ``y ~ c x^p`` by least squares on ``log y`` against ``log x``.

    Returns:
        ``(p, c)``, the exponent (the log-log slope) and the prefactor.
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if lx.shape != ly.shape or lx.size < 2:
        raise ValueError(f"x and y must have the same shape with at least 2 points, got "
                         f"{lx.shape} and {ly.shape}.")
    p, logc = np.polyfit(lx, ly, 1)
    return float(p), float(np.exp(logc))


# --------------------------------------------------------------------------------------------
# Beyond strongly convex quadratics: convex problems, a counterexample, averaging


@dataclass(frozen=True)
class NesterovConvex:
    """Nesterov's accelerated gradient for convex functions, momentum ``(t - 1) / (t + 2)``.

    ``y_t = x_t + beta_t (x_t - x_{t-1})`` and ``x_{t+1} = y_t - lr grad(y_t)`` with
    ``beta_t = max(t - 1, 0) / (t + 2)`` and ``x_{-1} = x_0``: the form of Nesterov's 1983 method
    analysed by Su, Boyd and Candes (2016), for which ``f(x_t) - f* <= 2 ||x_0 - x*||^2 /
    (lr (t + 1)^2)`` when ``f`` is convex and ``1 / lr``-smooth.

    Attributes:
        lr: step size: a number, a schedule, or an array broadcasting against x.
    """

    lr: float | np.ndarray | Callable[[int], float]

    def __post_init__(self) -> None:
        _check_lr(self.lr)

    def init(self, x0: np.ndarray) -> tuple[np.ndarray, ...]:
        """State ``(x, x_prev)`` with ``x_prev = x0``."""
        x = np.array(x0, dtype=float)
        return (x, x.copy())

    def step(self, state: tuple[np.ndarray, ...], grad: Callable[[np.ndarray], np.ndarray],
             t: int) -> tuple[np.ndarray, ...]:
        """One step with momentum ``max(t - 1, 0) / (t + 2)``."""
        x, x_prev = state
        y = x + (max(t - 1, 0) / (t + 2)) * (x - x_prev)
        return (y - _lr_at(self.lr, t) * grad(y), x)


def worst_case_quadratic(dim: int, L: float = 1.0) -> Quadratic:  # noqa: N803
    """Nesterov's worst function for first-order methods on ``L``-smooth convex functions.

    ``f(x) = (L / 4) (x^T A x / 2 - x_1)`` with ``A`` the ``dim x dim`` tridiagonal matrix with
    2 on the diagonal and -1 beside it (Nesterov 2004, Section 2.1.2), written as a
    ``Quadratic``: Hessian ``(L / 4) A``, minimizer ``x*_i = 1 - i / (dim + 1)`` and eigenvalues
    ``L sin^2(k pi / (2 (dim + 1)))``, ``k = 1..dim``. The value ``Quadratic.value`` is
    ``f(x) - f*``. From ``x_0 = 0``, any method whose iterates lie in the span of the gradients
    seen so far has ``x_t`` supported on the first ``t`` coordinates.

    Args:
        dim: the dimension, a positive integer.
        L: the smoothness constant (the largest eigenvalue is just below ``L``).

    Returns:
        a ``Quadratic`` (not strongly convex in the limit: its smallest eigenvalue is
        about ``L pi^2 / (4 (dim + 1)^2)``).
    """
    dim = _positive_int("dim", dim)
    L = _positive_float("L", L)  # noqa: N806
    a = 2.0 * np.eye(dim) - np.eye(dim, k=1) - np.eye(dim, k=-1)
    k = np.arange(1, dim + 1)
    eigenvalues = L * np.sin(k * np.pi / (2 * (dim + 1))) ** 2
    return Quadratic(hessian=0.25 * L * a, minimizer=1.0 - k / (dim + 1),
                     eigenvalues=np.sort(eigenvalues))


@dataclass(frozen=True)
class LessardCounterexample:
    """The one-dimensional function of Lessard, Recht and Packard (2016) on which the heavy ball,
    tuned as for quadratics, does not converge.

    ``f(x) = 25 x^2 / 2`` for ``x < 1``, ``x^2 / 2 + 24 x - 12`` for ``1 <= x < 2`` and
    ``25 x^2 / 2 - 24 x + 36`` for ``x >= 2``: continuously differentiable, with a gradient
    that is piecewise linear with slopes 25, 1, 25, hence ``mu = 1``-strongly convex and
    ``L = 25``-smooth, minimized at ``x* = 0`` with ``f* = 0``. Iterates have shape ``(..., 1)``.
    """

    L: float = 25.0
    mu: float = 1.0

    @property
    def minimizer(self) -> np.ndarray:
        """``x* = 0``, shape ``(1,)``."""
        return np.zeros(1)

    def value(self, x: np.ndarray) -> np.ndarray:
        """``f(x)`` for ``x`` of shape ``(..., 1)``; returns shape ``(...)``."""
        z = np.asarray(x, dtype=float)[..., 0]
        return np.where(z < 1, 12.5 * z**2,
                        np.where(z < 2, 0.5 * z**2 + 24 * z - 12, 12.5 * z**2 - 24 * z + 36))

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``f'(x)`` for ``x`` of shape ``(..., 1)``; returns the same shape."""
        z = np.asarray(x, dtype=float)
        return np.where(z < 1, 25 * z, np.where(z < 2, z + 24, 25 * z - 24))

    def distance(self, x: np.ndarray) -> np.ndarray:
        """``|x - x*|`` for ``x`` of shape ``(..., 1)``; returns shape ``(...)``."""
        return np.abs(np.asarray(x, dtype=float)[..., 0])


def power_decay(lr: float, decay_steps: float, power: float) -> Callable[[int], float]:
    """The schedule ``t -> lr / (1 + t / decay_steps) ** power``.

    ``power = 1`` is ``inverse_time``; ``1/2 < power < 1`` gives the slowly decaying steps of
    Polyak-Ruppert averaging.
    """
    lr = _positive_float("lr", lr)
    decay_steps = _positive_float("decay_steps", decay_steps)
    power = _positive_float("power", power)
    return lambda t: lr / (1.0 + t / decay_steps) ** power


@dataclass(frozen=True)
class Averaged:
    """Polyak-Ruppert averaging: run ``base`` and report the running mean of its iterates.

    The state is ``(x_bar, *base_state)``, so that ``run`` records the average
    ``x_bar_t = mean(x_start, ..., x_t)`` of the base iterates from step ``start`` on (before
    ``start``, the current base iterate). The base optimizer is unchanged by the averaging.

    Attributes:
        base: any optimizer (``GD`` with a stochastic oracle is SGD).
        start: the first iterate included in the average, a non-negative integer.
    """

    base: Optimizer
    start: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.start, bool) or not isinstance(self.start, (int, np.integer)) \
                or self.start < 0:
            raise ValueError(f"start must be a non-negative integer, got {self.start!r}.")

    def init(self, x0: np.ndarray) -> tuple[np.ndarray, ...]:
        """State ``(x_bar, *base.init(x0))`` with ``x_bar = x0``."""
        inner = self.base.init(x0)
        return (np.array(inner[0], copy=True), *inner)

    def step(self, state: tuple[np.ndarray, ...], grad: Callable[[np.ndarray], np.ndarray],
             t: int) -> tuple[np.ndarray, ...]:
        """One base step, then the average updated with the new iterate ``x_{t+1}``."""
        x_bar, *inner = state
        inner = self.base.step(tuple(inner), grad, t)
        count = t + 2 - self.start          # iterates x_start..x_{t+1} averaged
        x_new = inner[0]
        x_bar = np.array(x_new, copy=True) if count <= 1 else x_bar + (x_new - x_bar) / count
        return (x_bar, *inner)


def sgd_stability_limit(problem: LeastSquares, batch_size: int = 1, tol: float = 1e-10) -> float:
    """The largest constant step for which the second moment of SGD on least squares converges.

    The second moment ``P = E e e^T`` of the error follows the linear map
    ``P -> P - lr (H P + P H) + lr^2 ((1/b) M(P) + (1 - 1/b) H P H)`` (see
    ``sgd_stationary_covariance``); SGD is stable in mean square while its spectral radius is
    below 1. The limit is found by bisection on ``(0, 2 / L]`` (no step beyond ``2 / L``, the
    limit of full-batch gradient descent, is stable), as a dense ``d^2 x d^2`` eigenproblem.

    Args:
        problem: the least-squares problem.
        batch_size: ``b``, indices drawn with replacement.
        tol: relative accuracy of the bisection.

    Returns:
        the stability limit of the step size.
    """
    b = _positive_int("batch_size", batch_size)
    tol = _positive_float("tol", tol)
    a, d, h = problem.features, problem.dim, problem.hessian
    basis = np.eye(d * d).reshape(d * d, d, d)
    first = np.stack([(h @ e + e @ h).ravel() for e in basis], axis=1)
    second = np.stack([((a.T * np.sum((a @ e) * a, axis=1)) @ a / problem.n / b
                        + (1 - 1 / b) * h @ e @ h).ravel() for e in basis], axis=1)
    identity = np.eye(d * d)

    def stable(lr: float) -> bool:
        return float(np.max(np.abs(np.linalg.eigvals(identity - lr * first
                                                     + lr**2 * second)))) < 1.0

    lo, hi = 0.0, 2.0 / float(np.linalg.eigvalsh(h)[-1])
    if stable(hi):
        return hi
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if stable(mid) else (lo, mid)
    return lo


# --------------------------------------------------------------------------------------------
# Beyond quadratics: logistic regression (chapter "Gradient descent and conditioning")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


@dataclass(frozen=True)
class Logistic:
    """Logistic regression ``f(x) = (1/n) sum_i log(1 + exp(-y_i a_i^T x))``, labels ``+-1``.

    ``f`` is convex and ``L``-smooth with ``L = lambda_max(A^T A) / (4 n)`` (the largest
    curvature, attained where every margin is 0, since the logistic density is at most 1/4),
    but not strongly convex: its curvature vanishes far from the data. When the classes overlap
    (no separating hyperplane) and ``A`` has full column rank, it has a unique minimizer
    ``x*`` at which the Hessian is positive definite. Put a column of ones in ``A`` for an
    intercept.

    Attributes:
        features: the rows ``a_i``, shape ``(n, d)``.
        labels: the ``y_i`` in ``{-1, +1}``, shape ``(n,)``.
    """

    features: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        a, y = np.asarray(self.features), np.asarray(self.labels)
        if a.ndim != 2 or y.shape != (a.shape[0],):
            raise ValueError(f"features must have shape (n, d) and labels (n,), got "
                             f"{a.shape} and {y.shape}.")
        if not np.all(np.abs(y) == 1):
            raise ValueError("labels must be -1 or +1.")

    @property
    def n(self) -> int:
        """Number of examples."""
        return int(self.features.shape[0])

    @property
    def dim(self) -> int:
        """Dimension ``d`` of ``x``."""
        return int(self.features.shape[1])

    @property
    def L(self) -> float:  # noqa: N802 (the book's symbol)
        """The global smoothness constant ``lambda_max(A^T A) / (4 n)``."""
        return float(np.linalg.eigvalsh(self.features.T @ self.features)[-1]) / (4 * self.n)

    def margins(self, x: np.ndarray) -> np.ndarray:
        """``y_i a_i^T x`` for ``x`` of shape ``(..., d)``; returns shape ``(..., n)``."""
        return (np.asarray(x) @ self.features.T) * self.labels

    def loss(self, x: np.ndarray) -> np.ndarray:
        """``f(x)`` for ``x`` of shape ``(..., d)``; returns shape ``(...)``."""
        return np.mean(np.logaddexp(0.0, -self.margins(x)), axis=-1)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``-(1/n) sum_i sigmoid(-y_i a_i^T x) y_i a_i`` for ``x`` of shape ``(..., d)``."""
        weights = -_sigmoid(-self.margins(x)) * self.labels
        return weights @ self.features / self.n

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """``(1/n) sum_i s_i (1 - s_i) a_i a_i^T`` with ``s_i = sigmoid(a_i^T x)``, at one ``x``
        of shape ``(d,)``; returns shape ``(d, d)``."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise ValueError(f"x must have shape ({self.dim},), got {x.shape}.")
        s = _sigmoid(self.features @ x)
        return (self.features.T * (s * (1.0 - s))) @ self.features / self.n

    def minimizer(self, tol: float = 1e-12, polish: int = 3, max_iter: int = 100) -> np.ndarray:
        """The minimizer ``x*``, by Newton's method with backtracking from ``x = 0``.

        Once the Newton decrement ``g^T H^{-1} g`` is below ``tol`` (Newton is then in its
        quadratic phase), ``polish`` more full Newton steps bring ``x*`` to machine precision;
        a last Newton step must then be negligible, which fails when the loss only flattens
        towards an infimum at infinity (separable classes).

        Raises:
            ValueError: if Newton's method has not converged after ``max_iter`` steps (for
                example when the classes are separable and no minimizer exists).
        """
        x = np.zeros(self.dim)
        for _ in range(_positive_int("max_iter", max_iter)):
            g, h = self.grad(x), self.hessian(x)
            step = np.linalg.solve(h, g)
            decrement = float(g @ step)
            if decrement < tol:
                for _ in range(polish):
                    x = x - np.linalg.solve(self.hessian(x), self.grad(x))
                last = np.linalg.solve(self.hessian(x), self.grad(x))
                if np.linalg.norm(last) > 1e-6 * (1.0 + np.linalg.norm(x)):
                    break  # the loss is flat but Newton still moves: no finite minimizer
                return x
            size, f0 = 1.0, float(self.loss(x))
            while float(self.loss(x - size * step)) > f0 - 0.25 * size * decrement and size > 1e-10:
                size *= 0.5
            x = x - size * step
        raise ValueError(f"Newton's method did not converge to a finite minimizer in {max_iter} "
                         "steps (are the classes separable?).")


def standardize(features: np.ndarray) -> np.ndarray:
    """Centre every column of ``features`` (shape ``(n, d)``) and scale it to unit variance.

    Raises:
        ValueError: if a column is constant (it cannot be scaled).
    """
    a = np.asarray(features, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"features must have shape (n, d), got {a.shape}.")
    std = a.std(axis=0)
    if np.any(std == 0):
        raise ValueError("features has a constant column; drop it before standardizing.")
    return (a - a.mean(axis=0)) / std
