"""Claims on stored executions: one spec, run against every backend (memory, SQLite), as a
checkpointer conformance suite does — exclusive claims, leases that expire on the store's
injected clock, writes fenced by the claim, and resuming a stored run through a claim
(docs/graph-engine.md "Claims and leases"). Nothing here reads wall time."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import EngineStateError, SnapshotClaimed, SnapshotInvalid
from engines.graph import GraphEngine
from engines.graph.resume import checkout, resume_stored
from engines.graph.store import Lease, MemorySnapshotStore, SnapshotStore, SQLiteSnapshotStore
from engines.model import WorkflowRegistry
from engines.result import RunStatus
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


class FakeNow:
    """The store's clock, moved by hand."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Backend:
    """Opens the backend under test on one shared clock (SQLite: a new connection to one
    file each time, as another process would have)."""

    kind: str
    path: Path
    now: FakeNow = field(default_factory=FakeNow)
    opened: list[SnapshotStore] = field(default_factory=list)

    def open(self) -> SnapshotStore:
        if self.kind == "memory":
            if not self.opened:
                self.opened.append(MemorySnapshotStore(now=self.now))
            return self.opened[0]
        store = SQLiteSnapshotStore(self.path, now=self.now)
        self.opened.append(store)
        return store


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = Backend(request.param, tmp_path / "claims.db")
    yield made
    for store in made.opened:
        store.close()


def _snap(label: str) -> dict[str, Any]:
    return {"format": "test", "workflow": {"id": f"wf-{label}"}, "execution_id": label}


# --------------------------------------------------------------------------- exclusive claims


def test_a_claim_is_exclusive_until_released(backend: Backend) -> None:
    store, other = backend.open(), backend.open()
    store.save("a", _snap("a"))
    first = store.claim("a", "alice", 30)
    assert (first.execution_id, first.owner, first.expires_at) == ("a", "alice", 1_030.0)
    for contender in (store, other):
        with pytest.raises(SnapshotClaimed) as info:
            contender.claim("a", "bob", 30)
        assert (info.value.execution_id, info.value.holder) == ("a", "alice")
        assert info.value.expires_at == 1_030.0
        assert "'a'" in str(info.value) and "'alice'" in str(info.value)
        assert isinstance(info.value, EngineStateError)
    assert other.holder("a") == Lease("alice", 1_030.0)
    assert other.load("a") == _snap("a")  # reading needs no claim
    assert other.release(first) is True
    assert store.release(first) is False  # given back once
    assert store.holder("a") is None
    second = other.claim("a", "bob", 30)
    assert second.owner == "bob" and second.token != first.token


def test_the_same_owner_cannot_claim_twice(backend: Backend) -> None:
    store = backend.open()
    store.save("a", _snap("a"))
    store.claim("a", "alice", 30)
    with pytest.raises(SnapshotClaimed, match="'alice'"):
        store.claim("a", "alice", 30)


def test_claims_are_per_execution(backend: Backend) -> None:
    store = backend.open()
    store.save("a", _snap("a"))
    store.save("b", _snap("b"))
    a = store.claim("a", "alice", 30)
    b = store.claim("b", "bob", 30)
    assert store.holder("a") == Lease("alice", 1_030.0)
    assert store.holder("b") == Lease("bob", 1_030.0)
    with pytest.raises(SnapshotInvalid, match="cannot save execution 'b'"):
        store.save("b", _snap("b2"), claim=a)
    assert store.release(a) and store.release(b)


def test_claiming_what_is_not_stored_is_refused(backend: Backend) -> None:
    store = backend.open()
    with pytest.raises(SnapshotInvalid, match="no snapshot stored for execution 'ghost'"):
        store.claim("ghost", "alice", 30)
    assert store.holder("ghost") is None
    assert list(store.ids()) == []


@pytest.mark.parametrize(
    ("owner", "lease", "word"),
    [
        ("", 30, "owner"),
        (None, 30, "owner"),
        ("x" * 201, 30, "owner"),
        ("alice", 0, "lease"),
        ("alice", -5, "lease"),
        ("alice", math.nan, "lease"),
        ("alice", math.inf, "lease"),
        ("alice", True, "lease"),
        ("alice", "30", "lease"),
    ],
    ids=["empty", "none", "long", "zero", "negative", "nan", "inf", "bool", "text"],
)
def test_bad_claim_requests_are_refused_and_change_nothing(
    backend: Backend, owner: Any, lease: Any, word: str
) -> None:
    store = backend.open()
    store.save("a", _snap("a"))
    with pytest.raises(SnapshotInvalid, match=word):
        store.claim("a", owner, lease)
    assert store.holder("a") is None
    store.claim("a", "alice", 1)


@pytest.mark.parametrize("bad", ["", 7, None, "a\ud800"], ids=["empty", "int", "none", "surrogate"])
def test_ids_that_cannot_name_a_row_are_refused_by_every_operation(
    backend: Backend, bad: Any
) -> None:
    store = backend.open()
    store.save("a", _snap("a"))
    for operation in (
        lambda: store.save(bad, _snap("x")),
        lambda: store.load(bad),
        lambda: store.delete(bad),
        lambda: store.claim(bad, "alice", 5),
        lambda: store.holder(bad),
    ):
        with pytest.raises(SnapshotInvalid, match="execution id must be"):
            operation()
    assert bad not in store
    assert list(store.ids()) == ["a"]


def test_racing_threads_get_exactly_one_claim(backend: Backend) -> None:
    """Eight threads, each with its own store (its own connection for SQLite), claim at
    once: one wins, the others are told who did."""
    backend.open().save("a", _snap("a"))
    stores = [backend.open() for _ in range(8)]
    start = threading.Barrier(len(stores))
    outcomes: list[tuple[str, str]] = []

    def contend(index: int) -> None:
        start.wait()
        try:
            stores[index].claim("a", f"thread-{index}", 30)
            outcomes.append(("won", f"thread-{index}"))
        except SnapshotClaimed as exc:
            outcomes.append(("lost", str(exc.holder)))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for outcome, name in outcomes if outcome == "won"]
    assert len(winners) == 1 and len(outcomes) == len(stores)
    assert {name for outcome, name in outcomes if outcome == "lost"} == set(winners)
    assert stores[0].holder("a") == Lease(winners[0], 1_030.0)


# --------------------------------------------------------------------------- leases


def test_a_lease_expires_on_the_store_clock(backend: Backend) -> None:
    store, other = backend.open(), backend.open()
    store.save("a", _snap("a"))
    crashed = store.claim("a", "crashed", 10)
    backend.now.advance(9.5)
    with pytest.raises(SnapshotClaimed, match=r"for 0\.5 more seconds"):
        other.claim("a", "rescuer", 10)
    backend.now.advance(0.5)  # exactly at the expiry: gone
    assert other.holder("a") is None
    rescue = other.claim("a", "rescuer", 10)
    assert rescue.expires_at == 1_020.0
    # The crashed resumer, back to life, has lost its claim and cannot write with it.
    with pytest.raises(SnapshotClaimed, match="lost") as info:
        store.save("a", _snap("stale"), claim=crashed)
    assert info.value.holder == "rescuer"
    with pytest.raises(SnapshotClaimed, match="lost"):
        store.renew(crashed, 10)
    with pytest.raises(SnapshotClaimed, match="lost"):
        store.delete("a", claim=crashed)
    assert store.release(crashed) is False
    assert other.load("a") == _snap("a")
    assert other.holder("a") == Lease("rescuer", 1_020.0)


def test_an_expired_claim_works_until_someone_else_takes_it(backend: Backend) -> None:
    store = backend.open()
    store.save("a", _snap("a"))
    slow = store.claim("a", "slow", 5)
    backend.now.advance(60)
    assert store.holder("a") is None  # anyone may claim it now ...
    store.save("a", _snap("a2"), claim=slow)  # ... but until then its holder still writes
    renewed = store.renew(slow, 20)
    assert (renewed.token, renewed.expires_at) == (slow.token, 1_080.0)
    assert store.holder("a") == Lease("slow", 1_080.0)
    with pytest.raises(SnapshotClaimed):
        backend.open().claim("a", "other", 5)
    assert store.release(renewed) is True


# --------------------------------------------------------------------------- fenced writes


def test_writes_without_the_claim_are_refused_while_it_is_live(backend: Backend) -> None:
    store, other = backend.open(), backend.open()
    store.save("a", _snap("a"))
    held = store.claim("a", "alice", 30)
    with pytest.raises(SnapshotClaimed, match="cannot save execution 'a'"):
        other.save("a", _snap("intruder"))
    with pytest.raises(SnapshotClaimed, match="cannot delete execution 'a'"):
        other.delete("a")
    assert other.load("a") == _snap("a")
    store.save("a", _snap("a2"), claim=held)  # the holder writes, and keeps its claim
    assert other.load("a") == _snap("a2")
    assert other.holder("a") == Lease("alice", 1_030.0)
    backend.now.advance(31)
    other.save("a", _snap("a3"))  # an expired claim fences no one
    assert store.load("a") == _snap("a3")


def test_deleting_with_the_claim_forgets_the_row_and_the_claim(backend: Backend) -> None:
    store = backend.open()
    store.save("a", _snap("a"))
    held = store.claim("a", "alice", 30)
    assert store.delete("a", claim=held) is True
    assert "a" not in store and store.holder("a") is None
    assert store.release(held) is False
    with pytest.raises(SnapshotClaimed, match="lost"):
        store.save("a", _snap("a"), claim=held)
    store.save("a", _snap("again"))  # a new run under the same id starts unclaimed
    assert store.holder("a") is None


def test_ids_follow_saves_whatever_the_clock_says(backend: Backend) -> None:
    store = backend.open()
    for label in ("c", "b", "a"):
        store.save(label, _snap(label))  # the clock does not move: order comes from saves
    assert list(store.ids()) == ["c", "b", "a"]
    store.save("c", _snap("c"))
    assert list(backend.open().ids()) == ["b", "a", "c"]


def test_a_lone_surrogate_round_trips(backend: Backend) -> None:
    """A payload may carry "\\ud800", which has no UTF-8 form; the store still keeps it."""
    store = backend.open()
    snapshot = {**_snap("a"), "answer": json.loads('"x\\ud800y"'), "name": "Zoë"}
    store.save("a", snapshot)
    assert backend.open().load("a") == snapshot


# --------------------------------------------------------------------------- resuming


@pytest.fixture(scope="module")
def sequence() -> WorkflowRegistry:
    return load_fixture(FIXTURES / "conversation_sequence.yaml", tools=builtin_registry()).registry


def _engine() -> GraphEngine:
    return GraphEngine(tools=builtin_registry(), clock=VirtualClock())


def _stored_pause(store: SnapshotStore, registry: WorkflowRegistry) -> str:
    engine = _engine()
    execution = engine.start(registry, {})
    assert engine.clock.run(execution.run).status is RunStatus.PAUSED
    store.save(execution.id, execution.snapshot())
    return execution.id


def _prompt(store: SnapshotStore, execution_id: str) -> str:
    return str(store.load(execution_id)["pending"][0]["prompt"])


def test_resuming_through_a_claim_writes_the_outcome_back(
    backend: Backend, sequence: WorkflowRegistry
) -> None:
    store = backend.open()
    run = _stored_pause(store, sequence)
    first = resume_stored(_engine(), sequence, backend.open(), run, "Ada", owner="one")
    assert first.status is RunStatus.PAUSED
    assert _prompt(store, run) == "Favourite colour, Ada?"
    assert store.holder(run) is None  # released
    last = resume_stored(_engine(), sequence, backend.open(), run, "green", owner="two")
    assert (last.status, last.outputs) == (
        RunStatus.COMPLETED,
        {"profile": "Ada/green", "turns": 2},
    )
    assert run not in store  # an ended run leaves the store


def test_a_claimed_run_cannot_be_checked_out(backend: Backend, sequence: WorkflowRegistry) -> None:
    store = backend.open()
    run = _stored_pause(store, sequence)
    before = store.load(run)
    store.claim(run, "first-resumer", 60)
    with pytest.raises(SnapshotClaimed) as info:
        resume_stored(_engine(), sequence, backend.open(), run, "Ada", owner="second")
    assert info.value.execution_id == run and info.value.holder == "first-resumer"
    assert store.load(run) == before


def test_a_failed_turn_releases_the_claim_and_keeps_the_last_pause(
    backend: Backend, sequence: WorkflowRegistry
) -> None:
    store = backend.open()
    run = _stored_pause(store, sequence)
    before = json.dumps(store.load(run), sort_keys=True)
    with (
        pytest.raises(RuntimeError, match="resumer died"),
        checkout(_engine(), sequence, store, run, owner="doomed"),
    ):
        assert store.holder(run) is not None
        raise RuntimeError("resumer died")
    assert store.holder(run) is None
    assert json.dumps(store.load(run), sort_keys=True) == before
    again = resume_stored(_engine(), sequence, store, run, "Ada")
    assert again.pause is not None and again.pause.prompt == "Favourite colour, Ada?"


def test_a_stale_resumer_cannot_overwrite_a_newer_one(
    backend: Backend, sequence: WorkflowRegistry
) -> None:
    """A resumer whose lease ran out and was taken over loses its write, not the store."""
    store = backend.open()
    run = _stored_pause(store, sequence)
    with (
        pytest.raises(SnapshotClaimed, match="lost"),
        checkout(_engine(), sequence, store, run, owner="slow", lease_seconds=5) as slow,
    ):
        backend.now.advance(10)
        resume_stored(_engine(), sequence, backend.open(), run, "Grace", owner="fast")
        slow.engine.clock.run(lambda: slow.resume("Ada"))
    assert _prompt(store, run) == "Favourite colour, Grace?"
    assert store.holder(run) is None


def test_a_row_stored_under_another_id_is_refused(
    backend: Backend, sequence: WorkflowRegistry
) -> None:
    store = backend.open()
    run = _stored_pause(store, sequence)
    store.save("copy", store.load(run))
    with pytest.raises(SnapshotInvalid, match=f"'copy' is of execution '{run}'"):
        resume_stored(_engine(), sequence, store, "copy", "Ada")
    assert store.holder("copy") is None
