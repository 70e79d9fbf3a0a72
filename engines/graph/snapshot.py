"""Snapshots of paused executions: versioned, JSON-serialisable, the runtime state only.

A snapshot holds what one execution has done and where it waits — frames with their edge
counters and node states, loops and parallels in progress, variables, idempotency records,
compensations, the events so far — and never the plan: restoring needs the snapshot and the
workflow, which must be the same workflow (same content hash) it was taken from.

A snapshot is sealed with an integrity digest (`engines.integrity`) and restoring checks, in
this order: what it is of (format, version, workflow), its shape (`snapshot_schema.py`),
that every node it names is where it says, that its values fit together and fit the workflow
(`engines.consistency`: no loop beyond `max_iterations`, no stuck node, no stray failure …),
and last the digest — so a snapshot gets the most precise reason there is, and one changed in
a way no check can name is still refused as tampered. Every refusal names the execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engines.consistency import PausedChecks, branch_indices
from engines.errors import SnapshotInvalid
from engines.graph.breakers import BreakerState
from engines.graph.containers import loop_entry, parallel_entry
from engines.graph.events import EventStream, ExecutionEvent, event_to_json, lean_event
from engines.graph.plan import ExecutionPlan
from engines.graph.snapshot_schema import FrameDoc, LoopDoc, ParallelDoc, SnapshotDoc
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
from engines.integrity import check_seal, seal
from engines.model.problems import problems_from
from engines.result import RunStatus, TraceEvent

if TYPE_CHECKING:
    from engines.graph.engine import GraphEngine
    from engines.graph.execution import Execution

FORMAT = "compat.graph.snapshot"
VERSION = 1
#: The snapshot's names for the parts of a level, so a refusal names the place in it.
WORDS = {
    "level": "frame",
    "resolved": "view",
    "pending": "remaining",
    "fired": "fired",
    "opened": "next_index",
    "child": "child frame",
    "waiting": "waiting",
}


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
    snapshot = {
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
        "events": [event_to_json(event) for event in execution.stream.expanded()],
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
    if state.breakers:
        snapshot["breakers"] = {tool: b.to_json() for tool, b in state.breakers.items()}
    return seal(snapshot, f"snapshot of execution {execution.id!r}")


# --------------------------------------------------------------------------- decode


def _path(value: list[list[Any]]) -> tuple[tuple[str, int], ...]:
    out = []
    for container, index in value:
        if not isinstance(container, str) or not isinstance(index, int):
            raise SnapshotInvalid(f"snapshot path {value!r} is not [[container, index], ...]")
        out.append((container, index))
    return tuple(out)


def _indices(mapping: Mapping[str, Any], what: str, node: str) -> dict[int, Any]:
    return branch_indices(mapping, f"snapshot parallel {node!r} {what}")


class _Decoder:
    """Rebuilds frames and container runs, checking that every node named exists where the
    snapshot says it is, and that what each frame and run holds fits together."""

    def __init__(self, plan: ExecutionPlan, checks: PausedChecks) -> None:
        self.plan = plan
        self.checks = checks
        #: Level checks, run once the pending inputs are matched to the frames.
        self.levels: list[Callable[[], None]] = []
        self.frames: dict[tuple[tuple[str, int], ...], Frame] = {}
        self.known = {n for w in plan.registry.values() for n in w.workflow.node_map}

    def node(self, node_id: str, where: str) -> Any:
        if node_id not in self.plan.nodes:
            raise SnapshotInvalid(
                f"snapshot {where} names node {node_id!r}, which workflow {self.plan.id!r} "
                "does not have"
            )
        return self.plan.nodes[node_id]

    def fill(self, frame: Frame, doc: FrameDoc) -> Frame:
        level = set(frame.level.order)
        named = {
            "remaining": set(doc.remaining),
            "fired": set(doc.fired),
            "view": set(doc.view),
            "waiting": set(doc.waiting),
            "routed": set(doc.routed),
            "errors": {e.node for e in doc.errors},
        }
        for key, nodes in named.items():
            outside = sorted(nodes - level)
            if outside:
                raise SnapshotInvalid(
                    f"snapshot frame {list(frame.path)} {key} names {', '.join(outside)}, "
                    "not nodes of that level"
                )
        if _path(doc.path) != frame.path:
            raise SnapshotInvalid(f"snapshot frame path {doc.path} is not {list(frame.path)}")
        running = set(doc.waiting) | {run.node for run in doc.runs}
        both = sorted(running & set(doc.view))
        if both:
            raise SnapshotInvalid(
                f"snapshot frame {list(frame.path)} has {', '.join(both)} both resolved and "
                "still running"
            )
        frame.remaining.update(doc.remaining)
        frame.fired.update(doc.fired)
        frame.view.update({n: state.model_dump() for n, state in doc.view.items()})
        frame.open = len(frame.level.order) - len(frame.view)
        frame.errors = list(doc.errors)
        frame.routed = dict(doc.routed)
        frame.waiting = set(doc.waiting)
        self.frames[frame.path] = frame
        for run in doc.runs:
            plan = self.node(run.node, f"frame {list(frame.path)} container")
            if plan.level != frame.level.container or plan.type != run.kind:
                raise SnapshotInvalid(
                    f"snapshot frame {list(frame.path)} runs {run.kind} {run.node!r}, which is "
                    "not a container of that level"
                )
            frame.runs[run.node] = self.run(frame, plan, run)
        # Checked once every question is matched, which names a missing one precisely.
        self.levels.append(
            partial(
                self.checks.level,
                frame.path,
                frame.level.container,
                resolved=frame.view,
                pending=frame.remaining,
                fired=frame.fired,
                errors=[e.node for e in frame.errors],
                routed={n: e.node for n, e in frame.routed.items()},
                waiting=doc.waiting,
                running=[run.node for run in doc.runs],
            )
        )
        return frame

    def run(self, frame: Frame, plan: Any, doc: LoopDoc | ParallelDoc) -> ContainerRun:
        level = self.plan.levels[plan.id]
        params = plan.node.params
        if (
            (params.mode != doc.mode)
            if isinstance(doc, LoopDoc)
            else ((params.mode == "collection") != (doc.items is not None))
        ):
            raise SnapshotInvalid(
                f"snapshot run of {plan.id!r} does not match its {doc.kind} (mode {params.mode!r})"
            )
        if isinstance(doc, LoopDoc):
            self.checks.loop(
                frame.path,
                plan.id,
                mode=doc.mode,
                count=doc.count,
                items=doc.items,
                index=doc.index,
                max_iterations=doc.max_iterations,
                results=len(doc.results),
                has_child=doc.child is not None,
            )
            loop = LoopRun(
                plan,
                frame,
                doc.mode,
                doc.max_iterations,
                doc.items,
                doc.count,
                doc.index,
                list(doc.results),
            )
            if doc.child is not None:
                child = Frame.open_child(
                    level, frame, loop, loop.index, "loop", loop_entry(loop, loop.index)
                )
                loop.child = self.fill(child, doc.child)
            return loop
        run = ParallelRun(plan, frame, doc.branches, doc.max_concurrency, doc.items, doc.next_index)
        run.results = _indices(doc.results, "results", plan.id)
        run.failures = _indices(doc.failures, "failures", plan.id)
        active = _indices(doc.active, "active", plan.id)
        self.checks.parallel(
            frame.path,
            plan.id,
            branches=doc.branches,
            items=doc.items,
            opened=doc.next_index,
            max_concurrency=doc.max_concurrency,
            active=list(active),
            results=list(run.results),
            failed=list(run.failures),
        )
        for index, child_doc in active.items():
            child = Frame.open_child(
                level, frame, run, index, "parallel", parallel_entry(run, index)
            )
            run.active[index] = self.fill(child, child_doc)
        return run

    def check_node(self, node_id: str, where: str) -> None:
        """A node of the workflow or of a sub-workflow it calls (records and events may name
        a child's nodes)."""
        if node_id not in self.known:
            raise SnapshotInvalid(
                f"snapshot {where} names node {node_id!r}, which no workflow of the registry has"
            )


def _check_header(plan: ExecutionPlan, data: Mapping[str, Any]) -> None:
    """What the snapshot is of, checked first so a wrong one gets the precise reason."""
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise SnapshotInvalid(
            f"snapshot version {version!r} is not supported (this engine reads version {VERSION})"
        )
    workflow = data.get("workflow")
    if not isinstance(workflow, Mapping) or workflow.get("id") != plan.id:
        named = workflow.get("id") if isinstance(workflow, Mapping) else workflow
        raise SnapshotInvalid(f"snapshot is of workflow {named!r}, not {plan.id!r}")
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


def _parse(plan: ExecutionPlan, data: Any) -> SnapshotDoc:
    if not isinstance(data, Mapping):
        raise SnapshotInvalid(f"a snapshot must be a mapping, not {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SnapshotInvalid(f"not a graph engine snapshot (format is not {FORMAT!r})")
    _check_header(plan, data)
    try:
        return SnapshotDoc.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc)
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise SnapshotInvalid(f"snapshot is malformed: {shown}{more}") from None


def _named(data: Any) -> str | None:
    """`execution 'id'` when the snapshot names its execution (the id shortened if long)."""
    execution_id = data.get("execution_id") if isinstance(data, Mapping) else None
    if not isinstance(execution_id, str) or not execution_id:
        return None
    shown = repr(execution_id if len(execution_id) <= 80 else execution_id[:77] + "...")
    return f"execution {shown}"


def decode(engine: GraphEngine, plan: ExecutionPlan, data: Any) -> Execution:
    """The paused execution `data` is a snapshot of, or `SnapshotInvalid` (`SnapshotTampered`
    for a digest that does not match) naming the execution and the problem."""
    try:
        return _decode(engine, plan, data)
    except SnapshotInvalid as exc:
        name = _named(data)
        raise type(exc)(f"{name}: {exc}" if name else str(exc)) from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # What no check above foresaw is still a snapshot this engine cannot resume.
        name = _named(data) or "snapshot"
        raise SnapshotInvalid(f"{name}: cannot be restored ({type(exc).__name__}: {exc})") from None


def _decode(engine: GraphEngine, plan: ExecutionPlan, data: Any) -> Execution:
    from engines.graph.execution import Execution

    doc = _parse(plan, data)
    checks = PausedChecks(plan.topology, plan.workflow.node_map.get, "snapshot", WORDS)
    checks.run(depth=doc.depth, elapsed=float(doc.elapsed))
    state = RunState(inputs=dict(doc.inputs), vars=dict(doc.vars), env=engine.env)
    decoder = _Decoder(plan, checks)
    top = Frame.open_top(plan.levels[None], state.scope())
    state.top = decoder.fill(top, doc.frame)
    for entry in doc.idempotency:
        records = []
        for r in entry.records:
            decoder.check_node(r.node, "idempotency record")
            checks.record(r.node, _path(r.path), r.order_key, entry.tool)
            records.append(IdempotencyRecord(tuple(r.order_key), r.node, _path(r.path), r.output))
        state.idempotency[(entry.tool, entry.key)] = records
    for r in doc.compensations:
        decoder.node(r.node, "compensation")
        checks.compensation(r.node, _path(r.path), r.order_key, r.tool)
        state.compensations.append(
            CompensationRecord(
                tuple(r.order_key), r.node, _path(r.path), r.attempt, r.tool, r.args, r.render_error
            )
        )
    state.extra_errors = list(doc.extra_errors)
    for tool, breaker in doc.breakers.items():
        if tool not in plan.breakers:
            raise SnapshotInvalid(
                f"snapshot breakers.{tool}: tool {tool!r} has no circuit breaker in this workflow"
            )
        if breaker.opened_at is not None and breaker.opened_at > breaker.time:
            raise SnapshotInvalid(
                f"snapshot breakers.{tool}: opened at breaker time {breaker.opened_at}, after "
                f"the breaker time it has reached ({breaker.time})"
            )
        state.breakers[tool] = BreakerState(
            breaker.failures,
            None if breaker.opened_at is None else float(breaker.opened_at),
            float(breaker.time),
        )
    for item in doc.pending:
        frame = decoder.frames.get(_path(item.path))
        node = decoder.node(item.node, "pending input")
        if frame is None or node.type != "input" or item.node not in frame.waiting:
            raise SnapshotInvalid(
                f"snapshot pending input {item.node!r} at {item.path} is not an input node "
                "waiting in that frame"
            )
        state.pending.append(Pending(frame, node, item.prompt))
    asked = [(p.frame.path, p.node.id) for p in state.pending]
    waiting = {(path, node) for path, frame in decoder.frames.items() for node in frame.waiting}
    twice = sorted({node for key in asked if asked.count(key) > 1 for _, node in [key]})
    unasked = sorted(node for _, node in waiting - set(asked))
    if twice or unasked:
        raise SnapshotInvalid(
            f"snapshot pending inputs do not match the inputs its frames wait on "
            f"({', '.join(twice + unasked)}): each waiting input is pending exactly once"
        )
    for check in decoder.levels:
        check()
    events: list[Any] = []
    for event in doc.events:
        if isinstance(event, TraceEvent):
            decoder.check_node(event.node, "event")
            events.append(lean_event(event))
        else:
            events.append(ExecutionEvent(event.seq, event.kind, float(event.time)))
    checks.events([event.seq for event in doc.events], "event")
    execution = Execution(
        engine,
        plan,
        state,
        execution_id=doc.execution_id,
        depth=doc.depth,
        stream=EventStream(events),
        elapsed=float(doc.elapsed),
    )
    execution.status = RunStatus.PAUSED
    check_seal(data, "snapshot")
    return execution
