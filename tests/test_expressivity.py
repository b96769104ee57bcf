"""Tests for dlscience.expressivity: exact piece counts, sawtooths, shortest paths."""

from itertools import pairwise

import numpy as np
import pytest
from dlscience import expressivity as ex
from scipy.sparse.csgraph import dijkstra


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_sawtooth_has_two_to_the_k_pieces(k):
    params = ex.sawtooth_params(k)
    assert ex.linear_pieces(params) == 2**k
    grid = np.arange(2 ** (k + 2) + 1) / 2 ** (k + 2)
    values = ex.relu_net(params, grid[:, None])[:, 0]
    composed = grid
    for _ in range(k):
        composed = ex.tent(composed)
    assert np.array_equal(values, composed)
    assert ex.pieces_on_grid(values, 2.0 ** -(k + 2)) == 2**k


def test_exact_count_agrees_with_fine_grid_on_random_net():
    rng = np.random.default_rng(0)
    widths = [1, 6, 6, 1]
    params = [(rng.normal(size=(b, a)), rng.normal(size=b)) for a, b in pairwise(widths)]
    xs, fs = ex.breakpoints(params, -2.0, 2.0)
    grid = np.array([float(x) for x in xs])
    np.testing.assert_allclose([float(f) for f in fs], ex.relu_net(params, grid[:, None])[:, 0],
                               atol=1e-12)
    # Midpoints of the exact intervals: the network is linear there (checked by interpolation).
    mid = (grid[1:] + grid[:-1]) / 2
    interp = np.interp(mid, grid, [float(f) for f in fs])
    np.testing.assert_allclose(ex.relu_net(params, mid[:, None])[:, 0], interp, atol=1e-10)
    # The count, against an independent one: runs of constant activation pattern on a fine
    # grid, neighbours with equal slope merged (a region thinner than the grid would be missed).
    fine = np.linspace(-2.0, 2.0, 2**18 + 1)
    h, pattern = fine[:, None], []
    for w, b in params[:-1]:
        pre = h @ w.T + b
        pattern.append(pre > 0)
        h = np.maximum(pre, 0.0)
    pattern = np.concatenate(pattern, axis=1)
    starts = np.flatnonzero(np.any(pattern[1:] != pattern[:-1], axis=1)) + 1
    runs = np.split(np.arange(fine.size), starts)
    out = ex.relu_net(params, fine[:, None])[:, 0]
    slopes = [(out[r[-1]] - out[r[0]]) / (fine[r[-1]] - fine[r[0]]) for r in runs if r.size > 1]
    brute = 1 + sum(abs(s - t) > 1e-6 * (1 + abs(s)) for s, t in pairwise(slopes))
    assert ex.linear_pieces(params, -2.0, 2.0) == brute > 4


@pytest.mark.parametrize("m", [1, 4, 12])
def test_shallow_net_has_at_most_m_plus_one_pieces(m):
    rng = np.random.default_rng(m)
    params = [(rng.normal(size=(m, 1)), rng.normal(size=m)), (rng.normal(size=(1, m)),
                                                               rng.normal(size=1))]
    assert ex.linear_pieces(params, -50.0, 50.0) <= m + 1


def test_shallow_interpolant_reproduces_sawtooth():
    deep = ex.sawtooth_params(4)
    xs, fs = ex.breakpoints(deep)
    shallow = ex.shallow_interpolant([float(x) for x in xs], [float(f) for f in fs])
    grid = np.linspace(0, 1, 513)[:, None]
    np.testing.assert_allclose(ex.relu_net(shallow, grid), ex.relu_net(deep, grid), atol=1e-12)
    assert shallow[0][0].shape[0] == 16


def test_random_features_error_decreases_with_width():
    x = np.linspace(-1, 1, 400)
    x_test = np.linspace(-1, 1, 301)
    errors = [np.sqrt(np.mean((ex.fit_random_features(x, np.sin(3 * x), x_test, m, 0)
                                - np.sin(3 * x_test)) ** 2)) for m in (2, 16, 128)]
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("seed", [0, 1])
def test_value_iteration_reaches_dijkstra(seed):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1.0, 3.0, size=(7, 9))
    cost[rng.uniform(size=cost.shape) < 0.15] = np.inf
    goal = (6, 8)
    cost[goal] = 1.0
    reference = dijkstra(ex.grid_graph(cost), directed=True,
                         indices=np.ravel_multi_index(goal, cost.shape)).reshape(cost.shape)
    values = ex.grid_value_iteration(cost, goal, 200)
    reach = np.isfinite(reference)
    np.testing.assert_allclose(values[reach], reference[reach], rtol=1e-12)
    walls = ~np.isfinite(cost)
    assert np.all(np.isinf(values[walls]))
    allv = ex.grid_value_iteration(cost, goal, 5, return_all=True)
    assert allv.shape == (6, 7, 9) and np.array_equal(allv[-1], ex.grid_value_iteration(cost,
                                                                                        goal, 5))


def test_maze_is_connected():
    free = ex.maze(6, np.random.default_rng(0))
    cost = np.where(free, 1.0, np.inf)
    dist = dijkstra(ex.grid_graph(cost), directed=True, indices=0).reshape(cost.shape)
    assert np.all(np.isfinite(dist[free]))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="k must"):
        ex.sawtooth_params(0)
    with pytest.raises(ValueError, match="steps"):
        ex.grid_value_iteration(np.ones((3, 3)), (0, 0), -1)
    with pytest.raises(ValueError, match="goal"):
        ex.grid_value_iteration(np.ones((3, 3)), (3, 0), 1)
    with pytest.raises(ValueError, match="width"):
        ex.random_relu_features(np.zeros(3), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one input"):
        ex.linear_pieces([(np.ones((2, 2)), np.zeros(2))])


def test_value_iteration_from_infinity_is_walk_limited_bellman_ford():
    # Started from +inf, round t holds the cheapest walk to the goal with at most t steps:
    # compare with a brute-force dynamic program over (cell, steps left) on a small grid.
    rng = np.random.default_rng(3)
    cost = rng.uniform(1.0, 2.0, size=(4, 5))
    cost[1, 1:4] = np.inf
    goal = (3, 4)
    h, w = cost.shape
    best = np.full((h, w), np.inf)
    best[goal] = 0.0
    for t in range(1, 12):
        new = np.full((h, w), np.inf)
        for r in range(h):
            for c in range(w):
                if (r, c) == goal:
                    new[r, c] = 0.0
                    continue
                for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < h and 0 <= cc < w:
                        new[r, c] = min(new[r, c], cost[r, c] + best[rr, cc])
        best = new
        values = ex.grid_value_iteration(cost, goal, t, init=np.inf)
        np.testing.assert_array_equal(np.isinf(values), np.isinf(best))
        finite = np.isfinite(best)
        np.testing.assert_allclose(values[finite], best[finite], rtol=1e-13)


def test_min_plus_matches_brute_force():
    rng = np.random.default_rng(4)
    a = rng.uniform(0, 5, size=(7, 6))
    b = rng.uniform(0, 5, size=(6, 9))
    a[a > 4] = np.inf
    expected = np.array([[min(a[i, k] + b[k, j] for k in range(6)) for j in range(9)]
                         for i in range(7)])
    for block in (None, 1, 3, 100):
        np.testing.assert_array_equal(ex.min_plus(a, b, block=block), expected)


@pytest.mark.parametrize("mud", [False, True])
def test_path_doubling_matches_dijkstra_and_needs_log2_rounds(mud):
    rng = np.random.default_rng(5)
    free = ex.braid(ex.maze(5, rng), 0.3, rng)
    cost = np.where(free, rng.uniform(1.0, 2.0, free.shape) if mud else 1.0, np.inf)
    goal = (0, 0)
    dist = dijkstra(ex.grid_graph(cost), directed=True,
                    indices=np.ravel_multi_index(goal, cost.shape)).reshape(cost.shape)
    # h_s, the fewest steps of a cheapest walk, from the walk-limited Bellman-Ford iteration
    bf = ex.grid_value_iteration(cost, goal, 200, return_all=True, init=np.inf)
    h = np.argmax(np.isclose(bf, dist, rtol=1e-12, atol=0) & free, axis=0)
    longest = int(h[free].max())
    rounds = int(np.ceil(np.log2(longest)))
    doubled = ex.grid_path_doubling(cost, goal, rounds + 1, return_all=True)
    assert doubled.shape == (rounds + 2, *cost.shape)
    # after r rounds: exactly the walk-limited iterate with 2^r steps
    for r in range(rounds + 2):
        expected = bf[min(2**r, 200)]
        np.testing.assert_allclose(doubled[r][free], expected[free], rtol=1e-12)
        assert np.all(np.isinf(doubled[r][~free]))
    np.testing.assert_allclose(doubled[rounds][free], dist[free], rtol=1e-12)
    assert not np.allclose(doubled[rounds - 1][free], dist[free], rtol=1e-12)


def test_braid_opens_only_separating_walls():
    rng = np.random.default_rng(6)
    free = ex.maze(8, rng)
    braided = ex.braid(free, 0.25, rng)
    opened = braided & ~free
    rows, cols = np.nonzero(opened)
    assert np.all(rows % 2 != cols % 2)                        # walls between two rooms
    separating = (~free) & (np.add.outer(np.arange(15), np.arange(15)) % 2 == 1)
    assert opened.sum() == round(0.25 * separating.sum())
    assert np.all(braided[free])                               # nothing closed
    assert np.array_equal(ex.braid(free, 0.0, rng), free)


def test_new_functions_reject_bad_inputs():
    with pytest.raises(ValueError, match="fraction"):
        ex.braid(ex.maze(3, np.random.default_rng(0)), 1.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="square maze"):
        ex.braid(np.ones((4, 4), dtype=bool), 0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="a.shape"):
        ex.min_plus(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="block"):
        ex.min_plus(np.zeros((2, 2)), np.zeros((2, 2)), block=0)
    with pytest.raises(ValueError, match="wall"):
        ex.grid_path_doubling(np.array([[1.0, np.inf]]), (0, 1), 1)
    with pytest.raises(ValueError, match="rounds"):
        ex.grid_path_doubling(np.ones((2, 2)), (0, 0), -1)
    with pytest.raises(ValueError, match="init"):
        ex.grid_value_iteration(np.ones((2, 2)), (0, 0), 1, init=-1.0)


# --- Added tests: exact values on tiny hand-checked cases and precise input validation. ---


def test_relu_net_single_layer_is_affine_and_empty_list_rejected():
    """One layer and no ReLU: x -> W x + b, checked by hand (2 * 3 + 1 = 7)."""
    out = ex.relu_net([(np.array([[2.0], [-1.0]]), np.array([1.0, 0.5]))], np.array([[3.0]]))
    np.testing.assert_array_equal(out, [[7.0, -2.5]])
    with pytest.raises(ValueError, match=r"^params must hold at least one layer \(W, b\)"):
        ex.relu_net([], np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"^params must hold at least one layer \(W, b\)"):
        ex.breakpoints([])


def test_breakpoints_exact_on_kinks_at_interval_ends():
    """relu(x - 1) and relu(-x) vanish at the ends of [0, 1] without a kink inside: only
    relu(x - 1/2) adds a point, so the pieces are exactly [0, 1/2] and [1/2, 1]."""
    from fractions import Fraction

    hidden = (np.array([[1.0], [-1.0], [1.0]]), np.array([-1.0, 0.0, -0.5]))
    params = [hidden, (np.ones((1, 3)), np.zeros(1))]
    xs, fs = ex.breakpoints(params)
    assert xs == [Fraction(0), Fraction(1, 2), Fraction(1)]
    assert fs == [Fraction(0), Fraction(0), Fraction(1, 2)]
    assert ex.linear_pieces(params) == 2


def test_breakpoints_accept_float32_weights_and_scalar_bias():
    """float32 weights are read as the exact rationals they store (2 x + 1 on [0, 1])."""
    from fractions import Fraction

    params = [(np.array([[2.0]], dtype=np.float32), np.float64(1.0))]
    xs, fs = ex.breakpoints(params)
    assert xs == [Fraction(0), Fraction(1)] and fs == [Fraction(1), Fraction(3)]


def test_linear_pieces_merges_a_cancelled_kink():
    """relu(x) + 2 relu(x - 1/4) - relu(2 x - 1/2) equals x on [0, 1]: the point 1/4 is not a
    kink, the intervals [0, 1/4] and [1/4, 1] of unequal length share slope 1: one piece."""
    params = [
        (np.array([[1.0], [1.0], [2.0]]), np.array([0.0, -0.25, -0.5])),
        (np.array([[1.0, 2.0, -1.0]]), np.zeros(1)),
    ]
    grid = np.linspace(0, 1, 9)
    np.testing.assert_allclose(ex.relu_net(params, grid[:, None])[:, 0], grid, atol=1e-15)
    xs, _ = ex.breakpoints(params)
    assert len(xs) == 3
    assert ex.linear_pieces(params) == 1


def test_breakpoints_reject_bad_networks_and_intervals():
    """Two inputs, a one-point interval: clear errors naming what is wrong."""
    with pytest.raises(ValueError, match=r"^params must describe a network with one input"):
        ex.breakpoints([(np.ones((1, 2)), np.zeros(1))])
    with pytest.raises(ValueError, match=r"^need lo < hi, got lo=1.0, hi=1.0"):
        ex.breakpoints(ex.sawtooth_params(1), 1.0, 1.0)


@pytest.mark.parametrize("k", [0, True, 1.5])
def test_sawtooth_params_rejects_non_positive_integers(k):
    """k must be a positive int (bools and floats rejected)."""
    with pytest.raises(ValueError, match=r"^k must be a positive integer"):
        ex.sawtooth_params(k)


def test_pieces_on_grid_boundaries():
    """Two samples are one piece; fewer samples, a matrix or a zero step are rejected."""
    assert ex.pieces_on_grid([0.0, 3.0], 0.5) == 1
    assert ex.pieces_on_grid([0.0, 1.0, 0.0, 0.0], 1.0) == 3
    for bad in ([1.0], np.zeros((2, 2))):
        with pytest.raises(ValueError, match=r"^values must be a vector of at least 2 samples"):
            ex.pieces_on_grid(bad, 1.0)
    with pytest.raises(ValueError, match=r"^spacing must be positive, got 0.0"):
        ex.pieces_on_grid([0.0, 1.0, 2.0], 0.0)


def test_shallow_interpolant_two_knots_and_validation():
    """Two knots: the line through (0, 1) and (2, 5), i.e. 1 + 2 x, one hidden unit."""
    params = ex.shallow_interpolant([0.0, 2.0], [1.0, 5.0])
    x = np.array([[0.0], [0.5], [2.0]])
    np.testing.assert_allclose(ex.relu_net(params, x)[:, 0], [1.0, 2.0, 5.0])
    assert params[0][0].shape == (1, 1)
    bad = [
        ([0.0, 2.0, 1.0], [0.0, 1.0, 2.0]),  # not increasing
        ([0.0, 0.0, 1.0], [0.0, 1.0, 2.0]),  # repeated knot
        ([0.0, 1.0, 2.0], [0.0, 1.0]),  # shapes differ
        ([[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0], [2.0, 3.0]]),  # not a vector
        ([0.0], [1.0]),  # a single knot
    ]
    for xs, fs in bad:
        with pytest.raises(ValueError, match=r"^xs must be increasing with at least 2 entries"):
            ex.shallow_interpolant(xs, fs)


def test_random_relu_features_are_unit_slope_relus_with_kinks_in_the_data_range():
    """Each column is relu(s (x - k)) with s = +-1 and k in [min x, max x] (both signs occur
    among 40 units), plus a constant column of ones; width 1 is allowed."""
    x = np.linspace(2.0, 3.0, 11)
    feats = ex.random_relu_features(x, 40, np.random.default_rng(0))
    assert feats.shape == (11, 41)
    np.testing.assert_array_equal(feats[:, -1], 1.0)
    signs = []
    for f in feats[:, :-1].T:
        sign = 1.0 if f[-1] > f[0] else -1.0
        kink = x[-1] - f[-1] if sign > 0 else x[0] + f[0]
        assert 2.0 <= kink <= 3.0
        np.testing.assert_allclose(f, np.maximum(sign * (x - kink), 0.0), atol=1e-12)
        signs.append(sign)
    assert 0 < signs.count(1.0) < 40
    assert ex.random_relu_features(x, 1, np.random.default_rng(0)).shape == (11, 2)


@pytest.mark.parametrize("width", [0, True, 2.0])
def test_random_relu_features_rejects_bad_width(width):
    """width must be a positive int."""
    with pytest.raises(ValueError, match=r"^width must be a positive integer"):
        ex.random_relu_features(np.zeros(3), width, np.random.default_rng(0))


def test_random_relu_features_rejects_matrix_input():
    """x must be a vector."""
    with pytest.raises(ValueError, match=r"^x must be a vector of inputs"):
        ex.random_relu_features(np.zeros((3, 1)), 2, np.random.default_rng(0))


def test_fit_random_features_is_seeded_and_interpolates_when_wide():
    """Same seed, same prediction; with more features than points the least-squares fit
    passes through the training data (predicting at the training inputs returns y)."""
    x = np.linspace(-1.0, 1.0, 6)
    y = np.array([0.3, -1.0, 2.0, 0.5, 0.0, 1.5])
    np.testing.assert_allclose(ex.fit_random_features(x, y, x, 40, 7), y, atol=1e-8)
    x_test = np.linspace(-1.0, 1.0, 13)
    first = ex.fit_random_features(x, np.sin(3 * x), x_test, 3, 1)
    np.testing.assert_array_equal(first, ex.fit_random_features(x, np.sin(3 * x), x_test, 3, 1))


def test_value_iteration_on_a_corridor_by_hand():
    """Corridor of costs [1, 2, 3, 4, 5] with the goal at the left end: the cost to go from cell
    j is c_j + ... + c_1, i.e. [0, 2, 5, 9, 14]; zero rounds return the start (integer costs
    accepted, also with the +inf start)."""
    cost = np.array([[1, 2, 3, 4, 5]])
    np.testing.assert_array_equal(ex.grid_value_iteration(cost, (0, 0), 0), np.zeros((1, 5)))
    start = ex.grid_value_iteration(cost, (0, 0), 0, init=np.inf)
    np.testing.assert_array_equal(start, [[0.0, np.inf, np.inf, np.inf, np.inf]])
    two = ex.grid_value_iteration(cost, (0, 0), 2, init=np.inf)
    np.testing.assert_array_equal(two, [[0.0, 2.0, 5.0, np.inf, np.inf]])
    np.testing.assert_array_equal(ex.grid_value_iteration(cost, (0, 0), 4, init=np.inf),
                                  [[0.0, 2.0, 5.0, 9.0, 14.0]])


def test_path_doubling_on_a_corridor_by_hand():
    """Same corridor: after r rounds, walks of at most 2^r steps: [0, 2, inf...] for r = 0,
    [0, 2, 5, inf, inf] for r = 1 and the full [0, 2, 5, 9, 14] for r = 2."""
    cost = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    inf = np.inf
    expected = [[[0, 2, inf, inf, inf]], [[0, 2, 5, inf, inf]], [[0, 2, 5, 9, 14]]]
    np.testing.assert_array_equal(ex.grid_path_doubling(cost, (0, 0), 2, return_all=True),
                                  expected)
    np.testing.assert_array_equal(ex.grid_path_doubling(cost, (0, 0), 2), expected[-1])
    np.testing.assert_array_equal(ex.grid_path_doubling(cost, (0, 0), 3), expected[-1])
    np.testing.assert_array_equal(ex.grid_path_doubling(cost, (0, 0), 0), expected[0])


BAD_COSTS = [np.ones(3), np.array([[1.0, 0.0]]), np.array([[1.0, -1.0]]),
             np.array([[1.0, np.nan]])]


@pytest.mark.parametrize("cost", BAD_COSTS)
@pytest.mark.parametrize("solver", ["grid_value_iteration", "grid_path_doubling"])
def test_grid_solvers_reject_bad_costs(solver, cost):
    """Costs must form a matrix of positive numbers: 1-D, zero, negative and nan rejected."""
    with pytest.raises(ValueError, match=r"^cost must be a 2-D array of positive numbers"):
        getattr(ex, solver)(cost, (0, 0), 1)


@pytest.mark.parametrize("goal", [(1, 0), (0, 5), (-1, 0)])
@pytest.mark.parametrize("solver", ["grid_value_iteration", "grid_path_doubling"])
def test_grid_solvers_reject_goal_off_the_grid(solver, goal):
    """The goal must index a cell of the 1 x 5 grid."""
    with pytest.raises(ValueError, match=r"^goal must be a cell of the \(1, 5\) grid"):
        getattr(ex, solver)(np.ones((1, 5)), goal, 1)


@pytest.mark.parametrize("steps", [-1, True, 1.0])
def test_grid_solvers_reject_bad_step_counts(steps):
    """steps and rounds must be non-negative ints."""
    with pytest.raises(ValueError, match=r"^steps must be a non-negative integer"):
        ex.grid_value_iteration(np.ones((2, 2)), (0, 0), steps)
    with pytest.raises(ValueError, match=r"^rounds must be a non-negative integer"):
        ex.grid_path_doubling(np.ones((2, 2)), (0, 0), steps)


def test_grid_graph_exact_on_two_by_two():
    """Cells 0 (cost 1), 1 (cost 2), 2 (cost 3), 3 (wall): edge s -> t costs c[t], walls have
    no edges, and the matrix keeps the full 4 x 4 shape."""
    graph = ex.grid_graph(np.array([[1.0, 2.0], [3.0, np.inf]]))
    assert graph.shape == (4, 4) and graph.nnz == 4
    expected = [[0, 2, 3, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(graph.toarray(), expected)


def _maze_tree_paths(free: np.ndarray) -> dict:
    """Breadth-first parents of the free cells from (0, 0), by 4-neighbour moves."""
    parent = {(0, 0): None}
    queue = [(0, 0)]
    while queue:
        r, c = queue.pop(0)
        for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            inside = 0 <= rr < free.shape[0] and 0 <= cc < free.shape[1]
            if inside and free[rr, cc] and (rr, cc) not in parent:
                parent[(rr, cc)] = (r, c)
                queue.append((rr, cc))
    return parent


def test_maze_is_a_spanning_tree_of_the_rooms():
    """A perfect maze on n x n rooms: all n^2 rooms and exactly n^2 - 1 passages free (a tree),
    pillars closed, all connected; over a few seeds the tree uses moves in all 4 directions
    (some path from the start turns up, some turns left)."""
    up = left = False
    for seed in range(4):
        for n in (1, 2, 5):
            free = ex.maze(n, np.random.default_rng(seed))
            assert free.shape == (2 * n - 1, 2 * n - 1)
            assert free[::2, ::2].all() and not free[1::2, 1::2].any()
            assert free.sum() == 2 * n * n - 1
            parent = _maze_tree_paths(free)
            assert len(parent) == free.sum()
            for child, par in parent.items():
                if par is not None:
                    up |= child[0] < par[0]
                    left |= child[1] < par[1]
    assert up and left


@pytest.mark.parametrize("size", [0, True, 2.0])
def test_maze_rejects_bad_size(size):
    """size must be a positive int."""
    with pytest.raises(ValueError, match=r"^size must be a positive integer"):
        ex.maze(size, np.random.default_rng(0))


def test_braid_fraction_one_and_integer_input():
    """Opening every separating wall leaves only the pillars closed; a 0/1 integer maze is read
    as booleans, giving the same braid as the boolean one."""
    free = ex.maze(4, np.random.default_rng(1))
    full = ex.braid(free, 1.0, np.random.default_rng(2))
    rows, cols = np.indices(free.shape)
    np.testing.assert_array_equal(full, ~((rows % 2 == 1) & (cols % 2 == 1)))
    np.testing.assert_array_equal(ex.braid(free.astype(int), 0.5, np.random.default_rng(3)),
                                  ex.braid(free, 0.5, np.random.default_rng(3)))
    for bad in (np.ones((3, 5), dtype=bool), np.ones(3, dtype=bool)):
        with pytest.raises(ValueError, match=r"^free must be a square maze of odd side"):
            ex.braid(bad, 0.5, np.random.default_rng(0))


def test_min_plus_blocks_cover_all_rows_and_default_block():
    """Brute-force reference on a tall a (6 x 2) and a wide k > n product, for every block size
    (all results kept alive so no stale memory can pass for a result); bad shapes and blocks
    rejected."""
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0, 5, size=(6, 2)), rng.uniform(0, 5, size=(2, 3))
    expected = np.array([[min(a[i, k] + b[k, j] for k in range(2)) for j in range(3)]
                         for i in range(6)])
    results = [ex.min_plus(a, b, block=block) for block in (1, 2, 4)]
    for result in results:
        np.testing.assert_array_equal(result, expected)
    a2, b2 = rng.uniform(0, 5, size=(3, 4)), rng.uniform(0, 5, size=(4, 2))
    expected2 = (a2[:, :, None] + b2[None]).min(axis=1)
    np.testing.assert_array_equal(ex.min_plus(a2, b2), expected2)
    with pytest.raises(ValueError, match=r"^a and b must be matrices"):
        ex.min_plus(np.zeros(3), np.zeros((3, 2)))
    for block in (True, 2.0):
        with pytest.raises(ValueError, match=r"^block must be a positive integer"):
            ex.min_plus(a, b, block=block)
