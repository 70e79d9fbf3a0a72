"""The SQLite snapshot store: one row per execution in an embedded database (stdlib
`sqlite3`, WAL journal), so a paused run survives a restart and another process resumes it.

Every operation is one transaction begun with `BEGIN IMMEDIATE`: it takes SQLite's write lock
at once, so a claim's read and its conditional `UPDATE` cannot interleave with another
process's (which waits up to `timeout` seconds for the lock), and a process killed mid-way
leaves the last committed state — never half a claim or half a snapshot. Rows carry a
SHA-256 checksum of their text: a row changed outside the store, or a value of another type
in it, is a `SnapshotCorrupt` naming the execution and the file, and any SQLite failure is a
`SnapshotStoreError` naming the file — never a raw `sqlite3` error.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engines.errors import SnapshotCorrupt, SnapshotInvalid, SnapshotStoreError
from engines.graph.claims import Claim, Now, is_text
from engines.graph.sqlite_schema import checksum, prepare
from engines.graph.store_base import SnapshotStore


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "file is not a database" in text:
        return "it is not an SQLite database"
    return text


class SQLiteSnapshotStore(SnapshotStore):
    """Snapshots and claims in the SQLite file at `path` (created if missing, migrated from
    an older schema, refused if it is not a snapshot store). `now` is the clock leases run
    on (wall time by default); `timeout` is how long to wait for another writer's lock."""

    def __init__(self, path: str | Path, *, now: Now | None = None, timeout: float = 30.0) -> None:
        super().__init__(now)
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise SnapshotStoreError(
                f"{self.path}: cannot open the snapshot store: {_reason(exc)}"
            ) from None
        try:
            self.opened = prepare(self._db, self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except SnapshotStoreError:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            self._db.close()
            raise SnapshotStoreError(
                f"{self.path}: cannot open the snapshot store: {_reason(exc)}"
            ) from None

    def where(self) -> str:
        return f" in {self.path}"

    # ------------------------------------------------------------------ primitives

    @contextmanager
    def _atomic(self, doing: str, *, write: bool = True) -> Iterator[None]:
        with self._lock:
            try:
                # A writer takes the write lock first, so what it read cannot change before
                # it writes; a reader sees one committed state and blocks no one (WAL).
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._failed(doing, exc) from None
            try:
                yield
            except BaseException as exc:
                # The error being raised says more than a failed rollback would.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._failed(doing, exc) from None
                if isinstance(exc, UnicodeEncodeError | OverflowError):
                    raise SnapshotInvalid(
                        f"{self.path}: while {doing}: a value SQLite cannot store ({exc})"
                    ) from None
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._failed(doing, exc) from None

    def _failed(self, doing: str, exc: sqlite3.Error) -> SnapshotStoreError:
        return SnapshotStoreError(
            f"{self.path}: snapshot store failed while {doing}: {_reason(exc)}"
        )

    def _read_claim(self, execution_id: str) -> tuple[bool, Claim | None]:
        row = self._db.execute(
            "SELECT claim_owner, claim_token, claim_expires FROM executions WHERE id = ?",
            (execution_id,),
        ).fetchone()
        if row is None:
            return False, None
        owner, token, expires = row
        if owner is None and token is None and expires is None:
            return True, None
        if (
            not isinstance(owner, str)
            or not isinstance(token, str)
            or isinstance(expires, bool)
            or not isinstance(expires, int | float)
        ):
            raise SnapshotCorrupt(
                f"the claim on execution {execution_id!r}{self.where()} is corrupt (owner "
                f"{owner!r:.80}, token {token!r:.40}, expiry {expires!r:.40})"
            )
        return True, Claim(execution_id, owner, token, float(expires))

    def _write_claim(self, execution_id: str, expected: str | None, claim: Claim | None) -> bool:
        values = (claim.owner, claim.token, claim.expires_at) if claim else (None, None, None)
        cursor = self._db.execute(
            "UPDATE executions SET claim_owner = ?, claim_token = ?, claim_expires = ?"
            " WHERE id = ? AND claim_token IS ?",
            (*values, execution_id, expected),
        )
        return cursor.rowcount == 1

    def _write_row(self, execution_id: str, text: str, workflow_id: str, now: float) -> None:
        self._db.execute(
            "INSERT INTO executions (id, workflow_id, snapshot, saved_at, checksum, seq)"
            " VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM executions))"
            " ON CONFLICT(id) DO UPDATE SET workflow_id = excluded.workflow_id,"
            " snapshot = excluded.snapshot, saved_at = excluded.saved_at,"
            " checksum = excluded.checksum, seq = excluded.seq",
            (execution_id, workflow_id, text, now, checksum(text)),
        )

    def _delete_row(self, execution_id: str) -> bool:
        cursor = self._db.execute("DELETE FROM executions WHERE id = ?", (execution_id,))
        return cursor.rowcount > 0

    def _read_text(self, execution_id: str) -> str | None:
        row = self._db.execute(
            "SELECT snapshot, checksum FROM executions WHERE id = ?", (execution_id,)
        ).fetchone()
        if row is None:
            return None
        text, digest = row
        if not isinstance(text, str):
            raise SnapshotCorrupt(
                f"stored snapshot of execution {execution_id!r}{self.where()} is not text "
                f"(an SQLite {type(text).__name__})"
            )
        if digest != checksum(text):
            raise SnapshotCorrupt(
                f"stored snapshot of execution {execution_id!r}{self.where()} is not what the "
                "store wrote (its checksum differs): the row was changed outside the store"
            )
        return text

    # ------------------------------------------------------------------ listing

    def ids(self) -> Iterator[str]:
        with self._atomic("listing executions", write=False):
            rows = self._db.execute("SELECT id FROM executions ORDER BY seq, id").fetchall()
        ids = [row[0] for row in rows]
        strange = [i for i in ids if not isinstance(i, str)]
        if strange:
            raise SnapshotCorrupt(
                f"{self.path}: the snapshot store holds rows whose execution id is not text "
                f"({strange[0]!r:.80})"
            )
        return iter(ids)

    def __contains__(self, execution_id: object) -> bool:
        if not isinstance(execution_id, str) or not is_text(execution_id):
            return False
        with self._atomic("looking up an execution", write=False):
            row = self._db.execute(
                "SELECT 1 FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()
