"""Terminal output of `compat perf`: one table per case, the scaling fits, and the
recommendations. Everything shown from a workflow or engine is escaped."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from compat.perf.recommend import Recommendation
from compat.perf.report import CasePerf, MetricReport, PerfReport
from compat.perf.stats import Verdict
from compat.safe_text import markup

#: How a verdict reads for a cost: less time or memory is better.
_WORDS = {
    Verdict.PARITY: "[green]parity[/]",
    Verdict.FASTER: "[green]less[/]",
    Verdict.SLOWER: "[red]more[/]",
    Verdict.INCONCLUSIVE: "[yellow]inconclusive[/]",
    Verdict.UNDEFINED: "[dim]—[/]",
}
_TIME_WORDS = {Verdict.FASTER: "[green]faster[/]", Verdict.SLOWER: "[red]slower[/]"}


def amount(value: float, unit: str) -> str:
    if math.isnan(value):
        return "—"
    if value == 0:
        return f"0 {unit}" if unit in ("s", "B") else "0"
    if unit == "s":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value * 1e9:.3g} ns"
    if unit == "B":
        for scale, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value:.0f} B"
    return f"{value:.4g}"


def _verdict(metric: MetricReport) -> str:
    verdict = metric.ratio.verdict
    if metric.unit == "s" and verdict in _TIME_WORDS:
        return _TIME_WORDS[verdict]
    return _WORDS[verdict]


def case_table(case: CasePerf, primary: str, shadow: str) -> Table:
    title = f"{markup(Path(case.fixture).name)}::{markup(case.case)} — {case.runs} pairs"
    if case.isolated:
        title += ", isolated"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column(f"{markup(primary)} median (p95)", justify="right")
    table.add_column(f"{markup(shadow)} median (p95)", justify="right")
    table.add_column(f"{markup(shadow)} / {markup(primary)} [95 % CI]", justify="right")
    table.add_column("verdict")
    for metric in case.metrics:
        a, b, r = metric.primary, metric.shadow, metric.ratio
        ratio = "—" if math.isnan(r.median) else f"{r.median:.3f} [{r.low:.3f}–{r.high:.3f}]"
        verdict = _verdict(metric)
        if r.verdict is Verdict.INCONCLUSIVE and r.runs_needed:
            verdict += f" (~{r.runs_needed} pairs)"
        table.add_row(
            metric.name,
            f"{amount(a.median, metric.unit)} ({amount(a.p95, metric.unit)})",
            f"{amount(b.median, metric.unit)} ({amount(b.p95, metric.unit)})",
            ratio,
            verdict,
        )
    return table


def scaling_table(report: PerfReport) -> Table:
    table = Table(title="scaling (cost ∝ n^k, fixed cost per run left out)", title_justify="left")
    for column in ("shape", "engine", "sizes", "fastest run per size", "k", "memory per unit"):
        table.add_column(column)
    for shape in report.scaling:
        for engine, fit in shape.engines.items():
            table.add_row(
                f"{shape.shape} ({shape.unit})",
                markup(engine),
                ", ".join(map(str, shape.sizes)),
                ", ".join(amount(s, "s") for s in fit.seconds),
                f"{fit.slope:.2f} {fit.complexity}",
                amount(fit.bytes_per_unit, "B"),
            )
    return table


def recommendation_lines(advice: list[Recommendation]) -> list[str]:
    lines = []
    for item in advice:
        share = f" ({item.gain.share:.0%})" if item.gain.share is not None else ""
        lines.append(
            f"[bold]{markup(item.engine)}[/]: {markup(item.title)} — {markup(item.evidence)}; "
            f"estimated gain {item.gain.value:.4g} {markup(item.gain.unit)}{share}; "
            f"confidence {markup(item.confidence)}"
            + (f" [dim]({markup(item.where)})[/]" if item.where else "")
        )
    return lines


def print_report(console: Console, report: PerfReport) -> None:
    names = list(report.cases[0].samples) if report.cases and report.cases[0].samples else []
    primary = names[0] if names else report.settings.primary
    shadow = names[1] if len(names) > 1 else report.settings.shadow
    for case in report.cases:
        if case.problem:
            console.print(
                f"[red]{markup(Path(case.fixture).name)}::{markup(case.case)}[/]: "
                f"{markup(case.problem)}"
            )
            continue
        console.print(case_table(case, primary, shadow))
        for line in recommendation_lines(case.recommendations):
            console.print(f"  • {line}")
    if report.scaling:
        console.print(scaling_table(report))
        for line in recommendation_lines(report.recommendations):
            console.print(f"  • {line}")
