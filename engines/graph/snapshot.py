"""Snapshots of paused executions: versioned, JSON-serialisable, the runtime state only.

A snapshot holds what one execution has done and where it waits — frames with their edge
counters and node states, loops and parallels in progress, variables, idempotency records,
compensations, the events so far — and never the plan: restoring needs the snapshot and the
workflow, which must be the same workflow (same content hash) it was taken from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engines.errors import SnapshotInvalid
from engines.graph.containers import loop_entry, parallel_entry
from engines.graph.events import EventStream, event_from_json, event_to_json
from engines.graph.plan import ExecutionPlan
from engines.graph.state import (
    CompensationRecord,
    ContainerRun,
    Frame,
    IdempotencyRecord,
    LoopRun,
    ParallelRun,
    Pending,
    RunState,
)
from engines.result import NodeError, RunStatus

if TYPE_CHECKING:
    from engines.graph.engine import GraphEngine
    from engines.graph.execution import Execution

FORMAT = "compat.graph.snapshot"
VERSION = 1


def _path(value: Any) -> tuple[tuple[str, int], ...]:
    return tuple((str(container), int(index)) for container, index in value)


def _errors(items: list[Any]) -> list[NodeError]:
    return [NodeError.model_validate(item) for item in items]


# --------------------------------------------------------------------------- encode


def _encode_frame(frame: Frame) -> dict[str, Any]:
    return {
        "path": [list(step) for step in frame.path],
        "remaining": frame.remaining,
        "fired": frame.fired,
        "view": frame.view,
        "errors": [e.model_dump(mode="json") for e in frame.errors],
        "routed": {n: e.model_dump(mode="json") for n, e in frame.routed.items()},
        "waiting": sorted(frame.waiting),
        "runs": [_encode_run(run) for run in frame.runs.values()],
    }


def _encode_run(run: ContainerRun) -> dict[str, Any]:
    if isinstance(run, LoopRun):
        return {
            "kind": "loop",
            "node": run.node.id,
            "mode": run.mode,
            "max_iterations": run.max_iterations,
            "items": run.items,
            "count": run.count,
            "index": run.index,
            "results": run.results,
            "child": _encode_frame(run.child) if run.child is not None else None,
        }
    assert isinstance(run, ParallelRun)
    return {
        "kind": "parallel",
        "node": run.node.id,
        "branches": run.branches,
        "max_concurrency": run.max_concurrency,
        "items": run.items,
        "next_index": run.next_index,
        "active": {str(i): _encode_frame(f) for i, f in run.active.items()},
        "results": {str(i): v for i, v in run.results.items()},
        "failures": {str(i): e.model_dump(mode="json") for i, e in run.failures.items()},
    }


def encode(execution: Execution) -> dict[str, Any]:
    state = execution.state
    assert state.top is not None
    plan = execution.plan
    return {
        "format": FORMAT,
        "version": VERSION,
        "execution_id": execution.id,
        "status": RunStatus.PAUSED.value,
        "workflow": {"id": plan.id, "hash": plan.content_hash},
        "registry": {wid: w.content_hash for wid, w in plan.registry.items()},
        "depth": execution.depth,
        "elapsed": execution._elapsed,
        "inputs": state.inputs,
        "vars": state.vars,
        "events": [event_to_json(event) for event in execution.stream.events],
        "idempotency": [
            {
                "tool": tool,
                "key": key,
                "records": [
                    {
                        "order_key": list(r.order_key),
                        "node": r.node,
                        "path": [list(s) for s in r.path],
                        "output": r.output,
                    }
                    for r in records
                ],
            }
            for (tool, key), records in state.idempotency.items()
        ],
        "compensations": [
            {
                "order_key": list(r.order_key),
                "node": r.node,
                "path": [list(s) for s in r.path],
                "attempt": r.attempt,
                "tool": r.tool,
                "args": r.args,
                "render_error": r.render_error,
            }
            for r in state.compensations
        ],
        "extra_errors": [e.model_dump(mode="json") for e in state.extra_errors],
        "frame": _encode_frame(state.top),
        "pending": [
            {"path": [list(s) for s in p.frame.path], "node": p.node.id, "prompt": p.prompt}
            for p in state.pending
        ],
    }


# --------------------------------------------------------------------------- decode


class _Decoder:
    def __init__(self, plan: ExecutionPlan) -> None:
        self.plan = plan
        self.frames: dict[tuple[tuple[str, int], ...], Frame] = {}

    def node(self, node_id: Any) -> Any:
        if node_id not in self.plan.nodes:
            raise SnapshotInvalid(
                f"snapshot names node {node_id!r}, which workflow {self.plan.id!r} does not have"
            )
        return self.plan.nodes[node_id]

    def fill(self, frame: Frame, data: Mapping[str, Any]) -> Frame:
        level_nodes = set(frame.level.order)
        for key in ("remaining", "fired", "view"):
            if set(data[key]) - level_nodes:
                raise SnapshotInvalid(f"snapshot frame {frame.path} names nodes outside its level")
        frame.remaining.update(data["remaining"])
        frame.fired.update(data["fired"])
        frame.view.update(data["view"])
        frame.open = len(frame.level.order) - len(frame.view)
        frame.errors = _errors(data["errors"])
        frame.routed = {n: NodeError.model_validate(e) for n, e in data["routed"].items()}
        frame.waiting = set(data["waiting"])
        self.frames[frame.path] = frame
        for run in data["runs"]:
            frame.runs[run["node"]] = self.run(frame, run)
        return frame

    def run(self, frame: Frame, data: Mapping[str, Any]) -> ContainerRun:
        plan = self.node(data["node"])
        level = self.plan.levels[plan.id]
        if data["kind"] == "loop":
            loop = LoopRun(
                plan,
                frame,
                data["mode"],
                data["max_iterations"],
                data["items"],
                data["count"],
                data["index"],
                list(data["results"]),
            )
            if data["child"] is not None:
                child = Frame.open_child(
                    level, frame, loop, loop.index, "loop", loop_entry(loop, loop.index)
                )
                loop.child = self.fill(child, data["child"])
            return loop
        if data["kind"] != "parallel":
            raise SnapshotInvalid(f"unknown container kind {data['kind']!r}")
        run = ParallelRun(
            plan,
            frame,
            data["branches"],
            data["max_concurrency"],
            data["items"],
            data["next_index"],
        )
        run.results = {int(i): v for i, v in data["results"].items()}
        run.failures = {int(i): NodeError.model_validate(e) for i, e in data["failures"].items()}
        for index, child_data in data["active"].items():
            child = Frame.open_child(
                level, frame, run, int(index), "parallel", parallel_entry(run, int(index))
            )
            run.active[int(index)] = self.fill(child, child_data)
        return run


def _check_header(plan: ExecutionPlan, data: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SnapshotInvalid(f"not a graph engine snapshot (format is not {FORMAT!r})")
    if data.get("version") != VERSION:
        raise SnapshotInvalid(
            f"snapshot version {data.get('version')!r} is not supported "
            f"(this engine reads version {VERSION})"
        )
    workflow = data.get("workflow") or {}
    if workflow.get("id") != plan.id:
        raise SnapshotInvalid(f"snapshot is of workflow {workflow.get('id')!r}, not {plan.id!r}")
    if workflow.get("hash") != plan.content_hash:
        raise SnapshotInvalid(
            f"snapshot is of another version of workflow {plan.id!r} (its content hash differs)"
        )
    registry = {wid: w.content_hash for wid, w in plan.registry.items()}
    if data.get("registry") != registry:
        raise SnapshotInvalid("snapshot was taken with other sub-workflows than the ones given")
    if data.get("status") != RunStatus.PAUSED.value:
        raise SnapshotInvalid(
            f"snapshot status is {data.get('status')!r}; only paused executions can be restored"
        )


def decode(engine: GraphEngine, plan: ExecutionPlan, data: Mapping[str, Any]) -> Execution:
    from engines.graph.execution import Execution

    _check_header(plan, data)
    try:
        return _decode(engine, plan, data, Execution)
    except SnapshotInvalid:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotInvalid(f"snapshot is malformed: {type(exc).__name__}: {exc}") from None


def _decode(
    engine: GraphEngine,
    plan: ExecutionPlan,
    data: Mapping[str, Any],
    execution_class: type[Execution],
) -> Execution:
    state = RunState(inputs=dict(data["inputs"]), vars=dict(data["vars"]), env=engine.env)
    decoder = _Decoder(plan)
    top = Frame.open_top(plan.levels[None], state.scope())
    state.top = decoder.fill(top, data["frame"])
    for entry in data["idempotency"]:
        state.idempotency[(entry["tool"], entry["key"])] = [
            IdempotencyRecord(tuple(r["order_key"]), r["node"], _path(r["path"]), r["output"])
            for r in entry["records"]
        ]
    state.compensations = [
        CompensationRecord(
            tuple(r["order_key"]),
            r["node"],
            _path(r["path"]),
            r["attempt"],
            r["tool"],
            r["args"],
            r["render_error"],
        )
        for r in data["compensations"]
    ]
    state.extra_errors = _errors(data["extra_errors"])
    for item in data["pending"]:
        frame = decoder.frames.get(_path(item["path"]))
        if frame is None:
            raise SnapshotInvalid(f"snapshot pending input {item['node']!r} is in no frame")
        state.pending.append(Pending(frame, decoder.node(item["node"]), item["prompt"]))
    if not state.pending:
        raise SnapshotInvalid("snapshot of a paused execution has no pending input")
    stream = EventStream([event_from_json(e) for e in data["events"]])
    execution = execution_class(
        engine,
        plan,
        state,
        execution_id=str(data["execution_id"]),
        depth=int(data["depth"]),
        stream=stream,
        elapsed=float(data["elapsed"]),
    )
    execution.status = RunStatus.PAUSED
    return execution
