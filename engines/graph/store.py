"""Where paused executions wait: a narrow snapshot store interface with two backends.

`MemorySnapshotStore` lives as long as the process; `SQLiteSnapshotStore` keeps one row per
execution in an embedded SQLite database (stdlib `sqlite3`, WAL journal), so a paused run
survives a process restart and a second process can resume it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from engines.errors import ConfigError, SnapshotInvalid


class SnapshotStore(ABC):
    """Snapshots by execution id. `save` replaces what was stored under the same id."""

    @abstractmethod
    def save(self, execution_id: str, snapshot: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def load(self, execution_id: str) -> dict[str, Any]:
        """The stored snapshot; `SnapshotInvalid` if there is none."""

    @abstractmethod
    def delete(self, execution_id: str) -> bool:
        """Forget a snapshot; whether there was one."""

    @abstractmethod
    def ids(self) -> Iterator[str]:
        """Stored execution ids, oldest first."""

    def __contains__(self, execution_id: object) -> bool:
        return isinstance(execution_id, str) and execution_id in set(self.ids())


def _encoded(execution_id: str, snapshot: Mapping[str, Any]) -> str:
    if not isinstance(execution_id, str) or not execution_id:
        raise SnapshotInvalid(f"execution id must be a non-empty string, not {execution_id!r}")
    try:
        return json.dumps(snapshot, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SnapshotInvalid(f"snapshot of {execution_id!r} is not JSON: {exc}") from None


def _missing(execution_id: str) -> SnapshotInvalid:
    return SnapshotInvalid(f"no snapshot stored for execution {execution_id!r}")


class MemorySnapshotStore(SnapshotStore):
    def __init__(self) -> None:
        self._rows: dict[str, str] = {}

    def save(self, execution_id: str, snapshot: Mapping[str, Any]) -> None:
        text = _encoded(execution_id, snapshot)
        self._rows.pop(execution_id, None)
        self._rows[execution_id] = text

    def load(self, execution_id: str) -> dict[str, Any]:
        try:
            return json.loads(self._rows[execution_id])
        except KeyError:
            raise _missing(execution_id) from None

    def delete(self, execution_id: str) -> bool:
        return self._rows.pop(execution_id, None) is not None

    def ids(self) -> Iterator[str]:
        return iter(list(self._rows))


class SQLiteSnapshotStore(SnapshotStore):
    """One row per execution: id, workflow id, snapshot JSON, time of the last save."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS executions (
            id TEXT PRIMARY KEY,
            workflow_id TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            saved_at REAL NOT NULL
        )
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(self._SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"{self.path}: cannot open the snapshot store: {exc}") from None

    def save(self, execution_id: str, snapshot: Mapping[str, Any]) -> None:
        text = _encoded(execution_id, snapshot)
        workflow = (
            snapshot.get("workflow", {}).get("id", "")
            if isinstance(snapshot.get("workflow"), Mapping)
            else ""
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO executions (id, workflow_id, snapshot, saved_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET workflow_id=excluded.workflow_id,"
                " snapshot=excluded.snapshot, saved_at=excluded.saved_at",
                (execution_id, workflow, text, time.time()),
            )

    def load(self, execution_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute(
                "SELECT snapshot FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
        if row is None:
            raise _missing(execution_id)
        return json.loads(row[0])

    def delete(self, execution_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM executions WHERE id = ?", (execution_id,))
        return cursor.rowcount > 0

    def ids(self) -> Iterator[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM executions ORDER BY saved_at, id").fetchall()
        return iter([row[0] for row in rows])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteSnapshotStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
