import pytest
from dlscience.programs import Cost, cost, mlp_graph, schedule


def test_lecture_examples():
    assert cost({"inner": ["x"], "outer": ["inner"]}, inputs=["x"]) == Cost(2, 1, 2)
    assert cost({"u": ["x"], "v": ["x"], "f": ["u", "v"]}, inputs=["x"]) == Cost(2, 2, 3)


def test_mlp_graph_cost_reads_layer_sizes():
    widths = [4, 8, 3, 1]
    c = cost(mlp_graph(widths), inputs=[("x", j) for j in range(4)])
    assert c == Cost(depth=3, width=8, work=12)


def test_schedule_is_as_early_as_possible():
    steps = schedule({"a": ["x"], "b": ["a"], "c": ["x"], "d": ["b", "c"]}, inputs=["x"])
    assert steps == {"a": 1, "b": 2, "c": 1, "d": 3}


def test_bad_graphs_are_reported():
    with pytest.raises(ValueError, match="cycle"):
        cost({"a": ["b"], "b": ["a"]})
    with pytest.raises(ValueError, match="neither a processor"):
        cost({"a": ["y"]}, inputs=["x"])
    with pytest.raises(ValueError, match="widths"):
        mlp_graph([3])
    assert cost({}) == Cost(0, 0, 0)


def test_processor_without_parents_runs_at_step_one():
    """A constant neuron reads nothing: by hand it runs at step 1, alone, one unit of work."""
    assert schedule({"c": []}) == {"c": 1}
    assert cost({"c": [], "d": ["c", "x"]}, inputs=["x"]) == Cost(depth=2, width=1, work=2)


def test_mlp_graph_names_and_edges_by_hand():
    """The two-layer graph [2, 3] written out by hand: neurons (1, j) read both inputs."""
    inputs = [("x", 0), ("x", 1)]
    assert mlp_graph([2, 3]) == {(1, 0): inputs, (1, 1): inputs, (1, 2): inputs}
    g = mlp_graph([1, 2, 1])
    assert g[(2, 0)] == [(1, 0), (1, 1)] and g[(1, 1)] == [("x", 0)]


@pytest.mark.parametrize("widths", [[3], [3, 0], [0, 2], [2, -1, 1], [2, 1.5]])
def test_mlp_graph_rejects_bad_widths(widths):
    """Fewer than two layers or a width that is not a positive integer is named in the error."""
    with pytest.raises(ValueError, match=r"^widths must list at least two positive integers"):
        mlp_graph(widths)


def test_schedule_error_messages_name_the_node():
    """The messages name the offending node and say what was expected, word for word."""
    with pytest.raises(ValueError, match=r"^graph: node 'x' is listed both as processor and as "
                                         r"input\.$"):
        schedule({"x": [], "a": ["x"]}, inputs=["x"])
    with pytest.raises(ValueError, match=r"^graph: node 'a' reads 'y', which is neither a "
                                         r"processor \(a key of graph\) nor one of inputs\.$"):
        schedule({"a": ["y"]}, inputs=["x"])
