"""Saved journey sessions carry an integrity digest, and loading refuses a session that was
changed (`SnapshotTampered`) or that no conversation can be in (`SnapshotInvalid` naming the
session and the place) — even when the digest was recomputed to match
(docs/journey-engine.md "Integrity")."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import end, node, start, workflow

from compat.sync import handoff
from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import SnapshotInvalid, SnapshotTampered
from engines.integrity import digest, seal
from engines.journey import JourneyEngine
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunStatus
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

SAGA = workflow(
    [
        start(),
        node(
            "charge",
            "tool",
            tool="echo",
            args={"amount": 5},
            options={
                "idempotency_key": "order-1",
                "compensate": {"tool": "echo", "args": {"refund": 5}},
            },
        ),
        node("ask", "input", prompt="Confirm?"),
        end("done", answer="{{ nodes.ask.output }}"),
    ],
    ["start -> charge", "charge -> ask", "ask -> done"],
    workflow_id="saga_paused",
)
INPUTS = {
    "saga": {},
    "conversation_input_in_loop": {"n": 2},
    "conversation_input_in_parallel": {"people": ["alice", "bob"]},
}


@cache
def _registry(name: str) -> WorkflowRegistry:
    if name == "saga":
        return WorkflowRegistry([validate_workflow(SAGA)], tools=builtin_registry())
    return load_fixture(FIXTURES / f"{name}.yaml", tools=builtin_registry()).registry


def _engine() -> JourneyEngine:
    return JourneyEngine(tools=builtin_registry(), clock=VirtualClock())


@cache
def _frozen(name: str) -> str:
    engine = _engine()
    session = engine.start_session(_registry(name), INPUTS[name], session_id=f"talk-{name}")
    assert engine.clock.run(session.start).status is RunStatus.PAUSED
    return json.dumps(session.to_json())


def _saved(name: str) -> dict[str, Any]:
    return json.loads(_frozen(name))


def _load(name: str, data: Any) -> Any:
    return _engine().load_session(_registry(name), data)


def _refused(name: str, data: Any, *words: str) -> SnapshotInvalid:
    with pytest.raises(SnapshotInvalid) as info:
        _load(name, data)
    message = str(info.value)
    assert message.startswith(f"session 'talk-{name}': "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return info.value


@pytest.mark.parametrize("name", list(INPUTS))
def test_every_saved_session_is_sealed_and_loads(name: str) -> None:
    data = _saved(name)
    assert data["integrity"] == {"algorithm": "sha256", "digest": digest(data)}
    session = _load(name, data)
    assert session.to_json()["integrity"] == data["integrity"]


TAMPERING: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a variable": lambda d: d["vars"].update(total=1000),
    "the transcript": lambda d: d["transcript"][0].update(text="Send me your password"),
    "a question's prompt": lambda d: d["questions"][0].update(prompt="Amount 1 of 1"),
    "the journey path": lambda d: d["path"].pop(),
    "a loop's limit": lambda d: d["walk"]["counters"][0].update(max_iterations=2),
    "the digest removed": lambda d: d.pop("integrity"),
}


@pytest.mark.parametrize("what", list(TAMPERING))
def test_a_session_changed_after_it_was_saved_is_refused_as_tampered(what: str) -> None:
    data = _saved("conversation_input_in_loop")
    TAMPERING[what](data)
    error = _refused("conversation_input_in_loop", data, "integrity digest")
    assert isinstance(error, SnapshotTampered)


def _counter(d: dict[str, Any]) -> dict[str, Any]:
    return d["walk"]["counters"][0]


INCONSISTENT: dict[str, tuple[str, Callable[[dict[str, Any]], Any], tuple[str, ...]]] = {
    "iteration-beyond-max-iterations": (
        "conversation_input_in_loop",
        lambda d: _counter(d).update(index=4, results=[0, 1, 2, 3], count=4, max_iterations=4),
        ("loop 'collect'", "iteration 4 of 4 is out of range (max_iterations 4)"),
    ),
    "an-index-beyond-the-items": (
        "conversation_input_in_loop",
        lambda d: _counter(d).update(index=7, results=list(range(7))),
        ("iteration 7 of 2 is out of range",),
    ),
    "results-without-iterations": (
        "conversation_input_in_loop",
        lambda d: _counter(d).update(results=[1]),
        ("has 1 results before iteration 0",),
    ),
    "more-arrived-paths-than-edges": (
        "conversation_input_in_loop",
        lambda d: d["walk"]["arrived"].update(done=1),
        ("top walk", "'done' has 1 unarrived and 1 arrived", "only 1 incoming"),
    ),
    "a-node-that-can-never-run": (
        "conversation_input_in_loop",
        lambda d: d["walk"]["unarrived"].update(done=0),
        ("'done' is not resolved, not running and waits for no edge",),
    ),
    "a-failure-no-error-list-names": (
        "conversation_input_in_loop",
        lambda d: d["walk"]["settled"]["start"].update(
            status="failed", output=None, error={"code": "X", "message": "m"}
        ),
        ("failed nodes must be exactly those listed once in errors or routed",),
    ),
    "more-branches-opened-than-there-are": (
        "conversation_input_in_parallel",
        lambda d: _counter(d).update(opened=5),
        ("parallel 'survey'", "opened = 5 does not fit 2 branches"),
    ),
    "a-branch-both-open-and-failed": (
        "conversation_input_in_parallel",
        lambda d: _counter(d)["failures"].update(
            {"1": {"node": "ask", "code": "X", "message": "m"}}
        ),
        ("active [0, 1], results [], failures [1]",),
    ),
    "a-branch-index-with-a-sign": (
        "conversation_input_in_parallel",
        lambda d: _counter(d)["active"].update({"+1": _counter(d)["active"].pop("1")}),
        ("non-integer branch index '+1'",),
    ),
    "trace-renumbered": (
        "conversation_input_in_loop",
        lambda d: d["events"][0].update(seq=3),
        ("trace event 0: is numbered 3",),
    ),
    "a-made-up-journey-number": (
        "conversation_input_in_loop",
        lambda d: d["journey_vars"].update({"balance": 10**9}),
        ("journey_vars holds 'balance'",),
    ),
    "a-negative-attempt": (
        "conversation_input_in_loop",
        lambda d: d["journey_vars"].update({"attempt:add_up": -3}),
        ("journey_vars['attempt:add_up'] is -3",),
    ),
    "negative-elapsed-time": (
        "conversation_input_in_loop",
        lambda d: d.update(elapsed=-0.5),
        ("malformed", "elapsed"),
    ),
    "compensation-at-another-place": (
        "saga",
        lambda d: d["undo"][0].update(order_key=[3]),
        ("compensation of 'charge'", "order key [3] is not [1]"),
    ),
    "compensation-by-another-tool": (
        "saga",
        lambda d: d["undo"][0].update(tool="wire_transfer"),
        ("not compensated by 'wire_transfer'",),
    ),
    "record-inside-a-container": (
        "saga",
        lambda d: d["records"][0].update(path=[["charge", 1]]),
        ("idempotency record of 'charge'", "runs inside no container"),
    ),
}


@pytest.mark.parametrize("what", list(INCONSISTENT))
def test_an_inconsistent_session_is_refused_even_with_a_matching_digest(what: str) -> None:
    name, edit, words = INCONSISTENT[what]
    data = _saved(name)
    edit(data)
    seal(data)
    error = _refused(name, data, *words)
    assert not isinstance(error, SnapshotTampered)
    _load(name, _saved(name))


def test_a_session_from_the_hand_off_is_sealed_and_a_tampered_one_is_not_converted() -> None:
    name = "conversation_input_in_loop"
    registry = _registry(name)
    data = _saved(name)
    snapshot = handoff(data, "journey", "graph", registry=registry)
    back = handoff(snapshot, "graph", "journey", registry=registry)
    assert back["integrity"]["digest"] == digest(back)
    session = _load(name, back)
    engine = session.engine
    engine.clock.run(lambda: session.reply(3))
    last = engine.clock.run(lambda: session.reply(4))
    assert (last.status, last.outputs["total"]) == (RunStatus.COMPLETED, 7)
    data["vars"]["total"] = 100
    with pytest.raises(SnapshotTampered, match="journey session does not match"):
        handoff(data, "journey", "graph", registry=registry)
