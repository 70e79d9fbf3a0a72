"""Graph snapshots carry an integrity digest, and restoring refuses a snapshot that was
changed (`SnapshotTampered`) or that no run can be in (`SnapshotInvalid` naming the
execution and the place) — even when the digest was recomputed to match, since anyone can
compute a SHA-256 (docs/graph-engine.md "Integrity")."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import end, node, start, workflow

from compat.sync import from_graph, handoff, to_graph
from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import SnapshotInvalid, SnapshotTampered
from engines.graph import GraphEngine
from engines.graph.resume import resume_stored
from engines.graph.store import SQLiteSnapshotStore
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


@cache
def _registry(name: str) -> WorkflowRegistry:
    if name == "saga":
        return WorkflowRegistry([validate_workflow(SAGA)], tools=builtin_registry())
    return load_fixture(FIXTURES / f"{name}.yaml", tools=builtin_registry()).registry


INPUTS = {
    "saga": {},
    "conversation_input_in_loop": {"n": 2},
    "conversation_input_in_parallel": {"people": ["alice", "bob"]},
}


def _engine() -> GraphEngine:
    return GraphEngine(tools=builtin_registry(), clock=VirtualClock())


@cache
def _frozen(name: str) -> str:
    engine = _engine()
    execution = engine.start(_registry(name), INPUTS[name], execution_id=f"run-{name}")
    assert engine.clock.run(execution.run).status is RunStatus.PAUSED
    return json.dumps(execution.snapshot())


def _paused(name: str) -> dict[str, Any]:
    """A fresh copy of a paused run's snapshot, through JSON."""
    return json.loads(_frozen(name))


def _restore(name: str, snapshot: Any) -> Any:
    return _engine().restore(_registry(name), snapshot)


def _refused(name: str, snapshot: Any, *words: str) -> SnapshotInvalid:
    with pytest.raises(SnapshotInvalid) as info:
        _restore(name, snapshot)
    message = str(info.value)
    assert message.startswith(f"execution 'run-{name}': "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return info.value


# --------------------------------------------------------------------------- the digest


@pytest.mark.parametrize("name", list(INPUTS))
def test_every_snapshot_is_sealed_with_the_digest_of_its_content(name: str) -> None:
    snapshot = _paused(name)
    assert snapshot["integrity"] == {"algorithm": "sha256", "digest": digest(snapshot)}
    reordered = dict(reversed(list(snapshot.items())))  # key order is not content
    assert digest(reordered) == snapshot["integrity"]["digest"]
    execution = _restore(name, reordered)
    assert execution.snapshot()["integrity"] == snapshot["integrity"]


TAMPERING: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a variable": lambda d: d["vars"].update(total=1000),
    "an input": lambda d: d["inputs"].update(n=1),
    "a prompt": lambda d: d["pending"][0].update(prompt="Transfer everything?"),
    "an event time": lambda d: d["events"][0].update(time=42.0),
    "the elapsed time": lambda d: d.update(elapsed=3.5),
    "a node output": lambda d: d["frame"]["view"]["start"].update(output={"n": 1}),
    "a loop's limit": lambda d: d["frame"]["runs"][0].update(max_iterations=2),
}


@pytest.mark.parametrize("what", list(TAMPERING))
def test_a_snapshot_changed_after_it_was_written_is_refused_as_tampered(what: str) -> None:
    snapshot = _paused("conversation_input_in_loop")
    TAMPERING[what](snapshot)
    error = _refused("conversation_input_in_loop", snapshot, "integrity digest", "changed")
    assert isinstance(error, SnapshotTampered)


@pytest.mark.parametrize(
    ("seal_", "words"),
    [
        (None, "carries no integrity digest"),
        ("sha256", "of another kind ('sha256')"),
        ({"algorithm": "md5", "digest": "0" * 32}, "of another kind"),
        ({"algorithm": "sha256", "digest": "0" * 64}, "does not match"),
        ({"algorithm": "sha256", "digest": "0" * 64, "signed": True}, "of another kind"),
    ],
    ids=["none", "text", "md5", "wrong-digest", "extra-key"],
)
def test_a_missing_or_foreign_digest_is_refused_as_tampered(seal_: Any, words: str) -> None:
    snapshot = _paused("conversation_input_in_loop")
    if seal_ is None:
        del snapshot["integrity"]
    else:
        snapshot["integrity"] = seal_
    assert isinstance(_refused("conversation_input_in_loop", snapshot, words), SnapshotTampered)


def test_precise_reasons_come_before_the_digest() -> None:
    """A snapshot broken in a way the checks can name gets that reason, not 'tampered'."""
    snapshot = _paused("conversation_input_in_loop")
    snapshot["frame"]["view"]["ghost"] = {"output": 1, "error": None, "status": "completed"}
    error = _refused("conversation_input_in_loop", snapshot, "ghost")
    assert not isinstance(error, SnapshotTampered)


# --------------------------------------------------------------------------- consistency


def _loop(d: dict[str, Any]) -> dict[str, Any]:
    return d["frame"]["runs"][0]


def _fan(d: dict[str, Any]) -> dict[str, Any]:
    return d["frame"]["runs"][0]


#: Snapshots no run writes, resealed so the digest matches: (fixture, edit, words).
INCONSISTENT: dict[str, tuple[str, Callable[[dict[str, Any]], Any], tuple[str, ...]]] = {
    "iteration-beyond-max-iterations": (
        "conversation_input_in_loop",
        lambda d: _loop(d).update(index=3, results=[1, 2, 3], max_iterations=3, count=3),
        ("loop 'collect'", "iteration 3 of 3 is out of range (max_iterations 3)"),
    ),
    "count-beyond-max-iterations": (
        "conversation_input_in_loop",
        lambda d: _loop(d).update(max_iterations=1),
        ("iteration 0 of 2 is out of range (max_iterations 1)",),
    ),
    "results-without-iterations": (
        "conversation_input_in_loop",
        lambda d: _loop(d).update(results=[{"total": 7}]),
        ("has 1 results before iteration 0",),
    ),
    "loop-without-its-iteration": (
        "conversation_input_in_loop",
        lambda d: _loop(d).update(child=None),
        ("without its child frame",),
    ),
    "for-loop-with-items": (
        "conversation_input_in_loop",
        lambda d: _loop(d).update(items=[1, 2]),
        ("mode for has count 2 and items [1, 2]",),
    ),
    "more-fired-edges-than-edges": (
        "conversation_input_in_loop",
        lambda d: d["frame"]["fired"].update(collect=2),
        ("top frame", "'collect' has 0 remaining and 2 fired", "only 1 incoming"),
    ),
    "more-remaining-edges-than-edges": (
        "conversation_input_in_loop",
        lambda d: d["frame"]["remaining"].update(done=4),
        ("'done' has 4 remaining",),
    ),
    "a-node-that-can-never-run": (
        "conversation_input_in_loop",
        lambda d: d["frame"]["remaining"].update(done=0),
        ("'done' is not resolved, not running and waits for no edge",),
    ),
    "a-failure-no-error-list-names": (
        "conversation_input_in_loop",
        lambda d: d["frame"]["view"]["start"].update(
            status="failed", output=None, error={"code": "TOOL_ERROR", "message": "m"}
        ),
        ("failed nodes must be exactly those listed", "failed: start; listed: none"),
    ),
    "completed-with-an-error": (
        "conversation_input_in_loop",
        lambda d: d["frame"]["view"]["start"].update(error={"code": "X", "message": "m"}),
        ("'start' is completed with error",),
    ),
    "routed-error-of-another-node": (
        "conversation_input_in_loop",
        lambda d: (
            d["frame"]["view"]["start"].update(status="failed", error={"code": "X"}, output=None),
            d["frame"]["routed"].update(start={"node": "collect", "code": "X", "message": "m"}),
        ),
        ("routed['start'] is an error of 'collect'",),
    ),
    "more-branches-opened-than-there-are": (
        "conversation_input_in_parallel",
        lambda d: _fan(d).update(next_index=3),
        ("parallel 'survey'", "next_index = 3 does not fit 2 branches"),
    ),
    "more-branches-open-than-allowed": (
        "conversation_input_in_parallel",
        lambda d: _fan(d).update(max_concurrency=1),
        ("(at most 1 open): active [0, 1]",),
    ),
    "a-branch-both-open-and-done": (
        "conversation_input_in_parallel",
        lambda d: _fan(d)["results"].update({"0": "x"}),
        ("active [0, 1], results [0]",),
    ),
    "a-branch-index-written-oddly": (
        "conversation_input_in_parallel",
        lambda d: _fan(d)["active"].update({"01": _fan(d)["active"].pop("1")}),
        ("non-integer branch index '01'",),
    ),
    "branches-for-other-items": (
        "conversation_input_in_parallel",
        lambda d: _fan(d).update(branches=3, next_index=2),
        ("has 3 branches for 2 items",),
    ),
    "events-renumbered": (
        "conversation_input_in_loop",
        lambda d: d["events"][1].update(seq=9),
        ("event 1: is numbered 9",),
    ),
    "an-impossible-depth": (
        "conversation_input_in_loop",
        lambda d: d.update(depth=10_000),
        ("depth: 10000 is beyond the sub-workflow depth limit",),
    ),
    "negative-elapsed-time": (
        "conversation_input_in_loop",
        lambda d: d.update(elapsed=-1.0),
        ("malformed", "elapsed"),
    ),
    "infinite-elapsed-time": (
        "conversation_input_in_loop",
        lambda d: d.update(elapsed=math.inf),
        ("malformed", "elapsed"),
    ),
    "compensation-at-another-place": (
        "saga",
        lambda d: d["compensations"][0].update(order_key=[7]),
        ("compensation of 'charge'", "order key [7] is not [1]"),
    ),
    "compensation-inside-a-container": (
        "saga",
        lambda d: d["compensations"][0].update(path=[["charge", 0]]),
        ("'charge' runs inside no container",),
    ),
    "compensation-by-another-tool": (
        "saga",
        lambda d: d["compensations"][0].update(tool="refund_everything"),
        ("not compensated by 'refund_everything'",),
    ),
    "idempotency-record-of-another-tool": (
        "saga",
        lambda d: d["idempotency"][0].update(tool="transfer"),
        ("idempotency record of 'charge'", "does not call 'transfer'"),
    ),
}


@pytest.mark.parametrize("what", list(INCONSISTENT))
def test_an_inconsistent_snapshot_is_refused_even_with_a_matching_digest(what: str) -> None:
    name, edit, words = INCONSISTENT[what]
    snapshot = _paused(name)
    edit(snapshot)
    seal(snapshot)
    error = _refused(name, snapshot, *words)
    assert not isinstance(error, SnapshotTampered)
    _restore(name, _paused(name))  # the untouched snapshot still restores


def test_the_names_in_a_refusal_are_shortened_and_escaped() -> None:
    snapshot = _paused("conversation_input_in_loop")
    snapshot["execution_id"] = "\x1b[31m" + "x" * 200
    seal(snapshot)
    snapshot["vars"]["total"] = 1
    with pytest.raises(SnapshotTampered) as info:
        _restore("conversation_input_in_loop", snapshot)
    message = str(info.value)
    assert "\x1b" not in message and "\\x1b[31m" in message and "x" * 100 not in message


# --------------------------------------------------------------------------- through a store


def test_a_row_rewritten_to_pass_the_store_is_still_refused_at_restore(tmp_path: Path) -> None:
    """The store's checksum guards its rows; the snapshot's digest guards the content, so
    an edit that recomputed the first is still caught by the second."""
    name = "conversation_input_in_loop"
    with SQLiteSnapshotStore(tmp_path / "s.db") as store:
        snapshot = _paused(name)
        snapshot["vars"]["total"] = 999  # then written through the store's own API
        store.save(snapshot["execution_id"], snapshot)
        with pytest.raises(SnapshotTampered, match="run-conversation_input_in_loop"):
            resume_stored(_engine(), _registry(name), store, snapshot["execution_id"], 5)
        assert store.holder(snapshot["execution_id"]) is None


# --------------------------------------------------------------------------- hand-off


def test_the_hand_off_writes_sealed_snapshots_and_reads_only_sealed_ones() -> None:
    name = "conversation_input_in_parallel"
    registry = _registry(name)
    snapshot = _paused(name)
    session = handoff(snapshot, "graph", "journey", registry=registry)
    engine = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())
    loaded = engine.load_session(registry, session)
    back = handoff(loaded.to_json(), "journey", "graph", registry=registry)
    assert back["integrity"]["digest"] == digest(back)
    assert _restore(name, back).id == snapshot["execution_id"]
    again = to_graph(from_graph(snapshot, registry), registry)
    assert again["integrity"]["digest"] == digest(again)
    assert _restore(name, again).id == snapshot["execution_id"]
    tampered = copy.deepcopy(snapshot)
    tampered["inputs"]["people"] = ["mallory", "bob"]
    with pytest.raises(SnapshotTampered, match="graph snapshot does not match"):
        handoff(tampered, "graph", "journey", registry=registry)
