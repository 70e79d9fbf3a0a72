"""The history spec runs once per backend: `url` (and `store`, opened on it) is SQLite (a
file in tmp_path) or PostgreSQL (a fresh database on the session's real server)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from compat.history import HistoryStore, open_history
from tests.history.postgres import PostgresMissing, Server, start_server

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    try:
        server = start_server()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: Server) -> Iterator[str]:
    """A new, empty database, dropped afterwards."""
    name = f"history_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a history may be opened: nothing is there yet."""
    if backend == "sqlite":
        return str(tmp_path / "history.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def reopen(url: str) -> Iterator[Callable[[], HistoryStore]]:
    """Opens another store (another connection pool) on the same database."""
    opened: list[HistoryStore] = []

    def factory() -> HistoryStore:
        opened.append(open_history(url))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(reopen: Callable[[], HistoryStore]) -> HistoryStore:
    return reopen()
