"""Measuring both engines on one fixture case: the options, the metrics with their ratios
and verdicts, and the recommendations that case's evidence supports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from compat.engines import run_engine
from compat.executors.cluster import ClusterField
from compat.perf import recommend
from compat.perf.harness import comparison_cost
from compat.perf.isolate import Worker
from compat.perf.measure import Measured, Runner, Sample, measure_pair
from compat.perf.report import CasePerf, ComparisonCost, EngineSamples, MetricReport
from compat.perf.stats import Ratio, Summary, Verdict, compare
from engines.config import EngineConfig
from engines.documents import Case
from engines.errors import ConfigError, SetupError

if TYPE_CHECKING:
    from compat.check import Job


class PerfOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: str = "graph"
    shadow: str = "journey"
    #: Measured pairs per case; None calibrates to `budget` seconds per case.
    repeat: int | None = Field(default=None, ge=2, le=10_000)
    budget: float = Field(default=1.0, gt=0, le=600)
    warmup: int = Field(default=2, ge=0, le=100)
    memory_runs: int = Field(default=3, ge=1, le=100)
    isolate: bool = False
    #: The parity band: ratios within 1 ± band are parity.
    band: float = Field(default=0.10, gt=0, lt=1)
    #: Also fit how each engine's cost grows on the built-in shapes.
    scaling: bool = False
    #: Only the cases of this name.
    case: str | None = None
    config: str | None = None
    #: Seconds one case's measurement (or one scaling shape) may take, in a worker process
    #: that is killed past it.
    timeout: float = Field(default=600.0, gt=0, le=604_800, allow_inf_nan=False)
    #: Measure in compat's own process (trusted engines; no timeout can stop them).
    in_process: bool = False
    #: A worker process's memory limit in MiB (0: none).
    memory_mb: int = Field(default=4096, ge=0)
    #: Measure on a Dask cluster (compat/executors/cluster.py): `local`, `local:N` or
    #: `tcp://HOST:PORT`; each case's pairs on one worker.
    cluster: ClusterField = None

    @model_validator(mode="after")
    def _one_executor(self) -> PerfOptions:
        if self.cluster is not None and self.in_process:
            raise PydanticCustomError(
                "executor", "--cluster measures on a Dask cluster: drop --in-process"
            )
        return self


def perf_options(**values: Any) -> PerfOptions:
    """`PerfOptions` from keyword values, or a `ConfigError` naming the bad one."""
    try:
        return PerfOptions(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "options"
        raise ConfigError(f"{name}: {first['msg']}") from None


#: (metric name, unit, how to read it from a sample, which samples: timing or memory).
METRICS: tuple[tuple[str, str, Callable[[Sample], float | None], str], ...] = (
    ("wall_seconds", "s", lambda s: s.wall_seconds, "timing"),
    ("cpu_seconds", "s", lambda s: s.cpu_seconds, "timing"),
    (
        "wall_per_node",
        "s",
        lambda s: s.wall_seconds / s.node_executions if s.node_executions else None,
        "timing",
    ),
    ("clock_seconds", "s", lambda s: s.clock_seconds, "timing"),
    ("node_executions", "count", lambda s: float(s.node_executions), "timing"),
    ("peak_bytes", "B", lambda s: s.peak_bytes, "memory"),
    ("rss_delta", "B", lambda s: s.rss_delta, "timing"),
)


def metrics(measured: Measured, band: float, *, isolated: bool) -> list[MetricReport]:
    (a, _), (b, _) = measured.timing.items()
    out = []
    for name, unit, read, kind in METRICS:
        samples = measured.timing if kind == "timing" else measured.memory
        left = [v for v in map(read, samples[a]) if v is not None]
        right = [v for v in map(read, samples[b]) if v is not None]
        ratio = compare(left, right, band=band)
        if name == "rss_delta" and not isolated:
            ratio = Ratio(
                median=ratio.median,
                low=ratio.low,
                high=ratio.high,
                verdict=Verdict.UNDEFINED,
                note="RSS deltas compare only with --isolate (in one process, one engine's "
                "leftovers are the other's baseline)",
            )
        out.append(
            MetricReport(
                name=name,
                unit=unit,
                primary=Summary.of(left),
                shadow=Summary.of(right),
                ratio=ratio,
            )
        )
    return out


def roles(options: PerfOptions) -> dict[str, str]:
    """Report names and engine specs; an engine measured against itself (to see the noise)
    gets its second name marked."""
    shadow = options.shadow if options.shadow != options.primary else f"{options.shadow}'"
    return {options.primary: options.primary, shadow: options.shadow}


def _parallels(job: Job) -> frozenset[str]:
    return frozenset(
        node.id
        for workflow in job.fixture.registry.values()
        for node in workflow.workflow.nodes
        if node.type == "parallel"
    )


def measure_case(
    job: Job, case: Case, options: PerfOptions, config: EngineConfig, engines: dict[str, Any]
) -> CasePerf:
    """Both engines on one case; an engine that raises makes a `problem`, not a crash."""
    tools = config.tool_registry()
    registry = job.fixture.registry
    where = f"{Path(job.path).name}::{case.name}"
    workers: list[Worker] = []
    try:
        if options.isolate:
            runners: dict[str, Any] = {}
            for name, spec in roles(options).items():
                worker = Worker(spec, str(job.path), case.name)
                workers.append(worker)
                runners[name] = worker
        else:
            runners = {
                name: Runner(engine, registry, case.inputs, case.conversation, tools)
                for name, engine in engines.items()
            }
        measured = measure_pair(
            runners,
            _parallels(job),
            warmup=options.warmup,
            runs=options.repeat,
            memory_runs=options.memory_runs,
            budget=options.budget,
        )
    except SetupError:
        raise
    except Exception as exc:
        return CasePerf(
            fixture=str(job.path),
            case=case.name,
            isolated=options.isolate,
            problem=f"an engine raised while measured: {type(exc).__name__}: {exc}",
        )
    finally:
        for worker in workers:
            worker.close()
    reports = metrics(measured, options.band, isolated=options.isolate)
    left, right = (
        run_engine(engine, registry, case.inputs, case.conversation, tools=tools)
        for engine in engines.values()
    )
    compare_s, deepdiff_s = comparison_cost(left, right, job.fixture.workflow, job.tolerances)
    wall_per_node = next(m for m in reports if m.name == "wall_per_node").ratio
    advice = recommend.for_case(where, measured, wall_per_node, (compare_s, deepdiff_s))
    return CasePerf(
        fixture=str(job.path),
        case=case.name,
        isolated=options.isolate,
        warmup=measured.warmup,
        runs=measured.runs,
        metrics=reports,
        breakdown=measured.breakdown,
        profile=measured.profile,
        comparison=ComparisonCost(compare_seconds=compare_s, deepdiff_seconds=deepdiff_s),
        recommendations=advice,
        samples={
            name: EngineSamples(timing=measured.timing[name], memory=measured.memory[name])
            for name in measured.timing
        },
    )
