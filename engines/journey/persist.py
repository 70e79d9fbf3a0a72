"""Saving and loading paused sessions: JSON of the conversation so far, never of the journey.

A saved session holds the walks (their path counters, settled nodes, put-off positions),
the journey-held counters of loops and parallels, the variables, idempotency records and
pending compensations, the trace, the journey path and the transcript. Loading needs it and
the workflow alone; the workflow must be the one it was saved from (same content hash).
Types are checked strictly, and every node the saved session names must exist where it says;
then that its values fit together and fit the workflow (`engines.consistency`: no loop beyond
`max_iterations`, no stuck node, no stray failure …), and last its integrity digest
(`engines.integrity`, written by `dump`), so a session changed in a way no check can name is
still refused as tampered. Every refusal names the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engines.consistency import PausedChecks, branch_indices
from engines.errors import SnapshotInvalid
from engines.integrity import check_seal, seal
from engines.journey import breaker
from engines.journey.blueprint import Blueprint
from engines.journey.session_schema import (  # compat.sync reads them from here too
    BranchDoc,
    LoopDoc,
    SessionDoc,
    WalkDoc,
)
from engines.journey.state import (
    BranchCounter,
    Counter,
    LoopCounter,
    Message,
    Question,
    Record,
    Undo,
    Walk,
)
from engines.model.problems import problems_from
from engines.result import RunStatus
from engines.trace import expand, lean

if TYPE_CHECKING:
    from engines.journey.engine import JourneyEngine
    from engines.journey.session import Session

FORMAT = "compat.journey.session"
VERSION = 1
#: The saved session's names for the parts of a level, so a refusal names the place in it.
WORDS = {
    "level": "walk",
    "resolved": "settled",
    "pending": "unarrived",
    "fired": "arrived",
    "opened": "opened",
    "child": "child walk",
}


def _path(steps: Any) -> tuple[tuple[str, int], ...]:
    return tuple((str(container), int(index)) for container, index in steps)


def _steps(path: tuple[tuple[str, int], ...]) -> list[list[Any]]:
    return [list(step) for step in path]


# --------------------------------------------------------------------------- dump


def _dump_walk(walk: Walk) -> dict[str, Any]:
    return {
        "path": _steps(walk.path),
        "unarrived": walk.unarrived,
        "arrived": walk.arrived,
        "settled": walk.settled,
        "deferred": sorted(walk.deferred),
        "waiting": sorted(walk.waiting),
        "errors": [e.model_dump(mode="json") for e in walk.errors],
        "routed": {n: e.model_dump(mode="json") for n, e in walk.routed.items()},
        "counters": [_dump_counter(c) for c in walk.runs.values()],
    }


def _dump_counter(counter: Counter) -> dict[str, Any]:
    if isinstance(counter, LoopCounter):
        return {
            "kind": "loop",
            "node": counter.node,
            "mode": counter.mode,
            "max_iterations": counter.max_iterations,
            "count": counter.count,
            "items": counter.items,
            "index": counter.index,
            "results": counter.results,
            "child": _dump_walk(counter.child) if counter.child is not None else None,
        }
    assert isinstance(counter, BranchCounter)
    return {
        "kind": "parallel",
        "node": counter.node,
        "branches": counter.branches,
        "max_concurrency": counter.max_concurrency,
        "items": counter.items,
        "opened": counter.opened,
        "active": {str(i): _dump_walk(w) for i, w in counter.active.items()},
        "results": {str(i): v for i, v in counter.results.items()},
        "failures": {str(i): e.model_dump(mode="json") for i, e in counter.failures.items()},
    }


def dump(session: Session) -> dict[str, Any]:
    assert session.top is not None
    blueprint = session.blueprint
    saved = {
        "format": FORMAT,
        "version": VERSION,
        "session_id": session.id,
        "status": RunStatus.PAUSED.value,
        "workflow": {"id": blueprint.id, "hash": blueprint.content_hash},
        "registry": {wid: w.content_hash for wid, w in blueprint.registry.items()},
        "depth": session.depth,
        "elapsed": session.elapsed,
        "inputs": session.inputs,
        "vars": session.vars,
        # Copied one level deep: a breaker's state is a mapping the session keeps changing.
        "journey_vars": {
            k: dict(v) if isinstance(v, dict) else v for k, v in session.journey_vars.items()
        },
        "events": [e.model().model_dump(mode="json") for e in expand(session.events)],
        "path": [{"state": s, "token": t, "path": _steps(p)} for s, t, p in session.path],
        "transcript": [
            {"role": m.role, "text": m.text, "node": m.node} for m in session.transcript
        ],
        "records": [
            {
                "tool": tool,
                "key": key,
                "order_key": list(r.order_key),
                "node": r.node,
                "path": _steps(r.path),
                "output": r.output,
            }
            for (tool, key), records in session.records.items()
            for r in records
        ],
        "undo": [
            {
                "order_key": list(u.order_key),
                "node": u.node,
                "path": _steps(u.path),
                "attempt": u.attempt,
                "tool": u.tool,
                "args": u.args,
                "problem": u.problem,
            }
            for u in session.undo
        ],
        "extra_errors": [e.model_dump(mode="json") for e in session.extra_errors],
        "walk": _dump_walk(session.top),
        "questions": [
            {
                "path": _steps(q.walk.path),
                "node": q.node,
                "position": q.position,
                "prompt": q.prompt,
            }
            for q in session.questions
        ],
    }
    return seal(saved, f"saved session {session.id!r}")


# --------------------------------------------------------------------------- load


def _indices(mapping: Mapping[str, Any], what: str, node: str) -> dict[int, Any]:
    return branch_indices(mapping, f"saved session parallel {node!r} {what}")


class _Loader:
    def __init__(self, session: Session, blueprint: Blueprint, checks: PausedChecks) -> None:
        self.session = session
        self.blueprint = blueprint
        self.checks = checks
        #: Level checks, run once the questions are matched to the walks.
        self.levels: list[Callable[[], None]] = []
        self.walks: dict[tuple[tuple[str, int], ...], Walk] = {}
        self.known = {n for w in blueprint.registry.values() for n in w.workflow.node_map}

    def fill(self, walk: Walk, doc: WalkDoc) -> Walk:
        level = set(walk.level.order)
        named = {
            "unarrived": set(doc.unarrived),
            "arrived": set(doc.arrived),
            "settled": set(doc.settled),
            "waiting": set(doc.waiting),
            "routed": set(doc.routed),
            "errors": {e.node for e in doc.errors},
        }
        for key, nodes in named.items():
            outside = sorted(nodes - level)
            if outside:
                raise SnapshotInvalid(
                    f"saved session walk {list(walk.path)} {key} names "
                    f"{', '.join(outside)}, not nodes of that level"
                )
        if _path(doc.path) != walk.path or any(p >= len(walk.level.order) for p in doc.deferred):
            raise SnapshotInvalid(f"saved session walk {doc.path} does not fit its level")
        both = sorted(
            set(doc.waiting) & set(doc.settled) | {c.node for c in doc.counters} & set(doc.settled)
        )
        if both:
            raise SnapshotInvalid(
                f"saved session walk {doc.path} has {', '.join(both)} both "
                "settled and still running"
            )
        walk.unarrived.update(doc.unarrived)
        walk.arrived.update(doc.arrived)
        walk.settled.update({n: s.model_dump() for n, s in doc.settled.items()})
        walk.open = len(walk.level.order) - len(walk.settled)
        walk.deferred = set(doc.deferred)
        walk.waiting = set(doc.waiting)
        walk.errors = list(doc.errors)
        walk.routed = dict(doc.routed)
        self.walks[walk.path] = walk
        for counter in doc.counters:
            walk.runs[counter.node] = self.counter(walk, counter)
        # Checked once every question is matched, which names a missing one precisely.
        self.levels.append(
            partial(
                self.checks.level,
                walk.path,
                walk.level.container,
                resolved=walk.settled,
                pending=walk.unarrived,
                fired=walk.arrived,
                errors=[e.node for e in walk.errors],
                routed={n: e.node for n, e in walk.routed.items()},
                waiting=doc.waiting,
                running=[c.node for c in doc.counters],
            )
        )
        return walk

    def counter(self, walk: Walk, doc: LoopDoc | BranchDoc) -> Counter:
        workflow = self.blueprint.workflow
        node = workflow.node_map.get(doc.node)
        level = self.blueprint.topology.level_of.get(doc.node, "\0")
        if node is None or node.type != doc.kind or level != walk.level.container:
            raise SnapshotInvalid(
                f"saved session counts {doc.kind} {doc.node!r}, which is not "
                "a container of that level"
            )
        position = self.blueprint.position[doc.node]
        from engines.journey.counters import open_walk

        params = node.params  # type: ignore[attr-defined]
        if (
            params.mode != doc.mode
            if isinstance(doc, LoopDoc)
            else ((params.mode == "collection") != (doc.items is not None))
        ):
            raise SnapshotInvalid(
                f"saved session counter of {doc.node!r} does not match its "
                f"{doc.kind} (mode {params.mode!r})"
            )
        if isinstance(doc, LoopDoc):
            self.checks.loop(
                walk.path,
                doc.node,
                mode=doc.mode,
                count=doc.count,
                items=doc.items,
                index=doc.index,
                max_iterations=doc.max_iterations,
                results=len(doc.results),
                has_child=doc.child is not None,
            )
            loop = LoopCounter(
                doc.node,
                position,
                walk,
                doc.mode,
                doc.max_iterations,
                doc.count,
                doc.items,
                doc.index,
                list(doc.results),
            )
            if doc.child is not None:
                loop.child = self.fill(open_walk(self.session, loop, doc.index), doc.child)
            return loop
        branches = BranchCounter(
            doc.node,
            position,
            walk,
            branches=doc.branches,
            max_concurrency=doc.max_concurrency,
            items=doc.items,
            opened=doc.opened,
        )
        branches.results = _indices(doc.results, "results", doc.node)
        branches.failures = _indices(doc.failures, "failures", doc.node)
        active = _indices(doc.active, "active", doc.node)
        self.checks.parallel(
            walk.path,
            doc.node,
            branches=doc.branches,
            items=doc.items,
            opened=doc.opened,
            max_concurrency=doc.max_concurrency,
            active=list(active),
            results=list(branches.results),
            failed=list(branches.failures),
        )
        for index, child in active.items():
            branches.active[index] = self.fill(open_walk(self.session, branches, index), child)
        return branches

    def check(self, node: str, where: str) -> None:
        if node not in self.known:
            raise SnapshotInvalid(
                f"saved session {where} names node {node!r}, which no workflow of the registry has"
            )


def _header(blueprint: Blueprint, data: Mapping[str, Any]) -> None:
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise SnapshotInvalid(
            f"saved session version {version!r} is not supported (this "
            f"engine reads version {VERSION})"
        )
    workflow = data.get("workflow")
    if not isinstance(workflow, Mapping) or workflow.get("id") != blueprint.id:
        named = workflow.get("id") if isinstance(workflow, Mapping) else workflow
        raise SnapshotInvalid(f"saved session is of workflow {named!r}, not {blueprint.id!r}")
    if workflow.get("hash") != blueprint.content_hash:
        raise SnapshotInvalid(
            f"saved session is of another version of workflow "
            f"{blueprint.id!r} (its content hash differs)"
        )
    registry = {wid: w.content_hash for wid, w in blueprint.registry.items()}
    if data.get("registry") != registry:
        raise SnapshotInvalid("saved session used other sub-workflows than the ones given")
    if data.get("status") != RunStatus.PAUSED.value:
        raise SnapshotInvalid(
            f"saved session status is {data.get('status')!r}; only paused sessions can be loaded"
        )


def _named(data: Any) -> str | None:
    """`session 'id'` when the saved session names itself (the id shortened if long)."""
    session_id = data.get("session_id") if isinstance(data, Mapping) else None
    if not isinstance(session_id, str) or not session_id:
        return None
    shown = repr(session_id if len(session_id) <= 80 else session_id[:77] + "...")
    return f"session {shown}"


def load(engine: JourneyEngine, blueprint: Blueprint, data: Any) -> Session:
    """The paused session `data` saved, or `SnapshotInvalid` (`SnapshotTampered` for a
    digest that does not match) naming the session and the problem."""
    try:
        return _load(engine, blueprint, data)
    except SnapshotInvalid as exc:
        name = _named(data)
        raise type(exc)(f"{name}: {exc}" if name else str(exc)) from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # What no check above foresaw is still a session this engine cannot continue.
        name = _named(data) or "saved session"
        raise SnapshotInvalid(f"{name}: cannot be loaded ({type(exc).__name__}: {exc})") from None


def _check_journey_vars(loader: _Loader, journey_vars: Mapping[str, Any]) -> None:
    """The journey-held numbers a paused session can hold: a tool state's attempt count,
    a tool's circuit breaker."""
    for key, value in journey_vars.items():
        if key.startswith(breaker.PREFIX):
            breaker.check_saved(key, value, loader.session.blueprint.breakers)
            continue
        kind, _, node = key.partition(":")
        if kind != "attempt" or node not in loader.known:
            raise SnapshotInvalid(f"saved session journey_vars holds {key!r}, which no state uses")
        if type(value) is not int or value < 1:
            raise SnapshotInvalid(
                f"saved session journey_vars[{key!r}] is {value!r}, not an attempt number"
            )


def _load(engine: JourneyEngine, blueprint: Blueprint, data: Any) -> Session:
    from engines.journey.session import Session

    if not isinstance(data, Mapping):
        raise SnapshotInvalid(f"a saved session must be a mapping, not {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SnapshotInvalid(f"not a saved journey session (format is not {FORMAT!r})")
    _header(blueprint, data)
    try:
        doc = SessionDoc.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc)
        shown = "; ".join(str(p) for p in problems[:3])
        raise SnapshotInvalid(f"saved session is malformed: {shown}") from None
    session = Session(
        engine, blueprint, dict(doc.inputs), session_id=doc.session_id, depth=doc.depth
    )
    checks = PausedChecks(
        blueprint.topology, blueprint.workflow.node_map.get, "saved session", WORDS
    )
    checks.run(depth=doc.depth, elapsed=float(doc.elapsed))
    session.vars.update(doc.vars)
    session.journey_vars.update(
        {k: dict(v) if isinstance(v, Mapping) else v for k, v in doc.journey_vars.items()}
    )
    loader = _Loader(session, blueprint, checks)
    _check_journey_vars(loader, doc.journey_vars)
    top = Walk.top(
        blueprint.journey.levels[None],
        blueprint.incoming[None],
        {"inputs": session.inputs, "vars": session.vars, "env": engine.env},
    )
    session.top = loader.fill(top, doc.walk)
    for event in doc.events:
        loader.check(event.node, "trace")
    checks.events([event.seq for event in doc.events], "trace event")
    session.events = list(lean(doc.events))
    for visit in doc.path:
        if visit.state not in blueprint.journey.states:
            raise SnapshotInvalid(
                f"saved session path names state {visit.state!r}, which the journey does not have"
            )
    session.path = [(v.state, v.token, _path(v.path)) for v in doc.path]
    session.transcript = [Message(m.role, m.text, m.node) for m in doc.transcript]
    for r in doc.records:
        loader.check(r.node, "idempotency record")
        checks.record(r.node, _path(r.path), r.order_key, r.tool)
        session.records.setdefault((r.tool, r.key), []).append(
            Record(tuple(r.order_key), r.node, _path(r.path), r.output)
        )
    for u in doc.undo:
        loader.check(u.node, "compensation")
        checks.compensation(u.node, _path(u.path), u.order_key, u.tool)
        session.undo.append(
            Undo(tuple(u.order_key), u.node, _path(u.path), u.attempt, u.tool, u.args, u.problem)
        )
    session.extra_errors = list(doc.extra_errors)
    for q in doc.questions:
        walk = loader.walks.get(_path(q.path))
        node = blueprint.workflow.node_map.get(q.node)
        if (
            walk is None
            or node is None
            or node.type != "input"
            or q.node not in walk.waiting
            or blueprint.position.get(q.node) != q.position
        ):
            raise SnapshotInvalid(
                f"saved session question {q.node!r} at {q.path} is not an "
                "input waiting in that walk"
            )
        session.questions.append(Question(walk, q.node, q.position, q.prompt))
    asked = [(q.walk.path, q.node) for q in session.questions]
    waiting = {(path, node) for path, walk in loader.walks.items() for node in walk.waiting}
    twice = sorted({node for key in asked if asked.count(key) > 1 for _, node in [key]})
    unasked = sorted(node for _, node in waiting - set(asked))
    if twice or unasked:
        names = ", ".join(twice + unasked)
        raise SnapshotInvalid(
            f"saved session questions do not match the inputs its walks wait "
            f"on ({names}): each waiting input has exactly one question"
        )
    for check in loader.levels:
        check()
    session.elapsed = float(doc.elapsed)
    session.status = RunStatus.PAUSED
    check_seal(data, "saved session")
    return session
