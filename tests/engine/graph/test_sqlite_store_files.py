"""What the SQLite snapshot store does with files it did not just create: the first schema
migrated in place, a database of something else or a file that is not SQLite refused and
left untouched, corrupt rows refused naming the execution and the file — always with our
own errors (`SnapshotStoreError`, `SnapshotCorrupt`), never a raw `sqlite3` or JSON error."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import (
    ConfigError,
    SnapshotClaimed,
    SnapshotCorrupt,
    SnapshotInvalid,
    SnapshotStoreError,
)
from engines.graph import GraphEngine
from engines.graph.resume import resume_stored
from engines.graph.sqlite_schema import APPLICATION_ID, SCHEMA_VERSION
from engines.graph.store import SQLiteSnapshotStore
from engines.model import WorkflowRegistry
from engines.result import RunStatus
from engines.tools import builtin_registry

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "conversation_sequence.yaml"

V1_SCHEMA = """
    CREATE TABLE IF NOT EXISTS executions (
        id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        saved_at REAL NOT NULL
    )
"""


def _registry() -> WorkflowRegistry:
    return load_fixture(FIXTURE, tools=builtin_registry()).registry


def _engine() -> GraphEngine:
    return GraphEngine(tools=builtin_registry(), clock=VirtualClock())


def _paused_snapshot(execution_id: str = "run-1") -> dict[str, Any]:
    engine = _engine()
    execution = engine.start(_registry(), {}, execution_id=execution_id)
    engine.clock.run(execution.run)
    return json.loads(json.dumps(execution.snapshot()))


def _sql(path: Path, *statements: str | tuple[str, tuple[Any, ...]]) -> None:
    with sqlite3.connect(path) as db:
        for statement in statements:
            if isinstance(statement, tuple):
                db.execute(*statement)
            else:
                db.execute(statement)
    db.close()


def _pragma(path: Path, name: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute(f"PRAGMA {name}").fetchone()[0])
    finally:
        db.close()


# --------------------------------------------------------------------------- migration


def test_a_store_of_the_first_schema_is_migrated_in_place(tmp_path: Path) -> None:
    """Its rows keep their order and content; the snapshots written before they carried an
    integrity digest get one, so the paused runs they hold resume."""
    path = tmp_path / "v1.db"
    snapshot = _paused_snapshot()
    run = snapshot["execution_id"]
    del snapshot["integrity"]  # as the first schema's engines wrote it
    _sql(
        path,
        V1_SCHEMA,
        "PRAGMA journal_mode=WAL",
        (
            "INSERT INTO executions VALUES (?, ?, ?, ?)",
            ("later", "wf", json.dumps({"n": 2}), 20.0),
        ),
        (
            "INSERT INTO executions VALUES (?, ?, ?, ?)",
            (run, "conversation_sequence", json.dumps(snapshot), 10.0),
        ),
    )
    with SQLiteSnapshotStore(path) as store:
        assert store.opened == "migrated"
        assert list(store.ids()) == [run, "later"]  # the old save order is kept
        assert store.load("later") == {"n": 2}
        assert store.load(run) == {**snapshot, "integrity": store.load(run)["integrity"]}
        result = resume_stored(_engine(), _registry(), store, run, "Ada")
        assert result.pause is not None and result.pause.prompt == "Favourite colour, Ada?"
    assert (_pragma(path, "application_id"), _pragma(path, "user_version")) == (
        APPLICATION_ID,
        SCHEMA_VERSION,
    )
    with SQLiteSnapshotStore(path) as again:
        assert again.opened == "current"
        assert again.load(run)["pending"][0]["prompt"] == "Favourite colour, Ada?"


def test_two_stores_opening_an_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _sql(path, V1_SCHEMA, ("INSERT INTO executions VALUES ('a', 'wf', '{}', 1.0)", ()))
    with SQLiteSnapshotStore(path) as first, SQLiteSnapshotStore(path) as second:
        assert (first.opened, second.opened) == ("migrated", "current")
        assert second.load("a") == {}


def test_a_new_or_empty_file_becomes_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for path in (tmp_path / "new.db", empty):
        with SQLiteSnapshotStore(path) as store:
            assert store.opened == "created"
            store.save("a", {"x": 1})
        assert _pragma(path, "application_id") == APPLICATION_ID


# --------------------------------------------------------------------------- foreign files


def _refused(path: Path, *words: str) -> SnapshotStoreError:
    before = path.read_bytes()
    with pytest.raises(SnapshotStoreError) as info:
        SQLiteSnapshotStore(path)
    message = str(info.value)
    assert str(path) in message and "cannot open the snapshot store" in message
    for word in words:
        assert word in message
    assert isinstance(info.value, ConfigError)
    assert path.read_bytes() == before  # looked at, never written
    return info.value


def test_a_foreign_snapshots_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    _sql(path, "CREATE TABLE snapshots (key TEXT, payload BLOB, version INTEGER)")
    _refused(path, "'snapshots'", "belongs to something else")


def test_a_foreign_executions_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ci.db"
    _sql(path, "CREATE TABLE executions (id INTEGER PRIMARY KEY, job TEXT, exit_code INTEGER)")
    _refused(path, "'executions'", "id, job, exit_code")


def test_a_first_schema_store_with_other_tables_beside_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.db"
    _sql(path, V1_SCHEMA, "CREATE TABLE users (name TEXT)")
    _refused(path, "'executions', 'users'")


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    _sql(path, V1_SCHEMA, "PRAGMA application_id = 1234")
    _refused(path, "another program's database", "0x4d2")


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SQLiteSnapshotStore(path).close()
    _sql(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    _refused(path, f"version {SCHEMA_VERSION + 1}", "newer")


def test_a_store_marked_ours_with_the_wrong_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    SQLiteSnapshotStore(path).close()
    _sql(path, "ALTER TABLE executions DROP COLUMN claim_expires")
    _refused(path, "damaged")


@pytest.mark.parametrize(
    "content",
    [b"not a database, just text\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "broken-header"],
)
def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "snapshots.db"
    path.write_bytes(content)
    _refused(path)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotStoreError, match="cannot open the snapshot store"):
        SQLiteSnapshotStore(tmp_path)


# --------------------------------------------------------------------------- corrupt rows


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    path = tmp_path / "rows.db"
    with SQLiteSnapshotStore(path) as store:
        store.save("run-1", _paused_snapshot())
        store.save("run-2", {"fine": True})
    return path


CORRUPTIONS: dict[str, tuple[str, tuple[Any, ...], str]] = {
    "bad-json": (
        "UPDATE executions SET snapshot = ?, checksum = ? WHERE id = 'run-1'",
        ("{not json", _checksum("{not json")),
        "is not JSON",
    ),
    "a-list": (
        "UPDATE executions SET snapshot = ?, checksum = ? WHERE id = 'run-1'",
        ("[1, 2]", _checksum("[1, 2]")),
        "is a JSON array, not a mapping",
    ),
    "edited-by-hand": (
        "UPDATE executions SET snapshot = '{\"edited\": true}' WHERE id = 'run-1'",
        (),
        "checksum differs",
    ),
    "a-blob": (
        "UPDATE executions SET snapshot = x'00ff00' WHERE id = 'run-1'",
        (),
        "is not text (an SQLite bytes)",
    ),
    "a-number": (
        "UPDATE executions SET snapshot = 42, checksum = ? WHERE id = 'run-1'",
        (_checksum("42"),),
        "is a JSON number, not a mapping",
    ),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_corrupt_row_is_refused_naming_the_execution_and_file(stored: Path, kind: str) -> None:
    statement, values, words = CORRUPTIONS[kind]
    _sql(stored, (statement, values))
    with SQLiteSnapshotStore(stored) as store:
        with pytest.raises(SnapshotCorrupt) as info:
            store.load("run-1")
        message = str(info.value)
        assert words in message and "'run-1'" in message and str(stored) in message
        assert isinstance(info.value, SnapshotInvalid)
        with pytest.raises(SnapshotCorrupt):
            resume_stored(_engine(), _registry(), store, "run-1", "Ada")
        assert store.holder("run-1") is None  # the failed resume released its claim
        assert store.load("run-2") == {"fine": True}  # the other rows are fine
        store.save("run-1", _paused_snapshot())  # and the row can be written anew
        assert store.load("run-1")["status"] == "paused"


def test_a_corrupt_claim_is_refused_naming_the_execution(stored: Path) -> None:
    _sql(
        stored, "UPDATE executions SET claim_owner = 'x', claim_token = 't', claim_expires = 'soon'"
    )
    with SQLiteSnapshotStore(stored) as store:
        with pytest.raises(SnapshotCorrupt, match=r"claim on execution 'run-\d' .* is corrupt"):
            store.claim("run-1", "me", 10)
        with pytest.raises(SnapshotCorrupt, match="corrupt"):
            store.save("run-2", {"x": 1})
        assert store.load("run-2") == {"fine": True}


def test_a_row_with_a_non_text_id_is_refused_when_listing(stored: Path) -> None:
    _sql(
        stored,
        "INSERT INTO executions (id, workflow_id, snapshot, saved_at) VALUES (x'01', '', '{}', 0)",
    )
    with SQLiteSnapshotStore(stored) as store, pytest.raises(SnapshotCorrupt, match="not text"):
        list(store.ids())


def test_a_store_file_damaged_after_opening_fails_with_our_error(stored: Path) -> None:
    store = SQLiteSnapshotStore(stored)
    try:
        _sql(stored, "DROP TABLE executions")
        with pytest.raises(SnapshotStoreError, match="no such table"):
            store.load("run-1")
        with pytest.raises(SnapshotStoreError, match=str(stored)):
            store.claim("run-1", "me", 10)
    finally:
        store.close()


def test_claims_and_fencing_survive_reopening(stored: Path) -> None:
    with SQLiteSnapshotStore(stored, now=lambda: 100.0) as store:
        store.claim("run-1", "alice", 50)
    with (
        SQLiteSnapshotStore(stored, now=lambda: 120.0) as store,
        pytest.raises(SnapshotClaimed, match="'alice' for 30 more seconds"),
    ):
        store.save("run-1", {"x": 1})
    with SQLiteSnapshotStore(stored, now=lambda: 150.0) as store:
        result = resume_stored(_engine(), _registry(), store, "run-1", "Ada", owner="bob")
        assert result.status is RunStatus.PAUSED
