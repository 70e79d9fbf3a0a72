"""The report of `compat perf --json` (and the performance part of `compat check --perf`):
every metric for both engines, their ratio with its interval and verdict, the breakdowns,
the recommendations, and the raw samples."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from compat.perf.measure import Breakdown, Sample
from compat.perf.recommend import Recommendation
from compat.perf.scaling import ScalingReport
from compat.perf.stats import Ratio, Summary

PERF_REPORT_VERSION = 1

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MetricReport(BaseModel):
    """One metric: both engines' summaries and shadow / primary."""

    model_config = _FROZEN

    name: str
    unit: str
    primary: Summary
    shadow: Summary
    ratio: Ratio


class EngineSamples(BaseModel):
    model_config = _FROZEN

    timing: list[Sample]
    memory: list[Sample]


class ComparisonCost(BaseModel):
    model_config = _FROZEN

    compare_seconds: float
    deepdiff_seconds: float


class CasePerf(BaseModel):
    """Both engines' performance on one case."""

    model_config = _FROZEN

    fixture: str
    case: str
    isolated: bool
    warmup: int = 0
    runs: int = 0
    metrics: list[MetricReport] = Field(default_factory=list)
    breakdown: dict[str, Breakdown] = Field(default_factory=dict)
    profile: dict[str, dict[str, float]] = Field(default_factory=dict)
    comparison: ComparisonCost | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    samples: dict[str, EngineSamples] = Field(default_factory=dict)
    #: Why the case could not be measured (an engine raised).
    problem: str | None = None
    #: Where it was measured, on a cluster (`--cluster`): the host and the Dask worker.
    #: Both engines of a case are always measured on one machine.
    machine: str | None = None

    def summary(self) -> PerfSummary:
        return PerfSummary(
            runs=self.runs,
            metrics=self.metrics,
            recommendations=self.recommendations,
            problem=self.problem,
            breakdown=self.breakdown,
        )

    def metric(self, name: str) -> MetricReport:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)


class PerfSummary(BaseModel):
    """The performance part of a `compat check --perf` case: no raw samples."""

    model_config = _FROZEN

    runs: int
    metrics: list[MetricReport]
    recommendations: list[Recommendation]
    problem: str | None = None
    #: Where each engine's clock time went (per node, backoff, branches).
    breakdown: dict[str, Breakdown] = Field(default_factory=dict)


class PerfSettings(BaseModel):
    model_config = _FROZEN

    primary: str
    shadow: str
    #: Measured pairs per case (None: calibrated to `budget` seconds per case).
    repeat: int | None
    budget: float
    warmup: int
    memory_runs: int
    isolate: bool
    band: float
    #: The Dask cluster that measured the cases (`--cluster`), if one did.
    cluster: str | None = None


class PerfReport(BaseModel):
    model_config = _FROZEN

    version: int = PERF_REPORT_VERSION
    settings: PerfSettings
    cases: list[CasePerf]
    scaling: list[ScalingReport] = Field(default_factory=list)
    #: Recommendations from the scaling shapes (each case holds its own).
    recommendations: list[Recommendation] = Field(default_factory=list)
    #: What could not be measured (a scaling shape whose worker died or timed out).
    problems: list[str] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"
