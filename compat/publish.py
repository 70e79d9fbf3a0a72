"""Publishing a report in the forms people and CI servers read: the HTML page, JUnit XML
and GitHub annotations — for a report just made, or for one saved as JSON earlier
(`compat report`). Every file is written atomically and refused where it would overwrite
one of the run's inputs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engines.errors import ConfigError, DocumentError

Kind = Literal["check", "perf", "fuzz"]
FORMATS = ("text", "github")


@dataclass(frozen=True)
class Targets:
    """Where a command publishes its report besides the terminal."""

    html: str | None = None
    junit: str | None = None
    format: str = "text"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"--format: {self.format!r} is not one of {', '.join(FORMATS)}")
        for option, path in (("--html", self.html), ("--junit", self.junit)):
            if path == "-":
                raise ConfigError(f"{option}: give a file path (standard output is not supported)")
        if self.html and self.html == self.junit:
            raise ConfigError(f"--html and --junit both name {self.html}: give two paths")

    @property
    def wants_detail(self) -> bool:
        """The HTML page draws each case's graph and timelines: the run must keep them."""
        return bool(self.html)

    def refuse_inputs(self, paths: Iterable[str | Path], config: Path | None) -> None:
        from compat.outputs import refuse_overwrite

        paths = list(paths)
        refuse_overwrite(self.html, paths, config, "--html")
        refuse_overwrite(self.junit, paths, config, "--junit")


def publish(
    kind: Kind,
    report: Any,
    targets: Targets,
    *,
    max_slowdown: float | None = None,
    trend: Any = None,
) -> list[str]:
    """Write the HTML and JUnit files `targets` asks for; return what to print: the GitHub
    annotations (with `--format github`) and a line per file written."""
    from compat.outputs import write_atomically

    lines: list[str] = []
    if targets.html:
        write_atomically(targets.html, html_of(kind, report, trend), "--html")
    if targets.junit:
        write_atomically(targets.junit, junit_of(kind, report, max_slowdown), "--junit")
    if targets.format == "github":
        lines.append(annotations_of(kind, report, max_slowdown).rstrip("\n"))
    if targets.html:
        lines.append(f"html report: {targets.html}")
    if targets.junit:
        lines.append(f"junit report: {targets.junit}")
    return lines


def html_of(kind: Kind, report: Any, trend: Any = None) -> str:
    """The page; `trend` (a check's, from the run history) is drawn in its overview."""
    from compat import html

    if kind == "check":
        return html.check_page(report, trend=trend)
    if kind == "perf":
        return html.perf_page(report)
    return html.fuzz_page(report)


def junit_of(kind: Kind, report: Any, max_slowdown: float | None = None) -> str:
    from compat.formats import junit

    if kind == "check":
        return junit.check_junit(report)
    if kind == "perf":
        return junit.perf_junit(report, max_slowdown=max_slowdown)
    return junit.fuzz_junit(report)


def annotations_of(kind: Kind, report: Any, max_slowdown: float | None = None) -> str:
    from compat.formats import github

    if kind == "check":
        return github.check_annotations(report)
    if kind == "perf":
        return github.perf_annotations(report, max_slowdown=max_slowdown)
    return github.fuzz_annotations(report)


def load_saved(path: str) -> tuple[Kind, Any]:
    """A report saved with `--json`: its kind (told by its fields) and the report. Raises
    `DocumentError` naming the file when it is none of compat's reports."""
    from pydantic import ValidationError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DocumentError(path, "not UTF-8 text: not a saved compat report") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            path, f"not JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise DocumentError(path, "not a compat report: the top level is not an object")
    kind: Kind
    if {"summary", "settings", "cases"} <= data.keys():
        from compat.report import CheckReport as model

        kind = "check"
    elif {"settings", "cases"} <= data.keys() and "scaling" in data:
        from compat.perf.report import PerfReport as model  # type: ignore[assignment]

        kind = "perf"
    elif {"findings", "coverage", "examples"} <= data.keys():
        return "fuzz", _fuzz_data(path, data)
    else:
        raise DocumentError(
            path,
            "not a compat report: expected the JSON of `compat check --json`, "
            "`compat perf --json` or `compat fuzz --json`",
        )
    try:
        return kind, model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the report"
        raise DocumentError(path, f"a {kind} report, but {where}: {first['msg']}") from None


def _fuzz_data(path: str, data: dict[str, Any]) -> dict[str, Any]:
    """A saved `compat fuzz --json` report, its fields checked (it has no model of its own:
    `FuzzReport.to_data()` is what it is)."""
    from pydantic import BaseModel, ConfigDict, ValidationError

    class Finding(BaseModel):
        model_config = ConfigDict(extra="allow")
        key: list[Any]

    class Saved(BaseModel):
        model_config = ConfigDict(extra="allow")
        ok: bool
        examples: int
        findings: list[Finding]
        coverage: dict[str, Any]

    try:
        Saved.model_validate(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the report"
        raise DocumentError(path, f"a fuzz report, but {where}: {first['msg']}") from None
    return data
