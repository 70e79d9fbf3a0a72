"""`open_history`: which database a URL (or nothing) means. No SQLAlchemy until a store is
actually opened, so importing `compat.history` stays cheap."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from compat.history.errors import HistoryError

if TYPE_CHECKING:
    from compat.history.sql import HistoryStore

#: Where the history lives when no URL is given, under the project root (or the cwd).
DEFAULT_PATH = Path(".compat") / "history.db"
_POSTGRES = ("postgresql", "postgres", "postgresql+psycopg")


def open_history(url: str | None = None, *, root: Path | None = None) -> HistoryStore:
    """The history at `url`: None for `<root or cwd>/.compat/history.db` (folder created), a
    file path or `sqlite:///path` for SQLite, `postgresql://...` for PostgreSQL. An older
    schema is migrated, a newer one refused (`HistoryError`)."""
    from compat.history import sql

    if url is None:
        return _sqlite((root if root is not None else Path.cwd()) / DEFAULT_PATH)
    given = url.strip()
    if not given:
        raise HistoryError("the history's URL is empty: give a file path or a database URL")
    if "://" not in given:
        return _sqlite(Path(given))
    scheme = given.split("://", 1)[0].lower()
    if scheme in _POSTGRES:
        return sql.open_postgres(given)
    if scheme == "sqlite" and given.startswith("sqlite:///") and len(given) > len("sqlite:///"):
        return _sqlite(Path(given[len("sqlite:///") :]))
    raise HistoryError(
        f"{url}: not a history database: give a file path, sqlite:///PATH or "
        "postgresql://USER@HOST/DATABASE"
    )


def _sqlite(path: Path) -> HistoryStore:
    """A SQLite history at `path`, its folder created when missing (a configured
    `history = "ci/history.db"` in a fresh checkout)."""
    from compat.history import sql

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"{path.parent}: cannot create the history's folder: {exc}") from None
    return sql.open_sqlite(path)
