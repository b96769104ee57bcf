"""What deep and shallow ReLU networks can express: pieces, sawtooths, features and shortest paths.

A ReLU network with one input computes a continuous piecewise-linear function of ``x``. This
module builds such networks as lists of ``(W, b)`` pairs (``W`` of shape ``(d_out, d_in)``, ReLU
after every layer but the last, the convention of ``dlscience.backprop``) and counts their
linear pieces *exactly*: ``linear_pieces`` propagates the breakpoints through the network in
rational arithmetic (Python ``fractions.Fraction``), so the count involves no rounding. It also
holds the random-ReLU-feature fit used to illustrate universal approximation, and the grid
shortest-path iteration ``V <- c + min(neighbours)`` of the lecture.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise

import numpy as np


def tent(x: np.ndarray) -> np.ndarray:
    """The tent map on [0, 1]: ``2 x`` for ``x <= 1/2`` and ``2 (1 - x)`` above.

    Written as a ReLU network with two hidden units: ``2 relu(x) - 4 relu(x - 1/2)``.
    Works elementwise on an array of any shape.
    """
    x = np.asarray(x)
    return 2.0 * np.maximum(x, 0.0) - 4.0 * np.maximum(x - 0.5, 0.0)


def sawtooth_params(k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The tent map composed ``k`` times, as a ReLU network of depth ``k + 1`` and width 2.

    Hidden layer ``i`` holds ``relu(t)`` and ``relu(t - 1/2)`` where ``t`` is the tent map
    composed ``i - 1`` times; the next layer reads ``t' = 2 relu(t) - 4 relu(t - 1/2)``. The
    network has ``2 k`` hidden units.

    Returns:
        ``k + 1`` pairs ``(W, b)``: shapes ``(2, 1)`` then ``(2, 2)`` ... then ``(1, 2)``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    first = (np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))
    mix = np.array([[2.0, -4.0], [2.0, -4.0]])
    middle = [(mix.copy(), np.array([0.0, -0.5])) for _ in range(k - 1)]
    last = (np.array([[2.0, -4.0]]), np.array([0.0]))
    return [first, *middle, last]


def relu_net(params: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Evaluate a ReLU network on a batch ``x`` of shape ``(n, d_0)``; returns ``(n, d_K)``."""
    if len(params) == 0:
        raise ValueError("params must hold at least one layer (W, b), got an empty list.")
    z = np.asarray(x, dtype=float)
    for i, (w, b) in enumerate(params):
        z = z @ np.asarray(w).T + np.asarray(b)
        if i < len(params) - 1:
            z = np.maximum(z, 0.0)
    return z


def _exact(a: np.ndarray) -> list[list[Fraction]]:
    return [[Fraction(v) for v in row] for row in np.atleast_2d(np.asarray(a, dtype=float))]


def breakpoints(
    params: list[tuple[np.ndarray, np.ndarray]],
    lo: float = 0.0,
    hi: float = 1.0,
) -> tuple[list, list]:
    """The exact piecewise-linear description of a one-input, one-output ReLU network on [lo, hi].

    Every weight is converted to the rational number it stores (``Fraction(float)`` is exact).
    The algorithm keeps a sorted list of points ``lo = x_0 < x_1 < ... < x_m = hi`` between
    which every unit of the current layer is affine, with the exact values of the layer at those
    points. Before each ReLU it inserts every point where a pre-activation crosses zero strictly
    inside an interval (found by exact linear interpolation), so that afterwards every unit is
    again affine between consecutive points.

    Returns:
        ``(xs, fs)``: the points and the network's output at them, as Fractions. The network is
        linear between consecutive points (some consecutive intervals may share a slope).
    """
    if len(params) == 0:
        raise ValueError("params must hold at least one layer (W, b), got an empty list.")
    if np.asarray(params[0][0]).shape[1] != 1 or np.asarray(params[-1][0]).shape[0] != 1:
        raise ValueError("params must describe a network with one input and one output.")
    if not lo < hi:
        raise ValueError(f"need lo < hi, got lo={lo!r}, hi={hi!r}.")
    xs = [Fraction(lo), Fraction(hi)]
    values = [[x] for x in xs]  # layer values at each point
    for i, (w, b) in enumerate(params):
        we, be = _exact(w), _exact(b)[0]
        pre = [
            [
                sum((wr[j] * v[j] for j in range(len(v))), Fraction(0)) + be[r]
                for r, wr in enumerate(we)
            ]
            for v in values
        ]
        if i == len(params) - 1:
            values = pre
            break
        new_xs, new_pre = [xs[0]], [pre[0]]
        for a in range(len(xs) - 1):
            xa, xb, pa, pb = xs[a], xs[a + 1], pre[a], pre[a + 1]
            cuts = sorted(
                {
                    pa[r] / (pa[r] - pb[r])
                    for r in range(len(pa))
                    if (pa[r] < 0 < pb[r]) or (pb[r] < 0 < pa[r])
                }
            )
            for t in cuts:  # t in (0, 1): fraction of the interval
                new_xs.append(xa + t * (xb - xa))
                new_pre.append([p + t * (q - p) for p, q in zip(pa, pb, strict=True)])
            new_xs.append(xb)
            new_pre.append(pb)
        xs = new_xs
        values = [[max(p, Fraction(0)) for p in row] for row in new_pre]
    return xs, [row[0] for row in values]


def linear_pieces(
    params: list[tuple[np.ndarray, np.ndarray]], lo: float = 0.0, hi: float = 1.0
) -> int:
    """The exact number of maximal linear pieces of a one-input ReLU network on [lo, hi].

    Counts the intervals of ``breakpoints`` and merges neighbours with equal slope.
    """
    xs, fs = breakpoints(params, lo, hi)
    slopes = [(fs[a + 1] - fs[a]) / (xs[a + 1] - xs[a]) for a in range(len(xs) - 1)]
    return 1 + sum(1 for s, t in pairwise(slopes) if s != t)


def pieces_on_grid(values: np.ndarray, spacing: float) -> int:
    """Linear pieces of a function sampled on a uniform grid: 1 + number of slope changes.

    Exact when every breakpoint lies on the grid and the samples are exact (as for the
    sawtooth on a dyadic grid in floating point); otherwise a lower bound.

    Args:
        values: samples ``f(x_0), ..., f(x_m)`` on a grid with step ``spacing``, shape ``(m+1,)``.
        spacing: the grid step, positive.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"values must be a vector of at least 2 samples, got {values.shape}.")
    if not spacing > 0:
        raise ValueError(f"spacing must be positive, got {spacing!r}.")
    slopes = np.diff(values) / spacing
    return int(1 + np.count_nonzero(slopes[1:] != slopes[:-1]))


def shallow_interpolant(
    xs: Sequence[float], fs: Sequence[float]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A one-hidden-layer ReLU network equal to the piecewise-linear interpolant of (xs, fs).

    With knots ``x_0 < ... < x_m`` and slopes ``s_j`` on ``[x_j, x_{j+1}]``, on ``[x_0, x_m]``::

        f(x) = f(x_0) + s_0 relu(x - x_0) + sum_{j=1}^{m-1} (s_j - s_{j-1}) relu(x - x_j)

    which uses ``m`` hidden units, one per piece.

    Returns:
        two pairs ``(W, b)`` of shapes ``(m, 1), (m,)`` and ``(1, m), (1,)``.
    """
    xs, fs = np.asarray(xs, dtype=float), np.asarray(fs, dtype=float)
    if xs.ndim != 1 or xs.shape != fs.shape or xs.size < 2 or np.any(np.diff(xs) <= 0):
        raise ValueError("xs must be increasing with at least 2 entries and fs of the same shape.")
    slopes = np.diff(fs) / np.diff(xs)
    coef = np.concatenate([[slopes[0]], np.diff(slopes)])
    w1, b1 = np.ones((len(coef), 1)), -xs[:-1]
    return [(w1, b1), (coef[None, :], np.array([fs[0]]))]


def random_relu_features(
    x: np.ndarray,
    width: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Features ``relu(a_j x + c_j)`` of a one-hidden-layer network with random first layer.

    ``a_j`` is a random sign and the kink ``-c_j / a_j`` is uniform on [min x, max x], so the
    kinks cover the data. A constant feature is appended.

    Args:
        x: inputs, shape ``(n,)``.
        width: number of hidden units ``m``.
        rng: NumPy generator.

    Returns:
        the feature matrix, shape ``(n, m + 1)``. Pass the same ``rng`` state to featurize
        training and test points alike (see ``fit_random_features``).
    """
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}.")
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be a vector of inputs, got shape {x.shape}.")
    sign = rng.choice([-1.0, 1.0], size=width)
    kink = rng.uniform(x.min(), x.max(), size=width)
    return np.c_[np.maximum(sign * (x[:, None] - kink), 0.0), np.ones(len(x))]


def fit_random_features(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, width: int, seed: int
) -> np.ndarray:
    """Least-squares fit of the output layer of a random-feature ReLU network.

    The first layer is drawn once from ``seed`` (see ``random_relu_features``) and shared
    by training and test inputs; the output weights solve the least-squares problem on
    ``(x_train, y_train)`` (minimum norm if underdetermined).

    Returns:
        predictions at ``x_test``, shape ``(len(x_test),)``.
    """
    x_all = np.r_[np.asarray(x_train, dtype=float), np.asarray(x_test, dtype=float)]
    feats = random_relu_features(x_all, width, np.random.default_rng(seed))
    n = len(x_train)
    coef, *_ = np.linalg.lstsq(feats[:n], np.asarray(y_train, dtype=float), rcond=None)
    return feats[n:] @ coef


def grid_value_iteration(
    cost: np.ndarray,
    goal: tuple[int, int],
    steps: int,
    return_all: bool = False,
    init: float = 0.0,
) -> np.ndarray:
    """The lecture's deep computation on a grid: ``steps`` rounds of ``V <- c + min(neighbours)``.

    ``V`` starts at ``init`` (zero, the lecture's choice, or ``inf``, the Bellman-Ford start)
    everywhere but the goal, where it is 0; each round sets ``V[s] = c[s] + min`` of ``V`` over
    the up-to-four grid neighbours of ``s`` (outside the grid counts as ``+inf``), then
    ``V[goal] = 0``. Cells with ``cost = inf`` are walls. Each round is one *local* layer of
    width ``H * W``: the unit of a cell computes a minimum of its four neighbours plus a constant.

    Args:
        cost: positive costs of visiting each cell, shape ``(H, W)``, ``inf`` for walls.
        goal: the goal cell ``(row, column)``.
        steps: the number of rounds ``T``, non-negative.
        return_all: also return the iterates before the last.
        init: the starting value off the goal, ``0`` or ``inf`` (any value ``>= 0``).

    Returns:
        ``V`` after ``T`` rounds, shape ``(H, W)``; with ``return_all``, every iterate
        ``V_0, ..., V_T`` stacked, shape ``(T + 1, H, W)``.
    """
    cost = np.asarray(cost, dtype=float)
    if cost.ndim != 2 or np.any(cost <= 0) or np.any(np.isnan(cost)):
        raise ValueError("cost must be a 2-D array of positive numbers (inf for walls).")
    if not (0 <= goal[0] < cost.shape[0] and 0 <= goal[1] < cost.shape[1]):
        raise ValueError(f"goal must be a cell of the {cost.shape} grid, got {goal!r}.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    if not float(init) >= 0:
        raise ValueError(f"init must be a number >= 0 (or inf), got {init!r}.")
    v = np.full_like(cost, float(init))
    v[goal] = 0.0
    iterates = [v]
    padded = np.full((cost.shape[0] + 2, cost.shape[1] + 2), np.inf)
    for _ in range(steps):
        padded[1:-1, 1:-1] = v
        best = np.minimum(
            np.minimum(padded[:-2, 1:-1], padded[2:, 1:-1]),
            np.minimum(padded[1:-1, :-2], padded[1:-1, 2:]),
        )
        v = cost + best
        v[goal] = 0.0
        if return_all:
            iterates.append(v)
    return np.stack(iterates) if return_all else v


def grid_graph(cost: np.ndarray):
    """The grid as a directed graph for ``scipy.sparse.csgraph``: edge ``t -> s`` costs ``c[s]``.

    Cells are numbered row-major; walls (``inf`` cost) have no edges. Running Dijkstra from the
    goal on this graph gives, for every cell ``s``, the cheapest sum of costs of the cells a
    path from ``s`` visits before reaching the goal (``s`` included, the goal excluded): the
    fixed point of ``grid_value_iteration``.

    Returns:
        a ``scipy.sparse.csr_matrix`` of shape ``(H W, H W)``.
    """
    from scipy.sparse import csr_matrix

    cost = np.asarray(cost, dtype=float)
    h, w = cost.shape
    index = np.arange(h * w).reshape(h, w)
    rows, cols, weights = [], [], []
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        src = index[max(dr, 0) : h + min(dr, 0), max(dc, 0) : w + min(dc, 0)]
        dst = index[max(-dr, 0) : h + min(-dr, 0), max(-dc, 0) : w + min(-dc, 0)]
        c_dst = cost.ravel()[dst.ravel()]
        c_src = cost.ravel()[src.ravel()]
        ok = np.isfinite(c_dst) & np.isfinite(c_src)
        rows.append(src.ravel()[ok])
        cols.append(dst.ravel()[ok])
        weights.append(c_dst[ok])
    return csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(h * w, h * w),
    )


def maze(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random perfect maze (one path between any two free cells) by depth-first search.

    Args:
        size: the number of rooms per side; the grid has ``2 size - 1`` cells per side.
        rng: NumPy generator.

    Returns:
        a boolean array of shape ``(2 size - 1, 2 size - 1)``, True on free cells.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}.")
    free = np.zeros((2 * size - 1, 2 * size - 1), dtype=bool)
    seen = np.zeros((size, size), dtype=bool)
    stack = [(0, 0)]
    seen[0, 0] = True
    free[0, 0] = True
    while stack:
        r, c = stack[-1]
        options = [
            (r + dr, c + dc)
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
            if 0 <= r + dr < size and 0 <= c + dc < size and not seen[r + dr, c + dc]
        ]
        if not options:
            stack.pop()
            continue
        nr, nc = options[rng.integers(len(options))]
        seen[nr, nc] = True
        free[2 * nr, 2 * nc] = True
        free[r + nr, c + nc] = True  # the wall cell between the two rooms
        stack.append((nr, nc))
    return free


def braid(free: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Open a random ``fraction`` of the walls between neighbouring rooms of a maze.

    A perfect maze (``maze``) has one path between any two cells, so a shortest path is the only
    path. Removing some of the walls that still separate two neighbouring rooms (the cells with
    one odd and one even coordinate) creates loops: a *braided* maze, in which the minimum over
    neighbours chooses between routes. The pillars (both coordinates odd) stay walls.

    Args:
        free: a maze from ``maze``, boolean of shape ``(2 n - 1, 2 n - 1)``, True on free cells.
        fraction: the fraction of the remaining separating walls to open, in ``[0, 1]``; the
            number opened is rounded to the nearest integer.
        rng: NumPy generator.

    Returns:
        a new boolean array of the same shape with the opened walls set to True.
    """
    free = np.asarray(free, dtype=bool)
    if free.ndim != 2 or free.shape[0] != free.shape[1] or free.shape[0] % 2 != 1:
        raise ValueError(f"free must be a square maze of odd side, got shape {free.shape}.")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}.")
    rows, cols = np.indices(free.shape)
    separating = ~free & ((rows % 2) != (cols % 2))
    candidates = np.flatnonzero(separating)
    opened = rng.choice(candidates, size=int(round(fraction * candidates.size)), replace=False)
    out = free.copy()
    out.ravel()[opened] = True
    return out


def min_plus(a: np.ndarray, b: np.ndarray, block: int | None = None) -> np.ndarray:
    """The min-plus (tropical) matrix product ``C[i, j] = min_k a[i, k] + b[k, j]``.

    Computed ``block`` rows at a time, so that memory stays at ``block * k * n`` numbers.

    Args:
        a: shape ``(m, k)``; ``inf`` entries are allowed (no edge).
        b: shape ``(k, n)``.
        block: rows of ``a`` processed at once, a positive integer; by default as many as keep
            the temporary array near ``2**22`` numbers (32 MB).

    Returns:
        shape ``(m, n)``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"a and b must be matrices with a.shape[1] == b.shape[0], got "
                         f"{a.shape} and {b.shape}.")
    if block is None:
        block = max(1, 2**22 // max(1, a.shape[1] * b.shape[1]))
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}.")
    out = np.empty((a.shape[0], b.shape[1]))
    for start in range(0, a.shape[0], block):
        out[start : start + block] = np.min(a[start : start + block, :, None] + b[None], axis=1)
    return out


def grid_path_doubling(
    cost: np.ndarray, goal: tuple[int, int], rounds: int, return_all: bool = False
) -> np.ndarray:
    """Shortest paths to ``goal`` by repeated min-plus squaring (path doubling): a *non-local* net.

    On the ``N`` free cells (finite cost), ``D_1[i, j]`` is ``0`` for ``i = j``, ``c[i]`` for a
    grid neighbour ``j`` of ``i`` (the cost of leaving ``i``, as in ``grid_value_iteration``)
    and ``inf`` otherwise. Each round squares it in the min-plus sense,
    ``D_{2k} = min_plus(D_k, D_k)``, so after ``r`` rounds ``D_{2^r}[i, j]`` is the cheapest
    walk from ``i`` to ``j`` with at most ``2^r`` steps. Each round is one layer of width ``N^2``
    whose units take a minimum of ``N`` sums: every unit reads the whole previous layer.

    Args:
        cost: positive costs, shape ``(H, W)``, ``inf`` for walls.
        goal: the goal cell ``(row, column)``, a free cell.
        rounds: the number of squarings ``r``, non-negative.
        return_all: also return the results after ``0, ..., r - 1`` rounds.

    Returns:
        the cheapest cost of a walk of at most ``2^r`` steps from each cell to the goal, shape
        ``(H, W)`` (``inf`` on walls and on cells farther than ``2^r`` steps); with
        ``return_all``, the results after ``0, ..., r`` rounds, shape ``(r + 1, H, W)``.
    """
    cost = np.asarray(cost, dtype=float)
    if cost.ndim != 2 or np.any(cost <= 0) or np.any(np.isnan(cost)):
        raise ValueError("cost must be a 2-D array of positive numbers (inf for walls).")
    if not (0 <= goal[0] < cost.shape[0] and 0 <= goal[1] < cost.shape[1]):
        raise ValueError(f"goal must be a cell of the {cost.shape} grid, got {goal!r}.")
    if not np.isfinite(cost[goal]):
        raise ValueError(f"goal {goal!r} is a wall (infinite cost).")
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 0:
        raise ValueError(f"rounds must be a non-negative integer, got {rounds!r}.")
    free = np.isfinite(cost)
    index = np.full(cost.shape, -1)
    index[free] = np.arange(int(free.sum()))
    graph = grid_graph(cost).tocoo()  # edge t -> s with weight c[s]: reversed, see grid_graph
    n = int(free.sum())
    flat = index.ravel()
    d = np.full((n, n), np.inf)
    d[flat[graph.col], flat[graph.row]] = graph.data  # D_1[s, t] = c[s] for neighbours s, t
    np.fill_diagonal(d, 0.0)
    g = index[goal]

    def to_grid(column: np.ndarray) -> np.ndarray:
        out = np.full(cost.shape, np.inf)
        out[free] = column
        return out

    results = [to_grid(d[:, g])]
    for _ in range(rounds):
        d = min_plus(d, d)
        results.append(to_grid(d[:, g]))
    return np.stack(results) if return_all else results[-1]
