"""Zero-sum games: matrix games by linear programming, Hedge self-play, bilinear min-max dynamics.

A *matrix game* is a payoff matrix ``A`` of shape ``(m, n)``: the row player picks a mixed
strategy ``x`` in the simplex of ``R^m`` and maximizes ``x^T A y``, the column player picks ``y``
in the simplex of ``R^n`` and minimizes it. :func:`solve_matrix_game` computes the value and
optimal strategies from the two linear programs of the players (each the dual of the other),
:func:`duality_gap` measures how far a pair of strategies is from equilibrium, and
:func:`hedge_self_play` runs the multiplicative-weights (Hedge) algorithm for both players.

The *bilinear game* ``min_x max_y x^T A y`` (``A = [[1]]``: the scalar game ``f(x, y) = x y``) is
the simplest game on which gradient methods fail. :func:`bilinear_trajectory` runs five methods on
it (simultaneous and alternating gradient descent-ascent, extragradient, optimistic gradient,
alternating updates with (negative) momentum) from their update rules;
:func:`bilinear_update_matrix` writes the same methods on ``f(x, y) = x y`` as linear maps of
their state, and :func:`bilinear_spectral_radius` gives each map's spectral radius in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from dlscience.checks import positive_int as _positive_int

__all__ = ["METHODS", "GameSolution", "solve_matrix_game", "duality_gap", "game_with_equilibrium",
           "HedgeRun", "hedge_lr", "hedge_regret_bound", "hedge_self_play", "kl_divergence",
           "bilinear_update_matrix", "bilinear_spectral_radius", "bilinear_trajectory"]

#: The gradient methods for min-max problems this module knows, by short name:
#: simultaneous GDA, alternating GDA, extragradient, optimistic GD, alternating GDA with momentum.
METHODS: tuple[str, ...] = ("gda", "alt-gda", "eg", "ogd", "nm")


def _payoff(A: np.ndarray) -> np.ndarray:  # noqa: N803
    arr = np.asarray(A, dtype=float)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"A must be a non-empty payoff matrix of shape (m, n), got shape "
                         f"{arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("A must have finite entries.")
    return arr


def _simplex_point(name: str, value: object, size: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape[-1:] != (size,):
        raise ValueError(f"{name} must have last dimension {size}, got shape {arr.shape}.")
    if np.any(arr < -1e-12) or np.any(np.abs(arr.sum(axis=-1) - 1) > 1e-9):
        raise ValueError(f"{name} must be a probability vector (non-negative, summing to 1).")
    return arr


def _positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class GameSolution:
    """The solution of a matrix game by its two linear programs.

    Attributes:
        value: the optimal value of the row player's program, ``max_x min_j (A^T x)_j``.
        value_dual: the optimal value of the column player's program, ``min_y max_i (A y)_i``.
        row: an optimal strategy of the row player, shape ``(m,)``.
        col: an optimal strategy of the column player, shape ``(n,)``.
    """

    value: float
    value_dual: float
    row: np.ndarray
    col: np.ndarray


def solve_matrix_game(A: np.ndarray, tol: float = 1e-10) -> GameSolution:  # noqa: N803
    """Solve the zero-sum game with payoff ``A`` (rows maximize) by its two linear programs.

    The row player's program is ``max v`` subject to ``A^T x >= v 1``, ``1^T x = 1``, ``x >= 0``;
    the column player's is ``min w`` subject to ``A y <= w 1``, ``1^T y = 1``, ``y >= 0``. They
    are dual to each other, and both are solved (HiGHS, through :func:`scipy.optimize.linprog`)
    so that their values can be compared.

    Args:
        A: payoff matrix, shape ``(m, n)``.
        tol: primal and dual feasibility tolerance passed to HiGHS.

    Returns:
        a :class:`GameSolution`.
    """
    A = _payoff(A)  # noqa: N806
    tol = _positive_float("tol", tol)
    m, n = A.shape
    options = {"primal_feasibility_tolerance": tol, "dual_feasibility_tolerance": tol}
    # Row player: variables (x, v); minimize -v; v 1 - A^T x <= 0; sum x = 1.
    row = linprog(np.r_[np.zeros(m), -1.0], A_ub=np.c_[-A.T, np.ones(n)], b_ub=np.zeros(n),
                  A_eq=np.r_[np.ones(m), 0.0][None], b_eq=[1.0],
                  bounds=[(0, None)] * m + [(None, None)], method="highs", options=options)
    # Column player: variables (y, w); minimize w; A y - w 1 <= 0; sum y = 1.
    col = linprog(np.r_[np.zeros(n), 1.0], A_ub=np.c_[A, -np.ones(m)], b_ub=np.zeros(m),
                  A_eq=np.r_[np.ones(n), 0.0][None], b_eq=[1.0],
                  bounds=[(0, None)] * n + [(None, None)], method="highs", options=options)
    for name, res in (("row", row), ("column", col)):
        if res.status != 0:
            raise RuntimeError(f"the {name} player's linear program failed: {res.message}")
    return GameSolution(value=float(row.x[-1]), value_dual=float(col.x[-1]),
                        row=np.clip(row.x[:m], 0, None), col=np.clip(col.x[:n], 0, None))


def duality_gap(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:  # noqa: N803
    """The duality gap ``max_i (A y)_i - min_j (A^T x)_j`` of strategy pairs.

    It is non-negative, and zero exactly at the equilibria of the game: the row player's best
    response to ``y`` gains ``max_i (A y)_i``, the column player's best response to ``x`` concedes
    ``min_j (A^T x)_j``, and the value lies between the two.

    Args:
        A: payoff matrix, shape ``(m, n)``.
        x: row strategies, shape ``(..., m)``.
        y: column strategies, shape ``(..., n)`` (same leading shape as ``x``).

    Returns:
        the gaps, shape ``(...)`` (a 0-d array for single strategies).
    """
    A = _payoff(A)  # noqa: N806
    x = _simplex_point("x", x, A.shape[0])
    y = _simplex_point("y", y, A.shape[1])
    return (y @ A.T).max(axis=-1) - (x @ A).min(axis=-1)


def game_with_equilibrium(row: np.ndarray, col: np.ndarray, rng: np.random.Generator
                          ) -> np.ndarray:
    """A random square game with entries in ``[0, 1]`` whose equilibrium is ``(row, col)``.

    A Gaussian matrix ``B`` is projected to ``(I - 1 x*^T) B (I - y* 1^T)``, so that
    ``A y* = 0`` and ``A^T x* = 0`` (each strategy makes the other player indifferent), then
    shifted and scaled into ``[0, 1]``, which keeps the equilibria. Both strategies being fully
    mixed and the projected matrix of rank ``n - 1`` (true with probability one), the
    equilibrium is unique.

    Args:
        row: the row player's equilibrium strategy ``x*``, shape ``(n,)``, all entries positive.
        col: the column player's equilibrium strategy ``y*``, shape ``(n,)``, all entries positive.
        rng: NumPy generator for ``B``.

    Returns:
        the payoff matrix, shape ``(n, n)``, with minimum entry 0 and maximum entry 1.
    """
    n = np.shape(row)[-1] if np.ndim(row) else 0
    x_star = _simplex_point("row", row, n)
    y_star = _simplex_point("col", col, n)
    if x_star.ndim != 1 or n < 2:
        raise ValueError(f"row must be one probability vector of length >= 2, got shape "
                         f"{x_star.shape}.")
    if np.any(x_star <= 0) or np.any(y_star <= 0):
        raise ValueError("row and col must be fully mixed (every entry positive).")
    b = rng.normal(size=(n, n))
    by = b @ y_star
    xb = x_star @ b
    a = b - np.outer(by, np.ones(n)) - np.outer(np.ones(n), xb) + (x_star @ by)
    return (a - a.min()) / (a.max() - a.min())


def hedge_lr(n_actions: int, steps: int) -> float:
    """The Hedge step size ``sqrt(8 ln n / T)`` that minimizes the regret bound of
    :func:`hedge_regret_bound` for ``n`` actions, payoffs in ``[0, 1]`` and horizon ``T``."""
    n_actions = _positive_int("n_actions", n_actions)
    steps = _positive_int("steps", steps)
    if n_actions < 2:
        raise ValueError(f"n_actions must be at least 2, got {n_actions}.")
    return float(np.sqrt(8 * np.log(n_actions) / steps))


def hedge_regret_bound(n_actions: int, steps: int, lr: float | None = None) -> float:
    """The regret bound ``ln n / lr + lr T / 8`` of Hedge with payoffs in ``[0, 1]``.

    With the default step ``lr = hedge_lr(n, T)`` it equals ``sqrt(T ln n / 2)``.
    """
    if lr is None:
        lr = hedge_lr(n_actions, steps)
    n_actions = _positive_int("n_actions", n_actions)
    steps = _positive_int("steps", steps)
    lr = _positive_float("lr", lr)
    return float(np.log(n_actions) / lr + lr * steps / 8)


@dataclass(frozen=True)
class HedgeRun:
    """A run of Hedge in self-play for ``T`` rounds.

    Attributes:
        row: the row player's strategies ``x_1 .. x_T``, shape ``(T, m)``.
        col: the column player's strategies ``y_1 .. y_T``, shape ``(T, n)``.
        row_regret: ``max_i sum_t (A y_t)_i - sum_t x_t^T A y_t``.
        col_regret: ``sum_t x_t^T A y_t - min_j sum_t (A^T x_t)_j``.
    """

    row: np.ndarray
    col: np.ndarray
    row_regret: float
    col_regret: float

    def averages(self) -> tuple[np.ndarray, np.ndarray]:
        """The running averages ``(1/t) sum_{s <= t} x_s`` and of ``y``, shapes ``(T, m)``,
        ``(T, n)``."""
        t = np.arange(1, len(self.row) + 1)[:, None]
        return np.cumsum(self.row, axis=0) / t, np.cumsum(self.col, axis=0) / t


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def hedge_self_play(A: np.ndarray, steps: int, lr: float,  # noqa: N803
                    row0: np.ndarray | None = None, col0: np.ndarray | None = None) -> HedgeRun:
    """Both players of the game ``A`` run Hedge (multiplicative weights) against each other.

    Round ``t``: the players announce ``x_t`` and ``y_t``; the row player receives the gains
    ``A y_t`` and the column player the losses ``A^T x_t``; then
    ``x_{t+1} ∝ x_t * exp(lr * A y_t)`` and ``y_{t+1} ∝ y_t * exp(-lr * A^T x_t)``.

    Args:
        A: payoff matrix, shape ``(m, n)`` (entries in ``[0, 1]`` for the regret bound).
        steps: number of rounds ``T``.
        lr: the step size (for example :func:`hedge_lr`).
        row0, col0: the first strategies, fully mixed (default uniform).

    Returns:
        a :class:`HedgeRun` with the strategies played and the realized regrets.
    """
    A = _payoff(A)  # noqa: N806
    steps = _positive_int("steps", steps)
    lr = _positive_float("lr", lr)
    m, n = A.shape
    row0 = np.full(m, 1 / m) if row0 is None else _simplex_point("row0", row0, m)
    col0 = np.full(n, 1 / n) if col0 is None else _simplex_point("col0", col0, n)
    if np.any(row0 <= 0) or np.any(col0 <= 0):
        raise ValueError("row0 and col0 must be fully mixed (every entry positive).")
    log_x, log_y = np.log(row0), np.log(col0)
    xs, ys = np.empty((steps, m)), np.empty((steps, n))
    for t in range(steps):
        x, y = _softmax(log_x), _softmax(log_y)
        xs[t], ys[t] = x, y
        log_x = log_x + lr * (A @ y)
        log_y = log_y - lr * (x @ A)
    gains = ys @ A.T                     # (T, m): A y_t
    losses = xs @ A                      # (T, n): A^T x_t
    played = float(np.einsum("ti,ti->", xs, gains))
    return HedgeRun(row=xs, col=ys, row_regret=float(gains.sum(axis=0).max() - played),
                    col_regret=float(played - losses.sum(axis=0).min()))


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``KL(p || q) = sum_i p_i log(p_i / q_i)`` over the last axis (``q`` fully mixed)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same last dimension, got {p.shape} and "
                         f"{q.shape}.")
    if np.any(q <= 0):
        raise ValueError("q must be fully mixed (every entry positive).")
    terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return terms.sum(axis=-1)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")


def _momentum(method: str, momentum: float) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.number)) \
            or not -1 < momentum < 1:
        raise ValueError(f"momentum must be a number in (-1, 1), got {momentum!r}.")
    if momentum != 0 and method != "nm":
        raise ValueError(f"momentum is a parameter of method 'nm' only, got momentum="
                         f"{momentum!r} with method {method!r}.")
    return float(momentum)


def bilinear_update_matrix(method: str, lr: float, momentum: float = 0.0) -> np.ndarray:
    """The linear map one step of ``method`` applies to its state on ``f(x, y) = x y``.

    The state is ``(x_t, y_t)`` for ``"gda"``, ``"alt-gda"`` and ``"eg"``, and
    ``(x_t, y_t, x_{t-1}, y_{t-1})`` for ``"ogd"`` and ``"nm"``, which remember the previous
    iterate. The rules are those of :func:`bilinear_trajectory`.

    Args:
        method: one of :data:`METHODS`.
        lr: step size ``eta > 0``.
        momentum: ``beta`` in ``(-1, 1)``, for ``"nm"`` only.

    Returns:
        the matrix, shape ``(2, 2)`` or ``(4, 4)``.
    """
    _check_method(method)
    eta = _positive_float("lr", lr)
    beta = _momentum(method, momentum)
    if method == "gda":
        return np.array([[1.0, -eta], [eta, 1.0]])
    if method == "alt-gda":
        return np.array([[1.0, -eta], [eta, 1.0 - eta**2]])
    if method == "eg":
        return np.array([[1.0 - eta**2, -eta], [eta, 1.0 - eta**2]])
    if method == "ogd":
        return np.array([[1.0, -2 * eta, 0.0, eta], [2 * eta, 1.0, -eta, 0.0],
                         [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    return np.array([[1 + beta, -eta, -beta, 0.0],
                     [eta * (1 + beta), 1 + beta - eta**2, -eta * beta, -beta],
                     [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


def bilinear_spectral_radius(method: str, lr: float, momentum: float = 0.0) -> float:
    """The spectral radius of :func:`bilinear_update_matrix`, from its closed form.

    * ``"gda"``: ``sqrt(1 + eta^2)``;
    * ``"alt-gda"``: ``1`` for ``eta <= 2``, else ``(eta^2 - 2 + sqrt((eta^2 - 2)^2 - 4)) / 2``;
    * ``"eg"``: ``sqrt(1 - eta^2 + eta^4)``;
    * ``"ogd"``: ``sqrt((1 + sqrt(1 - 4 eta^2)) / 2)`` for ``eta <= 1/2``, else
      ``sqrt(1 + (2 eta + sqrt(4 eta^2 - 1))^2) / 2``;
    * ``"nm"``: the largest modulus of a root of the characteristic polynomial
      ``(lambda - 1)^2 (lambda - beta)^2 + eta^2 lambda^3`` (a quartic, solved numerically).
    """
    _check_method(method)
    eta = _positive_float("lr", lr)
    beta = _momentum(method, momentum)
    if method == "gda":
        return float(np.sqrt(1 + eta**2))
    if method == "alt-gda":
        if eta <= 2:
            return 1.0
        c = eta**2 - 2
        return float((c + np.sqrt(c**2 - 4)) / 2)
    if method == "eg":
        return float(np.sqrt(1 - eta**2 + eta**4))
    if method == "ogd":
        if eta <= 0.5:
            return float(np.sqrt((1 + np.sqrt(1 - 4 * eta**2)) / 2))
        return float(np.sqrt(1 + (2 * eta + np.sqrt(4 * eta**2 - 1)) ** 2) / 2)
    # (l - 1)^2 (l - b)^2 + eta^2 l^3, expanded.
    p = np.polymul(np.polymul([1, -1], [1, -1]), np.polymul([1, -beta], [1, -beta]))
    p = np.polyadd(p, [eta**2, 0, 0, 0])
    return float(np.abs(np.roots(p)).max())


def bilinear_trajectory(method: str, lr: float, x0: np.ndarray, y0: np.ndarray, steps: int,
                        A: np.ndarray | None = None, momentum: float = 0.0  # noqa: N803
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Run a gradient method on ``min_x max_y x^T A y`` from its update rule.

    With ``g_x = A y`` and ``g_y = A^T x`` the partial gradients, and ``eta = lr``:

    * ``"gda"`` (simultaneous): ``x' = x - eta A y``, ``y' = y + eta A^T x``;
    * ``"alt-gda"`` (alternating): ``x' = x - eta A y``, ``y' = y + eta A^T x'``;
    * ``"eg"`` (extragradient): a step to ``(x_h, y_h)`` as in ``"gda"``, then
      ``x' = x - eta A y_h``, ``y' = y + eta A^T x_h``;
    * ``"ogd"`` (optimistic): ``x' = x - 2 eta A y + eta A y_prev``,
      ``y' = y + 2 eta A^T x - eta A^T x_prev``;
    * ``"nm"`` (alternating with momentum ``beta``): ``x' = x - eta A y + beta (x - x_prev)``,
      ``y' = y + eta A^T x' + beta (y - y_prev)``.

    The methods with memory start with ``x_prev = x0`` and ``y_prev = y0``.

    Args:
        method: one of :data:`METHODS`.
        lr: step size ``eta > 0``.
        x0, y0: initial points, shapes ``(m,)`` and ``(n,)``.
        steps: number of steps ``T``.
        A: the matrix of the game, shape ``(m, n)``; default ``[[1]]``, the game ``x y``.
        momentum: ``beta`` in ``(-1, 1)``, for ``"nm"`` only.

    Returns:
        the iterates ``x_0 .. x_T`` and ``y_0 .. y_T``, shapes ``(T + 1, m)`` and ``(T + 1, n)``.
    """
    _check_method(method)
    eta = _positive_float("lr", lr)
    beta = _momentum(method, momentum)
    steps = _positive_int("steps", steps)
    A = np.ones((1, 1)) if A is None else _payoff(A)  # noqa: N806
    x = np.asarray(x0, dtype=float).reshape(-1)
    y = np.asarray(y0, dtype=float).reshape(-1)
    if x.shape != (A.shape[0],) or y.shape != (A.shape[1],):
        raise ValueError(f"x0 and y0 must have shapes ({A.shape[0]},) and ({A.shape[1]},) for "
                         f"A of shape {A.shape}, got {np.shape(x0)} and {np.shape(y0)}.")
    xs, ys = np.empty((steps + 1, x.size)), np.empty((steps + 1, y.size))
    xs[0], ys[0] = x, y
    x_prev, y_prev = x, y
    for t in range(steps):
        if method == "gda":
            x_new, y_new = x - eta * A @ y, y + eta * A.T @ x
        elif method == "alt-gda":
            x_new = x - eta * A @ y
            y_new = y + eta * A.T @ x_new
        elif method == "eg":
            x_h, y_h = x - eta * A @ y, y + eta * A.T @ x
            x_new, y_new = x - eta * A @ y_h, y + eta * A.T @ x_h
        elif method == "ogd":
            x_new = x - 2 * eta * A @ y + eta * A @ y_prev
            y_new = y + 2 * eta * A.T @ x - eta * A.T @ x_prev
        else:
            x_new = x - eta * A @ y + beta * (x - x_prev)
            y_new = y + eta * A.T @ x_new + beta * (y - y_prev)
        x_prev, y_prev, x, y = x, y, x_new, y_new
        xs[t + 1], ys[t + 1] = x, y
    return xs, ys
