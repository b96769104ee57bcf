"""Exploration: multi-armed bandits and tabular Q-learning.

A *Bernoulli bandit* has ``K`` arms with unknown means ``mu_1, ..., mu_K`` in ``[0, 1]``; pulling
arm ``a`` pays 1 with probability ``mu_a`` and 0 otherwise. :func:`run_bandit` plays one of three
policies (:data:`POLICIES`: epsilon-greedy, UCB1, Thompson sampling with Beta(1, 1) priors) for
``T`` rounds in many independent runs at once (arrays of shape ``(runs, K)``) and records the
*pseudo-regret* ``sum_t (mu* - mu_{A_t})`` and the reward collected at chosen checkpoints.
:func:`kl_bernoulli`, :func:`lai_robbins_constant` and :func:`ucb1_bound` give the quantities of
the lower bound of Lai and Robbins and of the finite-time bound of Auer, Cesa-Bianchi and Fischer.

:func:`q_learning` runs Watkins's tabular Q-learning with epsilon-greedy exploration and step
sizes ``1 / n(s, a)^omega`` on a :class:`dlscience.mdp.TabularMDP`, again in many runs at once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from .checks import positive_int, probability
from .mdp import TabularMDP

__all__ = ["POLICIES", "kl_bernoulli", "lai_robbins_constant", "ucb1_bound", "ucb1_index",
           "log_checkpoints", "BanditRun", "run_bandit", "QLearningRun", "q_learning"]

#: The bandit policies :func:`run_bandit` knows: epsilon-greedy with a fixed epsilon, UCB1 of
#: Auer et al. (2002), Thompson sampling with independent Beta(1, 1) priors.
POLICIES: tuple[str, ...] = ("eps-greedy", "ucb1", "thompson")


def _means(means: object) -> np.ndarray:
    arr = np.asarray(means, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"means must be a vector of at least 2 arm means, got shape {arr.shape}.")
    if not np.all((arr >= 0) & (arr <= 1)):
        raise ValueError(f"means must lie in [0, 1] (Bernoulli arms), got {arr.tolist()}.")
    return arr


def _generator(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed)).")
    return rng


def kl_bernoulli(p: float | np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Kullback-Leibler divergence ``KL(Ber(p) || Ber(q)) = p ln(p/q) + (1-p) ln((1-p)/(1-q))``.

    Uses ``0 ln 0 = 0``; the divergence is ``inf`` when ``q`` is 0 or 1 and ``p != q``.

    Args:
        p, q: probabilities in ``[0, 1]`` (broadcast against each other).

    Returns:
        The divergences, a float array of the broadcast shape (0-d for scalars).
    """
    p_arr, q_arr = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    for name, arr in (("p", p_arr), ("q", q_arr)):
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"{name} must hold probabilities in [0, 1], got {arr!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xlogy(p_arr, p_arr) - xlogy(p_arr, q_arr) \
            + xlogy(1 - p_arr, 1 - p_arr) - xlogy(1 - p_arr, 1 - q_arr)
    return np.where(p_arr == q_arr, 0.0, out)


def lai_robbins_constant(means: np.ndarray) -> float:
    """The constant of the Lai-Robbins lower bound for Bernoulli arms,
    ``sum over suboptimal a of (mu* - mu_a) / KL(mu_a, mu*)``.

    Every consistent policy has ``liminf_T E[R_T] / ln T`` at least this constant.

    Args:
        means: the arm means, shape ``(K,)``, in ``[0, 1]``.
    """
    mu = _means(means)
    best = mu.max()
    sub = mu < best
    return float(np.sum((best - mu[sub]) / kl_bernoulli(mu[sub], best)))


def ucb1_bound(means: np.ndarray, horizon: int | np.ndarray) -> np.ndarray:
    """The finite-time regret bound of UCB1 (Auer, Cesa-Bianchi and Fischer 2002, Theorem 1):
    ``8 sum_{a: gap_a > 0} ln T / gap_a + (1 + pi^2 / 3) sum_a gap_a``.

    Args:
        means: the arm means, shape ``(K,)``.
        horizon: the number of rounds ``T`` (an integer >= 1 or an array of them).

    Returns:
        The bound at each horizon, shape of ``horizon``.
    """
    mu = _means(means)
    T = np.asarray(horizon, dtype=float)
    if np.any(T < 1) or not np.all(np.isfinite(T)):
        raise ValueError(f"horizon must be >= 1, got {horizon!r}.")
    gaps = mu.max() - mu
    sub = gaps > 0
    return 8 * np.log(T) * np.sum(1 / gaps[sub]) + (1 + math.pi**2 / 3) * gaps.sum()


def ucb1_index(sums: np.ndarray, counts: np.ndarray, plays: int) -> np.ndarray:
    """The UCB1 index ``sums / counts + sqrt(2 ln(plays) / counts)`` of each arm.

    Args:
        sums: total reward of each arm so far, shape ``(..., K)``.
        counts: pulls of each arm so far, shape ``(..., K)``, all >= 1.
        plays: the number of plays so far (all arms together), >= 1.

    Returns:
        The indices, shape ``(..., K)``.
    """
    counts = np.asarray(counts, dtype=float)
    if np.any(counts < 1):
        raise ValueError("counts must be >= 1: UCB1 pulls every arm once before using its index.")
    plays = positive_int("plays", plays)
    return np.asarray(sums, dtype=float) / counts + np.sqrt(2 * math.log(plays) / counts)


def log_checkpoints(horizon: int, n: int) -> np.ndarray:
    """About ``n`` distinct integer times from 1 to ``horizon``, evenly spaced in ``log t``.

    Returns:
        Sorted unique integers, the last one ``horizon`` (with ``n = 1``, just ``horizon``).
    """
    horizon = positive_int("horizon", horizon)
    n = positive_int("n", n)
    if n == 1:  # geomspace(1, horizon, 1) is [1]: keep the promised last time
        return np.array([horizon], dtype=np.int64)
    return np.unique(np.round(np.geomspace(1, horizon, n)).astype(np.int64))


def _checkpoints(checkpoints: object, horizon: int) -> np.ndarray:
    if checkpoints is None:
        return log_checkpoints(horizon, 50)
    arr = np.asarray(checkpoints)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) \
            or np.any(np.diff(arr) <= 0) or arr[0] < 1 or arr[-1] > horizon:
        raise ValueError(f"checkpoints must be increasing integers in [1, horizon={horizon}].")
    return arr.astype(np.int64)


@dataclass(frozen=True)
class BanditRun:
    """Many independent runs of one bandit policy.

    Attributes:
        policy: the policy's name (one of :data:`POLICIES`).
        means: the arm means, shape ``(K,)``.
        checkpoints: the times ``t`` at which the run was recorded, shape ``(n,)``.
        regret: pseudo-regret ``sum_{s <= t} (mu* - mu_{A_s})`` at each checkpoint and run,
            shape ``(n, runs)``.
        reward: reward collected up to each checkpoint, shape ``(n, runs)``.
        pulls: ``N_a(T)``, pulls of each arm by the end, shape ``(runs, K)``.
        successes: reward collected from each arm by the end, shape ``(runs, K)``.
        arms, rewards: with ``trace=True``, the arm pulled and the reward at every round, shape
            ``(runs, T)``; else None.
    """

    policy: str
    means: np.ndarray
    checkpoints: np.ndarray
    regret: np.ndarray
    reward: np.ndarray
    pulls: np.ndarray
    successes: np.ndarray
    arms: np.ndarray | None = None
    rewards: np.ndarray | None = None

    @property
    def realized_regret(self) -> np.ndarray:
        """``t mu* - (reward collected up to t)`` per checkpoint and run, shape ``(n, runs)``."""
        return self.checkpoints[:, None] * self.means.max() - self.reward


def run_bandit(means: np.ndarray, horizon: int, policy: str, *, runs: int,
               rng: np.random.Generator, epsilon: float | None = None,
               checkpoints: np.ndarray | None = None, trace: bool = False) -> BanditRun:
    """Play a Bernoulli bandit with one policy for ``horizon`` rounds in ``runs`` runs at once.

    Policies (``policy``):

    * ``"eps-greedy"``: pull each arm once; then, each round, with probability ``epsilon`` an arm
      drawn uniformly, else the arm with the highest empirical mean.
    * ``"ucb1"``: pull each arm once; then the arm maximizing :func:`ucb1_index` with ``plays`` =
      the number of rounds played so far (Auer et al. 2002).
    * ``"thompson"``: draw ``theta_a ~ Beta(1 + S_a, 1 + N_a - S_a)`` (the posterior of a uniform
      prior after ``S_a`` successes in ``N_a`` pulls) for every arm, pull the largest.

    Ties go to the lowest arm index. Each run is independent; all draw from ``rng``.

    Args:
        means: the arm means, shape ``(K,)``, in ``[0, 1]``.
        horizon: the number of rounds ``T``.
        policy: one of :data:`POLICIES`.
        runs: the number of independent runs.
        rng: the NumPy generator.
        epsilon: the exploration probability of ``"eps-greedy"`` (required for it only).
        checkpoints: increasing times in ``[1, T]`` at which to record the regret (default
            :func:`log_checkpoints` ``(T, 50)``).
        trace: also keep every arm and reward (memory ``runs * T``; for small runs only).

    Returns:
        A :class:`BanditRun`.
    """
    mu = _means(means)
    T = positive_int("horizon", horizon)
    runs = positive_int("runs", runs)
    rng = _generator(rng)
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}.")
    if policy == "eps-greedy":
        if epsilon is None:
            raise ValueError("policy 'eps-greedy' needs epsilon=, a probability in [0, 1].")
        epsilon = probability("epsilon", epsilon)
    elif epsilon is not None:
        raise ValueError(f"epsilon= only goes with policy 'eps-greedy', not {policy!r}.")
    ckpts = _checkpoints(checkpoints, T)
    K = mu.size
    gaps = mu.max() - mu
    rows = np.arange(runs)
    pulls = np.zeros((runs, K))
    sums = np.zeros((runs, K))
    regret = np.zeros(runs)
    reward = np.zeros(runs)
    out_regret = np.empty((ckpts.size, runs))
    out_reward = np.empty((ckpts.size, runs))
    arms_tr = np.empty((runs, T), dtype=np.int64) if trace else None
    rewards_tr = np.empty((runs, T), dtype=np.int64) if trace else None
    j = 0
    for t in range(1, T + 1):
        if policy == "thompson":
            arm = np.argmax(rng.beta(1 + sums, 1 + pulls - sums), axis=1)
        elif t <= K:
            arm = np.full(runs, t - 1)
        elif policy == "ucb1":
            arm = np.argmax(sums / pulls + np.sqrt(2 * math.log(t - 1) / pulls), axis=1)
        else:
            greedy = np.argmax(sums / pulls, axis=1)
            explore = rng.random(runs) < epsilon
            arm = np.where(explore, rng.integers(K, size=runs), greedy)
        x = rng.random(runs) < mu[arm]
        pulls[rows, arm] += 1
        sums[rows, arm] += x
        regret += gaps[arm]
        reward += x
        if trace:
            arms_tr[:, t - 1] = arm
            rewards_tr[:, t - 1] = x
        if t == ckpts[j]:
            out_regret[j], out_reward[j] = regret, reward
            j += 1
    return BanditRun(policy=policy, means=mu, checkpoints=ckpts, regret=out_regret,
                     reward=out_reward, pulls=pulls, successes=sums, arms=arms_tr,
                     rewards=rewards_tr)


@dataclass(frozen=True)
class QLearningRun:
    """Many independent runs of tabular Q-learning.

    Attributes:
        checkpoints: the steps ``t`` at which ``Q_t`` was recorded, shape ``(n,)``.
        q: ``Q_t`` at each checkpoint and run, shape ``(n, runs, S, A)``.
        visits: updates of each state-action pair by the end, shape ``(runs, S, A)``.
        episodes: episodes completed by the end, shape ``(runs,)``.
    """

    checkpoints: np.ndarray
    q: np.ndarray
    visits: np.ndarray
    episodes: np.ndarray


def q_learning(mdp: TabularMDP, steps: int, *, runs: int, rng: np.random.Generator,
               epsilon: float = 0.1, lr_power: float = 0.6,
               checkpoints: np.ndarray | None = None) -> QLearningRun:
    """Tabular Q-learning (Watkins 1989) with epsilon-greedy exploration, ``runs`` runs at once.

    Every run starts at ``mdp.start`` with ``Q_0 = 0``. At each step, in state ``s``, it takes a
    uniformly random action with probability ``epsilon`` and ``argmax_a Q(s, a)`` otherwise
    (ties to the lowest action), observes the reward ``R[s, a]`` and ``s' ~ P[s, a, :]``, and
    updates

        Q(s, a) <- Q(s, a) + alpha_n (R[s, a] + gamma max_b Q(s', b) - Q(s, a)),

    with ``max_b Q(s', b) = 0`` if ``s'`` is terminal and ``alpha_n = n^(-lr_power)``, ``n`` the
    number of updates of ``(s, a)`` so far, this one included. For ``1/2 < lr_power <= 1`` these
    steps satisfy the Robbins-Monro conditions ``sum_n alpha_n = inf``, ``sum_n alpha_n^2 < inf``.
    On reaching a terminal state the run starts a new episode at ``mdp.start``. Transitions are
    drawn like :func:`dlscience.mdp.step` draws them.

    Args:
        mdp: the MDP (``mdp.start`` must not be terminal).
        steps: the number of steps (updates) per run.
        runs: the number of independent runs.
        rng: the NumPy generator.
        epsilon: the exploration probability, in ``(0, 1]``.
        lr_power: the exponent ``omega`` of the step sizes, in ``(1/2, 1]``.
        checkpoints: increasing steps in ``[1, steps]`` at which to record ``Q`` (default
            :func:`log_checkpoints` ``(steps, 50)``).

    Returns:
        A :class:`QLearningRun`.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError("mdp must be a dlscience.mdp.TabularMDP.")
    steps = positive_int("steps", steps)
    runs = positive_int("runs", runs)
    rng = _generator(rng)
    epsilon = probability("epsilon", epsilon)
    if epsilon == 0:
        raise ValueError("epsilon must be > 0: without exploration Q-learning need not converge.")
    if isinstance(lr_power, bool) or not isinstance(lr_power, numbers.Real) \
            or not 0.5 < float(lr_power) <= 1.0:
        raise ValueError(f"lr_power must be in (1/2, 1] (Robbins-Monro step sizes), "
                         f"got {lr_power!r}.")
    if mdp.terminal[mdp.start]:
        raise ValueError("mdp.start must not be a terminal state.")
    ckpts = _checkpoints(checkpoints, steps)
    S, A = mdp.n_states, mdp.n_actions
    cdf = np.cumsum(mdp.P, axis=2)
    rows = np.arange(runs)
    q = np.zeros((runs, S, A))
    visits = np.zeros((runs, S, A))
    episodes = np.zeros(runs, dtype=np.int64)
    s = np.full(runs, mdp.start)
    out = np.empty((ckpts.size, runs, S, A))
    j = 0
    for t in range(1, steps + 1):
        greedy = np.argmax(q[rows, s], axis=1)
        explore = rng.random(runs) < epsilon
        a = np.where(explore, rng.integers(A, size=runs), greedy)
        c = cdf[s, a]
        nxt = np.minimum((c <= (rng.random(runs) * c[:, -1])[:, None]).sum(axis=1), S - 1)
        done = mdp.terminal[nxt]
        target = mdp.R[s, a] + mdp.gamma * np.where(done, 0.0, q[rows, nxt].max(axis=1))
        visits[rows, s, a] += 1
        q[rows, s, a] += visits[rows, s, a] ** (-lr_power) * (target - q[rows, s, a])
        episodes += done
        s = np.where(done, mdp.start, nxt)
        if t == ckpts[j]:
            out[j] = q
            j += 1
    return QLearningRun(checkpoints=ckpts, q=out, visits=visits, episodes=episodes)
