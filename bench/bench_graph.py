"""Graph engine throughput and memory, on the shapes of issue 3.

    python bench/bench_graph.py [--repeat 7] [--no-peers]

* linear chain of 1,000 `set`/`transform` nodes with plain path templates;
* 100-wide fan-out / fan-in;
* a 1,000-iteration loop (a two-node body);
* peak memory per paused execution of a 100-node workflow (tracemalloc);
* 8 branches that each wait 1 s of *real* time (overlap: about 1 s, not 8).

Node executions per second are counted from the result (`metrics.node_executions`) over
the wall time of whole runs, result included; each sample runs a shape as many times as fill
50 ms, and each figure is the median of `repeat` samples.
With peers installed (`pip install -e .[bench]`), the same chain and fan-out run on LangGraph,
pydantic-graph and Hamilton in the same process, interleaved with ours, and our per-node time
is printed as a ratio to theirs. Hamilton cannot express the loop (a DAG has no cycle); the
loop row shows its nearest, a dynamic map over as many items, and says so.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import bench_peers

from compat.perf import shapes
from engines.clock import RealClock, VirtualClock
from engines.graph import GraphEngine
from engines.model import ValidatedWorkflow, validate_workflow


def chain(n: int = 1000) -> ValidatedWorkflow:
    return shapes.chain(n)


def fan_out(width: int = 100) -> ValidatedWorkflow:
    return shapes.fan_out(width, join="{{ inputs.x }}")


def loop(iterations: int = 1000) -> ValidatedWorkflow:
    return shapes.loop(iterations)


def paused_workflow(n: int = 100) -> ValidatedWorkflow:
    """n nodes: a chain of n-2 transforms after start, then an input node."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    nodes += [
        {"id": f"n{i}", "type": "transform", "params": {"value": "{{ inputs.x }}"}}
        for i in range(n - 2)
    ]
    nodes.append({"id": "ask", "type": "input", "params": {"prompt": "more?"}})
    edges = [{"source": "start", "target": "n0"}]
    edges += [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 3)]
    edges.append({"source": f"n{n - 3}", "target": "ask"})
    return validate_workflow({"id": f"paused{n}", "nodes": nodes, "edges": edges})


def our_runner(workflow: ValidatedWorkflow, *, read_trace: bool = False) -> Callable[[], int]:
    """A run of `workflow`; with `read_trace`, each result's trace is read as well (in the
    lean form the harness compares)."""
    engine = GraphEngine(clock=VirtualClock())
    engine.plan(workflow)  # compile once, as in production

    def run() -> int:
        result = engine.run(workflow, {"x": 1})
        assert result.status == "completed", result.errors
        if read_trace:
            result.lean_trace()
        return result.metrics.node_executions

    return run


def per_node_seconds(run: Callable[[], int], min_seconds: float = 0.05) -> float:
    """Wall time per node execution over as many whole runs as fill `min_seconds` (one
    sub-millisecond run is too short a sample on a noisy machine)."""
    nodes = 0
    start = time.perf_counter()
    while True:
        nodes += run()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / nodes


def memory_per_paused_execution(count: int = 200) -> tuple[float, float]:
    """(bytes held per paused execution, peak bytes per execution while creating them)."""
    workflow = paused_workflow(100)
    engine = GraphEngine(clock=VirtualClock())
    engine.plan(workflow)
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    kept = []
    for _ in range(count):
        execution = engine.start(workflow, {"x": 1})
        assert engine.clock.run(execution.run).status == "paused"
        kept.append(execution)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (current - base) / count, (peak - base) / count


def real_time_overlap(branches: int = 8, seconds: float = 1.0) -> float:
    workflow = validate_workflow(
        {
            "id": "overlap",
            "nodes": [{"id": "start", "type": "start"}]
            + [
                {"id": f"w{i}", "type": "wait", "params": {"seconds": seconds}}
                for i in range(branches)
            ],
            "edges": [{"source": "start", "target": f"w{i}"} for i in range(branches)],
        }
    )
    engine = GraphEngine(clock=RealClock())
    start = time.perf_counter()
    assert engine.run(workflow).status == "completed"
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--no-peers", action="store_true", help="skip LangGraph, pydantic-graph and Hamilton"
    )
    args = parser.parse_args(argv)
    peers: dict[str, bench_peers.Peer] = {}
    if not args.no_peers:
        try:
            peers = bench_peers.available()
        except ImportError as exc:
            print(f"(peers skipped: {exc}; install them with pip install -e .[bench])")
    print(
        f"graph engine, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, median of {args.repeat}"
    )
    shapes = [
        ("chain of 1,000", chain(1000), "chain"),
        ("fan-out 100", fan_out(100), "fan"),
        ("loop 1,000 iterations", loop(1000), "loop"),
    ]
    for label, workflow, peer_shape in shapes:
        runners: dict[str, Callable[[], int]] = {"compat": our_runner(workflow)}
        notes: list[str] = []
        for name, peer in peers.items():
            if peer_shape in peer.shapes:
                runners[name] = peer.factory(peer_shape)
                if peer_shape in peer.notes:
                    notes.append(peer.notes[peer_shape])
        samples: dict[str, list[float]] = {name: [] for name in runners}
        for run in runners.values():
            run()  # warm-up
        for _ in range(args.repeat):
            for name, run in runners.items():  # interleaved: drift hits all alike
                samples[name].append(per_node_seconds(run))
        ours = statistics.median(samples["compat"])
        line = f"{label:<24}{1 / ours:>12,.0f} node executions/s ({ours * 1e6:.1f} us/node)"
        for name in runners:
            if name != "compat":
                theirs = statistics.median(samples[name])
                line += f"; {name} {theirs * 1e6:.1f} us/node, ours/theirs {ours / theirs:.2f}"
        print(line)
        for note in notes:
            print(f"{'':<24}({note})")
    held, peak = memory_per_paused_execution()
    print(
        f"paused 100-node execution: {held / 1024:.1f} KiB held, {peak / 1024:.1f} KiB peak "
        "(tracemalloc, per execution, 200 executions)"
    )
    print(f"8 branches waiting 1 s of real time: {real_time_overlap():.2f} s wall")


if __name__ == "__main__":
    main()
