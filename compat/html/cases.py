"""What the page says about one case, worked out from its report: its status, the nodes the
engines disagree on, each engine's summary of what every node did, and its differences
grouped the way Diffy groups them (by dimension, then by field), noise apart."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from compat.compare.model import SEVERITY_RANK, Difference, Severity
from compat.detail import RunDetail
from compat.report import CaseReport
from engines.result import TraceEvent

#: A case's status on the page, worst first (a case has the first that applies).
STATUSES = ("crashed", "incompatible", "expect-failed", "too-slow", "passed")

#: Trace steps name their node: `trace.<node>.<kind>#<attempt>...`; context paths
#: `context.nodes.<node>...`; error paths `errors.<node>...`.
_NODE_PATH = re.compile(r"^(?:trace|errors|context\.nodes)\.([^.#\[]+)")
_INDEX = re.compile(r"\[\d+\]|#\d+")


def status_of(case: CaseReport) -> str:
    if case.primary.problem is not None or case.shadow.problem is not None:
        return "crashed"
    if not case.compatible:
        return "incompatible"
    if case.expect.held is False:
        return "expect-failed"
    if case.too_slow:
        return "too-slow"
    return "passed"


def differences(case: CaseReport) -> list[Difference]:
    return [d for dim in case.dimensions for d in dim.differences]


def worst_severity(case: CaseReport) -> str:
    found = differences(case)
    if not found:
        return "none"
    return str(min((d.severity for d in found), key=SEVERITY_RANK.__getitem__))


def dimensions_with_differences(case: CaseReport) -> list[str]:
    return [dim.name for dim in case.dimensions if dim.differences]


def is_noise(difference: Difference, noisy: tuple[str, ...]) -> bool:
    """A difference on a path the primary's own reruns disagree on (`--noise-runs`)."""
    return any(difference.path == path or difference.path.startswith(path + ".") for path in noisy)


@dataclass
class Group:
    """Differences of one dimension on one field pattern (indices folded: `[*]`, `#*`)."""

    dimension: str
    pattern: str
    rows: list[Difference] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return str(min((d.severity for d in self.rows), key=SEVERITY_RANK.__getitem__))


def grouped(rows: list[Difference]) -> list[Group]:
    """Rows grouped by dimension and field pattern, worst group first."""
    groups: dict[tuple[str, str], Group] = {}
    for row in rows:
        pattern = _pattern(row)
        key = (row.dimension, pattern)
        if key not in groups:
            groups[key] = Group(row.dimension, pattern)
        groups[key].rows.append(row)
    return sorted(
        groups.values(),
        key=lambda g: (SEVERITY_RANK[Severity(g.severity)], g.dimension, g.pattern),
    )


def _pattern(row: Difference) -> str:
    """The field a difference is on, with what varies between similar rows folded: the
    node of a trace step (`trace.*.skipped#*`), indices."""
    path = _INDEX.sub(lambda m: "[*]" if m.group(0).startswith("[") else "#*", row.path)
    if row.dimension == "trace" and path.startswith("trace."):
        parts = path.split(".")
        if len(parts) >= 3:
            parts[1] = "*"
        return ".".join(parts)
    return path


def divergent_nodes(case: CaseReport, statuses: dict[str, tuple[str, str]]) -> set[str]:
    """Nodes a difference names, and nodes whose summary differs between the engines."""
    found = {m.group(1) for d in differences(case) if (m := _NODE_PATH.match(d.path))}
    found |= {node for node, (left, right) in statuses.items() if left != right}
    return found


def node_statuses(detail: RunDetail | None) -> dict[str, str]:
    """What each node did in one run, in a word: `completed`, `failed`, `routed` (failed
    into its error port), `skipped`, `waiting` (started, no end: paused), or a mix with
    counts when its executions (loop iterations, retries) ended differently."""
    if detail is None:
        return {}
    ends: dict[str, Counter[str]] = defaultdict(Counter)
    started: Counter[str] = Counter()
    for event in detail.trace:
        kind = str(event.kind)
        if kind == "started":
            started[event.node] += 1
        elif kind in ("completed", "skipped", "deduplicated"):
            ends[event.node]["skipped" if kind == "skipped" else "completed"] += 1
        elif kind == "failed":
            ends[event.node]["routed" if event.detail.get("handled") else "failed"] += 1
    out: dict[str, str] = {}
    for node in set(ends) | set(started):
        counts = ends.get(node, Counter())
        unfinished = started[node] - sum(v for k, v in counts.items() if k != "skipped")
        if unfinished > 0 and not counts:
            out[node] = "waiting"
        elif len(counts) == 1:
            out[node] = next(iter(counts))
        else:
            out[node] = ", ".join(f"{k}×{v}" for k, v in sorted(counts.items()))
    return out


def step_key(event: TraceEvent) -> str:
    """How the trace comparison names a step: `trace.<node>.<kind>#<attempt>`."""
    return f"trace.{event.node}.{event.kind}#{event.attempt}"


def differing_steps(case: CaseReport) -> set[str]:
    """The trace steps (as `step_key` names them) that a trace difference is about."""
    out: set[str] = set()
    for row in differences(case):
        if row.dimension != "trace" or not row.path.startswith("trace."):
            continue
        head = row.path.split("#", 1)
        if len(head) == 2:
            attempt = re.match(r"\d+", head[1])
            if attempt:
                out.add(f"{head[0]}#{attempt.group(0)}")
    return out


def short(value: Any, limit: int = 160) -> str:
    """A value as compact JSON-ish text, cut to `limit` characters."""
    import json

    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
