"""The history store: every query written once in SQLAlchemy Core and run as is on SQLite
(the default, a file) and PostgreSQL (by URL, through psycopg). Each operation is one
transaction; SQLite writers take the write lock up front (`BEGIN IMMEDIATE`, waiting up to
the busy timeout for another process), so concurrent recorders queue instead of failing,
and a process killed mid-way leaves the last committed state. Every database failure is a
`HistoryError` naming the database — never a raw driver error."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from compat.history import schema
from compat.history.errors import HistoryError
from compat.history.records import CaseRecord, RunRecord, TrendPoint
from compat.history.schema import CASES, RUNS

#: Case rows per INSERT statement.
CHUNK = 500
#: How long a SQLite writer waits for another's lock.
BUSY_SECONDS = 30.0
_NEWEST = (RUNS.c.started_at.desc(), RUNS.c.seq.desc())
_WALL = "wall_seconds"


def _reason(exc: SQLAlchemyError) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise HistoryError(f"{what} is not JSON: {exc}") from None


def _insert_cases(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    conn.execute(insert(CASES), list(rows))


def _run_row(run: RunRecord) -> dict[str, Any]:
    where = f"run {run.id}"
    return {
        "id": run.id,
        "kind": run.kind,
        "started_at": run.started_at,
        "seconds": run.seconds,
        "commit_sha": run.commit,
        "dirty": run.dirty,
        "branch": run.branch,
        "primary_engine": run.primary,
        "shadow_engine": run.shadow,
        "policy": run.policy,
        "options": _json(run.options, f"{where}: options"),
        "machine": _json(run.machine, f"{where}: machine"),
        "ok": run.ok,
        "counts": _json(run.counts, f"{where}: counts"),
        "mean_score": run.mean_score,
    }


def _case_row(run_id: str, position: int, case: CaseRecord) -> dict[str, Any]:
    where = f"run {run_id}: {case.key}"
    optional = {
        name: None if value is None else _json(value, f"{where}: {name}")
        for name, value in (("perf", case.perf), ("finding", case.finding))
    }
    return {
        "run_id": run_id,
        "position": position,
        "fixture": case.fixture,
        "case_name": case.case,
        "status": case.status,
        "compatible": case.compatible,
        "score": case.score,
        "dimensions": _json(case.dimensions, f"{where}: dimensions"),
        "differences": _json(case.differences, f"{where}: differences"),
        **optional,
    }


class HistoryStore:
    """Runs of compat, newest first, with their cases. Open it with `open_history`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.url = url
        self._engine = engine
        try:
            self.opened = self._prepare()
        except BaseException:
            engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"HistoryStore({self.url!r})"

    @contextmanager
    def _transaction(self, doing: str, *, write: bool = False) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                conn.execution_options(history_write=write)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise HistoryError(f"{self.url}: cannot {doing}: {_reason(exc)}") from None
        except (UnicodeError, OverflowError) as exc:
            # Raised by a driver before the database sees the value (a lone surrogate, an
            # integer too big); the transaction was rolled back all the same.
            raise HistoryError(
                f"{self.url}: cannot {doing}: a value the database cannot store ({exc})"
            ) from None

    def _prepare(self) -> str:
        """Read the version; only a database that needs work takes the write lock."""
        with self._transaction("open the history") as conn:
            version = schema.version_of(conn, self.url)
        if version > schema.SCHEMA_VERSION:
            raise schema.newer(self.url, version)
        if version == schema.SCHEMA_VERSION:
            return "current"
        with self._transaction("migrate the history", write=True) as conn:
            return schema.migrate(conn, self.url)

    # ------------------------------------------------------------------ writing

    def record(self, run: RunRecord) -> str:
        """Store the run and its cases, all or nothing; its id."""
        row = _run_row(run)
        rows = [_case_row(run.id, position, case) for position, case in enumerate(run.cases)]
        with self._transaction(f"record run {run.id}", write=True) as conn:
            if conn.execute(select(RUNS.c.seq).where(RUNS.c.id == run.id)).first():
                raise HistoryError(f"{self.url}: a run with id {run.id!r} is already recorded")
            conn.execute(insert(RUNS), row)
            for start in range(0, len(rows), CHUNK):
                _insert_cases(conn, rows[start : start + CHUNK])
        return run.id

    def prune(self, keep: int) -> int:
        """Keep the newest `keep` runs of each kind; delete the others with their cases. How
        many runs were deleted."""
        if keep < 0:
            raise HistoryError(f"{self.url}: prune keeps 0 runs or more, not {keep}")
        deleted = 0
        with self._transaction("prune the history", write=True) as conn:
            for kind in conn.execute(select(RUNS.c.kind).distinct()).scalars().all():
                kept = select(RUNS.c.seq).where(RUNS.c.kind == kind).order_by(*_NEWEST)
                doomed = and_(RUNS.c.kind == kind, RUNS.c.seq.not_in(kept.limit(keep)))
                conn.execute(
                    delete(CASES).where(CASES.c.run_id.in_(select(RUNS.c.id).where(doomed)))
                )
                deleted += conn.execute(delete(RUNS).where(doomed)).rowcount
        return deleted

    # ------------------------------------------------------------------ reading

    def _run_of(self, row: Row[Any], cases: tuple[CaseRecord, ...] = ()) -> RunRecord:
        try:
            return RunRecord(
                id=row.id,
                kind=row.kind,
                started_at=row.started_at,
                seconds=row.seconds,
                commit=row.commit_sha,
                dirty=row.dirty,
                branch=row.branch,
                primary=row.primary_engine,
                shadow=row.shadow_engine,
                policy=row.policy,
                options=json.loads(row.options),
                machine=json.loads(row.machine),
                ok=row.ok,
                counts=json.loads(row.counts),
                mean_score=row.mean_score,
                cases=cases,
            )
        except (ValueError, TypeError) as exc:
            raise HistoryError(f"{self.url}: run {row.id!r} is damaged: {exc}") from None

    def _cases(self, conn: Connection, run_id: str) -> tuple[CaseRecord, ...]:
        query = select(CASES).where(CASES.c.run_id == run_id).order_by(CASES.c.position)
        out = []
        for row in conn.execute(query):
            try:
                out.append(
                    CaseRecord(
                        fixture=row.fixture,
                        case=row.case_name,
                        status=row.status,
                        compatible=row.compatible,
                        score=row.score,
                        dimensions=json.loads(row.dimensions),
                        differences=json.loads(row.differences),
                        perf=None if row.perf is None else json.loads(row.perf),
                        finding=None if row.finding is None else json.loads(row.finding),
                    )
                )
            except (ValueError, TypeError) as exc:
                raise HistoryError(
                    f"{self.url}: run {run_id!r}: case {row.fixture}::{row.case_name} is "
                    f"damaged: {exc}"
                ) from None
        return tuple(out)

    def runs(self, *, kind: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs (of `kind`), newest first, without their cases."""
        query = select(RUNS).order_by(*_NEWEST)
        if kind is not None:
            query = query.where(RUNS.c.kind == kind)
        if limit is not None:
            query = query.limit(max(limit, 0))
        with self._transaction("list runs") as conn:
            rows = conn.execute(query).all()
        return [self._run_of(row) for row in rows]

    def run(self, run_id: str) -> RunRecord:
        """The run with this id, or the one run whose id starts with it, with its cases."""
        prefix = run_id.strip()
        if not prefix:
            raise HistoryError(f"{self.url}: give a run id (or the start of one)")
        with self._transaction(f"read run {prefix}") as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.id == prefix)).first()
            if row is None:
                starts = func.substr(RUNS.c.id, 1, len(prefix)) == prefix
                rows = conn.execute(select(RUNS).where(starts).order_by(*_NEWEST).limit(6)).all()
                if not rows:
                    raise HistoryError(f"{self.url}: no run {prefix!r} in the history")
                if len(rows) > 1:
                    shown = ", ".join(r.id for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
                    raise HistoryError(
                        f"{self.url}: run id {prefix!r} is ambiguous: it starts {shown}; "
                        "give more of it"
                    )
                row = rows[0]
            return self._run_of(row, self._cases(conn, row.id))

    def _newest(self, kind: str, branch: str | None, *, green: bool) -> RunRecord | None:
        query = select(RUNS).where(RUNS.c.kind == kind).order_by(*_NEWEST).limit(1)
        if branch is not None:
            query = query.where(RUNS.c.branch == branch)
        if green:
            query = query.where(RUNS.c.ok.is_(True))
        with self._transaction(f"find the newest {kind} run") as conn:
            row = conn.execute(query).first()
            return None if row is None else self._run_of(row, self._cases(conn, row.id))

    def last_green(self, *, kind: str = "check", branch: str | None = None) -> RunRecord | None:
        """The newest ok run (on `branch`), with its cases: the baseline of a gate."""
        return self._newest(kind, branch, green=True)

    def latest(self, *, kind: str = "check", branch: str | None = None) -> RunRecord | None:
        """The newest run (on `branch`), with its cases."""
        return self._newest(kind, branch, green=False)

    def trend(
        self, case: str | None = None, *, kind: str = "check", limit: int = 50
    ) -> list[TrendPoint]:
        """The last `limit` runs of `kind`, oldest first: one case's score, status and
        wall-time ratio (`fixture::case`, or a case name found in one fixture only), or with
        no case each run's mean score and `ok`/`failed`."""
        with self._transaction("read a trend") as conn:
            if case is None:
                query = select(RUNS).where(RUNS.c.kind == kind).order_by(*_NEWEST)
                points = [
                    TrendPoint(
                        run_id=row.id,
                        started_at=row.started_at,
                        commit=row.commit_sha,
                        score=row.mean_score,
                        status="ok" if row.ok else "failed",
                    )
                    for row in conn.execute(query.limit(max(limit, 0)))
                ]
                return points[::-1]
            found = self._case_of(conn, case, kind)
            if found is None:
                return []
            query = (
                select(RUNS.c.id, RUNS.c.started_at, RUNS.c.commit_sha, CASES.c.score)
                .add_columns(CASES.c.status, CASES.c.perf)
                .select_from(CASES.join(RUNS, CASES.c.run_id == RUNS.c.id))
                .where(RUNS.c.kind == kind, CASES.c.fixture == found[0])
                .where(CASES.c.case_name == found[1])
                .order_by(*_NEWEST)
                .limit(max(limit, 0))
            )
            rows = conn.execute(query).all()
        return [self._point(row) for row in reversed(rows)]

    def _point(self, row: Row[Any]) -> TrendPoint:
        wall = (json.loads(row.perf) if row.perf else {}).get(_WALL) or {}
        return TrendPoint(
            run_id=row.id,
            started_at=row.started_at,
            commit=row.commit_sha,
            score=row.score,
            status=row.status,
            ratio=wall.get("median"),
            low=wall.get("low"),
            high=wall.get("high"),
            perf_verdict=wall.get("verdict"),
        )

    def _case_of(self, conn: Connection, case: str, kind: str) -> tuple[str, str] | None:
        """(fixture, case name) that `case` names in runs of `kind`; None if none."""
        # Every way of reading "a::b::c" as fixture::case, and a bare case name: exact
        # comparisons, so the (fixture, case_name) index serves them.
        parts = case.split("::")
        readings = [
            and_(CASES.c.fixture == "::".join(parts[:i]), CASES.c.case_name == "::".join(parts[i:]))
            for i in range(1, len(parts))
        ]
        query = (
            select(CASES.c.fixture, CASES.c.case_name)
            .distinct()
            .select_from(CASES.join(RUNS, CASES.c.run_id == RUNS.c.id))
            .where(RUNS.c.kind == kind, or_(CASES.c.case_name == case, *readings))
            .limit(6)
        )
        found = [(row.fixture, row.case_name) for row in conn.execute(query)]
        if len(found) > 1:
            shown = ", ".join(f"{f}::{c}" for f, c in sorted(found)[:5])
            raise HistoryError(
                f"{self.url}: {case!r} names several cases ({shown}); give it as fixture::case"
            )
        return found[0] if found else None

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off: `begin` below says BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("history_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_sqlite(path: Path) -> HistoryStore:
    return HistoryStore(_sqlite_engine(path), f"sqlite:///{path}")


def open_postgres(url: str) -> HistoryStore:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise HistoryError(f"{url}: not a database URL: {exc}") from None
    shown = parsed.render_as_string(hide_password=True)
    engine = create_engine(
        parsed.set(drivername="postgresql+psycopg"),
        connect_args={"connect_timeout": 10, "application_name": "compat-history"},
    )
    return HistoryStore(engine, shown)
