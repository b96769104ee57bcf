import re
from fractions import Fraction

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


# --- exact argument checks, defaults and edge cases --------------------------------------------

def _raises(exc: type[Exception], msg: str):
    """pytest.raises matching the whole message exactly (argument name and expectation)."""
    return pytest.raises(exc, match="^" + re.escape(msg) + "$")


def _mdp(P, R, gamma=0.5, terminal=(False, False), start=0):
    return M.TabularMDP(P=P, R=R, gamma=gamma, terminal=np.asarray(terminal), start=start)


def _absorbing(S=2, A=1):
    """Every action stays put: P[s, a, s] = 1."""
    P = np.zeros((S, A, S))
    P[np.arange(S), :, np.arange(S)] = 1.0
    return P


@pytest.mark.parametrize("shape", [(2, 2), (2, 1, 3), (0, 1, 0), (2, 0, 2), (1, 1, 1, 1)])
def test_tabular_mdp_rejects_bad_P_shape(shape):
    """P must be (S, A, S) with S, A >= 1; the message names P and the shape received."""
    with _raises(ValueError, f"P must have shape (S, A, S) with S, A >= 1, got {shape}."):
        _mdp(np.ones(shape), np.zeros((2, 1)))


def test_tabular_mdp_probability_checks():
    """Rows of P must be non-negative and sum to 1 within 1e-10 (absolute)."""
    msg = "P must hold probabilities: P[s, a, :] >= 0 summing to 1."
    with _raises(ValueError, msg):                        # sums to 1 but has a negative entry
        _mdp(np.array([[[1.5, -0.5]], [[0.0, 1.0]]]), np.zeros((2, 1)))
    with _raises(ValueError, msg):                        # off by 1e-9 > 1e-10
        _mdp(np.array([[[0.5, 0.5 + 1e-9]], [[0.0, 1.0]]]), np.zeros((2, 1)))
    mdp = _mdp(np.array([[[0.5, 0.5 + 2e-11]], [[0.0, 1.0]]]), np.zeros((2, 1)))
    assert mdp.n_states == 2 and mdp.n_actions == 1


@pytest.mark.parametrize("R", [np.zeros((2, 2)), np.zeros(2), np.array([[0.0], [np.inf]]),
                               np.array([[np.nan], [0.0]])])
def test_tabular_mdp_rejects_bad_R(R):
    """R must be finite of shape (S, A); the message gives the expected and received shapes."""
    with _raises(ValueError, f"R must be a finite array of shape (S, A) = (2, 1), "
                             f"got shape {R.shape}."):
        _mdp(_absorbing(), R)


@pytest.mark.parametrize("gamma", [True, "0.5", -0.01, 1.01, np.nan])
def test_tabular_mdp_rejects_bad_gamma(gamma):
    """gamma must be a real number (not bool) in [0, 1]."""
    with _raises(ValueError, f"gamma must be a number in [0, 1], got {gamma!r}."):
        _mdp(_absorbing(), np.zeros((2, 1)), gamma=gamma)


def test_tabular_mdp_converts_its_fields():
    """Integer / list input is stored as float P, R, gamma, bool terminal and int start."""
    P = np.array([[[1, 0]], [[0, 1]]])                    # integers
    mdp = M.TabularMDP(P=P, R=[[2], [0]], gamma=1, terminal=[0, 1], start=np.int64(0))
    assert mdp.P.dtype == np.float64 and mdp.R.dtype == np.float64
    assert mdp.terminal.dtype == bool and mdp.terminal.tolist() == [False, True]
    assert type(mdp.gamma) is float and mdp.gamma == 1.0
    assert type(mdp.start) is int and mdp.start == 0
    assert mdp.cells is None and mdp.shape is None
    # boundary discounts are accepted
    assert _mdp(_absorbing(), np.zeros((2, 1)), gamma=0).gamma == 0.0


def test_tabular_mdp_terminal_checks():
    """terminal has shape (S,); a terminal state must be absorbing and pay reward 0."""
    with _raises(ValueError, "terminal must have shape (S,) = (2,), got (3,)."):
        _mdp(_absorbing(), np.zeros((2, 1)), terminal=[False, False, True])
    msg = "terminal state 1 must be absorbing (P[s, a, s] = 1) with reward R[s, a] = 0."
    with _raises(ValueError, msg):                        # pays a reward
        _mdp(_absorbing(), np.array([[1.0], [0.5]]), terminal=[False, True])
    P = _absorbing()
    P[1, 0] = [0.5, 0.5]
    with _raises(ValueError, msg):                        # not absorbing
        _mdp(P, np.zeros((2, 1)), terminal=[False, True])
    # non-terminal states may have rewards
    assert _mdp(_absorbing(), np.array([[1.0], [0.0]]), terminal=[False, True]).R[0, 0] == 1.0


@pytest.mark.parametrize("start", [-1, 2, True, 1.0, "0"])
def test_tabular_mdp_rejects_bad_start(start):
    """start must be an integer state index in [0, S)."""
    with _raises(ValueError, f"start must be a state index in [0, 2), got {start!r}."):
        _mdp(_absorbing(), np.zeros((2, 1)), start=start)


def test_tabular_mdp_accepts_last_state_as_start():
    """start = S - 1 is a valid state (the upper bound is exclusive)."""
    assert _mdp(_absorbing(), np.zeros((2, 1)), start=1).start == 1


def test_gridworld_defaults_by_hand():
    """gridworld(1, 2) with every default: goal (0, 1), start (0, 0), no slip, reward -1,
    goal reward 0, gamma 0.95; the states are the cells in row-major order."""
    mdp = M.gridworld(1, 2)
    assert mdp.shape == (1, 2) and mdp.cells.tolist() == [[0, 0], [0, 1]]
    assert mdp.gamma == 0.95 and mdp.start == 0 and mdp.terminal.tolist() == [False, True]
    # from state 0: up, down and left bump into the edge, right enters the goal
    np.testing.assert_array_equal(mdp.P[0], [[1, 0], [0, 1], [1, 0], [1, 0]])
    np.testing.assert_array_equal(mdp.P[1], [[0, 1]] * 4)
    np.testing.assert_array_equal(mdp.R, [[-1, -1, -1, -1], [0, 0, 0, 0]])


def test_gridworld_slip_and_goal_reward_by_hand():
    """1 x 3 row, goal (0, 0), start (0, 2), slip 0.6: a move goes its way with 0.4 and each
    other way with 0.2; R = step_reward + goal_reward * P(enter goal)."""
    mdp = M.gridworld(1, 3, goal=(0, 0), start=(0, 2), slip=0.6, step_reward=-2.0,
                      goal_reward=5.0, gamma=0.5)
    assert mdp.start == 2 and mdp.terminal.tolist() == [True, False, False]
    # state 1 (middle), action 3 = left: left 0.4, right 0.2, up / down stay 0.4
    np.testing.assert_allclose(mdp.P[1, 3], [0.4, 0.4, 0.2])
    np.testing.assert_allclose(mdp.P[1, 1], [0.2, 0.4, 0.4])
    np.testing.assert_allclose(mdp.R[1], [-2 + 5 * 0.2, -2 + 5 * 0.2, -2 + 5 * 0.2, -2 + 5 * 0.4])
    np.testing.assert_array_equal(mdp.R[2], -2.0)         # cannot reach the goal in one move
    np.testing.assert_array_equal(mdp.R[0], 0.0)


def test_gridworld_argument_messages():
    """Every gridworld argument check names the argument and states the expectation."""
    with _raises(ValueError, "rows must be a positive integer, got 0."):
        M.gridworld(0, 3)
    with _raises(ValueError, "cols must be a positive integer, got 0."):
        M.gridworld(3, 0)
    with _raises(ValueError, "each wall must be a cell of the 2 x 3 grid, got (0, 3)."):
        M.gridworld(2, 3, walls=[(0, 3)])
    with _raises(ValueError, "each wall must be a (row, column) pair, got 5."):
        M.gridworld(2, 3, walls=[5])
    with _raises(ValueError, "goal must be a (row, column) pair, got (1, 2, 3)."):
        M.gridworld(2, 3, goal=(1, 2, 3))
    with _raises(ValueError, "goal must be a (row, column) pair, got 'ab'."):
        M.gridworld(2, 3, goal="ab")
    with _raises(ValueError, "start must be a cell of the 2 x 3 grid, got (2, 0)."):
        M.gridworld(2, 3, start=(2, 0))
    with _raises(ValueError, "goal and start must not be walls."):
        M.gridworld(2, 3, walls=[(0, 0)])
    with _raises(ValueError, "goal and start must not be walls."):
        M.gridworld(2, 3, walls=[(1, 2)])
    with _raises(ValueError, "slip must be a probability in [0, 1], got -0.1."):
        M.gridworld(2, 3, slip=-0.1)
    with _raises(ValueError, "step_reward must be a finite number, got inf."):
        M.gridworld(2, 3, step_reward=np.inf)
    with _raises(ValueError, "step_reward must be a finite number, got '1'."):
        M.gridworld(2, 3, step_reward="1")
    with _raises(ValueError, "goal_reward must be a finite number, got nan."):
        M.gridworld(2, 3, goal_reward=np.nan)
    with _raises(ValueError, "goal_reward must be a finite number, got None."):
        M.gridworld(2, 3, goal_reward=None)


@pytest.mark.parametrize("cell", [(-1, 0), (0, -1), (2, 0), (0, 3)])
def test_gridworld_cell_bounds(cell):
    """A cell must have 0 <= row < rows and 0 <= column < cols."""
    with _raises(ValueError, f"goal must be a cell of the 2 x 3 grid, got {cell!r}."):
        M.gridworld(2, 3, goal=cell)


def test_gridworld_corner_cells_are_valid():
    """The last row and column are inside the grid: a wall at (1, 1) and goal (1, 2)."""
    mdp = M.gridworld(2, 3, walls=[(1, 1)], goal=(1, 2), start=(1, 0))
    assert mdp.cells.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 2]]
    assert mdp.start == 3 and mdp.terminal.tolist() == [False] * 4 + [True]


def test_to_grid_dtype_fill_and_errors():
    """to_grid keeps x's values on the cells, fills walls with nan (default) or ``fill``, and
    promotes the dtype so that both fit (np.result_type)."""
    mdp = M.gridworld(2, 2, walls=[(0, 1)])
    grid = M.to_grid(mdp, np.array([1, 2, 3]))            # integers with a nan fill: floats
    assert grid.dtype == np.float64
    np.testing.assert_array_equal(grid, [[1, np.nan], [2, 3]])
    ints = M.to_grid(mdp, np.array([1, 2, 3]), fill=-1)
    assert ints.dtype.kind == "i" and ints.tolist() == [[1, -1], [2, 3]]
    floats = M.to_grid(mdp, np.array([0.5, 1.5, 2.5]), fill=0)   # an int fill keeps the floats
    assert floats.dtype == np.float64 and floats.tolist() == [[0.5, 0.0], [1.5, 2.5]]
    with _raises(ValueError, "x must have shape (3,), got (4,)."):
        M.to_grid(mdp, np.zeros(4))
    with _raises(ValueError, "to_grid needs a gridworld (an MDP with cells and shape)."):
        M.to_grid(two_state(), np.zeros(2))


def test_q_from_v_accepts_any_real_sequence():
    """v is converted to floats: fractions give the same float Q as the float vector."""
    mdp = two_state()
    q = M.q_from_v(mdp, [Fraction(1, 2), Fraction(3, 2)])
    assert q.dtype == np.float64
    np.testing.assert_allclose(q, [[1 + 0.45, 0.9 * 1.5], [2 + 0.9 * 1.5, 0.45]])
    with _raises(ValueError, "v must have shape (S,) = (2,), got (2, 1)."):
        M.q_from_v(mdp, np.zeros((2, 1)))


def test_greedy_policy_breaks_ties_to_lowest_action():
    """With all rewards equal every action ties: argmax picks action 0."""
    mdp = M.gridworld(2, 2, step_reward=-1.0)
    np.testing.assert_array_equal(M.greedy_policy(mdp, np.zeros(4)), [0, 0, 0, 0])


def test_value_iteration_start_and_zero_iterations():
    """iters = 0 returns V_0 alone; v0 is used as given and not modified."""
    mdp = two_state()
    v0 = np.array([1.0, -1.0])
    np.testing.assert_array_equal(M.value_iteration(mdp, 0, v0=v0), [[1.0, -1.0]])
    h = M.value_iteration(mdp, 1, v0=v0)
    # V1 = (max(1 + .9 * 1, 0 + .9 * -1), max(2 + .9 * -1, 0 + .9 * 1))
    np.testing.assert_allclose(h, [[1.0, -1.0], [1.9, 1.1]])
    assert v0.tolist() == [1.0, -1.0]
    with _raises(ValueError, "iters must be a non-negative integer, got -1."):
        M.value_iteration(mdp, -1)
    with _raises(ValueError, "v0 must have shape (S,) = (2,), got (3,)."):
        M.value_iteration(mdp, 1, v0=np.zeros(3))


@pytest.mark.parametrize("policy", [[0, 2], [-1, 0], [0.0, 1.0], [0], [[0, 1]]])
def test_policy_checks(policy):
    """A policy is an integer array of shape (S,) with actions in [0, A)."""
    msg = "must be an integer array of shape (2,) with actions in [0, 2)."
    with _raises(ValueError, "policy " + msg):
        M.policy_evaluation(two_state(), np.array(policy))
    with _raises(ValueError, "policy0 " + msg):
        M.policy_iteration(two_state(), policy0=np.array(policy))


def test_policy_evaluation_improper_message_and_gamma_below_one():
    """gamma = 1 needs a proper policy; with gamma < 1 an improper one has a finite value."""
    mdp = M.gridworld(1, 3, goal=(0, 2), gamma=1.0)
    with _raises(ValueError, "with gamma = 1 the policy must be proper: from some state it "
                             "never reaches a terminal state, so its value is not finite."):
        M.policy_evaluation(mdp, np.array([1, 3, 0]))     # state 1 walks back to 0, 0 stays
    # the same policy with gamma = 0.5: state 0 bumps forever (-1 / (1 - .5) = -2)
    mdp5 = M.gridworld(1, 3, goal=(0, 2), gamma=0.5)
    np.testing.assert_allclose(M.policy_evaluation(mdp5, np.array([3, 1, 0])), [-2, -1, 0])


def test_policy_iteration_from_given_policy():
    """policy0 is the first policy; from [0, 0] (V = (10, 20)) one improvement gives [1, 0]."""
    policies, values = M.policy_iteration(two_state(), policy0=np.array([0, 0]))
    assert [p.tolist() for p in policies] == [[0, 0], [1, 0]]
    np.testing.assert_allclose(values, [[10.0, 20.0], [18.0, 20.0]])
    # default start: action 0 everywhere, the same two policies
    policies, _ = M.policy_iteration(two_state())
    assert [p.tolist() for p in policies] == [[0, 0], [1, 0]]


def test_policy_iteration_tolerance_is_relative():
    """From [0, 0], switching state 0 gains Q[0, 1] - Q[0, 0] = 18 - 10 = 8. The threshold is
    tol * (1 + |V_0|) = tol * 11: tol = 1 (threshold 11) keeps the policy, tol = 0.7 (7.7)
    switches; tol = 0 is allowed."""
    kept, _ = M.policy_iteration(two_state(), policy0=np.array([0, 0]), tol=1.0)
    assert [p.tolist() for p in kept] == [[0, 0]]
    moved, _ = M.policy_iteration(two_state(), policy0=np.array([0, 0]), tol=0.7)
    assert [p.tolist() for p in moved] == [[0, 0], [1, 0]]
    exact, _ = M.policy_iteration(two_state(), policy0=np.array([0, 0]), tol=0)
    assert exact[-1].tolist() == [1, 0]


def test_policy_iteration_argument_messages():
    """max_iters caps the improvement steps; tol must be a non-negative real."""
    with _raises(RuntimeError, "policy iteration did not stop within max_iters=0 steps."):
        M.policy_iteration(two_state(), max_iters=0)
    policies, _ = M.policy_iteration(two_state(), max_iters=2)   # 1 step, then stable
    assert len(policies) == 2
    with _raises(ValueError, "max_iters must be a non-negative integer, got -1."):
        M.policy_iteration(two_state(), max_iters=-1)
    for tol in (-1e-9, True, "0", np.nan):
        with _raises(ValueError, f"tol must be a non-negative number, got {tol!r}."):
            M.policy_iteration(two_state(), tol=tol)


def test_step_argument_messages_and_deterministic_moves():
    """step checks s, a and rng; a deterministic move lands where P says."""
    mdp = M.gridworld(1, 3, goal=(0, 2))
    rng = np.random.default_rng(0)
    assert M.step(mdp, 1, 1, rng) == (-1.0, 2, True)       # right into the goal
    assert M.step(mdp, 1, 3, rng) == (-1.0, 0, False)      # left
    assert M.step(mdp, np.int64(0), np.int64(3), rng) == (-1.0, 0, False)   # bumps the edge
    for s in (-1, 3, True, 1.0):
        with _raises(ValueError, f"s must be a state index in [0, 3), got {s!r}."):
            M.step(mdp, s, 0, rng)
    for a in (-1, 4, True, 1.0):
        with _raises(ValueError, f"a must be an action in [0, 4), got {a!r}."):
            M.step(mdp, 0, a, rng)
    with _raises(ValueError, "rng must be a numpy.random.Generator "
                             "(np.random.default_rng(seed))."):
        M.step(mdp, 0, 0, np.random.RandomState(0))
