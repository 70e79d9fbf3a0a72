"""Property tests of the graph engine: on random valid workflows, no schedule changes a result
(docs/semantics.md §4 "within these rules every order of execution consistent with the
edges gives the same result", §9), and every trace respects happens-before (§3).

The workflows come from the public generator, compat.fuzz (its builder says how each one is
kept valid and race-free), with the sub-workflows they call; no `input` (a run never
pauses) and no cancel. The schedule is reshuffled with the engine's `delay` hook (seconds of
clock time before each node execution, in the main workflow and in its sub-workflows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compat.fuzz import Example, examples
from engines.clock import VirtualClock
from engines.graph import GraphEngine
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.model.topology import Topology
from engines.result import IterationPath, RunResult, TraceEvent
from engines.tools import builtin_registry

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Runs that never pause: no `input` nodes, no cancel.
EXAMPLES = examples(features="-input,-cancel")
DELAYS = (0, 0, 0.25, 0.5, 1, 3)


def delay_hooks(node_ids: list[str]) -> st.SearchStrategy[Callable[[str, IterationPath], float]]:
    """A delay per node (varying with the iteration path), drawn from a small set of values."""
    per_node = st.lists(st.sampled_from(DELAYS), min_size=1, max_size=4)

    def hook(table: dict[str, list[float]]) -> Callable[[str, IterationPath], float]:
        def delay(node_id: str, path: IterationPath) -> float:
            values = table[node_id]
            return values[sum(index for _, index in path) % len(values)]

        return delay

    return st.fixed_dictionaries({n: per_node for n in node_ids}).map(hook)


def _run(
    example: Example,
    delay: Callable[[str, IterationPath], float] | None = None,
    max_concurrency: int = 64,
) -> RunResult:
    engine = GraphEngine(
        tools=builtin_registry(),
        clock=VirtualClock(),
        delay=delay,
        max_concurrency=max_concurrency,
    )
    return engine.run(example.generated.registry, example.case.inputs)


def _summary(result: RunResult) -> dict[str, Any]:
    """Everything §9 requires to be equal, as canonical JSON (so 1, 1.0 and True differ)."""
    data = result.model_dump(
        mode="json",
        include={"status", "outputs", "vars", "node_outputs", "node_errors", "errors", "pause"},
    )
    return {
        "data": json.dumps(data, sort_keys=True),
        "executed": result.executed_nodes(),
        "steps": Counter(e.step() for e in result.trace),
    }


def _node_ids(registry: WorkflowRegistry) -> list[str]:
    """Every node id of every workflow the run may enter (the hook sees only ids)."""
    return sorted({n for w in registry.values() for n in w.topology.iter_nodes()})


@SETTINGS
@given(example=EXAMPLES, data=st.data())
def test_results_never_depend_on_node_delays(example: Example, data: st.DataObject) -> None:
    baseline = _summary(_run(example))
    for _ in range(2):
        delay = data.draw(delay_hooks(_node_ids(example.generated.registry)), label="delay")
        concurrency = data.draw(st.sampled_from([1, 2, 64]), label="max_concurrency")
        assert _summary(_run(example, delay, concurrency)) == baseline


# --------------------------------------------------------------------------- trace order

Execution = tuple[str, IterationPath]
BEGIN = ("started", "deduplicated")
END = ("completed", "failed", "deduplicated")


def _spans(trace: tuple[TraceEvent, ...]) -> dict[Execution, tuple[int, int]]:
    """(position of the first event, position of the last terminal event) per execution that
    ran (started or deduplicated); compensations after the end are not part of the span."""
    first: dict[Execution, int] = {}
    last: dict[Execution, int] = {}
    for position, event in enumerate(trace):
        key = (event.node, event.path)
        if event.kind.value in BEGIN:
            first.setdefault(key, position)
        if event.kind.value in END:
            last[key] = position
    return {key: (first[key], last[key]) for key in first if key in last}


def _kinds_are_well_formed(kinds: list[str]) -> bool:
    """`started (retrying started)* (completed|failed) compensated?`, or one skipped or
    deduplicated event (a pending input never shows up here: there are no inputs)."""
    if kinds in (["skipped"], ["deduplicated"]):
        return True
    if kinds and kinds[-1] == "compensated":
        if len(kinds) < 2 or kinds[-2] != "completed":
            return False
        kinds = kinds[:-1]
    if len(kinds) < 2 or kinds[0] != "started" or kinds[-1] not in ("completed", "failed"):
        return False
    middle = kinds[1:-1]
    return middle == ["retrying", "started"] * (len(middle) // 2)


def _level(registry: WorkflowRegistry, path: IterationPath) -> tuple[Topology, int]:
    """The topology of the workflow `path` leads into, and how many of its steps lie outside
    it: each step through a `subworkflow` node enters that node's workflow."""
    workflow: ValidatedWorkflow = registry.main
    outside = 0
    for position, (node_id, _) in enumerate(path):
        node = workflow.workflow.node(node_id)
        if node.type == "subworkflow":
            workflow = registry[node.params.workflow]  # type: ignore[attr-defined]
            outside = position + 1
    return workflow.topology, outside


def _common(path_a: IterationPath, path_b: IterationPath) -> IterationPath:
    common = []
    for step_a, step_b in zip(path_a, path_b, strict=False):
        if step_a != step_b:
            break
        common.append(step_a)
    return tuple(common)


def _happens_before(registry: WorkflowRegistry, a: Execution, b: Execution) -> bool:
    """`Topology.happens_before` in the workflow holding the deepest level both share."""
    (node_a, path_a), (node_b, path_b) = a, b
    topology, outside = _level(registry, _common(path_a, path_b))
    return topology.happens_before((node_a, path_a[outside:]), (node_b, path_b[outside:]))


@SETTINGS
@given(example=EXAMPLES, data=st.data())
def test_every_trace_respects_happens_before(example: Example, data: st.DataObject) -> None:
    registry = example.generated.registry
    delay = data.draw(delay_hooks(_node_ids(registry)), label="delay")
    trace = _run(example, delay).trace
    spans = _spans(trace)
    for (node_a, path_a), (_, end_a) in spans.items():
        for (node_b, path_b), (begin_b, _) in spans.items():
            if path_a == path_b and node_a != node_b:
                topology, _ = _level(registry, path_a)
                if topology.is_ancestor(node_a, node_b):
                    assert end_a < begin_b, f"{node_a} ended after its descendant {node_b} began"
            if _happens_before(registry, (node_a, path_a), (node_b, path_b)):
                assert end_a < begin_b, f"{(node_a, path_a)} ran into {(node_b, path_b)}"
    per_execution: dict[Execution, list[str]] = {}
    for event in trace:
        per_execution.setdefault((event.node, event.path), []).append(event.kind.value)
    for key, kinds in per_execution.items():
        assert _kinds_are_well_formed(kinds), f"{key}: {kinds}"
        started = [e.attempt for e in trace if (e.node, e.path) == key and e.kind == "started"]
        assert started == list(range(1, len(started) + 1)), f"{key}: attempts {started}"
