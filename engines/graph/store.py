"""Where paused executions wait: a narrow snapshot store interface with two backends.

`MemorySnapshotStore` lives as long as the process; `SQLiteSnapshotStore`
(`sqlite_store.py`) keeps one row per execution in an embedded SQLite database, so a paused
run survives a process restart and a second process can resume it. Both implement
`SnapshotStore` (`store_base.py`): snapshots by id, and claims (`claims.py`) so that one
resumer at a time takes a paused run. `engines.graph.resume.checkout` resumes a stored run
through a claim.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from engines.graph.claims import DEFAULT_LEASE_SECONDS, Claim, Lease, Now
from engines.graph.sqlite_store import SQLiteSnapshotStore
from engines.graph.store_base import SnapshotStore

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "Claim",
    "Lease",
    "MemorySnapshotStore",
    "SQLiteSnapshotStore",
    "SnapshotStore",
]


@dataclass
class _Row:
    text: str
    seq: int
    claim: Claim | None = None


class MemorySnapshotStore(SnapshotStore):
    """Snapshots and claims in this process's memory, shared by its threads (one lock makes
    each operation atomic, as a transaction does for SQLite)."""

    def __init__(self, *, now: Now | None = None) -> None:
        super().__init__(now)
        self._rows: dict[str, _Row] = {}
        self._seq = 0
        self._lock = threading.RLock()

    @contextmanager
    def _atomic(self, doing: str, *, write: bool = True) -> Iterator[None]:
        with self._lock:
            yield

    def _read_claim(self, execution_id: str) -> tuple[bool, Claim | None]:
        row = self._rows.get(execution_id)
        return (False, None) if row is None else (True, row.claim)

    def _write_claim(self, execution_id: str, expected: str | None, claim: Claim | None) -> bool:
        row = self._rows.get(execution_id)
        if row is None or (row.claim.token if row.claim else None) != expected:
            return False
        row.claim = claim
        return True

    def _write_row(self, execution_id: str, text: str, workflow_id: str, now: float) -> None:
        self._seq += 1
        old = self._rows.pop(execution_id, None)
        self._rows[execution_id] = _Row(text, self._seq, old.claim if old else None)

    def _delete_row(self, execution_id: str) -> bool:
        return self._rows.pop(execution_id, None) is not None

    def _read_text(self, execution_id: str) -> str | None:
        row = self._rows.get(execution_id)
        return row.text if row is not None else None

    def ids(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._rows))
