"""Records for the history tests, built directly (the gate tests also build them from real
`compat check` runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from compat.history import CaseRecord, RunRecord

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    """An ISO time `minutes` after T0."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


def case(
    name: str = "c",
    fixture: str = "fixtures/x.yaml",
    *,
    status: str = "passed",
    score: float | None = 1.0,
    compatible: bool | None = None,
    **extra: Any,
) -> CaseRecord:
    if compatible is None and status in ("passed", "incompatible", "crashed"):
        compatible = status == "passed"
    return CaseRecord(
        fixture=fixture, case=name, status=status, score=score, compatible=compatible, **extra
    )


def wall(median: float, low: float, high: float, verdict: str) -> dict[str, dict[str, Any]]:
    return {"wall_seconds": {"median": median, "low": low, "high": high, "verdict": verdict}}


def run(
    minutes: float = 0,
    *cases: CaseRecord,
    kind: str = "check",
    ok: bool = True,
    **extra: Any,
) -> RunRecord:
    scores = [c.score for c in cases if c.score is not None]
    fields: dict[str, Any] = {
        "kind": kind,
        "started_at": at(minutes),
        "primary": "graph",
        "shadow": "journey",
        "ok": ok,
        "counts": {"cases": len(cases)},
        "mean_score": sum(scores) / len(scores) if scores else None,
        "cases": cases,
        **extra,
    }
    return RunRecord(**fields)


def many_cases(count: int, prefix: str = "case") -> tuple[CaseRecord, ...]:
    return tuple(case(f"{prefix}-{i:05d}", score=(i % 100) / 100) for i in range(count))
