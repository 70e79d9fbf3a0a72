"""Reading a file the user named, safely: regular files only, and never more than a limit.

Every document, `@file` option and configuration file is read through `read_regular`.
Opening a FIFO blocks until a writer comes, and a device (`/dev/zero`, `/dev/stdin` on a
terminal) never ends or waits for input, so the file's type is checked with `os.stat` first
and refused by name. The file is then opened non-blocking and checked again (`fstat`), so a
file swapped for a FIFO in between cannot stall the reader either.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engines.errors import DocumentError

#: The largest file read as a document, an option's `@file` or a configuration file.
MAX_FILE_BYTES = 64 * 1024 * 1024

_CHUNK = 1 << 20
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def limit_text(limit: int = MAX_FILE_BYTES) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"


def _refusal(mode: int, what: str) -> str:
    kind = file_kind(mode)
    if kind == "a directory":
        return f"is a directory, not {what}"
    return f"is {kind}, not a regular file; only regular files are read"


def regular_file_problem(path: str | Path, what: str = "a document") -> str | None:
    """Why `path` cannot be read as `what` (None: it is an existing regular file)."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "no such file"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return _refusal(info.st_mode, what)
    return None


def read_regular(
    path: str | Path,
    source: str | None = None,
    *,
    what: str = "a document",
    limit: int = MAX_FILE_BYTES,
) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Raises `DocumentError` naming
    `source` (default: the path) for anything else: missing, a directory, a FIFO, a device,
    a socket, unreadable, or too large."""
    name = str(path) if source is None else source
    problem = regular_file_problem(path, what)
    if problem is not None:
        raise DocumentError(name, problem)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise DocumentError(name, f"cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped after the check above
            raise DocumentError(name, _refusal(info.st_mode, what))
        too_large = (
            f"is {{size}}, over the {limit_text(limit)} limit of {what} "
            "(compat reads files of at most that size)"
        )
        if info.st_size > limit:
            raise DocumentError(name, too_large.format(size=_size(info.st_size)))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while being read (or /proc-like, sized 0)
                raise DocumentError(name, too_large.format(size=f"more than {_size(limit)}"))
        return b"".join(chunks)
    except OSError as exc:
        raise DocumentError(name, f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
