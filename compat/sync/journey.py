"""The journey engine's saved session (`compat.journey.session` v1) to and from the common
state.

A journey walk is a level execution: `unarrived`/`arrived` are the common edge counters,
`settled` the resolved nodes, `counters` the containers in progress, `questions` the pending
inputs. A walk's `deferred` positions (put off until an answer arrives) are not carried: at a
pause they are exactly the positions of the open nodes that are neither waiting nor running,
so they are derived from the rest. The journey path, the transcript and the journey variables
have no graph counterpart: they travel in the `journey` extension, so a journey round trip is
lossless (but for the circuit breakers, the journey variables `breaker:<tool>`, which are
the common `breakers`); a state from elsewhere starts a journey path afresh, and its
transcript with the question the run is paused at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictStr

from compat.sync.breakers import journey_vars_with, split_journey_vars
from compat.sync.levels import by_index, common_level, common_loop, common_parallel
from compat.sync.state import (
    CommonState,
    Path,
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
from engines.errors import SnapshotInvalid
from engines.integrity import check_seal, seal
from engines.journey.persist import FORMAT as JOURNEY_FORMAT
from engines.journey.persist import VERSION as JOURNEY_VERSION
from engines.journey.persist import LoopDoc, SessionDoc, WalkDoc
from engines.model import ValidatedWorkflow

LABEL = "saved journey session"
#: The saved session's names for the common state's parts (for refusals).
WORDS = {
    "level": "walk",
    "resolved": "settled",
    "edges_pending": "unarrived",
    "edges_fired": "arrived",
    "containers": "counters",
    "iteration": "child",
    "compensation": "undo record",
    "trace": "event",
    "breaker": "journey_vars['breaker:{tool}']",
}


class _Visit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    state: StrictStr
    token: StrictStr | None
    path: Path


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["agent", "customer"]
    text: StrictStr
    node: StrictStr | None


class _Extension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    journey_vars: dict[str, Any]
    path: list[_Visit]
    transcript: list[_Message]


# --------------------------------------------------------------------------- from


def _level(doc: WalkDoc, index: Mapping[str, int]) -> dict[str, Any]:
    return common_level(
        doc,
        index,
        resolved=doc.settled,
        pending=doc.unarrived,
        fired=doc.arrived,
        runs=list(doc.counters),
        container=lambda run: _container(run, index),
    )


def _container(run: Any, index: Mapping[str, int]) -> dict[str, Any]:
    if isinstance(run, LoopDoc):
        return common_loop(run, _level(run.child, index) if run.child is not None else None)
    active = {i: _level(run.active[i], index) for i in by_index(run.active)}
    return common_parallel(run, run.opened, active)


def from_journey(session: Mapping[str, Any], registry: RegistryLike) -> CommonState:
    """The common state of a saved journey session (`Session.to_json()`), checked against the
    workflow registry. The session is not changed; nothing returned shares its objects."""
    main, hashes = resolve_registry(registry)
    data = json_copy(session, LABEL)
    check_header(data, main, hashes, label=LABEL, fmt=JOURNEY_FORMAT, version=JOURNEY_VERSION)
    doc: SessionDoc = validated(SessionDoc, data, LABEL)
    index = main.topology.index
    breakers, journey_vars = split_journey_vars(doc.journey_vars)
    state = {
        "format": "compat.common.state",
        "version": 1,
        "run_id": doc.session_id,
        "source": "journey",
        "workflow": doc.workflow,
        "registry": doc.registry,
        "depth": doc.depth,
        "elapsed": doc.elapsed,
        "inputs": doc.inputs,
        "vars": doc.vars,
        "top": _level(doc.walk, index),
        "questions": sorted(
            (
                {
                    "node": q.node,
                    "path": q.path,
                    "order_key": _question_key(main, q.node, q.path, q.position),
                    "prompt": q.prompt,
                }
                for q in doc.questions
            ),
            key=lambda q: key_order(q["order_key"]),
        ),
        "idempotency": sorted(
            (
                {
                    "tool": r.tool,
                    "key": r.key,
                    "node": r.node,
                    "path": r.path,
                    "order_key": r.order_key,
                    "output": r.output,
                }
                for r in doc.records
            ),
            key=lambda r: (r["tool"], r["key"], key_order(r["order_key"])),
        ),
        "compensations": sorted(
            (
                {
                    "node": u.node,
                    "path": u.path,
                    "order_key": u.order_key,
                    "attempt": u.attempt,
                    "tool": u.tool,
                    "args": u.args,
                    "problem": u.problem,
                }
                for u in doc.undo
            ),
            key=lambda u: key_order(u["order_key"]),
        ),
        "extra_errors": [e.model_dump(mode="json") for e in doc.extra_errors],
        "trace": [e.model_dump(mode="json") for e in doc.events],
        "breakers": breakers,
        "extensions": {
            "journey": {
                "journey_vars": journey_vars,
                "path": [v.model_dump() for v in doc.path],
                "transcript": [m.model_dump() for m in doc.transcript],
            }
        },
    }
    common: CommonState = validated(CommonState, state, LABEL)
    check_state(common, registry, label=LABEL, words=WORDS)
    check_seal(data, LABEL)
    return common


def _question_key(main: ValidatedWorkflow, node: str, path: Any, position: int) -> tuple[int, ...]:
    """A question's order key; its position must be its node's canonical index."""
    key = question_key(main, node, path, f"{LABEL} question {node!r}")
    if position != key[-1]:
        raise SnapshotInvalid(
            f"{LABEL} question {node!r} is at position {position}, not at its node's "
            f"canonical index {key[-1]}"
        )
    return key


# --------------------------------------------------------------------------- to


def _walk(level: dict[str, Any], workflow: ValidatedWorkflow) -> dict[str, Any]:
    index = workflow.topology.index
    running = set(level["waiting"]) | {c["node"] for c in level["containers"]}
    deferred = sorted(
        index[n] for n in level["edges_pending"] if n not in level["resolved"] and n not in running
    )
    return {
        "path": level["path"],
        "unarrived": level["edges_pending"],
        "arrived": level["edges_fired"],
        "settled": level["resolved"],
        "deferred": deferred,
        "waiting": sorted(level["waiting"]),  # as the engine writes it
        "errors": level["errors"],
        "routed": level["routed"],
        "counters": [_counter(c, workflow) for c in level["containers"]],
    }


def _counter(container: dict[str, Any], workflow: ValidatedWorkflow) -> dict[str, Any]:
    if container["kind"] == "loop":
        iteration = container["iteration"]
        return {
            "kind": "loop",
            "node": container["node"],
            "mode": container["mode"],
            "max_iterations": container["max_iterations"],
            "count": container["count"],
            "items": container["items"],
            "index": container["index"],
            "results": container["results"],
            "child": _walk(iteration, workflow) if iteration is not None else None,
        }
    return {
        "kind": "parallel",
        "node": container["node"],
        "branches": container["branches"],
        "max_concurrency": container["max_concurrency"],
        "items": container["items"],
        "opened": container["opened"],
        "active": {i: _walk(level, workflow) for i, level in container["active"].items()},
        "results": container["results"],
        "failures": container["failures"],
    }


def to_journey(state: CommonState | Mapping[str, Any], registry: RegistryLike) -> dict[str, Any]:
    """A saved journey session of a common state, for `JourneyEngine.load_session(registry,
    data)`. The state is checked first; the session shares no objects with it."""
    common = parse_state(state)
    check_state(common, registry)
    main, _ = resolve_registry(registry)
    data = common.model_dump(mode="json")
    pause = data["questions"][0]
    extension = common.extensions.get("journey")
    if extension is not None:
        extra = validated(_Extension, extension, "common state extension 'journey'").model_dump()
    else:
        extra = {
            "journey_vars": {},
            "path": [],
            "transcript": [{"role": "agent", "text": pause["prompt"], "node": pause["node"]}],
        }
    session = {
        "format": JOURNEY_FORMAT,
        "version": JOURNEY_VERSION,
        "session_id": data["run_id"],
        "status": "paused",
        "workflow": data["workflow"],
        "registry": data["registry"],
        "depth": data["depth"],
        "elapsed": data["elapsed"],
        "inputs": data["inputs"],
        "vars": data["vars"],
        "journey_vars": journey_vars_with(extra["journey_vars"], data["breakers"]),
        "events": [{**event, "seq": i} for i, event in enumerate(data["trace"])],
        "path": extra["path"],
        "transcript": extra["transcript"],
        "records": data["idempotency"],
        "undo": data["compensations"],
        "extra_errors": data["extra_errors"],
        "walk": _walk(data["top"], main),
        "questions": [
            {
                "path": q["path"],
                "node": q["node"],
                "position": main.topology.index[q["node"]],
                "prompt": q["prompt"],
            }
            for q in data["questions"]
        ],
    }
    return seal(session)
