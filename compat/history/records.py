"""What the history stores: one `RunRecord` per `compat check` / `perf` / `fuzz` run, one
`CaseRecord` per case, and the points of a trend. Plain pydantic (no SQLAlchemy here), so
building records costs nothing before the store is opened."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Differences kept per case: enough to say what broke, bounded so a wildly different case
#: does not make the history grow by megabytes.
MAX_DIFFERENCES = 20
#: What is kept of a difference: never the two values (they can be large, or secret).
DIFFERENCE_FIELDS = ("dimension", "path", "severity", "note")
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

RunKind = Literal["check", "perf", "fuzz"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utc_iso(value: str) -> str:
    """`value` (ISO 8601) as UTC with microseconds, one shape for every run, so the text sorts
    in time order in both databases. A time without an offset is taken to be UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def finite(value: float | None) -> float | None:
    """None for NaN and infinities: SQLite would store NaN as NULL anyway, JSON has neither."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


class CaseRecord(BaseModel):
    """One case of a run: its status, score per dimension, its worst differences (paths and
    notes only), and for perf its ratio per metric."""

    model_config = _FROZEN

    fixture: str
    case: str
    #: check: passed | incompatible | expect-failed | too-slow | crashed;
    #: perf: measured | unmeasured; fuzz: finding.
    status: str
    compatible: bool | None = None
    score: float | None = None
    dimensions: dict[str, float] = Field(default_factory=dict)
    #: At most `MAX_DIFFERENCES`, worst severity first: {dimension, path, severity, note}.
    differences: tuple[dict[str, Any], ...] = ()
    #: metric name -> {median, low, high, verdict} (shadow / primary).
    perf: dict[str, dict[str, Any]] | None = None
    finding: dict[str, Any] | None = None

    @field_validator("differences", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        kept = [
            {k: d.get(k) for k in DIFFERENCE_FIELDS} if isinstance(d, dict) else d for d in value
        ]
        kept.sort(key=lambda d: _SEVERITY_RANK.get(str(d.get("severity")), 9))
        return tuple(kept[:MAX_DIFFERENCES])

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        return finite(value)

    @property
    def key(self) -> str:
        return f"{self.fixture}::{self.case}"


class RunRecord(BaseModel):
    """One run of compat, as recorded: where and on what it ran, its verdict, its cases."""

    model_config = _FROZEN

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    kind: RunKind
    started_at: str = Field(default_factory=now_iso)
    seconds: float = 0.0
    commit: str | None = None
    dirty: bool | None = None
    branch: str | None = None
    primary: str
    shadow: str
    policy: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    machine: dict[str, Any] = Field(default_factory=dict)
    ok: bool
    counts: dict[str, int] = Field(default_factory=dict)
    mean_score: float | None = None
    cases: tuple[CaseRecord, ...] = ()

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: str) -> str:
        return utc_iso(value)

    @field_validator("mean_score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        return finite(value)

    def case(self, key: str) -> CaseRecord | None:
        """The case `fixture::case`, if the run has it."""
        return next((c for c in self.cases if c.key == key), None)


class TrendPoint(BaseModel):
    """One run's value in a trend: a case's score and status (and, measured, its wall-time
    ratio shadow / primary with its 95 % interval and verdict), or a run's mean score."""

    model_config = _FROZEN

    run_id: str
    started_at: str
    commit: str | None = None
    score: float | None = None
    status: str | None = None
    ratio: float | None = None
    low: float | None = None
    high: float | None = None
    perf_verdict: str | None = None
