"""Programs as computation graphs: depth, width and work.

A computation is a directed acyclic graph whose nodes are *processors* (a neuron computes a
linear function followed by a fixed nonlinearity) and whose edges say which outputs a node reads.
Inputs are not processors. With arbitrarily many processors working in parallel,

* **depth** is the minimum number of sequential steps: the longest chain of processors;
* **width** is the largest number of processors busy in one step when every node runs as early as
  it can (the "layers" of the computation);
* **work** is the total number of processor-steps: the number of processors.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    """Depth, width and work of a computation graph."""

    depth: int
    width: int
    work: int


def schedule(graph: Mapping[Hashable, Sequence[Hashable]],
             inputs: Sequence[Hashable] = ()) -> dict[Hashable, int]:
    """The earliest step at which each processor can run.

    Args:
        graph: maps each processor to the nodes it reads (processors or ``inputs``).
        inputs: nodes that are available at step 0 and cost nothing.

    Returns:
        ``{processor: step}`` with steps counted from 1.

    Raises:
        ValueError: if a node reads something that is neither a processor nor an input, or the
            graph has a cycle.
    """
    inputs_set = set(inputs)
    for node, parents in graph.items():
        if node in inputs_set:
            raise ValueError(f"graph: node {node!r} is listed both as processor and as input.")
        for parent in parents:
            if parent not in graph and parent not in inputs_set:
                raise ValueError(
                    f"graph: node {node!r} reads {parent!r}, which is neither a processor "
                    "(a key of graph) nor one of inputs."
                )
    steps: dict[Hashable, int] = {}
    visiting: set[Hashable] = set()

    def visit(node: Hashable) -> int:
        if node in inputs_set:
            return 0
        if node in steps:
            return steps[node]
        if node in visiting:
            raise ValueError(f"graph: has a cycle through node {node!r}; expected a DAG.")
        visiting.add(node)
        step = 1 + max((visit(p) for p in graph[node]), default=0)
        visiting.discard(node)
        steps[node] = step
        return step

    for node in graph:
        visit(node)
    return steps


def cost(graph: Mapping[Hashable, Sequence[Hashable]], inputs: Sequence[Hashable] = ()) -> Cost:
    """Depth, width and work of ``graph`` (see :func:`schedule` for the arguments)."""
    steps = schedule(graph, inputs)
    if not steps:
        return Cost(depth=0, width=0, work=0)
    depth = max(steps.values())
    width = max(sum(1 for s in steps.values() if s == k) for k in range(1, depth + 1))
    return Cost(depth=depth, width=width, work=len(steps))


def mlp_graph(widths: Sequence[int]) -> dict[Hashable, list[Hashable]]:
    """The computation graph of a fully connected network with layer sizes ``widths``.

    ``widths[0]`` inputs named ``("x", j)``; neuron ``j`` of layer ``i`` is ``(i, j)`` and reads
    every node of layer ``i - 1``.
    """
    if len(widths) < 2 or any(not isinstance(w, int) or w <= 0 for w in widths):
        raise ValueError(f"widths must list at least two positive integers, got {list(widths)!r}.")
    graph: dict[Hashable, list[Hashable]] = {}
    previous: list[Hashable] = [("x", j) for j in range(widths[0])]
    for i, width in enumerate(widths[1:], start=1):
        layer: list[Hashable] = [(i, j) for j in range(width)]
        for node in layer:
            graph[node] = list(previous)
        previous = layer
    return graph
