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
