"""Snapshot stores: one contract, both backends (memory and SQLite), in the style of a
checkpointer test suite; then what only the SQLite store promises (WAL, one row per
execution, shared between connections and processes)."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import ConfigError, SnapshotInvalid
from engines.graph import GraphEngine
from engines.graph.store import MemorySnapshotStore, SnapshotStore, SQLiteSnapshotStore
from engines.result import RunStatus
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

StoreFactory = Callable[[], SnapshotStore]


@pytest.fixture(params=["memory", "sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens the backend under test (for SQLite: a new connection to one file each time)."""
    opened: list[SQLiteSnapshotStore] = []
    memory = MemorySnapshotStore()

    def factory() -> SnapshotStore:
        if request.param == "memory":
            return memory
        store = SQLiteSnapshotStore(tmp_path / "snapshots.db")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def _snap(label: str, **extra: Any) -> dict[str, Any]:
    return {
        "format": "compat.graph.snapshot",
        "workflow": {"id": f"wf-{label}"},
        "n": label,
        **extra,
    }


def test_an_empty_store_has_nothing(open_store: StoreFactory) -> None:
    store = open_store()
    assert list(store.ids()) == []
    assert "a" not in store
    assert store.delete("a") is False
    with pytest.raises(SnapshotInvalid, match="no snapshot stored for execution 'a'"):
        store.load("a")


def test_save_then_load_gives_an_equal_independent_copy(open_store: StoreFactory) -> None:
    store = open_store()
    original = _snap("a", text="héllo ✓ 日本", big=2**62, neg=-0.5, nested=[{"x": [None, True]}])
    store.save("exec-a", original)
    loaded = store.load("exec-a")
    assert loaded == original
    assert json.dumps(loaded, sort_keys=True) == json.dumps(original, sort_keys=True)
    loaded["nested"][0]["x"].append("changed")
    original["n"] = "changed"
    assert store.load("exec-a") == _snap(
        "a", text="héllo ✓ 日本", big=2**62, neg=-0.5, nested=[{"x": [None, True]}]
    )
    assert "exec-a" in store
    assert list(store.ids()) == ["exec-a"]


def test_save_overwrites_and_ids_are_oldest_first(open_store: StoreFactory) -> None:
    store = open_store()
    for execution_id in ("c", "b", "a"):
        store.save(execution_id, _snap(execution_id))
    assert list(store.ids()) == ["c", "b", "a"]
    store.save("c", _snap("c2"))
    assert store.load("c") == _snap("c2")
    assert list(store.ids()) == ["b", "a", "c"]


def test_delete_forgets_one_snapshot(open_store: StoreFactory) -> None:
    store = open_store()
    store.save("a", _snap("a"))
    store.save("b", _snap("b"))
    assert store.delete("a") is True
    assert store.delete("a") is False
    with pytest.raises(SnapshotInvalid, match="'a'"):
        store.load("a")
    assert store.load("b") == _snap("b")
    assert list(store.ids()) == ["b"]
    assert "a" not in store and "b" in store


@pytest.mark.parametrize("execution_id", ["", None, 7], ids=repr)
def test_bad_execution_ids_are_refused(open_store: StoreFactory, execution_id: Any) -> None:
    store = open_store()
    with pytest.raises(SnapshotInvalid, match="execution id"):
        store.save(execution_id, _snap("a"))
    assert list(store.ids()) == []


@pytest.mark.parametrize(
    "bad",
    [{"x": math.nan}, {"x": math.inf}, {"x": {1, 2}}, {"x": object()}],
    ids=["nan", "inf", "set", "object"],
)
def test_a_snapshot_that_is_not_json_is_refused_and_keeps_the_old_one(
    open_store: StoreFactory, bad: dict[str, Any]
) -> None:
    store = open_store()
    store.save("a", _snap("a"))
    with pytest.raises(SnapshotInvalid, match="not JSON"):
        store.save("a", bad)
    with pytest.raises(SnapshotInvalid, match="not JSON"):
        store.save("b", bad)
    assert store.load("a") == _snap("a")
    assert list(store.ids()) == ["a"]


def test_a_store_round_trips_a_real_paused_execution(open_store: StoreFactory) -> None:
    fixture = load_fixture(FIXTURES / "conversation_sequence.yaml", tools=builtin_registry())
    engine = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
    execution = engine.start(fixture.registry, {})
    engine.clock.run(execution.run)
    open_store().save(execution.id, execution.snapshot())
    later = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
    restored = later.restore(fixture.registry, open_store().load(execution.id))
    assert restored.id == execution.id
    later.clock.run(lambda: restored.resume("Ada"))
    result = later.clock.run(lambda: restored.resume("green"))
    assert (result.status, result.outputs) == (
        RunStatus.COMPLETED,
        {"profile": "Ada/green", "turns": 2},
    )


# --------------------------------------------------------------------------- SQLite only


def test_sqlite_store_uses_wal_and_one_row_per_execution(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with SQLiteSnapshotStore(path) as store:
        for execution_id in ("a", "b", "a", "a", "c", "b"):
            store.save(execution_id, _snap(execution_id))
        store.delete("c")
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            rows = db.execute("SELECT id, workflow_id FROM executions ORDER BY id").fetchall()
        assert rows == [("a", "wf-a"), ("b", "wf-b")]


def test_sqlite_store_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    with SQLiteSnapshotStore(path) as store:
        store.save("a", _snap("a"))
    with SQLiteSnapshotStore(path) as store:
        assert store.load("a") == _snap("a")
        assert list(store.ids()) == ["a"]


def test_two_stores_on_one_file_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SQLiteSnapshotStore(path) as first, SQLiteSnapshotStore(path) as second:
        first.save("a", _snap("a"))
        assert second.load("a") == _snap("a")
        second.save("a", _snap("a2"))
        second.save("b", _snap("b"))
        assert first.load("a") == _snap("a2")
        assert list(first.ids()) == ["a", "b"]
        assert first.delete("b") is True
        assert "b" not in second
        with pytest.raises(SnapshotInvalid):
            second.load("b")


def test_sqlite_store_that_cannot_open_its_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open the snapshot store"):
        SQLiteSnapshotStore(tmp_path)  # a directory
