"""`compat history`: the runs `compat check`, `perf` and `fuzz` recorded (`--history`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from compat.cli_guard import guarded
from compat.cli_options import ConfigOption

history_app = typer.Typer(
    help="The recorded runs: list, show, trend, diff, prune.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--history-db",
        help="The history to read: a SQLite file or a database URL (default: the configured "
        "history, else .compat/history.db).",
    ),
]


def _store(url: str | None, config: Path | None):  # type: ignore[no-untyped-def]
    from compat.history_commands import open_store

    return open_store(url, config)


def _kind(kind: str) -> None:
    if kind not in ("check", "perf", "fuzz"):
        from engines.errors import ConfigError

        raise ConfigError(f"--kind: {kind!r} is not one of check, perf, fuzz")


def _console():  # type: ignore[no-untyped-def]
    from compat.commands import _console as console

    return console()


@history_app.command("list")
@guarded
def list_runs(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only runs of check, perf or fuzz.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 20,
    history_db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The recorded runs, newest first, with their counts."""
    from compat.history_commands import runs_table

    if kind is not None:
        _kind(kind)
    with _store(history_db, config) as store:
        runs = store.runs(kind=kind, limit=limit)
        console = _console()
        if not runs:
            console.print(f"no runs recorded in {store.url}")
            return
        console.print(runs_table(runs))


@history_app.command("show")
@guarded
def show(
    run: Annotated[str, typer.Argument(help="A run id (or a unique prefix of one).")],
    history_db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """One recorded run: its settings and every case's verdict."""
    from rich.markup import escape

    from compat.history_commands import run_table, runs_table

    with _store(history_db, config) as store:
        record = store.run(run)
    console = _console()
    console.print(runs_table([record]))
    options = ", ".join(f"{k}={v}" for k, v in sorted(record.options.items()))
    machine = ", ".join(f"{k}={v}" for k, v in sorted(record.machine.items()))
    console.print(f"options: {escape(options or '-')}", soft_wrap=True)
    console.print(f"machine: {escape(machine or '-')}", soft_wrap=True)
    console.print(run_table(record))


@history_app.command("trend")
@guarded
def trend(
    case: Annotated[
        str | None,
        typer.Argument(help="fixture.yaml::case or a case name (default: every case's mean)."),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="Runs of check (default), perf (`compat perf`'s ratios) or fuzz."
        ),
    ] = "check",
    limit: Annotated[int, typer.Option("--limit", min=1, help="The latest this many runs.")] = 50,
    history_db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A case's score and perf ratio over the recorded runs, as sparklines and a table."""
    from compat.history_commands import show_trend

    _kind(kind)
    with _store(history_db, config) as store:
        show_trend(_console(), store, case, limit, kind=kind)


@history_app.command("diff")
@guarded
def diff(
    run_a: Annotated[str, typer.Argument(help="The earlier run (id or prefix).")],
    run_b: Annotated[str, typer.Argument(help="The later run (id or prefix).")],
    history_db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The cases whose verdict, score or perf verdict changed between two runs; exit 1 if
    any did."""
    from rich.markup import escape
    from rich.table import Table

    from compat.history_commands import changes

    with _store(history_db, config) as store:
        a, b = store.run(run_a), store.run(run_b)
    found = changes(a, b)
    console = _console()
    if not found:
        console.print(f"no case changed from {a.id[:10]} to {b.id[:10]}")
        return
    table = Table()
    for column in ("case", "what", f"{a.id[:10]} → {b.id[:10]}"):
        table.add_column(column)
    for key, what, change in found:
        table.add_row(escape(key), what, escape(change))
    console.print(table)
    console.print(f"{len(found)} change(s)")
    raise typer.Exit(1)


@history_app.command("prune")
@guarded
def prune(
    keep: Annotated[int, typer.Option("--keep", min=1, help="Runs to keep (newest, per kind).")],
    history_db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Delete all but the newest runs."""
    with _store(history_db, config) as store:
        deleted = store.prune(keep)
        _console().print(f"deleted {deleted} run(s); kept the newest {keep} of each kind")
