"""Finite Markov decision processes and dynamic programming on them.

A :class:`TabularMDP` holds the transition probabilities ``P[s, a, s']``, the expected immediate
rewards ``R[s, a]``, the discount ``gamma``, the terminal states (absorbing, reward 0) and a start
state. :func:`gridworld` builds the book's gridworld; :func:`value_iteration`,
:func:`policy_evaluation` and :func:`policy_iteration` are the two dynamic-programming algorithms
of chapter 26, and :func:`step` samples one transition for the learning agents of chapter 27.

Conventions: states are integers ``0, ..., S - 1``; in a gridworld they are the free cells in
row-major order (``mdp.cells[s]`` is the ``(row, column)`` of state ``s``, :func:`to_grid` lays a
vector over states out on the grid). Actions are ``0, 1, 2, 3`` = up, right, down, left. A value
vector has shape ``(S,)``, a policy is a deterministic one, an integer action per state, shape
``(S,)``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .checks import nonnegative_int, positive_int, probability

__all__ = ["TabularMDP", "ACTIONS", "gridworld", "to_grid", "bellman_optimality", "q_from_v",
           "greedy_policy", "value_iteration", "policy_evaluation", "policy_iteration", "step"]

#: The gridworld's actions as (row, column) moves: up, right, down, left.
ACTIONS: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP with expected rewards.

    Attributes:
        P: transition probabilities ``P[s, a, s']``, shape ``(S, A, S)``, rows sum to 1.
        R: expected immediate reward of taking ``a`` in ``s``, shape ``(S, A)``.
        gamma: the discount, in ``[0, 1]``.
        terminal: which states are terminal, shape ``(S,)`` bool; a terminal state is absorbing
            (``P[s, a, s] = 1``) with reward 0, so its value is 0.
        start: the start state.
        cells: for a gridworld, the ``(row, column)`` of each state, shape ``(S, 2)``; else None.
        shape: for a gridworld, ``(rows, cols)``; else None.
    """

    P: np.ndarray
    R: np.ndarray
    gamma: float
    terminal: np.ndarray
    start: int
    cells: np.ndarray | None = None
    shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        P = np.asarray(self.P, dtype=float)
        R = np.asarray(self.R, dtype=float)
        terminal = np.asarray(self.terminal, dtype=bool)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or P.shape[0] == 0 or P.shape[1] == 0:
            raise ValueError(f"P must have shape (S, A, S) with S, A >= 1, got {P.shape}.")
        S, A = P.shape[:2]
        if np.any(P < 0) or not np.allclose(P.sum(axis=2), 1.0, rtol=0, atol=1e-10):
            raise ValueError("P must hold probabilities: P[s, a, :] >= 0 summing to 1.")
        if R.shape != (S, A) or not np.all(np.isfinite(R)):
            raise ValueError(f"R must be a finite array of shape (S, A) = {(S, A)}, "
                             f"got shape {R.shape}.")
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, numbers.Real) \
                or not 0.0 <= float(self.gamma) <= 1.0:
            raise ValueError(f"gamma must be a number in [0, 1], got {self.gamma!r}.")
        if terminal.shape != (S,):
            raise ValueError(f"terminal must have shape (S,) = ({S},), got {terminal.shape}.")
        for s in np.flatnonzero(terminal):
            if not np.all(P[s, :, s] == 1.0) or np.any(R[s] != 0.0):
                raise ValueError(f"terminal state {s} must be absorbing (P[s, a, s] = 1) with "
                                 "reward R[s, a] = 0.")
        _check_state(self.start, S, "start")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "terminal", terminal)
        object.__setattr__(self, "gamma", float(self.gamma))
        object.__setattr__(self, "start", int(self.start))

    @property
    def n_states(self) -> int:
        """The number of states ``S``."""
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        """The number of actions ``A``."""
        return self.P.shape[1]


def _check_state(s: object, n: int, name: str) -> None:
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s < n:
        raise ValueError(f"{name} must be a state index in [0, {n}), got {s!r}.")


def _check_v(mdp: TabularMDP, v: object, name: str = "v") -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.shape != (mdp.n_states,):
        raise ValueError(f"{name} must have shape (S,) = ({mdp.n_states},), got {arr.shape}.")
    return arr


def _check_policy(mdp: TabularMDP, policy: object, name: str = "policy") -> np.ndarray:
    pi = np.asarray(policy)
    if pi.shape != (mdp.n_states,) or not np.issubdtype(pi.dtype, np.integer) \
            or np.any(pi < 0) or np.any(pi >= mdp.n_actions):
        raise ValueError(f"{name} must be an integer array of shape ({mdp.n_states},) with "
                         f"actions in [0, {mdp.n_actions}).")
    return pi.astype(int)


def _check_cell(cell: object, rows: int, cols: int, name: str) -> tuple[int, int]:
    try:
        r, c = (int(x) for x in cell)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (row, column) pair, got {cell!r}.") from None
    if not (0 <= r < rows and 0 <= c < cols):
        raise ValueError(f"{name} must be a cell of the {rows} x {cols} grid, got {cell!r}.")
    return r, c


def gridworld(rows: int, cols: int, *, walls=(), goal=None, start=(0, 0), slip: float = 0.0,
              step_reward: float = -1.0, goal_reward: float = 0.0,
              gamma: float = 0.95) -> TabularMDP:
    """A gridworld: move up, right, down or left towards a terminal goal cell.

    The states are the free cells (not walls) in row-major order. Action ``a`` moves one cell in
    direction :data:`ACTIONS` ``[a]`` with probability ``1 - slip`` and in each of the three other
    directions with probability ``slip / 3``; a move into a wall or off the grid stays put. Each
    move earns ``step_reward``, plus ``goal_reward`` when it enters the goal, so
    ``R[s, a] = step_reward + goal_reward * P[s, a, goal]``. The goal is terminal.

    Args:
        rows, cols: the grid's size, positive integers.
        walls: cells ``(row, column)`` that are blocked.
        goal: the terminal cell (default: the bottom-right corner).
        start: the start cell (default: the top-left corner).
        slip: probability in ``[0, 1]`` that a move goes in another direction.
        step_reward: reward of every move (e.g. ``-1``: a cost per step).
        goal_reward: extra reward for the move that enters the goal.
        gamma: the discount, in ``[0, 1]``.

    Returns:
        The :class:`TabularMDP`, with ``cells`` and ``shape`` set.
    """
    rows, cols = positive_int("rows", rows), positive_int("cols", cols)
    wall_set = {_check_cell(w, rows, cols, "each wall") for w in walls}
    goal = _check_cell((rows - 1, cols - 1) if goal is None else goal, rows, cols, "goal")
    start = _check_cell(start, rows, cols, "start")
    if goal in wall_set or start in wall_set:
        raise ValueError("goal and start must not be walls.")
    slip = probability("slip", slip)
    for name, x in (("step_reward", step_reward), ("goal_reward", goal_reward)):
        if not isinstance(x, numbers.Real) or not np.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x!r}.")
    cells = [(r, c) for r in range(rows) for c in range(cols) if (r, c) not in wall_set]
    index = {cell: s for s, cell in enumerate(cells)}
    S, A = len(cells), len(ACTIONS)
    P = np.zeros((S, A, S))
    for s, (r, c) in enumerate(cells):
        if (r, c) == goal:
            P[s, :, s] = 1.0
            continue
        dest = []
        for dr, dc in ACTIONS:
            nxt = (r + dr, c + dc)
            dest.append(index.get(nxt, s))
        for a in range(A):
            for b in range(A):
                P[s, a, dest[b]] += (1.0 - slip) if a == b else slip / (A - 1)
    g = index[goal]
    terminal = np.zeros(S, dtype=bool)
    terminal[g] = True
    R = step_reward + goal_reward * P[:, :, g]
    R[g] = 0.0
    return TabularMDP(P=P, R=R, gamma=gamma, terminal=terminal, start=index[start],
                      cells=np.array(cells, dtype=int), shape=(rows, cols))


def to_grid(mdp: TabularMDP, x: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Lay a vector over the states of a gridworld out on its grid.

    Args:
        mdp: a gridworld (``mdp.cells`` set).
        x: one number per state, shape ``(S,)``.
        fill: the value of the wall cells.

    Returns:
        Array of shape ``mdp.shape`` with ``x[s]`` at ``mdp.cells[s]``.
    """
    if mdp.cells is None or mdp.shape is None:
        raise ValueError("to_grid needs a gridworld (an MDP with cells and shape).")
    x = np.asarray(x)
    if x.shape != (mdp.n_states,):
        raise ValueError(f"x must have shape ({mdp.n_states},), got {x.shape}.")
    out = np.full(mdp.shape, fill, dtype=np.result_type(x, np.asarray(fill)))
    out[mdp.cells[:, 0], mdp.cells[:, 1]] = x
    return out


def q_from_v(mdp: TabularMDP, v: np.ndarray) -> np.ndarray:
    """Action values ``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] v[s']``, shape ``(S, A)``."""
    v = _check_v(mdp, v)
    return mdp.R + mdp.gamma * (mdp.P @ v)


def bellman_optimality(mdp: TabularMDP, v: np.ndarray) -> np.ndarray:
    """One application of the Bellman optimality operator: ``(T v)[s] = max_a Q[s, a]``."""
    return q_from_v(mdp, v).max(axis=1)


def greedy_policy(mdp: TabularMDP, v: np.ndarray) -> np.ndarray:
    """The policy greedy with respect to ``v``: ``argmax_a Q[s, a]``, ties to the lowest action.

    Returns:
        Integer actions, shape ``(S,)``.
    """
    return np.argmax(q_from_v(mdp, v), axis=1)


def value_iteration(mdp: TabularMDP, iters: int, v0: np.ndarray | None = None) -> np.ndarray:
    """Value iteration ``V_{k+1} = T V_k`` with the Bellman optimality operator.

    Args:
        mdp: the MDP.
        iters: the number of iterations ``K``, non-negative.
        v0: the start ``V_0``, shape ``(S,)`` (default zeros).

    Returns:
        The history ``V_0, ..., V_K``, shape ``(K + 1, S)``.
    """
    iters = nonnegative_int("iters", iters)
    v = np.zeros(mdp.n_states) if v0 is None else _check_v(mdp, v0, "v0").copy()
    history = np.empty((iters + 1, mdp.n_states))
    history[0] = v
    for k in range(iters):
        v = bellman_optimality(mdp, v)
        history[k + 1] = v
    return history


def _reaches_terminal(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """Which states reach a terminal state with positive probability under ``policy``."""
    P_pi = mdp.P[np.arange(mdp.n_states), policy] > 0
    reach = mdp.terminal.copy()
    while True:
        new = reach | (P_pi & reach[None, :]).any(axis=1)
        if np.array_equal(new, reach):
            return reach
        reach = new


def policy_evaluation(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """The exact value ``V^pi`` of a deterministic policy, by one linear solve.

    Terminal states have value 0; on the others ``V = (I - gamma P_pi)^{-1} r_pi``.

    Args:
        mdp: the MDP.
        policy: an action per state, shape ``(S,)``.

    Returns:
        ``V^pi``, shape ``(S,)``.

    Raises:
        ValueError: if ``gamma = 1`` and the policy is improper (from some state it never reaches
            a terminal state), so that its value is not finite.
    """
    pi = _check_policy(mdp, policy)
    idx = np.arange(mdp.n_states)
    if mdp.gamma == 1.0 and not _reaches_terminal(mdp, pi).all():
        raise ValueError("with gamma = 1 the policy must be proper: from some state it never "
                         "reaches a terminal state, so its value is not finite.")
    live = ~mdp.terminal
    P_pi = mdp.P[idx, pi][np.ix_(live, live)]
    r_pi = mdp.R[idx, pi][live]
    v = np.zeros(mdp.n_states)
    v[live] = np.linalg.solve(np.eye(int(live.sum())) - mdp.gamma * P_pi, r_pi)
    return v


def policy_iteration(mdp: TabularMDP, policy0: np.ndarray | None = None,
                     max_iters: int = 10_000,
                     tol: float = 1e-12) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Howard's policy iteration: evaluate exactly, improve greedily, stop when stable.

    The improvement keeps the current action in a state unless another action's value beats it
    by more than ``tol * (1 + |V|)`` (so that ties cannot make it cycle).

    Args:
        mdp: the MDP.
        policy0: the first policy, shape ``(S,)`` (default: action 0 everywhere; with
            ``gamma = 1`` it must be proper, see :func:`policy_evaluation`).
        max_iters: a safety cap on the number of improvement steps.
        tol: relative tolerance of the improvement test.

    Returns:
        ``(policies, values)``: the policies ``pi_0, ..., pi_K`` and their values; ``pi_K`` is
        the first policy that improvement leaves unchanged, so ``K`` is the number of improving
        steps.
    """
    pi = np.zeros(mdp.n_states, dtype=int) if policy0 is None else \
        _check_policy(mdp, policy0, "policy0").copy()
    max_iters = nonnegative_int("max_iters", max_iters)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}.")
    idx = np.arange(mdp.n_states)
    policies, values = [pi], [policy_evaluation(mdp, pi)]
    for _ in range(max_iters):
        q = q_from_v(mdp, values[-1])
        best = np.argmax(q, axis=1)
        better = q[idx, best] > q[idx, pi] + tol * (1.0 + np.abs(values[-1]))
        if not better.any():
            return policies, values
        pi = np.where(better, best, pi)
        policies.append(pi)
        values.append(policy_evaluation(mdp, pi))
    raise RuntimeError(f"policy iteration did not stop within max_iters={max_iters} steps.")


def step(mdp: TabularMDP, s: int, a: int, rng: np.random.Generator) -> tuple[float, int, bool]:
    """Sample one transition from state ``s`` under action ``a``.

    Args:
        mdp: the MDP.
        s: the current state.
        a: the action.
        rng: the NumPy generator to draw from.

    Returns:
        ``(reward, next_state, done)``: the expected reward ``R[s, a]`` (the MDP stores expected
        rewards only), ``s'`` drawn from ``P[s, a, :]``, and whether ``s'`` is terminal. From a
        terminal state the step returns ``(0.0, s, True)``.
    """
    _check_state(s, mdp.n_states, "s")
    if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < mdp.n_actions:
        raise ValueError(f"a must be an action in [0, {mdp.n_actions}), got {a!r}.")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed)).")
    cdf = np.cumsum(mdp.P[s, a])
    nxt = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), mdp.n_states - 1)
    return float(mdp.R[s, a]), nxt, bool(mdp.terminal[nxt])
