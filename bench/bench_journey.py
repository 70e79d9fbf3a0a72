"""Journey engine throughput and compile time, side by side with the graph engine.

    python bench/bench_journey.py [--repeat 9]

Shapes as in bench_graph.py (chain of 1,000 nodes, 100-wide fan-out, 1,000-iteration loop).
States per second = states visited (the journey path's length) / wall time of whole runs;
per node = wall time / node executions, for the journey and the graph engine measured in
the same process, interleaved; journey/graph is the median of the per-pair ratios (each
journey sample over the graph sample taken right after it), with their range.
Compile time: compiling a workflow into its journey (blueprint) per 100 nodes, for chains of
100 and 1,000 nodes.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

from bench_graph import chain, fan_out, loop, our_runner, per_node_seconds

from engines.clock import VirtualClock
from engines.journey import JourneyEngine
from engines.journey.blueprint import Blueprint
from engines.model import ValidatedWorkflow, WorkflowRegistry


def journey_runner(
    workflow: ValidatedWorkflow, *, read_trace: bool = False
) -> Callable[[], tuple[int, int]]:
    """A run of `workflow`; with `read_trace`, each result's trace is read as well."""
    engine = JourneyEngine(clock=VirtualClock())
    engine.blueprint(workflow)  # compile once, as in production

    def run() -> tuple[int, int]:
        result = engine.run(workflow, {"x": 1})
        assert result.status == "completed", result.errors
        if read_trace:
            result.lean_trace()
        return result.metrics.node_executions, result.states_visited

    return run


def sample(run: Callable[[], tuple[int, int]], min_seconds: float = 0.05) -> tuple[float, float]:
    """(seconds per node execution, seconds per state) over whole runs filling min_seconds."""
    nodes = states = 0
    start = time.perf_counter()
    while True:
        n, s = run()
        nodes, states = nodes + n, states + s
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / nodes, elapsed / states


def compile_seconds(nodes: int, repeat: int) -> float:
    workflow = chain(nodes)
    registry = WorkflowRegistry([workflow])
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        Blueprint(workflow, registry)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    print(
        f"journey engine, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, median of {args.repeat}"
    )
    for label, workflow in (
        ("chain of 1,000", chain(1000)),
        ("fan-out 100", fan_out(100)),
        ("loop 1,000 iterations", loop(1000)),
    ):
        journey, graph = journey_runner(workflow), our_runner(workflow)
        journey()
        graph()
        per_node, per_state, graph_node = [], [], []
        for _ in range(args.repeat):
            node_s, state_s = sample(journey)
            per_node.append(node_s)
            per_state.append(state_s)
            graph_node.append(per_node_seconds(graph))
        j, s, g = (statistics.median(x) for x in (per_node, per_state, graph_node))
        # Each journey sample is paired with the graph sample right after it: the median of
        # the pair ratios shrugs off a slow spell that hit one pair (the ratio of the two
        # medians does not).
        ratios = sorted(a / b for a, b in zip(per_node, graph_node, strict=True))
        print(
            f"{label:<24}{1 / s:>10,.0f} states/s; {j * 1e6:.1f} us/node vs graph "
            f"{g * 1e6:.1f} us/node: journey/graph {statistics.median(ratios):.2f} "
            f"(median of {len(ratios)} pair ratios, {ratios[0]:.2f}-{ratios[-1]:.2f})"
        )
    for nodes in (100, 1000):
        seconds = compile_seconds(nodes, args.repeat)
        print(
            f"compile a {nodes:,}-node chain: {seconds * 1e3:.1f} ms "
            f"({seconds / nodes * 100 * 1e3:.2f} ms per 100 nodes)"
        )


if __name__ == "__main__":
    main()
