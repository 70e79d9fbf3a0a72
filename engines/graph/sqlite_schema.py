"""The SQLite snapshot store's schema: versioned, recognised before it is touched, migrated.

A store file is marked as ours by `PRAGMA application_id` and versioned by `PRAGMA
user_version`. Opening a file looks before it writes anything: an empty file becomes a new
store; a store of version 1 (the first schema, which had neither mark: one `executions`
table of four columns) is migrated in place, in one transaction, so a process killed
half-way leaves the old store as it was — the claim, checksum and order columns added, every
row's checksum computed, and the snapshots and sessions written before the engines sealed
them given their integrity digest (the store vouches for its own rows once; the engines'
consistency checks still run on every restore). A store of a newer version, a database of
another program (another application id, other tables, an `executions` table with other
columns) and a file that is not SQLite at all are refused with `SnapshotStoreError` naming
the file, and left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path

from engines.errors import SnapshotInvalid, SnapshotStoreError
from engines.integrity import FIELD, seal

#: "cmpt": marks a database as a compat snapshot store.
APPLICATION_ID = 0x636D7074
SCHEMA_VERSION = 2

V1_COLUMNS = ("id", "workflow_id", "snapshot", "saved_at")
COLUMNS = (*V1_COLUMNS, "checksum", "seq", "claim_owner", "claim_token", "claim_expires")

_ADDED = (
    "checksum TEXT NOT NULL DEFAULT ''",
    "seq INTEGER NOT NULL DEFAULT 0",
    "claim_owner TEXT",
    "claim_token TEXT",
    "claim_expires REAL",
)
_CREATE = f"""
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        saved_at REAL NOT NULL,
        {", ".join(_ADDED)}
    )
"""


def checksum(text: str) -> str:
    """What the store writes next to a snapshot's text, to know it reads back that text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _columns(db: sqlite3.Connection, table: str) -> tuple[str, ...]:
    return tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    )
    return [row[0] for row in rows]


def _refuse(path: Path, why: str) -> SnapshotStoreError:
    return SnapshotStoreError(f"{path}: cannot open the snapshot store: {why}")


def _foreign(db: sqlite3.Connection, path: Path, tables: list[str]) -> SnapshotStoreError:
    if "executions" in tables and _columns(db, "executions") != V1_COLUMNS:
        columns = ", ".join(_columns(db, "executions"))
        return _refuse(
            path,
            f"its 'executions' table has the columns {columns}, not a snapshot store's: "
            "this database belongs to something else",
        )
    shown = ", ".join(repr(t) for t in tables)
    return _refuse(
        path, f"it holds the tables {shown}, not a snapshot store's: it belongs to something else"
    )


def _create(db: sqlite3.Connection) -> None:
    db.execute(_CREATE)
    _mark(db)


def _mark(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


#: Documents the engines seal since schema 2; older stores hold them unsealed.
_SEALED_FORMATS = ("compat.graph.snapshot", "compat.journey.session")


def _sealed(text: str) -> str:
    """`text`, with its integrity digest added if it is an engine's document without one."""
    try:
        data = json.loads(text)
    except ValueError:
        return text  # loading it will say it is corrupt
    if not isinstance(data, dict) or data.get("format") not in _SEALED_FORMATS or FIELD in data:
        return text
    try:
        return json.dumps(seal(data), ensure_ascii=False, allow_nan=False)
    except (SnapshotInvalid, ValueError):
        return text


def _migrate_v1(db: sqlite3.Connection) -> None:
    """Version 1 → 2: add the columns, number the rows in their save order, seal the engines'
    documents, checksum every row. A row whose snapshot is not text keeps an empty checksum:
    loading it says it is corrupt."""
    for column in _ADDED:
        db.execute(f"ALTER TABLE executions ADD COLUMN {column}")
    rows = db.execute("SELECT id, snapshot FROM executions ORDER BY saved_at, id").fetchall()
    for seq, (execution_id, text) in enumerate(rows, start=1):
        if isinstance(text, str):
            text = _sealed(text)
        db.execute(
            "UPDATE executions SET seq = ?, snapshot = ?, checksum = ? WHERE id = ?",
            (seq, text, checksum(text) if isinstance(text, str) else "", execution_id),
        )
    _mark(db)


def prepare(db: sqlite3.Connection, path: Path) -> str:
    """Make `db` a current snapshot store, or refuse it; what was done (`created`,
    `migrated`, `current`). Runs in one transaction: concurrent openers wait, then find the
    work done."""
    db.execute("BEGIN IMMEDIATE")
    try:
        done = _prepare(db, path)
    except BaseException:
        # The error being raised says more than a failed rollback would.
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return done


def _prepare(db: sqlite3.Connection, path: Path) -> str:
    application = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = _tables(db)
    if application == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise _refuse(
                path,
                f"its schema is version {version}, newer than this code reads "
                f"({SCHEMA_VERSION}): open it with a newer compat",
            )
        if version != SCHEMA_VERSION or _columns(db, "executions") != COLUMNS:
            raise _refuse(
                path, f"it is marked as a snapshot store of version {version} but is damaged"
            )
        return "current"
    if application != 0 or version != 0:
        raise _refuse(
            path,
            f"it is another program's database (application id {application:#x}, user "
            f"version {version})",
        )
    if not tables:
        _create(db)
        return "created"
    if tables == ["executions"] and _columns(db, "executions") == V1_COLUMNS:
        _migrate_v1(db)
        return "migrated"
    raise _foreign(db, path, tables)
