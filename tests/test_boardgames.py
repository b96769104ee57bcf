"""Tic-tac-toe search and self-play, against known counts, hand positions and brute force."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest
from dlscience import boardgames as bg

X, O, _ = 1, -1, 0  # noqa: E741 (the players' marks, as on the board)


@pytest.fixture(scope="module")
def graph():
    return bg.game_graph()


@pytest.fixture(scope="module")
def values(graph):
    return bg.solve(graph)


def _tree_fns(graph):
    return (lambda i: graph.children[i], lambda i: graph.outcome[i],
            lambda i: graph.player[i] == 1)


def test_winner_detects_every_line_and_nothing_else():
    for line in bg.LINES:
        for mark in (X, O):
            board = [0] * 9
            for sq in line:
                board[sq] = mark
            # pad the other player so the mark counts are legal, without a line of its own
            free = [sq for sq in range(9) if sq not in line]
            for others in itertools.combinations(free, 3 if mark == O else 2):
                if not any(set(ln) <= set(others) for ln in bg.LINES):
                    break
            for sq in others:
                board[sq] = -mark
            assert bg.winner(board) == mark
    assert bg.winner(bg.EMPTY) == 0
    # a full board with no line: X O X / X O O / O X X
    assert bg.winner((X, O, X, X, O, O, O, X, X)) == 0


def test_legal_moves_to_move_and_play():
    board = (X, _, _, _, O, _, _, _, _)
    assert bg.to_move(board) == X
    assert bg.legal_moves(board) == [1, 2, 3, 5, 6, 7, 8]
    after = bg.play(board, 8)
    assert after == (X, _, _, _, O, _, _, _, X)
    assert bg.to_move(after) == O
    won = (X, X, X, O, O, _, _, _, _)
    assert bg.legal_moves(won) == []
    with pytest.raises(ValueError, match="square"):
        bg.play(board, 4)          # occupied
    with pytest.raises(ValueError, match="square"):
        bg.play(won, 5)            # game over
    with pytest.raises(ValueError, match="board"):
        bg.winner((X, X, X, _, _, _, _, _, _))   # three X, no O
    with pytest.raises(ValueError, match="board"):
        bg.winner((2,) * 9)
    with pytest.raises(ValueError, match="board"):
        bg.winner((0,) * 8)


def test_counts_match_the_known_values(graph):
    assert len(graph) == 5478
    assert sum(graph.terminal) == 958
    assert bg.count_games(graph) == {1: 131184, -1: 77904, 0: 46080}
    assert graph.boards[0] == bg.EMPTY


def test_count_games_by_brute_force_enumeration():
    def games(board):
        moves = bg.legal_moves(board)
        if not moves:
            return 1
        return sum(games(bg.play(board, m)) for m in moves)

    start = (X, O, _, _, X, _, _, _, _)  # O to move, 6 empty squares
    g = bg.game_graph()
    counts = {1: 0, -1: 0, 0: 0}
    # paths from `start` only: count games in the sub-graph by the same DP, restricted
    paths = {g.index[start]: 1}
    for i in range(g.index[start], len(g)):
        for c in g.children[i]:
            if i in paths:
                paths[c] = paths.get(c, 0) + paths[i]
    for i, n in paths.items():
        if g.terminal[i]:
            counts[g.outcome[i]] += n
    assert sum(counts.values()) == games(start)


def test_minimax_values_of_hand_positions(graph, values):
    assert values[0] == 0                                  # tic-tac-toe is a draw
    # X to move with two in a row: wins at once.
    assert values[graph.index[(X, X, _, O, O, _, _, _, _)]] == 1
    # X (0, 4) to move against O (3, 8): X plays 2 and threatens both 1 and 6, a fork.
    fork = (X, _, _, O, X, _, _, _, O)
    assert bg.to_move(fork) == X
    assert values[graph.index[fork]] == 1                  # X plays 2 (threats 1 and 6)
    # corner opening answered by an edge loses for O.
    assert values[graph.index[(X, O, _, _, _, _, _, _, _)]] == 1
    # corner opening answered by the center is a draw.
    assert values[graph.index[(X, _, _, _, O, _, _, _, _)]] == 0


def test_plain_minimax_visits_the_whole_tree(graph):
    kids, payoff, maxing = _tree_fns(graph)
    res = bg.minimax(0, kids, payoff, maxing)
    assert (res.value, res.nodes, res.leaves) == (0, 549946, 255168)


def test_alphabeta_equals_minimax_on_random_positions(graph, values):
    kids, payoff, maxing = _tree_fns(graph)
    rng = random.Random(0)
    for i in rng.sample(range(len(graph)), 300):
        ab = bg.alphabeta(i, kids, payoff, maxing)
        mm = bg.minimax(i, kids, payoff, maxing)
        assert ab.value == mm.value == values[i]
        assert ab.nodes <= mm.nodes


def test_alphabeta_window_property_on_random_trees():
    rng = random.Random(1)
    for _ in range(50):
        b, d = rng.randint(2, 4), rng.randint(1, 4)
        leaf = {p: rng.gauss(0, 1) for p in itertools.product(range(b), repeat=d)}

        def kids(p, b=b, d=d):
            return [] if len(p) == d else [p + (j,) for j in range(b)]

        def pay(p, leaf=leaf):
            return leaf[p]

        def maxing(p):
            return len(p) % 2 == 0

        v = bg.minimax((), kids, pay, maxing).value
        for a, bb in [(-1.0, 1.0), (v - 0.1, v + 0.1), (v + 0.05, v + 1), (v - 1, v - 0.05)]:
            got = bg.alphabeta((), kids, pay, maxing, a, bb).value
            if a < v < bb:
                assert got == v
            elif v <= a:
                assert got <= a
            else:
                assert got >= bb


def test_knuth_moore_count_with_perfect_ordering():
    rng = random.Random(2)
    b, d = 3, 5
    leaf = {p: rng.random() for p in itertools.product(range(b), repeat=d)}
    value: dict = dict(leaf)
    for depth in range(d - 1, -1, -1):
        for p in itertools.product(range(b), repeat=depth):
            vals = [value[p + (j,)] for j in range(b)]
            value[p] = max(vals) if depth % 2 == 0 else min(vals)

    def kids(p):
        if len(p) == d:
            return []
        sign = 1 if len(p) % 2 == 0 else -1
        return sorted((p + (j,) for j in range(b)), key=lambda q: -sign * value[q])

    res = bg.alphabeta((), kids, leaf.__getitem__, lambda p: len(p) % 2 == 0)
    assert res.value == value[()]
    assert res.leaves == b ** 3 + b ** 2 - 1


def test_mcts_finds_mate_in_one_and_blocks(graph, values):
    # X to move: X X . / O O . / . . . -> X must play square 2.
    pos = graph.index[(X, X, _, O, O, _, _, _, _)]
    for seed in range(5):
        child = bg.mcts_move(graph, pos, 300, seed)
        assert graph.boards[child][2] == X
    # O to move: X X . / . O . / . . . -> O must block at 2.
    pos = graph.index[(X, X, _, _, O, _, _, _, _)]
    for seed in range(5):
        child = bg.mcts_move(graph, pos, 500, seed)
        assert values[child] == values[pos]


def test_mcts_is_reproducible_and_validates(graph):
    assert bg.mcts_move(graph, 0, 50, 3) == bg.mcts_move(graph, 0, 50, 3)
    terminal = next(i for i in range(len(graph)) if graph.terminal[i])
    with pytest.raises(ValueError, match="terminal"):
        bg.mcts_move(graph, terminal, 10, 0)
    with pytest.raises(ValueError, match="playouts"):
        bg.mcts_move(graph, 0, 0, 0)
    with pytest.raises(ValueError, match="position"):
        bg.mcts_move(graph, len(graph), 10, 0)
    with pytest.raises(ValueError, match="rng"):
        bg.mcts_move(graph, 0, 10, -1)
    with pytest.raises(ValueError, match="exploration"):
        bg.mcts_move(graph, 0, 10, 0, exploration=-1.0)


def test_td_update_by_hand():
    v = [0.0, 0.5, 1.0]
    delta = bg.td_update(v, 1, 2, alpha=0.2)
    assert delta == pytest.approx(0.5)
    assert v == pytest.approx([0.0, 0.6, 1.0])
    with pytest.raises(ValueError, match="alpha"):
        bg.td_update(v, 1, 2, alpha=0.0)


def test_td_self_play_one_greedy_episode_by_hand(graph):
    # epsilon = 0 and a table where X's best first move is fixed: the episode is deterministic
    # up to ties, and only positions X or O moved from (after the first move) are updated.
    table = [float(o) if t else 0.0 for o, t in zip(graph.outcome, graph.terminal)]
    before = list(table)
    out = bg.td_self_play(graph, 1, 0, alpha=0.5, epsilon=0.0, values=table)
    assert out is table
    changed = [i for i in range(len(graph)) if out[i] != before[i]]
    # with every non-terminal value 0, the only non-zero TD errors come from moves into a
    # terminal position; each changes its predecessor by alpha * result
    for i in changed:
        assert not graph.terminal[i]
        assert abs(out[i]) == pytest.approx(0.5)
    assert out[0] == 0.0                       # the empty board is never updated


def test_self_play_learns_a_never_losing_player(graph, values):
    table = bg.td_self_play(graph, 40_000, random.Random(7), alpha=0.5, epsilon=0.1)
    player = bg.greedy_policy(graph, table)
    for side in (1, -1):
        assert bg.lines_against(graph, player, side, "all", values).losses == 0
        assert bg.lines_against(graph, player, side, "optimal", values).losses == 0


def test_lines_against_and_outcomes_for_known_players(graph, values):
    perfect = bg.greedy_policy(graph, values)
    for side in (1, -1):
        assert bg.lines_against(graph, perfect, side, "all", values).losses == 0
    # a player that always marks the lowest empty square loses to perfect play as X
    lowest = bg.greedy_policy(graph, [0.0] * len(graph))
    assert bg.lines_against(graph, lowest, 1, "optimal", values).losses > 0
    rr = bg.outcome_probabilities(graph, None, None)
    assert sum(rr.values()) == pytest.approx(1.0)
    # random vs random: X wins 737/1260, O 363/1260, draws 160/1260
    assert rr[1] == pytest.approx(737 / 1260)
    assert rr[-1] == pytest.approx(363 / 1260)
    assert rr[0] == pytest.approx(160 / 1260)
    with pytest.raises(ValueError, match="side"):
        bg.lines_against(graph, perfect, 0)
    with pytest.raises(ValueError, match="replies"):
        bg.lines_against(graph, perfect, 1, "some")


def test_td_self_play_validates_arguments(graph):
    with pytest.raises(ValueError, match="episodes"):
        bg.td_self_play(graph, 0, 0)
    with pytest.raises(ValueError, match="epsilon"):
        bg.td_self_play(graph, 1, 0, epsilon=1.5)
    with pytest.raises(ValueError, match="values"):
        bg.td_self_play(graph, 1, 0, values=[0.0])
    with pytest.raises(TypeError, match="graph"):
        bg.td_self_play("board", 1, 0)
    with pytest.raises(ValueError, match="alpha"):
        bg.alphabeta(0, lambda i: [], lambda i: 0, lambda i: True, alpha=1.0, beta=0.0)


def test_td_self_play_matches_a_reference_on_boards(graph):
    # An independent re-implementation on boards (not position numbers), consuming the random
    # stream in the same order: one random() per move, then a choice among the candidates.
    def reference(episodes, seed, alpha, epsilon):
        r = random.Random(seed)
        table: dict = {}

        def value(board):
            w = bg.winner(board)
            if w or 0 not in board:
                return float(w)
            return table.get(board, 0.0)

        for _ in range(episodes):
            board = bg.EMPTY
            while bg.legal_moves(board):
                afters = [bg.play(board, m) for m in bg.legal_moves(board)]
                if r.random() < epsilon:
                    board = r.choice(afters)
                    continue
                sign = bg.to_move(board)
                best = max(sign * value(a) for a in afters)
                nxt = r.choice([a for a in afters if sign * value(a) == best])
                if board != bg.EMPTY:
                    table[board] = value(board) + alpha * (value(nxt) - value(board))
                board = nxt
        return table

    ref = reference(300, 11, 0.5, 0.2)
    got = bg.td_self_play(graph, 300, 11, alpha=0.5, epsilon=0.2)
    assert any(v != 0.0 for v in ref.values())
    for i, b in enumerate(graph.boards):
        if not graph.terminal[i]:
            assert got[i] == pytest.approx(ref.get(b, 0.0), abs=1e-12)
        else:
            assert got[i] == graph.outcome[i]


# ---------------------------------------------------------------------------------------------
# Argument checks: exact messages and boundaries.

@pytest.mark.parametrize("call, error, message", [
    (lambda: bg.winner((X, X, X, _, _, _, _, _, _)), ValueError,
     r"^board must have as many X \(1\) as O \(-1\) marks or one more, got 3 X and 0 O"),
    (lambda: bg.winner((O, _, _, _, _, _, _, _, _)), ValueError, r"^board must have as many X"),
    (lambda: bg.winner((True,) + (0,) * 8), ValueError,
     r"^board must be 9 entries in \{-1, 0, 1\}"),
    (lambda: bg.winner((0,) * 10), ValueError, r"^board must be 9 entries in \{-1, 0, 1\}"),
    (lambda: bg.to_move((2,) + (0,) * 8), ValueError, r"^board must be 9 entries"),
    (lambda: bg.play(bg.EMPTY, 9), ValueError,
     r"^square must be one of the legal moves \[0, 1, 2, 3, 4, 5, 6, 7, 8\], got 9"),
    (lambda: bg.play(bg.EMPTY, True), ValueError, r"^square must be one of the legal moves"),
    (lambda: bg.play(bg.EMPTY, 1.0), ValueError, r"^square must be one of the legal moves"),
    (lambda: bg.count_games("graph"), TypeError,
     r"^graph must be a GameGraph \(from game_graph\(\)\), got str"),
    (lambda: bg.solve([]), TypeError, r"^graph must be a GameGraph"),
    (lambda: bg.outcome_probabilities("graph", None, None), TypeError,
     r"^graph must be a GameGraph"),
    (lambda: bg.greedy_policy("graph", []), TypeError, r"^graph must be a GameGraph"),
    (lambda: bg.lines_against("graph", lambda i: i, 1), TypeError, r"^graph must be a GameGraph"),
    (lambda: bg.mcts_move("graph", 0, 1, 0), TypeError, r"^graph must be a GameGraph"),
    (lambda: bg.optimal_children(bg.game_graph(), [0] * 5478, 5478), ValueError,
     r"^position must be a position number in \[0, 5478\), got 5478"),
    (lambda: bg.optimal_children(bg.game_graph(), [0] * 5478, -1), ValueError,
     r"^position must be a position number in \[0, 5478\)"),
    (lambda: bg.optimal_children(bg.game_graph(), [0] * 5478, True), ValueError,
     r"^position must be a position number"),
    (lambda: bg.optimal_children(bg.game_graph(), [0] * 5478, 1.0), ValueError,
     r"^position must be a position number"),
    (lambda: bg.optimal_children(bg.game_graph(), [0] * 5477, 0), ValueError,
     r"^values must have one entry per position \(5478\), got 5477"),
    (lambda: bg.alphabeta(0, lambda i: [], lambda i: 0, lambda i: True, alpha=0.0, beta=0.0),
     ValueError, r"^alpha must be below beta, got alpha=0.0, beta=0.0"),
    (lambda: bg.mcts_move(None, 5478, 1, 0), ValueError, r"^position must be a position number"),
    (lambda: bg.mcts_move(None, 0, 0, 0), ValueError, r"^playouts must be a positive integer"),
    (lambda: bg.mcts_move(None, 0, 1, -1), ValueError,
     r"^rng must be a random.Random or a non-negative integer seed, got -1"),
    (lambda: bg.mcts_move(None, 0, 1, True), ValueError, r"^rng must be a random.Random"),
    (lambda: bg.mcts_move(None, 0, 1, "3"), ValueError, r"^rng must be a random.Random"),
    (lambda: bg.mcts_move(None, 0, 1, 2.0), ValueError, r"^rng must be a random.Random"),
    (lambda: bg.mcts_move(None, 0, 1, 0, exploration=-0.5), ValueError,
     r"^exploration must be a non-negative number, got -0.5"),
    (lambda: bg.mcts_move(None, 0, 1, 0, exploration="1"), ValueError,
     r"^exploration must be a non-negative number"),
    (lambda: bg.td_update([0.0, 1.0], 0, 1, alpha=1.01), ValueError,
     r"^alpha must be a step size in \(0, 1\], got 1.01"),
    (lambda: bg.td_update([0.0, 1.0], 0, 1, alpha=0), ValueError, r"^alpha must be a step size"),
    (lambda: bg.td_update([0.0, 1.0], 0, 1, alpha="0.5"), ValueError,
     r"^alpha must be a step size"),
    (lambda: bg.td_self_play(None, 0, 0), ValueError, r"^episodes must be a positive integer"),
    (lambda: bg.td_self_play(None, 1, 0, alpha=0.0), ValueError,
     r"^alpha must be a step size in \(0, 1\]"),
    (lambda: bg.td_self_play(None, 1, 0, alpha=1.5), ValueError, r"^alpha must be a step size"),
    (lambda: bg.td_self_play(None, 1, 0, alpha="1"), ValueError, r"^alpha must be a step size"),
    (lambda: bg.td_self_play(None, 1, 0, epsilon=-0.1), ValueError,
     r"^epsilon must be a probability in \[0, 1\]"),
    (lambda: bg.td_self_play(None, 1, -2), ValueError, r"^rng must be a random.Random"),
    (lambda: bg.td_self_play(None, 1, 0, values=[0.0] * 5477), ValueError,
     r"^values must have one entry per position \(5478\), got 5477"),
    (lambda: bg.greedy_policy(None, [0.0]), ValueError,
     r"^values must have one entry per position \(5478\), got 1"),
    (lambda: bg.lines_against(None, lambda i: i, 2), ValueError,
     r"^side must be 1 \(X\) or -1 \(O\), got 2"),
    (lambda: bg.lines_against(None, lambda i: i, True), ValueError, r"^side must be 1 \(X\)"),
    (lambda: bg.lines_against(None, lambda i: i, 1, "best"), ValueError,
     r"^replies must be 'optimal' or 'all', got 'best'"),
    (lambda: bg.lines_against(None, lambda i: i, 1, start=5478), ValueError,
     r"^position must be a position number"),
    (lambda: bg.lines_against(None, lambda i: i, 1), ValueError,
     r"^policy chose 0, not a child of position 0"),
    (lambda: bg.outcome_probabilities(None, lambda i: i, None), ValueError,
     r"^policy chose 0, not a child of position 0"),
])
def test_invalid_arguments_exact_messages(call, error, message):
    """Bad input raises an error whose message starts with the argument's name."""
    with pytest.raises(error, match=message):
        call()


def test_terminal_positions_have_no_move(graph):
    """mcts_move and a greedy policy refuse a finished game, naming the position."""
    pos = graph.index[(X, X, X, O, O, _, _, _, _)]
    with pytest.raises(ValueError, match=rf"^position {pos} is terminal: there is no move"):
        bg.mcts_move(graph, pos, 5, 0)
    with pytest.raises(ValueError, match=rf"^position {pos} is terminal: there is no move"):
        bg.greedy_policy(graph, [0.0] * len(graph))(pos)


def test_boundary_arguments_are_accepted(graph, values):
    """The ends of each range are valid: position 0 and len - 1, alpha 1, exploration 0,
    one playout, seed 0, epsilon 0 and 1."""
    last = len(graph) - 1
    assert graph.terminal[last]
    assert bg.optimal_children(graph, values, last) == []
    # from the empty board every move keeps the draw
    assert bg.optimal_children(graph, values, 0) == list(graph.children[0])
    v = [0.0, 1.0]
    assert bg.td_update(v, 0, 1, alpha=1) == 1.0 and v == [1.0, 1.0]
    assert bg.mcts_move(graph, 0, 1, 0, exploration=0) in graph.children[0]
    assert bg.mcts_move(graph, 0, 1, random.Random(0)) in graph.children[0]
    assert len(bg.td_self_play(graph, 1, 0, epsilon=1.0)) == len(graph)
    res = bg.alphabeta(0, lambda i: [], lambda i: 0.5, lambda i: True, alpha=0.0, beta=1.0)
    assert (res.value, res.nodes, res.leaves) == (0.5, 1, 1)


def test_td_self_play_backs_up_from_the_first_afterstate_only(graph):
    """With epsilon = 0 and a table making X play square 0 (position 1, value 0.5) and O reply
    into a child valued -0.5, position 1 moves to 0.5 + 0.5 * (-0.5 - 0.5) = 0 while the
    empty board (position 0, which nobody moved into) keeps its value."""
    table = [float(o) if t else 0.0 for o, t in zip(graph.outcome, graph.terminal)]
    first = graph.index[(X, _, _, _, _, _, _, _, _)]
    reply = graph.index[(X, O, _, _, _, _, _, _, _)]
    table[first], table[reply] = 0.5, -0.5
    bg.td_self_play(graph, 1, 0, alpha=0.5, epsilon=0.0, values=table)
    assert table[0] == 0.0
    assert table[first] == pytest.approx(0.0)


def _uct_reference(board, playouts, seed, c):
    """UCT as the docstring describes it, on boards (a node: [board, visits, reward, kids])."""
    r = random.Random(seed)
    root = [board, 0, 0.0, None]
    for _ in range(playouts):
        node, path = root, [root]
        while node[3]:
            untried = [k for k in node[3] if k[1] == 0]
            if untried:
                node = r.choice(untried)
                path.append(node)
                break
            parent = node
            node = max(node[3], key=lambda k: k[2] / k[1]
                       + c * math.sqrt(math.log(parent[1]) / k[1]))
            path.append(node)
        b = node[0]
        if node[3] is None:
            node[3] = [[bg.play(b, m), 0, 0.0, None] for m in bg.legal_moves(b)]
        while bg.legal_moves(b):
            b = bg.play(b, r.choice(bg.legal_moves(b)))
        result = bg.winner(b)
        for nd in path:
            nd[1] += 1
            nd[2] += (1 + result * -bg.to_move(nd[0])) / 2
    return max(root[3], key=lambda k: (k[1], k[2] / k[1] if k[1] else 0.0))[0]


@pytest.mark.parametrize("board, playouts, c", [
    (bg.EMPTY, 60, math.sqrt(2)),
    ((X, _, _, _, O, _, _, _, _), 40, 0.3),
    ((X, X, _, _, O, _, _, _, _), 30, 2.0),
    ((X, O, X, _, O, _, _, _, _), 25, 0.0),
    ((X, O, X, O, X, _, _, _, O), 12, 1.0),
])
def test_mcts_move_matches_a_reference_on_boards(graph, board, playouts, c):
    """For several positions, seeds and constants, UCT's choice equals that of a
    re-implementation on boards consuming the random stream in the same order."""
    for seed in range(8):
        got = bg.mcts_move(graph, graph.index[board], playouts, seed, exploration=c)
        assert graph.boards[got] == _uct_reference(board, playouts, seed, c)
    # the default exploration constant is sqrt(2)
    for seed in range(8):
        got = bg.mcts_move(None, graph.index[board], playouts, seed)
        assert graph.boards[got] == _uct_reference(board, playouts, seed, math.sqrt(2))


def _lines_reference(policy_board, side, replies, values_of, board=bg.EMPTY, line=()):
    """All games of a board policy against every (optimal) reply, by recursion on boards:
    (wins, draws, losses, losing lines)."""
    moves = bg.legal_moves(board)
    if not moves:
        res = bg.winner(board) * side
        return (res == 1, res == 0, res == -1, [line] if res == -1 else [])
    if bg.to_move(board) == side:
        nxt = policy_board(board)
        sq = next(i for i in range(9) if board[i] != nxt[i])
        return _lines_reference(policy_board, side, replies, values_of, nxt, line + (sq,))
    w = d = lo = 0
    losing: list = []
    for m in moves:
        after = bg.play(board, m)
        if replies == "all" or values_of(after) == values_of(board):
            a, b, c, lines = _lines_reference(policy_board, side, replies, values_of, after,
                                              line + (m,))
            w, d, lo, losing = w + a, d + b, lo + c, losing + lines
    return w, d, lo, losing


@pytest.mark.parametrize("side, replies", [(1, "optimal"), (-1, "optimal"), (1, "all"),
                                           (-1, "all")])
def test_lines_against_counts_match_enumeration(graph, values, side, replies):
    """The lowest-square player's games against perfect or arbitrary replies, counted by an
    independent recursion on boards: lines = wins + draws + losses, and the losing lines."""
    lowest = bg.greedy_policy(graph, [0.0] * len(graph))

    def policy_board(b):
        return graph.boards[lowest(graph.index[b])]

    def value_of(b):
        return values[graph.index[b]]

    w, d, lo, losing = _lines_reference(policy_board, side, replies, value_of)
    got = bg.lines_against(None, lowest, side, replies)      # values default to solve()
    assert (got.wins, got.draws, got.losses) == (w, d, lo)
    assert got.lines == w + d + lo
    assert list(got.losing_lines) == losing
    if replies == "all":
        assert lo > 0 and w > 0


def test_lines_against_from_a_later_start(graph, values):
    """From X X . / O O . / . . . with X to move, the lowest-square player as X wins at once
    (one line, one win); as O it faces every X move, the first of which (2) beats it."""
    lowest = bg.greedy_policy(graph, [0.0] * len(graph))
    start = graph.index[(X, X, _, O, O, _, _, _, _)]
    got = bg.lines_against(graph, lowest, 1, "all", values, start=start)
    assert (got.lines, got.wins, got.draws, got.losses) == (1, 1, 0, 0)
    assert got.losing_lines == ()
    got = bg.lines_against(graph, lowest, -1, "all", values, start=start)
    # X's every reply, counted by the recursion on boards
    ref = _lines_reference(lambda b: graph.boards[lowest(graph.index[b])], -1, "all",
                           lambda b: values[graph.index[b]],
                           board=(X, X, _, O, O, _, _, _, _))
    assert (got.wins, got.draws, got.losses) == ref[:3]
    assert got.losing_lines[0] == (2,)


def test_outcome_probabilities_of_perfect_against_random(graph, values):
    """Perfect X against random O and random X against perfect O, by an exact recursion on
    boards with fractions; the probabilities add up to 1."""
    perfect = bg.greedy_policy(graph, values)

    def reference(board, x_random):
        moves = bg.legal_moves(board)
        if not moves:
            w = bg.winner(board)
            return (Fraction(w == 1), Fraction(w == 0), Fraction(w == -1))
        if (bg.to_move(board) == 1) == x_random:
            parts = [reference(bg.play(board, m), x_random) for m in moves]
            return tuple(sum(p[j] for p in parts) / len(parts) for j in range(3))
        return reference(graph.boards[perfect(graph.index[board])], x_random)

    for x_random in (False, True):
        px, pd, po = reference(bg.EMPTY, x_random)
        got = (bg.outcome_probabilities(graph, None, perfect) if x_random
               else bg.outcome_probabilities(None, perfect, None))
        assert got[1] == pytest.approx(float(px)) and got[0] == pytest.approx(float(pd))
        assert got[-1] == pytest.approx(float(po))
        assert sum(got.values()) == pytest.approx(1.0)
    assert bg.outcome_probabilities(graph, perfect, perfect) == {1: 0.0, 0: 1.0, -1: 0.0}


def test_td_self_play_defaults_are_the_documented_ones(graph):
    """Called without alpha and epsilon, training equals alpha = 0.5, epsilon = 0.1."""
    got = bg.td_self_play(graph, 30, 4)
    assert got == bg.td_self_play(graph, 30, 4, alpha=0.5, epsilon=0.1)
    assert got != bg.td_self_play(graph, 30, 4, alpha=0.5, epsilon=0.2)
    assert got != bg.td_self_play(graph, 30, 4, alpha=0.25, epsilon=0.1)
