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
