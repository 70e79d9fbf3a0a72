"""Writing reports: never onto an input, never half-written.

`--json PATH` onto a fixture, a workflow file a fixture names or a configuration file would
destroy the very input the run checked (`compat check fixtures/x.yaml --json fixtures/x.yaml`),
so it is refused before anything runs. A report is written to a temporary file beside the
target and renamed over it (`os.replace`, atomic on one file system): a run killed midway
leaves the old report or none, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from compat.validation import expand
from engines.config import find_root
from engines.documents import DocumentKind, document_kind, read_document, referenced_files
from engines.documents.files import file_kind
from engines.errors import CompatError, ConfigError


def _config_files(config: Path | None) -> list[Path]:
    if config is not None:
        return [Path(config)]
    root = find_root(Path.cwd().resolve())
    return [] if root is None else [root / "pyproject.toml", root / "compat.toml"]


def input_files(paths: Iterable[str | Path], config: Path | None) -> list[Path]:
    """The files a check or perf run reads: the fixtures under `paths` (and any file named
    directly), the workflow files they name, and the configuration files."""
    named, walked, _ = expand(paths)
    files: list[Path] = [*named, *_config_files(config)]
    for path in named + walked:
        try:
            doc = read_document(path)
        except CompatError:
            continue  # the run itself reports it
        if document_kind(doc) is DocumentKind.FIXTURE:
            files.append(path)
            files.extend(referenced_files(doc, path.resolve().parent))
    return files


def _same_file(a: os.stat_result, path: Path) -> bool:
    try:
        b = os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def refuse_overwrite(
    json_path: str | None,
    paths: Iterable[str | Path],
    config: Path | None,
    option: str = "--json",
) -> None:
    """Raise `ConfigError` when `--json PATH` (or another report `option`) is one of the
    run's inputs (compared as files: symlinks and hard links included), or exists and is
    no regular file."""
    if not json_path or json_path == "-":
        return
    try:
        target = os.stat(json_path)
    except OSError:
        return  # nothing there yet: it cannot be an input
    if not stat.S_ISREG(target.st_mode):
        raise ConfigError(
            f"{option}: {json_path} is {file_kind(target.st_mode)}, not a regular file; "
            "give a file path for the report"
            + (", or - for standard output" if option == "--json" else "")
        )
    for path in input_files(paths, config):
        if _same_file(target, path):
            raise ConfigError(
                f"{option}: {json_path} is one of this run's inputs ({path}); writing the "
                "report there would overwrite it: choose another path"
            )


def _mode_for(path: Path) -> int:
    """The permissions a report gets: the replaced file's, or the default for a new one."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_atomically(json_path: str, text: str, option: str = "--json") -> None:
    """Write `text` to `json_path` through a temporary file in the same folder, renamed over
    it. Raises `ConfigError` naming the path when it cannot be written."""
    target = Path(os.path.realpath(json_path))  # through a symlink, to the file it names
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        raise ConfigError(f"{option}: cannot write {json_path}: {exc.strerror or exc}") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
