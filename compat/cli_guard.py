"""The guard every command runs in: our exceptions become one line and exit code 2, our
bugs one line and 3 — never a traceback."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from engines.errors import CompatError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


def printable(text: object) -> str:
    """`compat.safe_text.printable`, imported only when there is an error to show."""
    from compat.safe_text import printable

    return printable(text)


def guarded(command: F) -> F:
    """Turn our exceptions into one line and exit code 2, and our bugs into one line and 3."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            typer.echo("compat: interrupted; no verdict (nothing was checked to the end)", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except CompatError as exc:
            lines = (printable(line) for line in str(exc).splitlines())
            typer.echo(f"compat: {' / '.join(lines)}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:
            if os.environ.get("COMPAT_DEBUG"):
                raise
            typer.echo(
                f"compat: internal error: {type(exc).__name__}: {printable(exc)} "
                "(set COMPAT_DEBUG=1 to see the traceback)",
                err=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return run  # type: ignore[return-value]
