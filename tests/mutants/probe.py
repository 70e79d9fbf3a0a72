"""What a surviving mutant changed, field by field: its engine's full results against the other
(real) engine's, on every bundled case.

The harness compares what its dimensions look at; a mutant that survives it may still change
something the contract fixes (docs/semantics.md §9, §10): a trace event's `detail`, an
error's message, the order of errors. The probe compares everything the two real engines
agree on (they agree on all of it but clock times and metrics other than `node_executions`),
so a survivor reads "observable in trace.detail.retrying.delay, not compared" or "no
observable change on any case" (equivalent, or not reached by any fixture).

Runs inside the mutant's process (after its hook), on the engines' own drivers.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compat.check import CheckOptions, collect
from engines.clock import VirtualClock
from engines.config import load_config
from engines.graph import GraphEngine
from engines.graph.driver import run_conversation as graph_conversation
from engines.journey import JourneyEngine
from engines.journey.driver import run_conversation as journey_conversation
from engines.result import RunResult

#: The probe's modes: the engines' own drivers, without or with a save/restore at each pause.
PROBE_MODES = ("plain", "roundtrip")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _facets(result: RunResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    steps: Counter[str] = Counter()
    details: dict[str, Counter[str]] = defaultdict(Counter)
    sequences: dict[str, list[str]] = defaultdict(list)
    compensations: list[str] = []
    for event in data["trace"]:
        step = _dumps([event["node"], event["path"], event["attempt"], event["kind"]])
        steps[step] += 1
        details[step][_dumps(event["detail"])] += 1
        execution = _dumps([event["node"], event["path"]])
        if event["kind"] == "compensated":
            compensations.append(step)
        else:
            sequences[execution].append(f"{event['kind']}#{event['attempt']}")
    return {
        "status": data["status"],
        "outputs": data["outputs"],
        "vars": data["vars"],
        "node_outputs": data["node_outputs"],
        "node_errors": data["node_errors"],
        "errors": data["errors"],
        "pause": data["pause"],
        "node_executions": data["metrics"]["node_executions"],
        "steps": steps,
        "details": details,
        "sequences": dict(sequences),
        "compensations": compensations,
    }


def _error_fields(a: list[dict[str, Any]], b: list[dict[str, Any]], name: str) -> set[str]:
    if len(a) != len(b):
        return {f"{name}.count"}
    if sorted(map(_dumps, a)) == sorted(map(_dumps, b)):
        return {f"{name}.order"}
    fields = set()
    for left, right in zip(a, b, strict=True):
        fields |= {f"{name}.{k}" for k in left if left[k] != right.get(k)}
    return fields


def _detail_fields(a: dict[str, Counter[str]], b: dict[str, Counter[str]]) -> set[str]:
    fields = set()
    for step in set(a) & set(b):
        if a[step] == b[step]:
            continue
        kind = json.loads(step)[3]
        keys = {k for d in (*a[step], *b[step]) for k in json.loads(d)}
        left = [json.loads(d) for d in a[step].elements()]
        right = [json.loads(d) for d in b[step].elements()]
        fields |= {
            f"trace.detail.{kind}.{k}"
            for k in keys
            if sorted(_dumps(d.get(k)) for d in left) != sorted(_dumps(d.get(k)) for d in right)
        }
    return fields


def differences(mutant: RunResult, real: RunResult) -> list[str]:
    """The fields in which the two results differ (clock times and timing metrics aside)."""
    a, b = _facets(mutant), _facets(real)
    found: set[str] = set()
    for name in ("status", "outputs", "vars", "node_outputs", "node_executions"):
        if a[name] != b[name]:
            found.add(name)
    if a["pause"] != b["pause"]:
        pa, pb = a["pause"] or {}, b["pause"] or {}
        found |= {f"pause.{k}" for k in set(pa) | set(pb) if pa.get(k) != pb.get(k)} or {"pause"}
    if a["errors"] != b["errors"]:
        found |= _error_fields(a["errors"], b["errors"], "errors")
    if a["node_errors"] != b["node_errors"]:
        na, nb = a["node_errors"], b["node_errors"]
        if set(na) != set(nb):
            found.add("node_errors.nodes")
        for node in set(na) & set(nb):
            found |= {f"node_errors.{k}" for k in na[node] if na[node][k] != nb[node].get(k)}
    if a["steps"] != b["steps"]:
        found.add("trace.steps")
    found |= _detail_fields(a["details"], b["details"])
    shared = set(a["sequences"]) & set(b["sequences"])
    if any(a["sequences"][e] != b["sequences"][e] for e in shared):
        found.add("trace.sequence")
    if a["compensations"] != b["compensations"] and Counter(a["compensations"]) == Counter(
        b["compensations"]
    ):
        found.add("trace.compensations.order")
    return sorted(found)


def _supported(driver: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The driver options this tree's driver takes (older drivers lack `fresh`, `cancel`)."""
    accepted = inspect.signature(driver).parameters
    return {k: v for k, v in options.items() if k in accepted and v is not None}


def _run(kind: str, registry: Any, case: Any, roundtrip: bool, tools: Any, env: Any) -> Any:
    engine_class = GraphEngine if kind == "graph" else JourneyEngine
    driver = graph_conversation if kind == "graph" else journey_conversation

    def fresh() -> Any:
        return engine_class(tools=tools, clock=VirtualClock(), env=env)

    extras = _supported(driver, {"fresh": fresh, "cancel": getattr(case, "cancel", None)})
    try:
        inputs, conversation = dict(case.inputs), list(case.conversation)
        return driver(fresh(), registry, inputs, conversation, roundtrip=roundtrip, **extras)
    except Exception as exc:  # a crash is an observation, not the probe's failure
        return f"{type(exc).__name__}: {exc}"


def probe(engine: str, paths: list[str], modes: tuple[str, ...] = PROBE_MODES) -> dict[str, Any]:
    """mode -> [{case, fields}] for every case where the mutated `engine` differs from the
    other engine in anything but timing."""
    config = load_config()
    tools, env = config.tool_registry(), config.environment()
    jobs = collect(paths, config, CheckOptions())
    other = "journey" if engine == "graph" else "graph"
    found: dict[str, Any] = {}
    for mode in modes:
        rows = []
        for job in jobs:
            for case in job.cases:
                args = (job.fixture.registry, case, mode == "roundtrip", tools, env)
                mine, theirs = _run(engine, *args), _run(other, *args)
                label = f"{Path(job.path).stem}::{case.name}"
                if isinstance(mine, str) or isinstance(theirs, str):
                    if mine != theirs:
                        rows.append({"case": label, "fields": [f"crash: {mine}"]})
                    continue
                fields = differences(mine, theirs)
                if fields:
                    rows.append({"case": label, "fields": fields})
        found[mode] = rows
    return found
