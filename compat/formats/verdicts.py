"""Why a case failed, in words: the one-line summaries and plain-text details that the JUnit
and GitHub formats share, so both name a failure the same way.

Everything here is plain text made safe to show (`compat.safe_text.printable`): ids, notes
and values come from workflows and engines compat does not trust. One-line summaries escape
line breaks too; details keep their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from compat.compare.model import SEVERITY_RANK, Difference
from compat.perf.report import CasePerf, MetricReport, PerfSummary
from compat.perf.stats import Verdict
from compat.report import CaseReport
from compat.safe_text import printable, shown

#: Rows of a difference table; the rest are counted.
MAX_ROWS = 20
#: Widest cell per column (characters); longer values are cut with an ellipsis.
CELL = {"path": 48, "primary": 32, "shadow": 32, "severity": 8, "note": 80}
#: Longest one-line summary.
SUMMARY = 300

INCOMPATIBLE = "incompatible"
GOLDEN = "golden-answer"
TOO_SLOW = "too-slow"
ENGINE = "engine-problem"
SLOWER = "slower"
UNMEASURED = "not-measured"
DIVERGENCE = "divergence"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line(text: object, limit: int = SUMMARY) -> str:
    """Text as one safe line (line breaks shown as `\\n`), cut to `limit`."""
    return cut(printable(text), limit)


def seconds(value: object) -> float:
    """A duration from a report, or 0 when it is missing, negative or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if math.isfinite(value) and value > 0 else 0.0


def fixture_name(fixture: str) -> str:
    return Path(fixture).name or fixture


# ------------------------------------------------------------------------ differences


def difference_table(differences: Sequence[Difference], limit: int = MAX_ROWS) -> str:
    """The worst `limit` differences as an aligned plain-text table, then how many more."""
    ordered = sorted(differences, key=lambda d: SEVERITY_RANK[d.severity])
    rows = [
        [
            cut(printable(d.path), CELL["path"]),
            cut(printable(shown(d.primary)), CELL["primary"]),
            cut(printable(shown(d.shadow)), CELL["shadow"]),
            d.severity.value,
            cut(printable(d.note or d.kind), CELL["note"]),
        ]
        for d in ordered[:limit]
    ]
    header = list(CELL)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [render(header), "-+-".join("-" * w for w in widths)]
    lines += [render(row) for row in rows]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more (of {len(ordered)} differences)")
    return "\n".join(lines)


def _all_differences(case: CaseReport) -> list[Difference]:
    return [d for dimension in case.dimensions for d in dimension.differences]


# ------------------------------------------------------------------------------ check


def engine_problems(case: CaseReport) -> list[str]:
    """Each engine that gave no result (crashed, timed out), and why."""
    found = []
    for side, run in (("primary", case.primary), ("shadow", case.shadow)):
        if run.problem is not None:
            status = run.status.replace("_", " ")
            found.append(f"the {side} engine ({run.engine}) {status}: {run.problem}")
    return found


def failure_kinds(case: CaseReport) -> list[str]:
    """Why the case did not pass, most serious first (empty: it passed)."""
    kinds = []
    if not case.compatible:
        kinds.append(INCOMPATIBLE)
    if case.expect.held is False:
        kinds.append(GOLDEN)
    if case.too_slow:
        kinds.append(TOO_SLOW)
    if not kinds and not case.passed:
        kinds.append(INCOMPATIBLE)
    return kinds


def wall_metric(performance: PerfSummary | CasePerf | None) -> MetricReport | None:
    if performance is None:
        return None
    return next((m for m in performance.metrics if m.name == "wall_seconds"), None)


def ratio_text(metric: MetricReport) -> str:
    ratio = metric.ratio
    if math.isnan(ratio.median):
        return f"{metric.name}: no ratio ({ratio.note or ratio.verdict.value})"
    return (
        f"{metric.name}: shadow / primary {ratio.median:.3f} "
        f"[95 % CI {ratio.low:.3f}–{ratio.high:.3f}], {ratio.verdict.value}"
    )


def _slow_text(case: CaseReport, max_slowdown: float | None) -> str:
    wall = wall_metric(case.performance)
    limit = f" (allowed: {max_slowdown:g}×)" if max_slowdown is not None else ""
    if wall is None:
        return f"too slow{limit}"
    return f"too slow{limit}: {ratio_text(wall)}"


def case_summary(case: CaseReport, max_slowdown: float | None = None) -> str:
    """One line: every reason the case failed, the worst difference first."""
    parts = []
    kinds = failure_kinds(case)
    problems = engine_problems(case)
    if INCOMPATIBLE in kinds:
        text = f"incompatible (score {case.score:.3f}, policy {case.policy})"
        if problems:
            text += f": {problems[0]}"
        elif case.worst is not None:
            worst = case.worst
            text += f": {worst.severity.value} in {worst.dimension}: {worst.note}"
        parts.append(text)
    elif problems:
        parts.append(problems[0])
    if GOLDEN in kinds:
        failures = [*case.expect.primary, *case.expect.shadow]
        more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
        parts.append(f"golden answer failed: {failures[0] if failures else '?'}{more}")
    if TOO_SLOW in kinds:
        parts.append(_slow_text(case, max_slowdown))
    return line("; ".join(parts) or "passed")


def case_details(case: CaseReport, max_slowdown: float | None = None) -> str:
    """Every reason, in full: engine problems, the difference table, golden-answer
    failures, the slowdown."""
    sections = [case_summary(case, max_slowdown)]
    problems = engine_problems(case)
    if problems:
        sections.append("\n".join(printable(p, newlines=True) for p in problems))
    differences = _all_differences(case)
    if differences:
        sections.append(f"differences ({len(differences)}):\n{difference_table(differences)}")
    if case.expect.held is False:
        rows = [
            f"  {side}: {printable(text)}"
            for side in ("primary", "shadow")
            for text in getattr(case.expect, side)
        ]
        sections.append("golden answers failed:\n" + "\n".join(rows))
    if case.too_slow and case.performance is not None:
        sections.append(perf_table(case.performance.metrics))
    return "\n\n".join(sections) + "\n"


# ------------------------------------------------------------------------------- perf


def perf_slower(case: CasePerf, max_slowdown: float | None = None) -> bool:
    """The shadow's wall time surely slower: its whole 95 % interval beyond the parity band
    (verdict `slower`), or, with `max_slowdown`, above that multiple (the rule of `compat
    check --max-slowdown`)."""
    wall = wall_metric(case)
    if case.problem is not None or wall is None:
        return False
    if max_slowdown is not None:
        return wall.ratio.low > max_slowdown
    return wall.ratio.verdict is Verdict.SLOWER


def perf_summary(case: CasePerf, band: float, max_slowdown: float | None = None) -> str:
    """One line: the shadow's wall time as a multiple of the primary's, its 95 % interval,
    and whether that is surely slower than allowed."""
    if case.problem is not None:
        return line(f"not measured: {case.problem}")
    wall = wall_metric(case)
    if wall is None or math.isnan(wall.ratio.median):
        return "no wall-time ratio to judge"
    r = wall.ratio
    allowed = (
        f"above the allowed {max_slowdown:g}×"
        if max_slowdown is not None
        else f"beyond the parity band 1 ± {band:g}"
    )
    verdict = f"surely slower, {allowed}" if perf_slower(case, max_slowdown) else r.verdict.value
    return line(
        f"shadow wall time {r.median:.3f}× the primary's "
        f"[95 % CI {r.low:.3f}–{r.high:.3f}]: {verdict}"
    )


def perf_table(metrics: Sequence[MetricReport]) -> str:
    return "\n".join(ratio_text(m) for m in metrics)


def perf_details(case: CasePerf, band: float, max_slowdown: float | None = None) -> str:
    return f"{perf_summary(case, band, max_slowdown)}\n\n{perf_table(case.metrics)}\n"


# ------------------------------------------------------------------------------- fuzz


def finding_key(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    key = [str(k) for k in finding.get("key") or ()]
    dimension, kind, path = ([*key, "?", "?", "?"])[:3]
    return dimension, kind, path


def finding_title(finding: Mapping[str, Any]) -> str:
    dimension, kind, path = finding_key(finding)
    return line(f"{dimension}: {kind} at {path}", 200)


def finding_summary(finding: Mapping[str, Any]) -> str:
    dimension, kind, path = finding_key(finding)
    notes = [f"round {finding.get('round', '?')}", f"shrunk to {finding.get('nodes', '?')} nodes"]
    if finding.get("modes"):
        notes.append("modes: " + ", ".join(map(str, finding["modes"])))
    if finding.get("flaky"):
        notes.append("FLAKY: an engine is not deterministic")
    if finding.get("reproduced") is False:
        notes.append("does NOT reproduce with compat check")
    return line(f"the engines differ in {dimension}: {kind} at {path} ({', '.join(notes)})")


def finding_details(finding: Mapping[str, Any]) -> str:
    sections = [finding_summary(finding)]
    saved = finding.get("saved")
    if saved:
        again = {True: "reproduces", False: "does NOT reproduce", None: "not checked"}
        sections.append(
            f"saved: {printable(saved)} "
            f"({again.get(finding.get('reproduced'), 'not checked')} with compat check)"
        )
    try:
        report = CaseReport.model_validate(finding.get("report") or {})
    except ValidationError:
        sections.append("the case's report is not readable: " + cut(shown(finding), 400))
    else:
        differences = _all_differences(report)
        if differences:
            table = difference_table(differences)
            sections.append(f"differences ({len(differences)}):\n{table}")
    return "\n\n".join(sections) + "\n"


def fuzz_tally(data: Mapping[str, Any]) -> str:
    """How much the campaign tried and what it found, in one line."""
    options = data.get("options") or {}
    shrinking = data.get("shrinking_examples") or 0
    found = len(data.get("findings") or [])
    text = (
        f"{data.get('examples', 0)} examples"
        + (f" (+{shrinking} while shrinking)" if shrinking else "")
        + f" in {data.get('rounds', 0)} rounds, {seconds(data.get('seconds')):.1f} s, "
        f"seed {options.get('seed', '?')}: "
        + (f"{found} distinct divergence(s)" if found else "no divergence")
    )
    if data.get("stopped"):
        text += f" ({data['stopped']})"
    return line(text)
