"""The `compat` command line.

Exit codes: 0 all good, 1 a check found a difference (later commands), 2 bad input (one
readable line per problem, never a traceback), 3 an internal error of compat itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from compat.validation import validate_paths
from engines.config import load_config
from engines.errors import CompatError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

app = typer.Typer(
    name="compat",
    help="Prove that a workflow gives the same result as a graph and as a journey.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def guarded(command: F) -> F:
    """Turn our exceptions into one line and exit code 2, and our bugs into one line and 3."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except CompatError as exc:
            typer.echo(f"compat: {' / '.join(str(exc).splitlines())}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:
            if os.environ.get("COMPAT_DEBUG"):
                raise
            typer.echo(
                f"compat: internal error: {type(exc).__name__}: {exc} "
                "(set COMPAT_DEBUG=1 to see the traceback)",
                err=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return run  # type: ignore[return-value]


@app.callback()
def _root() -> None:
    """compat: run one workflow in two execution modes and prove they agree."""


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="A compat.toml or pyproject.toml to use instead of searching."),
]


@app.command()
@guarded
def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="Fixtures, workflows, ReactFlow files or folders.")
    ],
    config: ConfigOption = None,
) -> None:
    """Check documents against the model and its rules; exit 2 if any is invalid."""
    settings = load_config(path=config) if config else load_config()
    reports = validate_paths(paths, settings.tool_registry())
    for report in reports:
        for line in report.lines():
            typer.echo(line)
    if not reports:
        typer.echo("compat: no documents found (looked for .json, .yaml and .yml files)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    bad = sum(1 for r in reports if not r.ok)
    if bad:
        typer.echo(f"compat: {bad} of {len(reports)} documents invalid", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
