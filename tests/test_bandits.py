"""Tests of dlscience.bandits against values by hand, SciPy and independent re-computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dlscience import bandits as bd
from dlscience.mdp import TabularMDP, gridworld, q_from_v, value_iteration
from scipy.stats import entropy

MEANS = np.array([0.2, 0.5, 0.45, 0.8])


def test_kl_bernoulli_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    for p, q in rng.uniform(0.01, 0.99, size=(20, 2)):
        assert bd.kl_bernoulli(p, q) == pytest.approx(entropy([p, 1 - p], [q, 1 - q]), rel=1e-12)
    assert bd.kl_bernoulli(0.0, 0.3) == pytest.approx(-math.log(0.7), rel=1e-12)
    assert bd.kl_bernoulli(0.4, 0.4) == 0.0
    assert np.isinf(bd.kl_bernoulli(0.5, 1.0))


def test_lai_robbins_constant_and_ucb1_bound_by_hand() -> None:
    means = np.array([0.5, 0.9])
    kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert bd.lai_robbins_constant(means) == pytest.approx(0.4 / kl, rel=1e-12)
    assert bd.ucb1_bound(means, 100) == pytest.approx(
        8 * math.log(100) / 0.4 + (1 + math.pi**2 / 3) * 0.4, rel=1e-12)


def test_ucb_index_by_hand() -> None:
    idx = bd.ucb1_index(np.array([3.0, 1.0]), np.array([4, 2]), 10)
    expected = [0.75 + math.sqrt(2 * math.log(10) / 4), 0.5 + math.sqrt(2 * math.log(10) / 2)]
    np.testing.assert_allclose(idx, expected, rtol=1e-12)


def test_ucb1_run_pulls_the_arm_of_the_largest_index() -> None:
    run = bd.run_bandit(MEANS, 200, "ucb1", runs=3, rng=np.random.default_rng(1), trace=True)
    K = MEANS.size
    for r in range(3):
        arms, rewards = run.arms[r], run.rewards[r]
        assert list(arms[:K]) == list(range(K))
        for t in range(K, 200):  # round t + 1, after t plays
            n = np.array([np.sum(arms[:t] == a) for a in range(K)])
            s = np.array([np.sum(rewards[:t][arms[:t] == a]) for a in range(K)])
            index = [s[a] / n[a] + math.sqrt(2 * math.log(t) / n[a]) for a in range(K)]
            assert arms[t] == int(np.argmax(index))


def test_thompson_posterior_counts_by_hand() -> None:
    run = bd.run_bandit(MEANS, 300, "thompson", runs=4, rng=np.random.default_rng(2), trace=True)
    for r in range(4):
        for a in range(MEANS.size):
            mask = run.arms[r] == a
            # Posterior Beta(1 + successes, 1 + failures) of arm a from the trace.
            assert run.successes[r, a] == run.rewards[r][mask].sum()
            assert run.pulls[r, a] - run.successes[r, a] == np.sum(1 - run.rewards[r][mask])


def test_regret_decomposition_on_a_seeded_run() -> None:
    gaps = MEANS.max() - MEANS
    for policy, eps in (("eps-greedy", 0.1), ("ucb1", None), ("thompson", None)):
        run = bd.run_bandit(MEANS, 2000, policy, runs=400, rng=np.random.default_rng(3),
                            epsilon=eps)
        # Pseudo-regret is sum_a gap_a N_a(T), run by run.
        np.testing.assert_allclose(run.regret[-1], run.pulls @ gaps, rtol=1e-12)
        assert run.pulls.sum(axis=1) == pytest.approx(2000)
        # The realized regret T mu* - sum X_t has the same mean (Monte Carlo, 5 standard errors).
        diff = run.realized_regret[-1] - run.regret[-1]
        assert abs(diff.mean()) < 5 * diff.std() / math.sqrt(diff.size)


def test_eps_greedy_regret_is_linear_with_the_exploration_slope() -> None:
    eps = 0.2
    run = bd.run_bandit(MEANS, 4000, "eps-greedy", runs=300, rng=np.random.default_rng(4),
                        epsilon=eps, checkpoints=np.array([2000, 4000]))
    slope = np.diff(run.regret.mean(axis=1))[0] / 2000
    lower = eps * (MEANS.max() - MEANS).mean()
    assert lower <= slope <= 1.1 * lower


def test_ucb1_regret_below_its_bound() -> None:
    run = bd.run_bandit(MEANS, 3000, "ucb1", runs=200, rng=np.random.default_rng(5))
    assert np.all(run.regret.mean(axis=1) <= bd.ucb1_bound(MEANS, run.checkpoints))


def _two_state_mdp() -> TabularMDP:
    # State 0: action 0 stays (reward 1); action 1 ends the episode with probability 1/2
    # (reward 2). State 1 is terminal. gamma = 1/2: always taking action 1 is worth
    # V = 2 + V/4, V = 8/3, which beats staying forever (1 / (1 - 1/2) = 2); so V*(0) = 8/3,
    # Q*(0, 1) = 8/3 and Q*(0, 0) = 1 + V*(0)/2 = 7/3 (and Bellman holds: max(7/3, 8/3) = 8/3).
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1] = [0.5, 0.5]
    P[1, :, 1] = 1.0
    R = np.array([[1.0, 2.0], [0.0, 0.0]])
    return TabularMDP(P=P, R=R, gamma=0.5, terminal=np.array([False, True]), start=0)


def test_q_learning_two_state_mdp_converges_to_the_hand_value() -> None:
    run = bd.q_learning(_two_state_mdp(), 40_000, runs=8, rng=np.random.default_rng(6),
                        epsilon=1.0, lr_power=0.6)
    # Off-policy: uniform exploration (epsilon = 1) still learns Q*, not the uniform policy's Q.
    np.testing.assert_allclose(run.q[-1][:, 0], np.tile([7 / 3, 8 / 3], (8, 1)), atol=0.1)
    assert np.all(run.q[-1][:, 1] == 0.0)


def test_q_learning_gridworld_approaches_dp() -> None:
    mdp = gridworld(3, 3, slip=0.1, gamma=0.8)
    q_star = q_from_v(mdp, value_iteration(mdp, 300)[-1])
    run = bd.q_learning(mdp, 30_000, runs=4, rng=np.random.default_rng(7), epsilon=0.3)
    live = ~mdp.terminal
    err = np.abs(run.q[:, :, live] - q_star[live]).max(axis=(2, 3)).mean(axis=1)
    assert err[-1] < 0.1 * err[0]


def test_log_checkpoints() -> None:
    ck = bd.log_checkpoints(1000, 10)
    assert ck[0] == 1 and ck[-1] == 1000 and np.all(np.diff(ck) > 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(means=[0.5], horizon=10, policy="ucb1"), "means"),
    (dict(means=[0.5, 1.2], horizon=10, policy="ucb1"), "means"),
    (dict(means=MEANS, horizon=0, policy="ucb1"), "horizon"),
    (dict(means=MEANS, horizon=10, policy="greedy"), "policy"),
    (dict(means=MEANS, horizon=10, policy="eps-greedy"), "epsilon"),
    (dict(means=MEANS, horizon=10, policy="eps-greedy", epsilon=1.5), "epsilon"),
    (dict(means=MEANS, horizon=10, policy="ucb1", epsilon=0.1), "epsilon"),
    (dict(means=MEANS, horizon=10, policy="ucb1", checkpoints=np.array([5, 20])), "checkpoints"),
])
def test_run_bandit_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bd.run_bandit(runs=2, rng=np.random.default_rng(0), **kwargs)


def test_bad_arguments_elsewhere() -> None:
    with pytest.raises(ValueError, match="runs"):
        bd.run_bandit(MEANS, 10, "ucb1", runs=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=0)
    with pytest.raises(ValueError, match="q"):
        bd.kl_bernoulli(0.5, 1.5)
    with pytest.raises(ValueError, match="counts"):
        bd.ucb1_index(np.ones(2), np.array([1, 0]), 3)
    with pytest.raises(ValueError, match="horizon"):
        bd.ucb1_bound(MEANS, 0)
    mdp = _two_state_mdp()
    with pytest.raises(ValueError, match="lr_power"):
        bd.q_learning(mdp, 10, runs=1, rng=np.random.default_rng(0), lr_power=0.5)
    with pytest.raises(ValueError, match="epsilon"):
        bd.q_learning(mdp, 10, runs=1, rng=np.random.default_rng(0), epsilon=0.0)
    with pytest.raises(ValueError, match="mdp"):
        bd.q_learning("grid", 10, runs=1, rng=np.random.default_rng(0))


def test_argument_checks_come_from_dlscience_checks() -> None:
    # The shared rule: NumPy integers are integers, bools are not; the message names the argument.
    ck = bd.log_checkpoints(np.int64(100), np.int32(5))
    assert ck[-1] == 100
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        bd.log_checkpoints(True, 5)
    with pytest.raises(ValueError, match="epsilon must be a probability in"):
        bd.run_bandit(MEANS, 10, "eps-greedy", runs=1, rng=np.random.default_rng(0),
                      epsilon=-0.1)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        bd.q_learning(_two_state_mdp(), 2.5, runs=1, rng=np.random.default_rng(0))
