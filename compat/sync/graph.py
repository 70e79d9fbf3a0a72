"""The graph engine's snapshot (`compat.graph.snapshot` v1) to and from the common state.

A graph frame is a level execution: `remaining`/`fired` are the common edge counters, `view`
the resolved nodes, `runs` the containers in progress (`next_index` is a parallel's
`opened`), `pending` the questions. The stream's execution events (`execution.started`,
`.paused`, ...) have no journey counterpart: they travel in the `graph` extension, so a graph
round trip is lossless, and are made up anew for a state that comes from elsewhere. The
snapshot's `breakers` are the common `breakers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt

from compat.sync.breakers import common_breaker
from compat.sync.levels import by_index, common_level, common_loop, common_parallel
from compat.sync.state import (
    CommonState,
    RegistryLike,
    check_header,
    check_state,
    json_copy,
    key_order,
    parse_state,
    question_key,
    resolve_registry,
    validated,
)
from engines.graph.snapshot import FORMAT as GRAPH_FORMAT
from engines.graph.snapshot import VERSION as GRAPH_VERSION
from engines.graph.snapshot_schema import FrameDoc, LoopDoc, SnapshotDoc
from engines.integrity import check_seal, seal
from engines.result import TraceEvent

LABEL = "graph snapshot"
#: The graph snapshot's names for the common state's parts (for refusals).
WORDS = {
    "level": "frame",
    "resolved": "view",
    "edges_pending": "remaining",
    "edges_fired": "fired",
    "containers": "runs",
    "opened": "next_index",
    "iteration": "child",
    "question": "pending input",
    "trace": "event",
}
_EXECUTION = "execution."


class _Mark(BaseModel):
    """An execution event kept in the `graph` extension."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seq: StrictInt
    kind: Literal[
        "execution.started",
        "execution.paused",
        "execution.resumed",
        "execution.completed",
        "execution.failed",
        "execution.cancelled",
    ]
    time: StrictFloat | StrictInt


class _Extension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    execution_events: list[_Mark]


# --------------------------------------------------------------------------- from


def _level(doc: FrameDoc, index: Mapping[str, int]) -> dict[str, Any]:
    return common_level(
        doc,
        index,
        resolved=doc.view,
        pending=doc.remaining,
        fired=doc.fired,
        runs=list(doc.runs),
        container=lambda run: _container(run, index),
    )


def _container(run: Any, index: Mapping[str, int]) -> dict[str, Any]:
    if isinstance(run, LoopDoc):
        return common_loop(run, _level(run.child, index) if run.child is not None else None)
    active = {i: _level(run.active[i], index) for i in by_index(run.active)}
    return common_parallel(run, run.next_index, active)


def from_graph(snapshot: Mapping[str, Any], registry: RegistryLike) -> CommonState:
    """The common state of a graph snapshot (`Execution.snapshot()`), checked against the
    workflow registry. The snapshot is not changed; nothing returned shares its objects."""
    main, hashes = resolve_registry(registry)
    data = json_copy(snapshot, LABEL)
    check_header(data, main, hashes, label=LABEL, fmt=GRAPH_FORMAT, version=GRAPH_VERSION)
    doc: SnapshotDoc = validated(SnapshotDoc, data, LABEL)
    index = main.topology.index
    trace = [e.model_dump(mode="json") for e in doc.events if isinstance(e, TraceEvent)]
    marks = [
        {"seq": e.seq, "kind": e.kind, "time": e.time}
        for e in doc.events
        if not isinstance(e, TraceEvent)
    ]
    questions = [
        {
            "node": item.node,
            "path": item.path,
            "order_key": question_key(main, item.node, item.path, f"{LABEL} pending input"),
            "prompt": item.prompt,
        }
        for item in doc.pending
    ]
    records = [
        {
            "tool": entry.tool,
            "key": entry.key,
            "node": r.node,
            "path": r.path,
            "order_key": r.order_key,
            "output": r.output,
        }
        for entry in doc.idempotency
        for r in entry.records
    ]
    state = {
        "format": "compat.common.state",
        "version": 1,
        "run_id": doc.execution_id,
        "source": "graph",
        "workflow": {"id": doc.workflow.id, "hash": doc.workflow.hash},
        "registry": doc.registry,
        "depth": doc.depth,
        "elapsed": doc.elapsed,
        "inputs": doc.inputs,
        "vars": doc.vars,
        "top": _level(doc.frame, index),
        "questions": sorted(questions, key=lambda q: key_order(q["order_key"])),
        "idempotency": sorted(
            records, key=lambda r: (r["tool"], r["key"], key_order(r["order_key"]))
        ),
        "compensations": sorted(
            (
                {
                    "node": r.node,
                    "path": r.path,
                    "order_key": r.order_key,
                    "attempt": r.attempt,
                    "tool": r.tool,
                    "args": r.args,
                    "problem": r.render_error,
                }
                for r in doc.compensations
            ),
            key=lambda r: key_order(r["order_key"]),
        ),
        "extra_errors": [e.model_dump(mode="json") for e in doc.extra_errors],
        "trace": trace,
        "breakers": {
            tool: common_breaker(doc.breakers[tool].model_dump()) for tool in sorted(doc.breakers)
        },
        "extensions": {"graph": {"execution_events": marks}},
    }
    common: CommonState = validated(CommonState, state, LABEL)
    check_state(common, registry, label=LABEL, words=WORDS)
    check_seal(data, LABEL)
    return common


# --------------------------------------------------------------------------- to


def _frame(level: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": level["path"],
        "remaining": level["edges_pending"],
        "fired": level["edges_fired"],
        "view": level["resolved"],
        "errors": level["errors"],
        "routed": level["routed"],
        "waiting": sorted(level["waiting"]),  # as the engine writes it
        "runs": [_run(c) for c in level["containers"]],
    }


def _run(container: dict[str, Any]) -> dict[str, Any]:
    if container["kind"] == "loop":
        iteration = container["iteration"]
        return {
            "kind": "loop",
            "node": container["node"],
            "mode": container["mode"],
            "max_iterations": container["max_iterations"],
            "items": container["items"],
            "count": container["count"],
            "index": container["index"],
            "results": container["results"],
            "child": _frame(iteration) if iteration is not None else None,
        }
    return {
        "kind": "parallel",
        "node": container["node"],
        "branches": container["branches"],
        "max_concurrency": container["max_concurrency"],
        "items": container["items"],
        "next_index": container["opened"],
        "active": {i: _frame(level) for i, level in container["active"].items()},
        "results": container["results"],
        "failures": container["failures"],
    }


def _events(state: CommonState, trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The graph stream: the trace with the execution events it came with when they still
    fit (every position numbered once), else framed by a made-up start and pause."""
    extension = state.extensions.get("graph")
    if extension is not None:
        marks: _Extension = validated(_Extension, extension, "common state extension 'graph'")
        merged = sorted(
            [*trace, *(m.model_dump() for m in marks.execution_events)], key=lambda e: e["seq"]
        )
        if [e["seq"] for e in merged] == list(range(len(merged))):
            return merged
    events: list[dict[str, Any]] = [{"seq": 0, "kind": "execution.started", "time": 0.0}]
    for event in trace:
        events.append({**event, "seq": len(events)})
    events.append({"seq": len(events), "kind": "execution.paused", "time": float(state.elapsed)})
    return events


def to_graph(state: CommonState | Mapping[str, Any], registry: RegistryLike) -> dict[str, Any]:
    """A graph snapshot of a common state, for `GraphEngine.restore(registry, snapshot)`.
    The state is checked first; the snapshot shares no objects with it."""
    common = parse_state(state)
    check_state(common, registry)
    data = common.model_dump(mode="json")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in data["idempotency"]:
        groups.setdefault((r["tool"], r["key"]), []).append(
            {
                "order_key": r["order_key"],
                "node": r["node"],
                "path": r["path"],
                "output": r["output"],
            }
        )
    snapshot = {
        "format": GRAPH_FORMAT,
        "version": GRAPH_VERSION,
        "execution_id": data["run_id"],
        "status": "paused",
        "workflow": data["workflow"],
        "registry": data["registry"],
        "depth": data["depth"],
        "elapsed": data["elapsed"],
        "inputs": data["inputs"],
        "vars": data["vars"],
        "events": _events(common, data["trace"]),
        "idempotency": [
            {"tool": tool, "key": key, "records": records}
            for (tool, key), records in groups.items()
        ],
        "compensations": [
            {
                "order_key": u["order_key"],
                "node": u["node"],
                "path": u["path"],
                "attempt": u["attempt"],
                "tool": u["tool"],
                "args": u["args"],
                "render_error": u["problem"],
            }
            for u in data["compensations"]
        ],
        "extra_errors": data["extra_errors"],
        "frame": _frame(data["top"]),
        "pending": [
            {"path": q["path"], "node": q["node"], "prompt": q["prompt"]} for q in data["questions"]
        ],
    }
    if data["breakers"]:  # as the engine writes it: absent when the run has none
        snapshot["breakers"] = data["breakers"]
    return seal(snapshot)
