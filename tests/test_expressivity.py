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
