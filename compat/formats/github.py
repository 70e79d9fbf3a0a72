"""compat's reports as GitHub Actions workflow commands: printed in a workflow step, each
failed case becomes an error annotation on its fixture file, and a notice gives the counts.

Values are escaped by GitHub's rules (a `%`, line break or, in a property, `:` / `,` would
otherwise end or split the command), after control characters are made visible, so a case
name cannot forge a command of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compat.formats import verdicts
from compat.perf.report import PerfReport
from compat.report import CheckReport
from compat.safe_text import printable


def escape_data(text: str) -> str:
    """A command's message: `%`, CR and LF escaped (GitHub's `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as a message, and `:` and `,` too (GitHub's `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str | None) -> str:
    """`::kind prop=value,...::message`, properties that are None or empty left out."""
    given = [
        f"{name}={escape_property(printable(value, newlines=True))}"
        for name, value in properties.items()
        if value
    ]
    head = f"{kind} {','.join(given)}" if given else kind
    return f"::{head}::{escape_data(printable(message, newlines=True))}"


def _file(fixture: str) -> str | None:
    """The fixture's path as GitHub matches it (relative to the workspace); None for a
    fixture that is no file (`<fuzz>`)."""
    if not fixture or fixture.startswith("<"):
        return None
    path = Path(fixture)
    if path.is_absolute():
        workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
        try:
            return path.relative_to(workspace).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _lines(lines: list[str]) -> str:
    return "".join(f"{text}\n" for text in lines)


def check_annotations(report: CheckReport) -> str:
    """An `::error` per case that did not pass (incompatible, golden answer failed, too
    slow, an engine gave no result), then a `::notice` with the counts."""
    out = [
        command(
            "error",
            f"{case.case}: {verdicts.case_summary(case, report.settings.max_slowdown)}",
            file=_file(case.fixture),
            title=case.fixture,
        )
        for case in report.cases
        if verdicts.failure_kinds(case) or verdicts.engine_problems(case)
    ]
    s = report.summary
    out.append(
        command(
            "notice",
            f"compat check: {s.cases} cases: {s.passed} passed, {s.incompatible} incompatible, "
            f"{s.expect_failed} golden answers failed, {s.too_slow} too slow; "
            f"mean score {s.mean_score:.3f}",
        )
    )
    return _lines(out)


def perf_annotations(report: PerfReport, *, max_slowdown: float | None = None) -> str:
    """An `::error` per case whose shadow is surely slower or that was not measured, per
    scaling problem, then a `::notice` with the counts (same rule as `perf_junit`)."""
    band = report.settings.band
    out = []
    slower = unmeasured = 0
    for case in report.cases:
        failed = verdicts.perf_slower(case, max_slowdown)
        slower += failed
        unmeasured += case.problem is not None
        if failed or case.problem is not None:
            summary = verdicts.perf_summary(case, band, max_slowdown)
            out.append(
                command(
                    "error",
                    f"{case.case}: {summary}",
                    file=_file(case.fixture),
                    title=case.fixture,
                )
            )
    for problem in report.problems:
        out.append(command("error", f"not measured: {problem}", title="compat perf scaling"))
    out.append(
        command(
            "notice",
            f"compat perf: {len(report.cases)} cases: {slower} surely slower, "
            f"{unmeasured} not measured; {len(report.problems)} scaling problems",
        )
    )
    return _lines(out)


def fuzz_annotations(data: Mapping[str, Any]) -> str:
    """An `::error` per distinct divergence (on its saved fixture, if saved), then a
    `::notice` with how much the campaign tried."""
    findings = list(data.get("findings") or [])
    out = [
        command(
            "error",
            verdicts.finding_summary(finding),
            file=_file(str(finding.get("saved") or "")),
            title="compat fuzz",
        )
        for finding in findings
    ]
    out.append(command("notice", f"compat fuzz: {verdicts.fuzz_tally(data)}"))
    return _lines(out)
