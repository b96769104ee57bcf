"""Tic-tac-toe as a solved game: its game graph, minimax and alpha-beta search, Monte Carlo tree
search (UCT) and a player trained by self-play, checked exhaustively against perfect play.

A *board* is a tuple of 9 integers, read row by row: ``1`` for a mark of X (who moves first),
``-1`` for O, ``0`` for an empty square. :func:`game_graph` enumerates every position reachable
from the empty board once and numbers them; everything else works on these position numbers, so
that a search or a training episode is a walk through lists of integers (pure Python, fast enough
for the whole game). Values are always from X's point of view: ``+1`` X wins, ``-1`` O wins,
``0`` draw; X maximizes, O minimizes.

:func:`minimax` and :func:`alphabeta` are generic: they search any finite game tree given by a
``children`` function, and count the nodes they visit. :func:`solve` is backward induction over
the graph (minimax with memoization). :func:`mcts_move` is UCT (Kocsis and Szepesvari, 2006)
with uniformly random playouts. :func:`td_self_play` trains a table of position values by TD(0)
on afterstates with epsilon-greedy self-play (a self-play variant of the first example of
Sutton and Barto);
:func:`lines_against` enumerates every line of play of a fixed player against an opponent that
plays every optimal (or every legal) reply, and :func:`outcome_probabilities` gives the exact
result of two policies, either of which may be the uniformly random player.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from .checks import positive_int, probability

__all__ = ["LINES", "Board", "EMPTY", "winner", "to_move", "legal_moves", "play",
           "GameGraph", "game_graph", "count_games", "solve", "optimal_children",
           "SearchResult", "minimax", "alphabeta", "mcts_move", "td_update", "td_self_play",
           "greedy_policy", "LineCounts", "lines_against", "outcome_probabilities"]

Board = tuple[int, ...]
Node = TypeVar("Node")

#: The 8 winning lines of the 3 x 3 board (rows, columns, diagonals), as square indices.
LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
#: The empty board.
EMPTY: Board = (0,) * 9


def _board(board: Sequence[int]) -> Board:
    b = tuple(board)
    if len(b) != 9 or any(isinstance(v, bool) or v not in (-1, 0, 1) for v in b):
        raise ValueError(f"board must be 9 entries in {{-1, 0, 1}}, got {board!r}.")
    n_x, n_o = b.count(1), b.count(-1)
    if n_x - n_o not in (0, 1):
        raise ValueError(f"board must have as many X (1) as O (-1) marks or one more, got "
                         f"{n_x} X and {n_o} O in {board!r}.")
    return b


def _winner(b: Board) -> int:
    for i, j, k in LINES:
        s = b[i] + b[j] + b[k]
        if s == 3:
            return 1
        if s == -3:
            return -1
    return 0


def winner(board: Sequence[int]) -> int:
    """The player with three in a line: ``1`` (X), ``-1`` (O), or ``0`` if none has.

    Raises:
        ValueError: if ``board`` is not a board of the game.
    """
    return _winner(_board(board))


def to_move(board: Sequence[int]) -> int:
    """The player to move: ``1`` (X) if both have as many marks, else ``-1`` (O)."""
    b = _board(board)
    return 1 if b.count(1) == b.count(-1) else -1


def legal_moves(board: Sequence[int]) -> list[int]:
    """The empty squares of a non-terminal board, in increasing order; ``[]`` once someone has
    won or the board is full."""
    b = _board(board)
    if _winner(b):
        return []
    return [i for i in range(9) if b[i] == 0]


def play(board: Sequence[int], square: int) -> Board:
    """The board after the player to move marks ``square``.

    Raises:
        ValueError: if ``square`` is not a legal move (occupied, out of range, or the game is over).
    """
    b = _board(board)
    if isinstance(square, bool) or not isinstance(square, int) or square not in legal_moves(b):
        raise ValueError(f"square must be one of the legal moves {legal_moves(b)}, got "
                         f"{square!r}.")
    new = list(b)
    new[square] = to_move(b)
    return tuple(new)


@dataclass(frozen=True)
class GameGraph:
    """Every position reachable from the empty board, numbered in order of the number of marks
    (position 0 is the empty board).

    Attributes:
        boards: ``boards[i]`` is position ``i`` as a board.
        index: the position number of a board.
        children: ``children[i]`` are the positions after each legal move of position ``i``
            (empty for terminal positions), in the order of ``moves[i]``.
        moves: ``moves[i][k]`` is the square marked to go from ``i`` to ``children[i][k]``.
        player: ``player[i]`` is the player to move at ``i`` (``1`` X, ``-1`` O).
        outcome: ``outcome[i]`` is the result of a terminal position (``1``, ``-1`` or ``0``
            for a draw), and ``0`` for a position that is not terminal.
        terminal: ``terminal[i]`` says whether position ``i`` ends the game.
    """

    boards: tuple[Board, ...]
    index: dict[Board, int]
    children: tuple[tuple[int, ...], ...]
    moves: tuple[tuple[int, ...], ...]
    player: tuple[int, ...]
    outcome: tuple[int, ...]
    terminal: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.boards)


@lru_cache(maxsize=1)
def game_graph() -> GameGraph:
    """The graph of tic-tac-toe: every reachable position and its legal moves (computed once)."""
    boards: list[Board] = [EMPTY]
    index: dict[Board, int] = {EMPTY: 0}
    children: list[tuple[int, ...]] = []
    moves: list[tuple[int, ...]] = []
    i = 0
    while i < len(boards):  # breadth first: positions come in order of their number of marks
        b = boards[i]
        mover = 1 if b.count(1) == b.count(-1) else -1
        kids, sqs = [], []
        if not _winner(b):
            for sq in range(9):
                if b[sq] == 0:
                    nb = b[:sq] + (mover,) + b[sq + 1:]
                    if nb not in index:
                        index[nb] = len(boards)
                        boards.append(nb)
                    kids.append(index[nb])
                    sqs.append(sq)
        children.append(tuple(kids))
        moves.append(tuple(sqs))
        i += 1
    player = tuple(1 if b.count(1) == b.count(-1) else -1 for b in boards)
    outcome = tuple(_winner(b) for b in boards)
    terminal = tuple(not kids for kids in children)
    return GameGraph(tuple(boards), index, tuple(children), tuple(moves), player, outcome,
                     terminal)


def _graph(graph: GameGraph | None) -> GameGraph:
    if graph is None:
        return game_graph()
    if not isinstance(graph, GameGraph):
        raise TypeError(f"graph must be a GameGraph (from game_graph()), got "
                        f"{type(graph).__name__}.")
    return graph


def _position(graph: GameGraph, position: int) -> int:
    if isinstance(position, bool) or not isinstance(position, int) \
            or not 0 <= position < len(graph):
        raise ValueError(f"position must be a position number in [0, {len(graph)}), got "
                         f"{position!r}.")
    return position


def count_games(graph: GameGraph | None = None) -> dict[int, int]:
    """The number of complete games (move sequences from the empty board to a terminal
    position), by result: ``{1: X wins, -1: O wins, 0: draws}``.

    Counts the paths through the graph by dynamic programming (paths into a position = sum of
    the paths into its parents), without enumerating the games.
    """
    g = _graph(graph)
    paths = [0] * len(g)
    paths[0] = 1
    for i in range(len(g)):  # parents have fewer marks, so they come first
        for c in g.children[i]:
            paths[c] += paths[i]
    counts = {1: 0, -1: 0, 0: 0}
    for i in range(len(g)):
        if g.terminal[i]:
            counts[g.outcome[i]] += paths[i]
    return counts


def solve(graph: GameGraph | None = None) -> list[int]:
    """The minimax value of every position (X's point of view), by backward induction.

    Positions are visited from the most marks to the fewest, so every child is valued before its
    parent: each position is evaluated once (minimax with memoization).
    """
    g = _graph(graph)
    value = [0] * len(g)
    for i in range(len(g) - 1, -1, -1):
        kids = g.children[i]
        if not kids:
            value[i] = g.outcome[i]
        elif g.player[i] == 1:
            value[i] = max(value[c] for c in kids)
        else:
            value[i] = min(value[c] for c in kids)
    return value


def optimal_children(graph: GameGraph, values: Sequence[float], position: int) -> list[int]:
    """The children of ``position`` that keep its minimax value (the optimal moves' results)."""
    g = _graph(graph)
    i = _position(g, position)
    if len(values) != len(g):
        raise ValueError(f"values must have one entry per position ({len(g)}), got "
                         f"{len(values)}.")
    return [c for c in g.children[i] if values[c] == values[i]]


@dataclass(frozen=True)
class SearchResult:
    """What a tree search returned.

    Attributes:
        value: the value it returned for the root.
        nodes: how many nodes it visited (the root included).
        leaves: how many terminal nodes it evaluated.
    """

    value: float
    nodes: int
    leaves: int


def minimax(root: Node, children: Callable[[Node], Sequence[Node]],
            payoff: Callable[[Node], float], maximizing: Callable[[Node], bool]) -> SearchResult:
    """Plain minimax on the tree below ``root``, visiting every node (no memoization).

    Args:
        root: the node to value.
        children: the children of a node; an empty sequence marks a terminal node.
        payoff: the payoff of a terminal node to the maximizing player.
        maximizing: whether the player to move at a node maximizes.
    """
    count = [0, 0]

    def visit(node: Node) -> float:
        count[0] += 1
        kids = children(node)
        if not kids:
            count[1] += 1
            return payoff(node)
        vals = [visit(k) for k in kids]
        return max(vals) if maximizing(node) else min(vals)

    v = visit(root)
    return SearchResult(v, count[0], count[1])


def alphabeta(root: Node, children: Callable[[Node], Sequence[Node]],
              payoff: Callable[[Node], float], maximizing: Callable[[Node], bool],
              alpha: float = -math.inf, beta: float = math.inf) -> SearchResult:
    """Minimax with alpha-beta pruning (fail-hard), children searched in the order given.

    With the window ``(alpha, beta)``, the returned value ``v`` equals the minimax value ``V``
    of the root when ``alpha < V < beta``; otherwise ``v <= alpha`` if ``V <= alpha`` and
    ``v >= beta`` if ``V >= beta``. The default window is unbounded, so ``v = V``. A node's
    remaining children are skipped (pruned) as soon as ``alpha >= beta``.

    Args:
        root, children, payoff, maximizing: as for :func:`minimax`; move ordering is whatever
            order ``children`` returns.
        alpha, beta: the initial window, ``alpha < beta``.
    """
    if not alpha < beta:
        raise ValueError(f"alpha must be below beta, got alpha={alpha!r}, beta={beta!r}.")
    count = [0, 0]

    def visit(node: Node, a: float, b: float) -> float:
        count[0] += 1
        kids = children(node)
        if not kids:
            count[1] += 1
            return payoff(node)
        if maximizing(node):
            for k in kids:
                a = max(a, visit(k, a, b))
                if a >= b:
                    break
            return a
        for k in kids:
            b = min(b, visit(k, a, b))
            if a >= b:
                break
        return b

    v = visit(root, alpha, beta)
    return SearchResult(v, count[0], count[1])


def _rng(rng: random.Random | int) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, int) or rng < 0:
        raise ValueError(f"rng must be a random.Random or a non-negative integer seed, got "
                         f"{rng!r}.")
    return random.Random(rng)


def mcts_move(graph: GameGraph | None, position: int, playouts: int,
              rng: random.Random | int, exploration: float = math.sqrt(2)) -> int:
    """The child position UCT chooses at ``position`` after ``playouts`` playouts.

    Each playout descends the search tree from the root, at each node choosing a child not yet
    tried if there is one (at random), else the child maximizing the UCB1 index
    ``mean + exploration * sqrt(ln N / n)`` (``N`` the node's visits, ``n`` the child's, ``mean``
    the child's average reward for the player who moved into it); it adds one node to the tree,
    finishes the game with uniformly random moves, and backs up the reward (``1`` win, ``1/2``
    draw, ``0`` loss, for the player who moved into each node). The move returned is the most
    visited child of the root (ties: the higher mean, then the first).

    Args:
        graph: the game graph (``None``: :func:`game_graph`).
        position: a non-terminal position number.
        playouts: the number of playouts, at least 1.
        rng: a ``random.Random`` or a seed.
        exploration: the UCB1 constant, non-negative.
    """
    g = _graph(graph)
    root = _position(g, position)
    if g.terminal[root]:
        raise ValueError(f"position {root} is terminal: there is no move to choose.")
    n_playouts = positive_int("playouts", playouts)
    if not (isinstance(exploration, (int, float)) and exploration >= 0):
        raise ValueError(f"exploration must be a non-negative number, got {exploration!r}.")
    r = _rng(rng)
    children, terminal, outcome, player = g.children, g.terminal, g.outcome, g.player
    # A tree node is [position, visits, total reward of the mover into it, child nodes or None].
    tree: list = [root, 0, 0.0, None]
    for _ in range(n_playouts):
        node, path = tree, [tree]
        while node[3] is not None and node[3]:
            untried = [k for k in node[3] if k[1] == 0]
            if untried:
                node = r.choice(untried)
                path.append(node)
                break
            log_n = math.log(node[1])
            node = max(node[3], key=lambda k, ln=log_n: k[2] / k[1]
                       + exploration * math.sqrt(ln / k[1]))
            path.append(node)
        pos = node[0]
        if node[3] is None and not terminal[pos]:
            node[3] = [[c, 0, 0.0, None] for c in children[pos]]
        elif node[3] is None:
            node[3] = []
        while not terminal[pos]:  # random playout
            pos = r.choice(children[pos])
        result = outcome[pos]
        for nd in path:
            nd[1] += 1
            mover = -player[nd[0]]  # the player who moved into this node
            nd[2] += 0.5 * (1 + result * mover)
    best = max(tree[3], key=lambda k: (k[1], k[2] / k[1] if k[1] else 0.0))
    return best[0]


def td_update(values: list[float], state: int, next_state: int, alpha: float) -> float:
    """One TD(0) update ``V[state] += alpha * (V[next_state] - V[state])``, in place.

    Returns:
        the TD error ``V[next_state] - V[state]`` before the update.
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
        raise ValueError(f"alpha must be a step size in (0, 1], got {alpha!r}.")
    delta = values[next_state] - values[state]
    values[state] += alpha * delta
    return delta


def td_self_play(graph: GameGraph | None, episodes: int, rng: random.Random | int,
                 alpha: float = 0.5, epsilon: float = 0.1,
                 values: list[float] | None = None) -> list[float]:
    """Train a table of position values by TD(0) on afterstates, in epsilon-greedy self-play.

    Both players use the one table ``V`` (X's point of view; terminal positions hold their
    result, other positions start at 0, a draw). The player to move marks, with probability
    ``epsilon``, a random square, else the square whose afterstate is best for it (largest ``V``
    for X, smallest for O; ties broken at random). After each greedy move, the previous
    afterstate ``s`` (the position the mover faced) is moved toward the new one ``s'``:
    ``V[s] += alpha * (V[s'] - V[s])``; exploratory moves are not backed up, as in the first
    example of Sutton and Barto (there one player learns against a fixed opponent; here one table
    plays both sides and is updated at every move), so ``V`` tracks greedy play.

    Args:
        graph: the game graph (``None``: :func:`game_graph`).
        episodes: the number of self-play games.
        rng: a ``random.Random`` (continue its stream) or a seed.
        alpha: the step size in (0, 1].
        epsilon: the exploration probability in [0, 1].
        values: a table to continue training (updated in place); ``None`` starts afresh.

    Returns:
        the value table, one entry per position.
    """
    g = _graph(graph)
    n_episodes = positive_int("episodes", episodes)
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
        raise ValueError(f"alpha must be a step size in (0, 1], got {alpha!r}.")
    epsilon = probability("epsilon", epsilon)
    r = _rng(rng)
    if values is None:
        values = [float(o) if t else 0.0 for o, t in zip(g.outcome, g.terminal)]
    elif len(values) != len(g):
        raise ValueError(f"values must have one entry per position ({len(g)}), got "
                         f"{len(values)}.")
    children, terminal, player = g.children, g.terminal, g.player
    random_, choice = r.random, r.choice
    for _ in range(n_episodes):
        pos = 0
        while not terminal[pos]:
            kids = children[pos]
            if random_() < epsilon:
                pos = choice(kids)
                continue
            if player[pos] == 1:
                best = max(values[k] for k in kids)
            else:
                best = min(values[k] for k in kids)
            nxt = choice([k for k in kids if values[k] == best])
            if pos != 0:
                values[pos] += alpha * (values[nxt] - values[pos])
            pos = nxt
    return values


def greedy_policy(graph: GameGraph | None, values: Sequence[float]) -> Callable[[int], int]:
    """The deterministic player that moves to the best afterstate under ``values`` (largest for
    X, smallest for O; ties: the lowest square)."""
    g = _graph(graph)
    if len(values) != len(g):
        raise ValueError(f"values must have one entry per position ({len(g)}), got "
                         f"{len(values)}.")

    def policy(position: int) -> int:
        kids = g.children[position]
        if not kids:
            raise ValueError(f"position {position} is terminal: there is no move to choose.")
        sign = g.player[position]
        return max(kids, key=lambda k: sign * values[k])

    return policy


@dataclass(frozen=True)
class LineCounts:
    """The lines of play of one player against every reply of an opponent.

    Attributes:
        lines: how many distinct complete games.
        wins, draws, losses: how many of them the player wins, draws and loses.
        losing_lines: the losing games as sequences of squares (empty if there is none).
    """

    lines: int
    wins: int
    draws: int
    losses: int
    losing_lines: tuple[tuple[int, ...], ...]


def lines_against(graph: GameGraph | None, policy: Callable[[int], int], side: int,
                  replies: str = "optimal", values: Sequence[float] | None = None,
                  start: int = 0) -> LineCounts:
    """Every game of ``policy`` playing ``side`` against an opponent that tries every reply.

    Args:
        graph: the game graph (``None``: :func:`game_graph`).
        policy: the player to check: position number -> child position number.
        side: ``1`` if the player is X, ``-1`` if O.
        replies: ``"optimal"`` (the opponent plays, in turn, each move that keeps the minimax
            value: perfect play, all its variants) or ``"all"`` (every legal move).
        values: the minimax values (``None``: :func:`solve`); used for ``"optimal"``.
        start: the position to start from (default the empty board).
    """
    g = _graph(graph)
    if side not in (1, -1) or isinstance(side, bool):
        raise ValueError(f"side must be 1 (X) or -1 (O), got {side!r}.")
    if replies not in ("optimal", "all"):
        raise ValueError(f"replies must be 'optimal' or 'all', got {replies!r}.")
    start = _position(g, start)
    vals = solve(g) if values is None else values
    tally = {1: 0, 0: 0, -1: 0}
    losing: list[tuple[int, ...]] = []

    def walk(pos: int, line: tuple[int, ...]) -> None:
        if g.terminal[pos]:
            result = g.outcome[pos] * side
            tally[result] += 1
            if result < 0:
                losing.append(line)
            return
        if g.player[pos] == side:
            nxt = policy(pos)
            if nxt not in g.children[pos]:
                raise ValueError(f"policy chose {nxt}, not a child of position {pos}.")
            walk(nxt, line + (g.moves[pos][g.children[pos].index(nxt)],))
            return
        for sq, c in zip(g.moves[pos], g.children[pos]):
            if replies == "all" or vals[c] == vals[pos]:
                walk(c, line + (sq,))

    walk(start, ())
    return LineCounts(sum(tally.values()), tally[1], tally[0], tally[-1], tuple(losing))


def outcome_probabilities(graph: GameGraph | None, x_policy: Callable[[int], int] | None,
                          o_policy: Callable[[int], int] | None) -> dict[int, float]:
    """The exact probabilities of each result when X plays ``x_policy`` and O ``o_policy``
    (``None``: the uniformly random player), from the empty board.

    Returns:
        ``{1: P(X wins), -1: P(O wins), 0: P(draw)}``.
    """
    g = _graph(graph)
    memo: dict[int, tuple[float, float, float]] = {}

    def dist(pos: int) -> tuple[float, float, float]:  # (P(X wins), P(draw), P(O wins))
        if pos in memo:
            return memo[pos]
        if g.terminal[pos]:
            o = g.outcome[pos]
            out = (float(o == 1), float(o == 0), float(o == -1))
        else:
            pol = x_policy if g.player[pos] == 1 else o_policy
            if pol is None:
                parts = [dist(c) for c in g.children[pos]]
                n = len(parts)
                out = tuple(sum(p[j] for p in parts) / n for j in range(3))  # type: ignore[assignment]
            else:
                nxt = pol(pos)
                if nxt not in g.children[pos]:
                    raise ValueError(f"policy chose {nxt}, not a child of position {pos}.")
                out = dist(nxt)
        memo[pos] = out
        return out

    p_x, p_d, p_o = dist(0)
    return {1: p_x, 0: p_d, -1: p_o}
