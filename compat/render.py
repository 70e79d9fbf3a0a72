"""Terminal output of the CLI, with rich. Everything shown is escaped: workflow documents and
engine results are data, never markup, and never terminal control (compat/safe_text.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from compat.compare import Comparison
from compat.compare.outcome import HARNESS_STATUSES
from compat.engines import EngineRun
from compat.report import CaseReport, CheckReport
from compat.safe_text import markup, shown
from engines.result import RunResult

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def short(value: Any, limit: int = 60) -> str:
    """A value as JSON text of at most `limit` characters (huge integers shortened)."""
    text = shown(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _status(report: CaseReport) -> str:
    left, right = report.primary.status, report.shadow.status
    return left if left == right else f"{left} / {right}"


def _verdict(report: CaseReport) -> str:
    if report.passed:
        return "[green]pass[/]"
    if not report.compatible:
        return "[red]incompatible[/]"
    if report.expect.held is False:
        return "[red]expect failed[/]"
    return "[red]too slow[/]"


def check_table(report: CheckReport) -> Table:
    settings = report.settings
    how = [f"policy {settings.policy}"]
    how += [name for name in ("roundtrip", "handoff", "replay") if getattr(settings, name)]
    table = Table(
        title=f"compat check: {markup(settings.primary)} (primary) vs "
        f"{markup(settings.shadow)} (shadow); {', '.join(how)}",
        title_justify="left",
    )
    table.add_column("fixture", overflow="fold")
    table.add_column("case", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("result")
    table.add_column("worst difference", overflow="fold")
    if settings.perf:
        table.add_column("wall time shadow / primary", overflow="fold")
    for case in report.cases:
        worst = ""
        if case.worst is not None:
            style = _STYLE[case.worst.severity.value]
            worst = f"[{style}]{case.worst.severity.value}[/] {markup(case.worst.note)}"
            # A run with no result says why (the worker's cause of death, the timeout).
            sides = (case.primary, case.shadow)
            problem = next((e.problem for e in sides if e.status in HARNESS_STATUSES), None)
            if problem and case.worst.dimension == "outcome":
                worst += f": {markup(problem)}"
        elif case.expect.held is False:
            worst = markup((case.expect.primary or case.expect.shadow)[0])
        cells = [
            markup(Path(case.fixture).name),
            markup(case.case),
            f"{case.score:.3f}",
            markup(_status(case)),
            _verdict(case),
            worst,
        ]
        if settings.perf:
            cells.append(_wall(case))
        table.add_row(*cells)
    return table


def _wall(case: CaseReport) -> str:
    performance = case.performance
    if performance is None or performance.problem is not None:
        return markup(performance.problem or "") if performance else ""
    wall = next(m for m in performance.metrics if m.name == "wall_seconds").ratio
    return f"{wall.median:.2f} [{wall.low:.2f}–{wall.high:.2f}] {wall.verdict.value}"


def check_summary(report: CheckReport) -> str:
    s = report.summary
    slow = (
        f", {s.too_slow} over --max-slowdown {report.settings.max_slowdown:g}"
        if report.settings.max_slowdown is not None
        else ""
    )
    return (
        f"{s.cases} cases: {s.passed} passed, {s.incompatible} incompatible, "
        f"{s.expect_failed} golden answers failed{slow}; mean score {s.mean_score:.3f}"
    )


def comparison_table(comparison: Comparison, primary: EngineRun, shadow: EngineRun) -> Table:
    """The differences, primary and shadow side by side."""
    table = Table(title_justify="left", show_lines=False)
    table.add_column("dimension")
    table.add_column("path", overflow="fold")
    table.add_column(f"{markup(primary.engine)} (primary)", overflow="fold")
    table.add_column(f"{markup(shadow.engine)} (shadow)", overflow="fold")
    table.add_column("severity")
    for difference in comparison.differences:
        style = _STYLE[difference.severity.value]
        table.add_row(
            difference.dimension,
            markup(difference.path),
            markup(short(difference.primary)),
            markup(short(difference.shadow)),
            f"[{style}]{difference.severity.value}[/]",
        )
    return table


def scores_table(comparison: Comparison) -> Table:
    table = Table(title_justify="left")
    table.add_column("dimension")
    table.add_column("score", justify="right")
    table.add_column("weight", justify="right")
    table.add_column("differences", justify="right")
    for dimension in comparison.dimensions:
        table.add_row(
            dimension.name,
            f"{dimension.score:.3f}",
            f"{dimension.weight:.2f}",
            str(len(dimension.differences)),
        )
    return table


def side_by_side(primary: EngineRun, shadow: EngineRun) -> Table:
    """Status, outputs and errors of both runs next to each other."""
    table = Table(title_justify="left")
    table.add_column("")
    table.add_column(f"{markup(primary.engine)} (primary)", overflow="fold")
    table.add_column(f"{markup(shadow.engine)} (shadow)", overflow="fold")
    left, right = primary.result, shadow.result
    table.add_row("status", markup(primary.status), markup(shadow.status))
    if left is None or right is None:
        table.add_row("problem", markup(primary.error or ""), markup(shadow.error or ""))
        return table
    for key in sorted(left.outputs.keys() | right.outputs.keys()):
        table.add_row(
            markup(f"outputs.{key}"),
            markup(short(left.outputs.get(key, "—"), 50)),
            markup(short(right.outputs.get(key, "—"), 50)),
        )
    table.add_row(
        "errors",
        markup(", ".join(f"{n}:{c}" for n, c in left.error_codes()) or "—"),
        markup(", ".join(f"{n}:{c}" for n, c in right.error_codes()) or "—"),
    )
    table.add_row("trace events", str(len(left.trace)), str(len(right.trace)))
    return table


def print_result(console: Console, result: RunResult) -> None:
    """One run, readably."""
    console.print(
        f"[bold]{markup(result.workflow_id)}[/] on {markup(result.engine)}: "
        f"[bold]{result.status.value}[/]"
    )
    if result.pause is not None:
        where = "".join(f"[{c}={i}]" for c, i in result.pause.path)
        console.print(
            f"paused at {markup(result.pause.node + where)}: {markup(result.pause.prompt)}"
        )
    sections = (("outputs", result.outputs), ("vars", result.vars))
    for name, value in sections:
        console.print(f"{name}: {markup(shown(value))}")
    for error in result.errors:
        console.print(
            f"[red]error[/] {markup(error.node)}: {markup(error.code)} {markup(error.message)}"
        )
    steps = Table(title="trace", title_justify="left")
    for column in ("seq", "node", "event", "where", "attempt"):
        steps.add_column(column)
    for event in result.trace:
        where = "".join(f"[{c}={i}]" for c, i in event.path)
        steps.add_row(
            str(event.seq), markup(event.node), event.kind.value, markup(where), str(event.attempt)
        )
    console.print(steps)
