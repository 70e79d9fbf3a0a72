"""The history's tables, and the migrations that build them: a new database runs every
migration from nothing, an older one the ones it lacks, all in one transaction (so a
process killed half-way leaves the old schema as it was), and a newer one is refused.

`schema_version(version)` holds one row. Version 1 is the first schema; version 2 added each
run's duration (`runs.seconds`) and the index a trend of one case reads by (`cases(fixture,
case_name)`). SQL keywords are not used as column names (`primary_engine`, `case_name`,
`commit_sha`), so hand-written queries need no quoting.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)

from compat.history.errors import HistoryError

SCHEMA_VERSION = 2
#: pg_advisory_xact_lock key ("cmpt"): concurrent openers of one PostgreSQL database
#: migrate it one at a time (SQLite's BEGIN IMMEDIATE does the same for a file).
MIGRATION_LOCK = 0x636D7074


def tables(metadata: MetaData, version: int = SCHEMA_VERSION) -> tuple[Table, Table, Table]:
    """schema_version, runs and cases as they are at `version`."""
    versions = Table("schema_version", metadata, Column("version", Integer, nullable=False))
    run_columns = [
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("id", String(64), nullable=False, unique=True),
        Column("kind", String(16), nullable=False),
        Column("started_at", String(40), nullable=False),
        Column("commit_sha", String(64)),
        Column("dirty", Boolean),
        Column("branch", Text),
        Column("primary_engine", Text, nullable=False),
        Column("shadow_engine", Text, nullable=False),
        Column("policy", Text),
        Column("options", Text, nullable=False),
        Column("machine", Text, nullable=False),
        Column("ok", Boolean, nullable=False),
        Column("counts", Text, nullable=False),
        Column("mean_score", Float),
    ]
    if version >= 2:
        run_columns.append(Column("seconds", Float, nullable=False, server_default=text("0")))
    runs = Table(
        "runs",
        metadata,
        *run_columns,
        Index("ix_runs_kind_started", "kind", "started_at"),
        sqlite_autoincrement=True,
    )
    cases = Table(
        "cases",
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("position", Integer, nullable=False),
        Column("fixture", Text, nullable=False),
        Column("case_name", Text, nullable=False),
        Column("status", String(32), nullable=False),
        Column("compatible", Boolean),
        Column("score", Float),
        Column("dimensions", Text, nullable=False),
        Column("differences", Text, nullable=False),
        Column("perf", Text),
        Column("finding", Text),
        Index("ix_cases_run", "run_id"),
    )
    if version >= 2:
        Index("ix_cases_key", cases.c.fixture, cases.c.case_name)
    return versions, runs, cases


METADATA = MetaData()
VERSIONS, RUNS, CASES = tables(METADATA)


def _create_v1(conn: Connection) -> None:
    tables(metadata := MetaData(), 1)
    metadata.create_all(conn)


def _add_seconds_and_case_index(conn: Connection) -> None:
    kind = Float().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE runs ADD COLUMN seconds {kind} NOT NULL DEFAULT 0"))
    next(i for i in CASES.indexes if i.name == "ix_cases_key").create(conn)


#: (version it makes, how): applied in order to a database below that version.
MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _create_v1),
    (2, _add_seconds_and_case_index),
)


def newer(url: str, version: int) -> HistoryError:
    return HistoryError(
        f"{url}: history schema version {version} is newer than this compat understands "
        f"({SCHEMA_VERSION}); upgrade compat"
    )


def version_of(conn: Connection, url: str) -> int:
    """The database's schema version (0: no history in it yet); `HistoryError` when tables
    of ours are there without their version, i.e. they belong to something else."""
    names = set(inspect(conn).get_table_names())
    if "schema_version" not in names:
        clash = sorted(names & {"runs", "cases"})
        if clash:
            raise HistoryError(
                f"{url}: it has a {' and a '.join(clash)} table but no schema_version: "
                "those tables are not a compat history; use another database"
            )
        return 0
    version = conn.execute(select(func.max(VERSIONS.c.version))).scalar()
    if version is None:
        raise HistoryError(f"{url}: its schema_version table is empty: the history is damaged")
    return int(version)


def migrate(conn: Connection, url: str) -> str:
    """Inside a write transaction: bring the schema to `SCHEMA_VERSION`; what was done
    (`created`, `migrated`, `current`). Concurrent callers wait for each other."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    version = version_of(conn, url)
    if version > SCHEMA_VERSION:
        raise newer(url, version)
    if version == SCHEMA_VERSION:
        return "current"
    for target, step in MIGRATIONS:
        if target > version:
            step(conn)
    conn.execute(VERSIONS.delete())
    conn.execute(VERSIONS.insert().values(version=SCHEMA_VERSION))
    return "created" if version == 0 else "migrated"
