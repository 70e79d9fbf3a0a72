"""The machine-readable report of `compat check --json` (schema: docs/report.schema.json).

Every model here is frozen and forbids unknown fields, so the generated JSON Schema is exact.
`REPORT_VERSION` changes whenever a field changes meaning or disappears.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from compat.compare.model import Difference, DimensionResult, Severity
from compat.detail import CaseDetail
from compat.engines import EngineRun
from compat.perf.report import PerfSummary
from engines.result import NodeError

REPORT_VERSION = 2

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class EngineSummary(BaseModel):
    """What one engine did with one case."""

    model_config = _FROZEN

    engine: str
    #: The run's status, or the harness's verdict `crashed` / `timed_out`.
    status: str
    outputs: dict[str, Any] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    errors: tuple[NodeError, ...] = ()
    #: Where the run paused, if it did: the input node and its iteration path.
    pause: str | None = None
    #: Why there is no result (crashed / timed out).
    problem: str | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    @classmethod
    def of(cls, run: EngineRun) -> EngineSummary:
        result = run.result
        if result is None:
            return cls(
                engine=run.engine,
                status=run.status,
                problem=run.error,
                wall_seconds=run.wall_seconds,
                cpu_seconds=run.cpu_seconds,
            )
        pause = None
        if result.pause is not None:
            where = "".join(f"[{c}={i}]" for c, i in result.pause.path)
            pause = f"{result.pause.node}{where}"
        return cls(
            engine=run.engine,
            status=run.status,
            outputs=result.outputs,
            vars=result.vars,
            errors=result.errors,
            pause=pause,
            wall_seconds=run.wall_seconds,
            cpu_seconds=run.cpu_seconds,
        )


class ExpectResult(BaseModel):
    """Whether the fixture's golden answer held for each engine (None: no `expect` given)."""

    model_config = _FROZEN

    held: bool | None = None
    primary: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()


class WorstDifference(BaseModel):
    model_config = _FROZEN

    dimension: str
    severity: Severity
    note: str

    @classmethod
    def of(cls, difference: Difference) -> WorstDifference:
        return cls(
            dimension=difference.dimension, severity=difference.severity, note=difference.note
        )


class CaseReport(BaseModel):
    """One case, both engines, compared."""

    model_config = _FROZEN

    fixture: str
    case: str
    #: The verdict of `policy`: under `equivalence`, no difference at all; under
    #: `threshold`, no critical difference and a score of at least the threshold.
    compatible: bool
    #: The policy that decided `compatible`.
    policy: str = "equivalence"
    score: float = Field(ge=0, le=1)
    #: compatible, the golden answer (if any) held for both engines, and (with
    #: `--max-slowdown`) the shadow is not slower than allowed.
    passed: bool
    dimensions: tuple[DimensionResult, ...]
    noisy_paths: tuple[str, ...] = ()
    worst: WorstDifference | None = None
    primary: EngineSummary
    shadow: EngineSummary
    expect: ExpectResult = Field(default_factory=ExpectResult)
    #: The primary's tool calls were replayed to the shadow.
    replayed: bool = False
    #: With `--perf`: both engines' performance (kept out of `score`; in the gate only with
    #: `--max-slowdown`).
    performance: PerfSummary | None = None
    #: With `--max-slowdown`: the shadow's wall time was surely above the allowed multiple.
    too_slow: bool = False
    #: The workflow and both runs in full, when the check kept them (`CheckOptions.details`).
    detail: CaseDetail | None = None


class Summary(BaseModel):
    model_config = _FROZEN

    cases: int
    passed: int
    incompatible: int
    expect_failed: int
    #: Cases that failed the `--max-slowdown` gate.
    too_slow: int = 0
    mean_score: float


class Settings(BaseModel):
    """How the check ran, so a report can be read on its own."""

    model_config = _FROZEN

    primary: str
    shadow: str
    #: The verdict policy (of the first fixture; each case says its own).
    policy: str = "equivalence"
    min_score: float | None = None
    threshold: float
    #: Every pause went through a saved run resumed by a fresh engine instance.
    roundtrip: bool = False
    #: The shadow's run was handed to the other engine at every pause.
    handoff: bool = False
    noise_runs: int = 0
    replay: bool = False
    timeout: float
    workers: int = 1
    #: `process`: every engine run in a killable worker process (with `memory_mb` of
    #: address space, None: unlimited); `in-process`: in threads of compat itself.
    isolation: Literal["process", "in-process"] = "process"
    memory_mb: int | None = None
    perf: bool = False
    max_slowdown: float | None = None
    #: The Dask cluster that ran the cases (`--cluster`), if one did.
    cluster: str | None = None


class CheckReport(BaseModel):
    """`compat check`'s full report."""

    model_config = _FROZEN

    version: int = REPORT_VERSION
    ok: bool
    settings: Settings
    summary: Summary
    cases: tuple[CaseReport, ...]
    #: Why the campaign ended before every case came back (e.g. its Dask scheduler went
    #: away); `cases` holds those that did, and `ok` is false.
    incomplete: str | None = None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def report_schema() -> dict[str, Any]:
    """The JSON Schema of `CheckReport`, as committed in docs/report.schema.json."""
    schema = CheckReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"compat-check-report-v{REPORT_VERSION}"
    return schema


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, sort_keys=True) + "\n"
