"""The history's schema on both databases: created by the migrations, an older one (made by
hand, as version 1 was) migrated on open, a newer one refused untouched; and how a URL or
path picks the database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from compat.history import HistoryError, HistoryStore, open_history
from compat.history.schema import METADATA, SCHEMA_VERSION
from tests.history.support import case, run

_V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE runs (
    seq {serial},
    id VARCHAR(64) NOT NULL UNIQUE,
    kind VARCHAR(16) NOT NULL,
    started_at VARCHAR(40) NOT NULL,
    commit_sha VARCHAR(64),
    dirty BOOLEAN,
    branch TEXT,
    primary_engine TEXT NOT NULL,
    shadow_engine TEXT NOT NULL,
    policy TEXT,
    options TEXT NOT NULL,
    machine TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    counts TEXT NOT NULL,
    mean_score FLOAT
);
CREATE INDEX ix_runs_kind_started ON runs (kind, started_at);
CREATE TABLE cases (
    seq {serial},
    run_id VARCHAR(64) NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    fixture TEXT NOT NULL,
    case_name TEXT NOT NULL,
    status VARCHAR(32) NOT NULL,
    compatible BOOLEAN,
    score FLOAT,
    dimensions TEXT NOT NULL,
    differences TEXT NOT NULL,
    perf TEXT,
    finding TEXT
);
CREATE INDEX ix_cases_run ON cases (run_id);
INSERT INTO runs (id, kind, started_at, commit_sha, dirty, branch, primary_engine,
    shadow_engine, policy, options, machine, ok, counts, mean_score)
VALUES ('old1', 'check', '2024-05-01T10:00:00.000000+00:00', NULL, FALSE, 'main', 'graph',
    'journey', 'equivalence', '{{}}', '{{}}', TRUE, '{{"cases": 2}}', 0.5);
INSERT INTO cases (run_id, position, fixture, case_name, status, compatible, score,
    dimensions, differences, perf, finding)
VALUES ('old1', 0, 'f.yaml', 'a', 'passed', TRUE, 1.0, '{{"outputs": 1.0}}', '[]', NULL, NULL),
    ('old1', 1, 'f.yaml', 'b', 'incompatible', FALSE, 0.0, '{{}}', '[]', NULL, NULL)
"""
_SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "SERIAL PRIMARY KEY"}


def execute_raw(url: str, backend: str, script: str) -> None:
    """SQL through the database's own driver, not through the store."""
    statements = [s for s in script.split(";") if s.strip()]
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url)) as db:
            for statement in statements:
                db.execute(statement)
            db.commit()
    else:
        with psycopg.connect(url, autocommit=True) as db:
            for statement in statements:
                db.execute(statement)  # type: ignore[call-overload]


def shape(store: HistoryStore) -> dict[str, object]:
    """Each table's columns and indexes as the database reports them."""
    with store._engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            table: (
                [c["name"] for c in inspector.get_columns(table)],
                sorted(
                    (i["name"], tuple(i["column_names"]))
                    for i in inspector.get_indexes(table)
                    if "duplicates_constraint" not in i  # PostgreSQL's index of a UNIQUE
                ),
            )
            for table in ("schema_version", "runs", "cases")
        }


def version(store: HistoryStore) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one())


def test_a_new_history_is_the_current_schema(store: HistoryStore) -> None:
    assert store.opened == "created"
    assert version(store) == SCHEMA_VERSION == 2
    expected = {
        name: (
            [c.name for c in table.columns],
            sorted((i.name, tuple(c.name for c in i.columns)) for i in table.indexes),
        )
        for name, table in METADATA.tables.items()
    }
    assert shape(store) == expected
    assert ("ix_cases_key", ("fixture", "case_name")) in expected["cases"][1]  # type: ignore[index]


def test_a_version_1_history_made_by_hand_is_migrated_on_open(
    url: str, backend: str, reopen: Callable[[], HistoryStore]
) -> None:
    execute_raw(url, backend, _V1.format(serial=_SERIAL[backend]))
    store = reopen()
    assert store.opened == "migrated"
    assert version(store) == 2
    old = store.run("old1")
    assert (old.seconds, old.branch, old.ok, old.dirty, old.counts) == (
        0.0,
        "main",
        True,
        False,
        {"cases": 2},
    )
    assert [(c.case, c.status, c.compatible, c.dimensions) for c in old.cases] == [
        ("a", "passed", True, {"outputs": 1.0}),
        ("b", "incompatible", False, {}),
    ]
    new = run(0, case(), seconds=3.5)
    store.record(new)
    assert store.run(new.id) == new
    assert [p.score for p in store.trend("f.yaml::b")] == [0.0]
    store.close()
    again = reopen()
    assert again.opened == "current"
    assert shape(again) == shape(store)


def test_a_newer_schema_is_refused_untouched(
    store: HistoryStore, url: str, backend: str, reopen: Callable[[], HistoryStore]
) -> None:
    store.record(run(0, case()))
    execute_raw(url, backend, "UPDATE schema_version SET version = 99")
    with pytest.raises(HistoryError) as refused:
        reopen()
    assert str(refused.value) == (
        f"{store.url}: history schema version 99 is newer than this compat understands "
        "(2); upgrade compat"
    )
    assert version(store) == 99


def test_tables_of_something_else_are_refused_untouched(
    url: str, backend: str, reopen: Callable[[], HistoryStore]
) -> None:
    execute_raw(url, backend, "CREATE TABLE runs (name TEXT)")
    with pytest.raises(HistoryError, match="it has a runs table but no schema_version"):
        reopen()
    execute_raw(url, backend, "INSERT INTO runs (name) VALUES ('still here')")


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    with open_history(str(path)) as store:
        store.record(run(0, case(), id="r"))
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            conn.exec_driver_sql("DELETE FROM runs WHERE id = 'r'")  # cascades to the case
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM cases").scalar() == 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_with_no_url_the_history_is_a_file_under_the_root(tmp_path: Path) -> None:
    with open_history(root=tmp_path) as store:
        store.record(run(0, case(), id="here"))
    path = tmp_path / ".compat" / "history.db"
    assert path.is_file()
    assert store.url == f"sqlite:///{path}"
    for given in (str(path), f"sqlite:///{path}"):
        with open_history(given) as same:
            assert [r.id for r in same.runs()] == ["here"]


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database at all, " * 100)
    with pytest.raises(HistoryError, match=f"^sqlite:///{path}: cannot open the history: file"):
        open_history(str(path))
    assert path.read_text().startswith("not a database")


@pytest.mark.parametrize("given", ["mysql://h/db", "sqlite://", "http://example.com"])
def test_an_unknown_kind_of_url_is_refused(given: str) -> None:
    with pytest.raises(HistoryError, match=f"^{given}: not a history database: give a file"):
        open_history(given)


def test_an_unreachable_postgres_is_refused_without_its_password() -> None:
    with pytest.raises(HistoryError) as refused:
        open_history("postgresql://me:s3cret@127.0.0.1:1/history")
    message = str(refused.value)
    assert message.startswith("postgresql://me:***@127.0.0.1:1/history: cannot open the history")
    assert "s3cret" not in message


def test_a_postgres_url_may_say_postgres_or_name_the_driver(pg_url: str) -> None:
    for given in (pg_url.replace("postgresql:", "postgres:"), pg_url.replace(":", "+psycopg:", 1)):
        with open_history(given) as store:
            store.record(run(0))
            assert store.url == given  # as given, less any password
    with open_history(pg_url) as store:
        assert len(store.runs()) == 2
