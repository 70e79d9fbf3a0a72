"""What one full comparison costs (both engines + compare), and deepdiff's share of it.

    python bench/bench_compare.py [--repeat 9]

1. A 100-node workflow (start, 14 parallel branches of 7 nodes — set, transform, condition,
   tool, router — joined by an end with 14 outputs): the median time of the graph run, the
   journey run and `compare_runs`, measured in one process, interleaved.
2. deepdiff's share as the output grows: a workflow whose output is a list of n records
   (n = 10 … 10,000, 5 leaves each). Runs that agree never reach deepdiff (one linear walk
   finds no difference), so the shadow here changes one field of the last record. deepdiff
   describes differences only in values of at most `max_diffs` (1,000) leaves; above that the
   walk's own differences are reported. deepdiff's time is measured by timing every
   `DeepDiff(...)` call the comparison makes.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

from compat.compare import compare_runs
from compat.engines import GraphAdapter, JourneyAdapter, run_engine
from compat.perf import shapes
from compat.perf.harness import deepdiff_timer
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow, WorkflowRegistry, validate_workflow
from engines.result import RunResult
from engines.tools import ToolRegistry


def hundred_nodes(branches: int = 14) -> ValidatedWorkflow:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges: list[dict[str, Any]] = []
    outputs = {}
    for b in range(branches):
        p = f"b{b}"
        nodes += [
            {
                "id": f"{p}_set",
                "type": "set",
                "params": {"values": {p: "{{ inputs.x + " + str(b) + " }}"}},
            },
            {
                "id": f"{p}_double",
                "type": "transform",
                "params": {"value": "{{ vars." + p + " * 2 }}"},
            },
            {
                "id": f"{p}_big",
                "type": "condition",
                "params": {"expression": f"nodes.{p}_double.output > 10"},
            },
            {
                "id": f"{p}_add",
                "type": "tool",
                "params": {
                    "tool": "add",
                    "args": {"a": "{{ nodes." + p + "_double.output }}", "b": 1},
                },
            },
            {
                "id": f"{p}_route",
                "type": "router",
                "params": {"routes": [{"name": "odd", "when": f"nodes.{p}_add.output % 2 == 1"}]},
            },
            {"id": f"{p}_odd", "type": "transform", "params": {"value": "odd"}},
            {"id": f"{p}_even", "type": "transform", "params": {"value": "even"}},
        ]
        edges += [
            {"source": "start", "target": f"{p}_set"},
            {"source": f"{p}_set", "target": f"{p}_double"},
            {"source": f"{p}_double", "target": f"{p}_big"},
            {"source": f"{p}_big", "target": f"{p}_add", "handle": "true"},
            {"source": f"{p}_big", "target": f"{p}_add", "handle": "false"},
            {"source": f"{p}_add", "target": f"{p}_route"},
            {"source": f"{p}_route", "target": f"{p}_odd", "handle": "odd"},
            {"source": f"{p}_route", "target": f"{p}_even", "handle": "default"},
            {"source": f"{p}_odd", "target": "end"},
            {"source": f"{p}_even", "target": "end"},
        ]
        outputs[p] = "{{ nodes." + p + "_add.output }}"
    nodes.append({"id": "end", "type": "end", "params": {"outputs": outputs}})
    return validate_workflow({"id": "hundred", "nodes": nodes, "edges": edges})


def records_workflow() -> ValidatedWorkflow:
    return shapes.records(0)[0]


class LastRecordChanged(JourneyAdapter):
    """The journey engine, with one field of the last output record changed."""

    name = "journey*"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        result = super().run_case(registry, inputs, conversation, tools=tools)
        records = [dict(r) for r in result.outputs["records"]]
        records[-1]["score"] += 1
        return result.model_copy(update={"outputs": {"records": records}})


def full_comparison(
    workflow: ValidatedWorkflow, inputs: dict[str, Any], shadow: Any, repeat: int
) -> dict[str, float]:
    """Median seconds of each part of one full comparison, and deepdiff's time inside it."""
    registry = WorkflowRegistry([workflow])
    primary_engine = GraphAdapter()
    tol = Tolerances()
    parts: dict[str, list[float]] = {"graph": [], "journey": [], "compare": [], "deepdiff": []}
    for _ in range(repeat + 1):  # the first round warms caches and is dropped
        left = run_engine(primary_engine, registry, inputs, ())
        right = run_engine(shadow, registry, inputs, ())
        assert left.result is not None and right.result is not None
        with deepdiff_timer() as spent:
            start = time.perf_counter()
            compare_runs(left, right, workflow, tol)
            compare = time.perf_counter() - start
        parts["graph"].append(left.wall_seconds)
        parts["journey"].append(right.wall_seconds)
        parts["compare"].append(compare)
        parts["deepdiff"].append(spent[0])
    return {k: statistics.median(v[1:]) for k, v in parts.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    print(
        f"comparison cost, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, median of {args.repeat}"
    )
    workflow = hundred_nodes()
    assert len(workflow.workflow.nodes) == 100
    cost = full_comparison(workflow, {"x": 3}, JourneyAdapter(), args.repeat)
    total = cost["graph"] + cost["journey"] + cost["compare"]
    print(
        f"  100-node workflow, runs agree: full comparison {total * 1e3:.2f} ms = graph "
        f"{cost['graph'] * 1e3:.2f} + journey {cost['journey'] * 1e3:.2f} + compare "
        f"{cost['compare'] * 1e3:.2f} ms (compare {cost['compare'] / total:.1%}, "
        f"deepdiff {cost['deepdiff'] / total:.1%})"
    )
    print("  output of n records, shadow changes one field of the last record:")
    records = records_workflow()
    for n in (10, 100, 190, 1_000, 10_000):
        cost = full_comparison(
            records, shapes.records(n)[1], LastRecordChanged(), max(3, args.repeat // 3)
        )
        total = cost["graph"] + cost["journey"] + cost["compare"]
        print(
            f"    n={n:>6}: full {total * 1e3:9.2f} ms, compare {cost['compare'] * 1e3:9.2f} ms, "
            f"deepdiff {cost['deepdiff'] * 1e3:9.2f} ms = {cost['deepdiff'] / total:5.1%} of the "
            f"full comparison"
        )
    cost = full_comparison(records, shapes.records(10_000)[1], JourneyAdapter(), 3)
    total = cost["graph"] + cost["journey"] + cost["compare"]
    print(
        f"    n= 10000, runs agree: full {total * 1e3:9.2f} ms, compare "
        f"{cost['compare'] * 1e3:9.2f} ms (found equal at C speed: no walk, no deepdiff)"
    )


if __name__ == "__main__":
    main()
