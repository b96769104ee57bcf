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


# ---------------------------------------------------------------------------------------------
# Argument checks: exact messages, which start with the argument's name, and exact boundaries.

def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


_CK = r"checkpoints must be increasing integers in \[1, horizon=10\]\.$"


@pytest.mark.parametrize("call, message", [
    (lambda: bd.lai_robbins_constant([0.5]),
     r"means must be a vector of at least 2 arm means, got shape \(1,\)\.$"),
    (lambda: bd.lai_robbins_constant([[0.1, 0.2], [0.3, 0.4]]),
     r"means must be a vector of at least 2 arm means, got shape \(2, 2\)\.$"),
    (lambda: bd.ucb1_bound([0.5, 1.2], 10),
     r"means must lie in \[0, 1\] \(Bernoulli arms\), got \[0\.5, 1\.2\]\.$"),
    (lambda: bd.ucb1_bound([-0.1, 0.5], 10), r"means must lie in \[0, 1\]"),
    (lambda: bd.ucb1_bound([0.2, 0.5], 0), r"horizon must be >= 1, got 0\.$"),
    (lambda: bd.ucb1_bound([0.2, 0.5], [5, 0.5]), r"horizon must be >= 1, got \[5, 0\.5\]\.$"),
    (lambda: bd.ucb1_bound([0.2, 0.5], math.inf), r"horizon must be >= 1, got inf\.$"),
    (lambda: bd.kl_bernoulli(1.5, 0.5), r"p must hold probabilities in \[0, 1\], got "
     r"array\(1\.5\)\.$"),
    (lambda: bd.kl_bernoulli(0.5, -0.2), r"q must hold probabilities in \[0, 1\]"),
    (lambda: bd.ucb1_index([1.0, 1.0], [1, 0], 3),
     r"counts must be >= 1: UCB1 pulls every arm once before using its index\.$"),
    (lambda: bd.ucb1_index([1.0, 1.0], [1, 1], 0), r"plays must be a positive integer, got 0\."),
    (lambda: bd.log_checkpoints(0, 5), r"horizon must be a positive integer, got 0\."),
    (lambda: bd.log_checkpoints(10, 0), r"n must be a positive integer, got 0\."),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=0),
     r"rng must be a numpy\.random\.Generator \(np\.random\.default_rng\(seed\)\)\.$"),
    (lambda: bd.run_bandit(MEANS, 0, "ucb1", runs=1, rng=_rng()),
     r"horizon must be a positive integer, got 0\."),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=0, rng=_rng()),
     r"runs must be a positive integer, got 0\."),
    (lambda: bd.run_bandit(MEANS, 10, "greedy", runs=1, rng=_rng()),
     r"policy must be one of \('eps-greedy', 'ucb1', 'thompson'\), got 'greedy'\.$"),
    (lambda: bd.run_bandit(MEANS, 10, "eps-greedy", runs=1, rng=_rng()),
     r"policy 'eps-greedy' needs epsilon=, a probability in \[0, 1\]\.$"),
    (lambda: bd.run_bandit(MEANS, 10, "eps-greedy", runs=1, rng=_rng(), epsilon=1.5),
     r"epsilon must be a probability in \[0, 1\], got 1\.5\."),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), epsilon=0.1),
     r"epsilon= only goes with policy 'eps-greedy', not 'ucb1'\.$"),
    (lambda: bd.run_bandit(MEANS, 10, "thompson", runs=1, rng=_rng(), epsilon=0.0),
     r"epsilon= only goes with policy 'eps-greedy', not 'thompson'\.$"),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), checkpoints=[0, 5]), _CK),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), checkpoints=[1, 1, 5]), _CK),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), checkpoints=[3, 2]), _CK),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), checkpoints=[1, 5, 11]), _CK),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), checkpoints=[2.0, 5.0]), _CK),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(), checkpoints=[[1, 2]]), _CK),
    (lambda: bd.run_bandit(MEANS, 10, "ucb1", runs=1, rng=_rng(),
                           checkpoints=np.array([], dtype=np.int64)), _CK),
])
def test_bandit_argument_errors_name_the_argument(call, message) -> None:
    """Each bad argument raises a ValueError whose message starts with the argument's name."""
    with pytest.raises(ValueError, match="^" + message):
        call()


def _one_step_mdp(start_terminal: bool = False) -> TabularMDP:
    # State 0 has two actions, both ending the episode in the terminal state 1, with rewards
    # 1 and 3; gamma = 0.9 (irrelevant: the next state is always terminal).
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    R = np.array([[1.0, 3.0], [0.0, 0.0]])
    return TabularMDP(P=P, R=R, gamma=0.9, terminal=np.array([False, True]),
                      start=1 if start_terminal else 0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mdp="grid"), r"mdp must be a dlscience\.mdp\.TabularMDP\.$"),
    (dict(steps=0), r"steps must be a positive integer, got 0\."),
    (dict(runs=0), r"runs must be a positive integer, got 0\."),
    (dict(rng=1), r"rng must be a numpy\.random\.Generator"),
    (dict(epsilon=1.5), r"epsilon must be a probability in \[0, 1\], got 1\.5\."),
    (dict(epsilon=0.0),
     r"epsilon must be > 0: without exploration Q-learning need not converge\.$"),
    (dict(lr_power=0.5), r"lr_power must be in \(1/2, 1\] \(Robbins-Monro step sizes\), "
     r"got 0\.5\.$"),
    (dict(lr_power=1.5), r"lr_power must be in \(1/2, 1\]"),
    (dict(lr_power=True), r"lr_power must be in \(1/2, 1\]"),
    (dict(lr_power="0.7"), r"lr_power must be in \(1/2, 1\]"),
    (dict(mdp=_one_step_mdp(start_terminal=True)), r"mdp\.start must not be a terminal state\.$"),
    (dict(checkpoints=np.array([2, 11])), _CK),
])
def test_q_learning_argument_errors_name_the_argument(kwargs: dict, message: str) -> None:
    """q_learning's checks, one bad argument at a time, with anchored messages."""
    args = dict(mdp=_one_step_mdp(), steps=10, runs=1, rng=_rng()) | kwargs
    with pytest.raises(ValueError, match="^" + message):
        bd.q_learning(args.pop("mdp"), args.pop("steps"), **args)


def test_boundary_arguments_are_accepted() -> None:
    """Means 0 and 1, two arms, horizon 1, counts 1, plays 1 and tight checkpoints are valid."""
    # means [0, 1]: one gap of 1, so the bound at T = 1 is (1 + pi^2/3) * 1 (ln 1 = 0).
    assert bd.ucb1_bound([0.0, 1.0], 1) == pytest.approx(1 + math.pi**2 / 3, rel=1e-14)
    assert bd.ucb1_bound(np.array([1.0, 0.0]), np.array([1])).tolist() == \
        pytest.approx([1 + math.pi**2 / 3])
    # plays = 1: ln 1 = 0, the index is the empirical mean.
    assert bd.ucb1_index([1.0, 3.0], [1, 4], 1).tolist() == [1.0, 0.75]
    run = bd.run_bandit([0.0, 1.0], 10, "ucb1", runs=1, rng=_rng(),
                        checkpoints=np.array([1, 2, 3, 10], dtype=np.int32))
    assert run.checkpoints.dtype == np.int64 and run.checkpoints.tolist() == [1, 2, 3, 10]
    q = bd.q_learning(_one_step_mdp(), 3, runs=1, rng=_rng(), epsilon=1.0, lr_power=1.0,
                      checkpoints=[1, 2, 3])
    assert q.checkpoints.tolist() == [1, 2, 3]
    assert bd.q_learning(_one_step_mdp(), 2, runs=1, rng=_rng(), lr_power=0.51).q.shape == \
        (2, 1, 2, 2)


# ---------------------------------------------------------------------------------------------
# Values against hand computations and independent references.

def test_kl_bernoulli_edges_and_broadcasting() -> None:
    """KL at the edges of [0, 1] by hand, with no floating-point warnings; broadcast shapes."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bd.kl_bernoulli(1.0, 0.5) == pytest.approx(math.log(2), rel=1e-14)
        assert bd.kl_bernoulli(0.0, 0.5) == pytest.approx(math.log(2), rel=1e-14)
        assert bd.kl_bernoulli(0.0, 0.0) == 0.0 and bd.kl_bernoulli(1.0, 1.0) == 0.0
        assert np.isinf(bd.kl_bernoulli(0.0, 1.0)) and np.isinf(bd.kl_bernoulli(0.3, 0.0))
        out = bd.kl_bernoulli(np.array([0.1, 0.3, 0.6]), 0.3)
    assert out.shape == (3,) and out[1] == 0.0
    assert out[0] == pytest.approx(entropy([0.1, 0.9], [0.3, 0.7]), rel=1e-12)
    assert out[2] == pytest.approx(entropy([0.6, 0.4], [0.3, 0.7]), rel=1e-12)


def test_lai_robbins_constant_with_tied_best_arms() -> None:
    """Two arms share the best mean: only the strictly worse arm counts (hand computation)."""
    kl = 0.3 * math.log(0.3 / 0.7) + 0.7 * math.log(0.7 / 0.3)
    assert bd.lai_robbins_constant([0.3, 0.7, 0.7]) == pytest.approx(0.4 / kl, rel=1e-12)
    kl2 = 0.2 * math.log(0.2 / 0.7) + 0.8 * math.log(0.8 / 0.3)
    assert bd.lai_robbins_constant([0.3, 0.2, 0.7]) == pytest.approx(0.4 / kl + 0.5 / kl2,
                                                                     rel=1e-12)


def test_ucb1_bound_three_arms_by_hand() -> None:
    """Gaps 0.5 and 0.2 (and 0): 8 ln T (1/0.5 + 1/0.2) + (1 + pi^2/3) * 0.7, for two T."""
    got = bd.ucb1_bound([0.3, 0.8, 0.6], np.array([10, 1000]))
    expected = [8 * math.log(t) * (2 + 5) + (1 + math.pi**2 / 3) * 0.7 for t in (10, 1000)]
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_ucb1_index_batched_by_hand() -> None:
    """A (2, 2) batch of indices: mean plus sqrt(2 ln 20 / n)."""
    idx = bd.ucb1_index(np.array([[1, 2], [0, 5]]), np.array([[2, 4], [1, 5]]), 20)
    bonus = [[math.sqrt(2 * math.log(20) / n) for n in row] for row in ((2, 4), (1, 5))]
    np.testing.assert_allclose(idx, np.array([[0.5, 0.5], [0.0, 1.0]]) + bonus, rtol=1e-13)


def test_log_checkpoints_exact_values() -> None:
    """Powers of ten for geometric spacing; all times when n exceeds the horizon."""
    assert bd.log_checkpoints(1000, 4).tolist() == [1, 10, 100, 1000]
    assert bd.log_checkpoints(100, 3).tolist() == [1, 10, 100]
    assert bd.log_checkpoints(8, 50).tolist() == list(range(1, 9))
    assert bd.log_checkpoints(1000, 4).dtype == np.int64
    # one time: the horizon, as the docstring promises (geomspace alone would give [1])
    assert bd.log_checkpoints(100, 1).tolist() == [100]
    assert bd.log_checkpoints(100, 1).dtype == np.int64


def _replay_bandit(means: np.ndarray, horizon: int, policy: str, runs: int, seed: int,
                   epsilon: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The documented policies, one round at a time, drawing from the generator in the
    documented order (the policy's draws, then one uniform per run for the reward)."""
    rng = np.random.default_rng(seed)
    K = len(means)
    n = np.zeros((runs, K))
    s = np.zeros((runs, K))
    arms = np.zeros((runs, horizon), dtype=np.int64)
    rewards = np.zeros((runs, horizon), dtype=np.int64)
    for t in range(1, horizon + 1):
        if policy == "thompson":
            arm = np.argmax(rng.beta(1 + s, 1 + n - s), axis=1)
        elif t <= K:
            arm = np.full(runs, t - 1)
        elif policy == "ucb1":
            arm = np.array([np.argmax(bd.ucb1_index(s[r], n[r], t - 1)) for r in range(runs)])
        else:
            u = rng.random(runs)
            uniform = rng.integers(K, size=runs)
            arm = np.array([uniform[r] if u[r] < epsilon else np.argmax(s[r] / n[r])
                            for r in range(runs)])
        x = (rng.random(runs) < means[arm]).astype(np.int64)
        for r in range(runs):
            n[r, arm[r]] += 1
            s[r, arm[r]] += x[r]
        arms[:, t - 1], rewards[:, t - 1] = arm, x
    return arms, rewards


@pytest.mark.parametrize("policy, eps", [("eps-greedy", 0.3), ("ucb1", None), ("thompson", None)])
def test_run_bandit_matches_a_round_by_round_replay(policy: str, eps: float | None) -> None:
    """Arms, rewards, counts, regret and reward at checkpoints against a plain-loop replay."""
    means = np.array([0.3, 0.6, 0.5])
    T, runs = 40, 3
    ck = np.array([1, 2, 3, 7, 40])
    run = bd.run_bandit(means, T, policy, runs=runs, rng=np.random.default_rng(11), epsilon=eps,
                        checkpoints=ck, trace=True)
    arms, rewards = _replay_bandit(means, T, policy, runs, 11, eps)
    assert run.arms.dtype == np.int64 and run.rewards.dtype == np.int64
    np.testing.assert_array_equal(run.arms, arms)
    np.testing.assert_array_equal(run.rewards, rewards)
    assert run.policy == policy and run.means.tolist() == means.tolist()
    assert run.checkpoints.tolist() == ck.tolist()
    gaps = means.max() - means
    for j, t in enumerate(ck):
        np.testing.assert_allclose(run.regret[j], gaps[arms[:, :t]].sum(axis=1), rtol=1e-12)
        np.testing.assert_array_equal(run.reward[j], rewards[:, :t].sum(axis=1))
    for a in range(3):
        np.testing.assert_array_equal(run.pulls[:, a], (arms == a).sum(axis=1))
        np.testing.assert_array_equal(run.successes[:, a], (rewards * (arms == a)).sum(axis=1))
    np.testing.assert_allclose(run.realized_regret, ck[:, None] * 0.6 - run.reward)


def test_run_bandit_defaults_no_trace_and_log_checkpoints() -> None:
    """trace defaults to False (no arms or rewards kept); checkpoints default to
    log_checkpoints(T, 50); the deterministic arms 0 and 1 give regret = pulls of arm 0."""
    run = bd.run_bandit([0.0, 1.0], 500, "eps-greedy", runs=2, rng=_rng(), epsilon=0.0)
    assert run.arms is None and run.rewards is None
    np.testing.assert_array_equal(run.checkpoints, bd.log_checkpoints(500, 50))
    # epsilon = 0: arm 0 once (reward 0), arm 1 once (reward 1), then greedy arm 1 forever.
    np.testing.assert_array_equal(run.pulls, [[1, 499], [1, 499]])
    assert np.all(run.regret == 1.0)
    np.testing.assert_array_equal(run.reward[:, 0], run.checkpoints - 1)


def test_q_learning_greedy_ties_and_one_step_values() -> None:
    """One-step episodes: Q(0, a) = R[0, a] after one update (alpha_1 = 1). A nearly greedy
    learner breaks the initial tie towards action 0 and keeps it; a uniform one tries both."""
    mdp = _one_step_mdp()
    greedy = bd.q_learning(mdp, 50, runs=2, rng=_rng(), epsilon=1e-12, checkpoints=[1, 50])
    np.testing.assert_array_equal(greedy.q[:, :, 0], np.tile([1.0, 0.0], (2, 2, 1)))
    np.testing.assert_array_equal(greedy.visits[:, 0], [[50, 0], [50, 0]])
    assert greedy.episodes.tolist() == [50, 50] and greedy.episodes.dtype == np.int64
    uniform = bd.q_learning(mdp, 60, runs=3, rng=_rng(), epsilon=1.0)
    np.testing.assert_array_equal(uniform.q[-1][:, 0], np.tile([1.0, 3.0], (3, 1)))
    assert np.all(uniform.q[-1][:, 1] == 0.0) and np.all(uniform.visits[:, 1] == 0)
    assert np.all(uniform.visits[:, 0].sum(axis=1) == 60) and np.all(uniform.visits[:, 0] > 5)
    # Default checkpoints: log-spaced integers from 1 to the number of steps.
    ck = uniform.checkpoints
    assert ck[0] == 1 and ck[-1] == 60 and np.all(np.diff(ck) > 0)
    assert uniform.q.shape == (uniform.checkpoints.size, 3, 2, 2)


def test_q_learning_second_step_uses_the_step_size_power() -> None:
    """State 0 stays with probability 1/2, else ends; reward 1, gamma 1, one action. Step 1
    gives Q = 1 (alpha_1 = 1); step 2 gives Q = 1 + 2^-omega (target 2) if the run stayed,
    else Q = 1 (target 1). The default omega is 0.6 and the staying fraction is 1/2."""
    P = np.zeros((2, 1, 2))
    P[0, 0] = [0.5, 0.5]
    P[1, 0, 1] = 1.0
    mdp = TabularMDP(P=P, R=np.array([[1.0], [0.0]]), gamma=1.0,
                     terminal=np.array([False, True]), start=0)
    runs = 2000
    run = bd.q_learning(mdp, 2, runs=runs, rng=np.random.default_rng(3), checkpoints=[1, 2])
    assert np.all(run.q[0, :, 0, 0] == 1.0)
    q2 = run.q[1, :, 0, 0]
    stayed = q2 > 1.0
    np.testing.assert_allclose(q2[stayed], 1 + 2**-0.6, rtol=1e-14)
    assert np.all(q2[~stayed] == 1.0)
    assert np.all(run.visits[:, 0, 0] == 2)
    # stayed at step 2 <=> no episode ended at step 2; P = 1/2 each (5 standard errors).
    assert abs(stayed.mean() - 0.5) < 5 * 0.5 / math.sqrt(runs)
    assert abs(run.episodes.mean() - 1.0) < 5 * math.sqrt(0.5) / math.sqrt(runs)


def test_q_learning_transition_law_matches_p() -> None:
    """Next states follow P[s, a, :]: from 0, stay 0.2, terminal 0.3, state 2 0.5; so after two
    steps the pair (2, 0) has been updated in half the runs (Monte Carlo, 5 standard errors)."""
    P = np.zeros((3, 1, 3))
    P[0, 0] = [0.2, 0.3, 0.5]
    P[1, 0, 1] = 1.0
    P[2, 0, 1] = 1.0
    mdp = TabularMDP(P=P, R=np.zeros((3, 1)), gamma=0.9,
                     terminal=np.array([False, True, False]), start=0)
    runs = 4000
    run = bd.q_learning(mdp, 2, runs=runs, rng=np.random.default_rng(5))
    frac = run.visits[:, 2, 0].mean()
    assert abs(frac - 0.5) < 5 * 0.5 / math.sqrt(runs)
    # step 1 ends w.p. 0.3; step 2 ends from state 2 (w.p. 0.5) or from 0 (0.5 * 0.3): 0.95.
    assert abs(run.episodes.mean() - 0.95) < 5 * 0.7 / math.sqrt(runs)


def test_q_learning_explores_independently_in_each_run() -> None:
    """With epsilon = 1/2 and Q tied at 0, one step picks action 1 with probability
    1/2 * 1/2 = 1/4 in each run, independently (Monte Carlo over 4000 runs, 5 standard errors)."""
    runs = 4000
    run = bd.q_learning(_one_step_mdp(), 1, runs=runs, rng=np.random.default_rng(9),
                        epsilon=0.5)
    frac = run.visits[:, 0, 1].mean()
    assert abs(frac - 0.25) < 5 * math.sqrt(0.25 * 0.75 / runs)


def test_q_learning_greedy_choice_is_per_run() -> None:
    """Once a run has tried action 1 (Q = 3 > 1), its greedy choice is action 1, so with
    epsilon = 1/2 it takes action 1 in about 3/4 of the later steps; runs differ, and each
    run's argmax is taken over its own actions."""
    run = bd.q_learning(_one_step_mdp(), 40, runs=200, rng=np.random.default_rng(4),
                        epsilon=0.5)
    assert np.all(np.isin(run.q[-1][:, 0], [0.0, 1.0, 3.0]))
    assert run.visits[:, 0, 1].mean() > 0.6 * 40
    assert np.all(run.visits[:, 0].sum(axis=1) == 40)
