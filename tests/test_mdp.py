import numpy as np
import pytest
from dlscience import expressivity as ex
from dlscience import mdp as M
from scipy.sparse.csgraph import dijkstra
from scipy.stats import chisquare


def two_state(gamma=0.9):
    """State 0: stay (reward 1) or move to 1 (reward 0); state 1: stay (reward 2) or move to 0."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 0] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 0.0]])
    return M.TabularMDP(P=P, R=R, gamma=gamma, terminal=np.zeros(2, bool), start=0)


def random_mdp(S=6, A=3, gamma=0.8, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) ** 3
    P /= P.sum(axis=2, keepdims=True)
    return M.TabularMDP(P=P, R=rng.normal(size=(S, A)), gamma=gamma,
                        terminal=np.zeros(S, bool), start=0)


def test_value_iteration_two_state_by_hand():
    h = M.value_iteration(two_state(), 3)
    # V1 = (max(1, 0), max(2, 0)); V2 = (max(1 + .9, .9 * 2), 2 + .9 * 2); V3 = (max(1 + .9 * 1.9,
    # .9 * 3.8), 2 + .9 * 3.8)
    np.testing.assert_allclose(h, [[0, 0], [1, 2], [1.9, 3.8], [3.42, 5.42]], atol=1e-12)
    # V*: in state 1 stay forever (2 / (1 - .9) = 20); in state 0 move (0 + .9 * 20 = 18 > 10)
    v = M.value_iteration(two_state(), 600)[-1]
    np.testing.assert_allclose(v, [18.0, 20.0], atol=1e-9)
    np.testing.assert_array_equal(M.greedy_policy(two_state(), v), [1, 0])
    np.testing.assert_allclose(M.q_from_v(two_state(), v), [[1 + 16.2, 18], [20, 16.2]])


def test_policy_evaluation_matches_matrix_inverse():
    mdp = random_mdp()
    pi = np.array([0, 2, 1, 1, 0, 2])
    idx = np.arange(6)
    P_pi, r_pi = mdp.P[idx, pi], mdp.R[idx, pi]
    expected = np.linalg.inv(np.eye(6) - mdp.gamma * P_pi) @ r_pi
    np.testing.assert_allclose(M.policy_evaluation(mdp, pi), expected, rtol=1e-12)


def test_policy_evaluation_with_terminal_and_gamma_one():
    # a chain 0 -> 1 -> 2 (terminal), reward -1 per move: V = (-2, -1, 0)
    mdp = M.gridworld(1, 3, goal=(0, 2), gamma=1.0)
    np.testing.assert_allclose(M.policy_evaluation(mdp, np.array([1, 1, 0])), [-2, -1, 0])
    with pytest.raises(ValueError, match="proper"):
        M.policy_evaluation(mdp, np.array([3, 1, 0]))   # state 0 walks into the edge forever


def test_policy_and_value_iteration_agree():
    for mdp in (random_mdp(seed=1), M.gridworld(5, 6, walls=[(1, 1), (2, 1), (3, 3)],
                                                 goal=(4, 5), slip=0.2, gamma=0.9)):
        policies, values = M.policy_iteration(mdp)
        v_star = values[-1]
        vi = M.value_iteration(mdp, 400)[-1]
        np.testing.assert_allclose(vi, v_star, atol=1e-8)
        np.testing.assert_array_equal(M.greedy_policy(mdp, v_star), policies[-1])
        # V* is the fixed point of the optimality operator, and values strictly improve
        np.testing.assert_allclose(M.bellman_optimality(mdp, v_star), v_star, atol=1e-10)
        for a, b in zip(values, values[1:]):
            assert np.all(b >= a - 1e-12) and np.any(b > a + 1e-9)


def test_optimality_operator_is_a_gamma_contraction():
    mdp = random_mdp(gamma=0.7, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(50):
        u, v = rng.normal(size=(2, 6)) * 10
        lhs = np.abs(M.bellman_optimality(mdp, u) - M.bellman_optimality(mdp, v)).max()
        assert lhs <= 0.7 * np.abs(u - v).max() + 1e-12


def test_gridworld_rows_sum_to_one_and_geometry():
    mdp = M.gridworld(3, 3, walls=[(1, 1)], goal=(2, 2), start=(0, 0), slip=0.3,
                      step_reward=-1.0, goal_reward=10.0)
    assert mdp.n_states == 8 and mdp.n_actions == 4
    np.testing.assert_allclose(mdp.P.sum(axis=2), 1.0)
    cells = [tuple(c) for c in mdp.cells]
    assert (1, 1) not in cells and cells[0] == (0, 0) and mdp.start == 0
    s = {c: i for i, c in enumerate(cells)}
    # from (0, 0), "right": right .7, down .1, up and left bump into the edge and stay (.2)
    row = mdp.P[s[0, 0], 1]
    assert row[s[0, 1]] == pytest.approx(0.7) and row[s[1, 0]] == pytest.approx(0.1)
    assert row[s[0, 0]] == pytest.approx(0.2) and row.sum() == pytest.approx(1.0)
    # from (0, 1), "down" hits the wall (.7) and a slip up leaves the grid (.1): stays with .8
    assert mdp.P[s[0, 1], 2, s[0, 1]] == pytest.approx(0.8)
    assert mdp.P[s[0, 1], 2, s[0, 0]] == pytest.approx(0.1)
    # the goal is terminal and absorbing with reward 0; entering it pays the goal reward
    g = s[2, 2]
    assert mdp.terminal[g] and mdp.terminal.sum() == 1
    np.testing.assert_array_equal(mdp.P[g, :, g], 1.0)
    np.testing.assert_array_equal(mdp.R[g], 0.0)
    assert mdp.R[s[2, 1], 1] == pytest.approx(-1 + 10 * 0.7)
    assert mdp.R[s[0, 0], 0] == -1.0
    grid = M.to_grid(mdp, np.arange(8.0))
    assert np.isnan(grid[1, 1]) and grid[2, 2] == g and grid[0, 2] == 2


def test_deterministic_gamma_one_matches_shortest_paths():
    walls = [(0, 2), (1, 2), (2, 2), (3, 4), (2, 4), (4, 1)]
    mdp = M.gridworld(5, 6, walls=walls, goal=(0, 5), gamma=1.0)
    cost = np.ones((5, 6))
    for w in walls:
        cost[w] = np.inf
    dist = dijkstra(ex.grid_graph(cost), indices=5)            # from the goal, row-major index
    flat = mdp.cells[:, 0] * 6 + mdp.cells[:, 1]
    hist = M.value_iteration(mdp, 30)
    np.testing.assert_array_equal(hist[-1], -dist[flat])
    ch4 = ex.grid_value_iteration(cost, (0, 5), 30, return_all=True)
    for k in range(31):
        np.testing.assert_array_equal(hist[k], -ch4[k][mdp.cells[:, 0], mdp.cells[:, 1]])


def test_step_frequencies_match_P():
    mdp = M.gridworld(3, 3, walls=[(1, 1)], slip=0.4)
    rng = np.random.default_rng(0)
    n = 20_000
    s, a = 1, 2   # cell (0, 1), "down" into the wall
    counts = np.zeros(mdp.n_states)
    for _ in range(n):
        r, nxt, done = M.step(mdp, s, a, rng)
        counts[nxt] += 1
        assert r == mdp.R[s, a] and done == mdp.terminal[nxt]
    p = mdp.P[s, a]
    assert np.all(counts[p == 0] == 0)
    assert chisquare(counts[p > 0], n * p[p > 0]).pvalue > 1e-3
    g = int(np.flatnonzero(mdp.terminal)[0])
    assert M.step(mdp, g, 0, rng) == (0.0, g, True)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="rows"):
        M.gridworld(0, 3)
    with pytest.raises(ValueError, match="slip"):
        M.gridworld(3, 3, slip=1.5)
    with pytest.raises(ValueError, match="goal"):
        M.gridworld(3, 3, goal=(3, 0))
    with pytest.raises(ValueError, match="walls"):
        M.gridworld(3, 3, walls=[(2, 2)])
    with pytest.raises(ValueError, match="gamma"):
        M.gridworld(3, 3, gamma=1.2)
    P = np.full((2, 1, 2), 0.6)
    with pytest.raises(ValueError, match="P must hold"):
        M.TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.5, terminal=np.zeros(2, bool), start=0)
    mdp = two_state()
    with pytest.raises(ValueError, match="iters"):
        M.value_iteration(mdp, -1)
    with pytest.raises(ValueError, match="v0"):
        M.value_iteration(mdp, 2, v0=np.zeros(3))
    with pytest.raises(ValueError, match="policy"):
        M.policy_evaluation(mdp, np.array([0, 2]))
    with pytest.raises(ValueError, match="s must"):
        M.step(mdp, 5, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        M.step(mdp, 0, 0, 0)
    with pytest.raises(ValueError, match="max_iters"):
        M.policy_iteration(mdp, max_iters=-1)
    with pytest.raises(ValueError, match="tol"):
        M.policy_iteration(mdp, tol="0")
    with pytest.raises(ValueError, match="cols"):
        M.gridworld(3, 2.0)
