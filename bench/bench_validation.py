"""How long validation takes on large workflows (it runs once per workflow, before any run).

    python bench/bench_validation.py [--nodes 1000] [--repeat 5]

Shapes: a linear chain of `set` nodes that all read and write one variable (the worst case of
the race check: every pair touches it), and a fan-out/fan-in of `transform` nodes reading a
plain path. Reports the median of `repeat` validations.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from engines.model import validate_workflow


def chain_of_sets(n: int) -> dict[str, Any]:
    nodes = [{"id": "s", "type": "start"}] + [
        {"id": f"n{i}", "type": "set", "params": {"values": {"x": "{{ vars.x + 1 }}"}}}
        for i in range(n)
    ]
    edges = [{"source": "s", "target": "n0"}] + [
        {"source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 1)
    ]
    return {"id": "chain", "variables": {"x": 0}, "nodes": nodes, "edges": edges}


def fan_out(n: int) -> dict[str, Any]:
    nodes = [{"id": "s", "type": "start"}]
    nodes += [
        {"id": f"b{i}", "type": "transform", "params": {"value": "{{ inputs.a }}"}}
        for i in range(n)
    ]
    nodes.append({"id": "join", "type": "end"})
    edges = [{"source": "s", "target": f"b{i}"} for i in range(n)]
    edges += [{"source": f"b{i}", "target": "join"} for i in range(n)]
    return {"id": "fan", "nodes": nodes, "edges": edges}


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"validation, {args.nodes} nodes, median of {args.repeat}")
    for label, build in (
        ("chain of set nodes, one variable", chain_of_sets),
        ("fan-out/fan-in of transforms", fan_out),
    ):
        doc = build(args.nodes)
        seconds = median_seconds(lambda doc=doc: validate_workflow(doc), args.repeat)
        print(f"{label:<36}{seconds * 1000:>10.1f} ms{seconds / args.nodes * 1e6:>10.1f} us/node")


if __name__ == "__main__":
    main()
