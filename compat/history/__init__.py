"""Run history: every `compat check` / `perf` / `fuzz` run recorded with its cases, so a
score can be followed over commits and a run gated against the last green one
(`compat.history.gate`).

One store interface over two backends — SQLite (a file, `.compat/history.db` by default) and
PostgreSQL (by URL, shared by a team or CI) — written once in SQLAlchemy Core. Core, not the
ORM: the history is a few plain tables read by a few queries, and Core gives one SQL code
path for both databases with explicit transactions (a run and its cases in one) without
mapping objects or sessions. Not Alembic either: an embedded tool migrates its own small
schema on open (`compat.history.schema.MIGRATIONS`), with no env.py, versions folder or
separate command for users to run.

Importing this package imports neither SQLAlchemy nor pydantic: the names below load on
first use, and SQLAlchemy only when a store is opened.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compat.history.convert import check_record, fuzz_record, perf_record
    from compat.history.errors import HistoryError
    from compat.history.meta import run_meta
    from compat.history.opening import open_history
    from compat.history.records import CaseRecord, RunRecord, TrendPoint
    from compat.history.sql import HistoryStore

_WHERE = {
    "open_history": "compat.history.opening",
    "HistoryStore": "compat.history.sql",
    "HistoryError": "compat.history.errors",
    "RunRecord": "compat.history.records",
    "CaseRecord": "compat.history.records",
    "TrendPoint": "compat.history.records",
    "run_meta": "compat.history.meta",
    "check_record": "compat.history.convert",
    "perf_record": "compat.history.convert",
    "fuzz_record": "compat.history.convert",
}

__all__ = [
    "CaseRecord",
    "HistoryError",
    "HistoryStore",
    "RunRecord",
    "TrendPoint",
    "check_record",
    "fuzz_record",
    "open_history",
    "perf_record",
    "run_meta",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
