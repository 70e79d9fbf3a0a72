"""`compat perf`: both engines measured on every fixture case, compared with statistics, and
recommendations drawn from what was measured (the case itself: compat/perf/case.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from compat.check import CheckOptions, Job, collect
from compat.engines import load_engine
from compat.executors import Done, Raised, WorkerProcess, cause, setup_timeout, tasks
from compat.perf import recommend
from compat.perf.case import PerfOptions, measure_case, perf_options, roles
from compat.perf.report import CasePerf, PerfReport, PerfSettings
from compat.perf.scaling import ScalingReport, measure_scaling
from compat.perf.shapes import SHAPES
from engines.config import EngineConfig, load_config
from engines.documents import Case
from engines.errors import ConfigError

__all__ = ["PerfOptions", "perf_options", "run_perf"]

Progress = Callable[[int, int, CasePerf], None]


def run_perf(
    paths: Sequence[str | Path], options: PerfOptions, progress: Progress | None = None
) -> PerfReport:
    """Measure every case under `paths`. Raises `SetupError` (before measuring) on bad input.
    Each case is measured in a worker process killed after `options.timeout` (unless
    `in_process`); a case that dies or times out is reported with its problem."""
    config = load_config(path=options.config) if options.config else load_config()
    measure: Measure = _InProcess(options, config) if options.in_process else _InWorker(options)
    try:
        jobs = collect(paths, config, CheckOptions(config=options.config))
        work = [
            (job, case)
            for job in jobs
            for case in job.cases
            if options.case is None or case.name == options.case
        ]
        if not work:
            raise ConfigError(
                f"--case: no case named {options.case!r} in {', '.join(map(str, paths))}"
            )
        cases: list[CasePerf] = []
        for job, case in work:
            cases.append(measure.case(job, case))
            if progress:
                progress(len(cases), len(work), cases[-1])
        scaling = []
        advice = []
        problems = []
        if options.scaling:
            for shape in SHAPES:
                found = measure.scaling(shape)
                if isinstance(found, str):
                    problems.append(f"scaling shape {shape}: {found}")
                    continue
                scaling.append(found)
                advice += recommend.for_scaling(found)
    finally:
        measure.close()
    settings = PerfSettings(
        primary=options.primary,
        shadow=options.shadow,
        repeat=options.repeat,
        budget=options.budget,
        warmup=options.warmup,
        memory_runs=options.memory_runs,
        isolate=options.isolate,
        band=options.band,
    )
    return PerfReport(
        settings=settings,
        cases=cases,
        scaling=scaling,
        recommendations=advice,
        problems=problems,
    )


class Measure(Protocol):
    def case(self, job: Job, case: Case) -> CasePerf: ...
    def scaling(self, shape: str) -> ScalingReport | str: ...
    def close(self) -> None: ...


class _InProcess:
    def __init__(self, options: PerfOptions, config: EngineConfig) -> None:
        self.options, self.config = options, config
        self.tools = config.tool_registry()
        self.engines = {
            name: load_engine(spec, tools=self.tools, env=config.environment())
            for name, spec in roles(options).items()
        }

    def case(self, job: Job, case: Case) -> CasePerf:
        return measure_case(job, case, self.options, self.config, self.engines)

    def scaling(self, shape: str) -> ScalingReport | str:
        return measure_scaling(SHAPES[shape], self.engines, tools=self.tools)

    def close(self) -> None:
        return None


class _InWorker:
    def __init__(self, options: PerfOptions) -> None:
        self.options = options
        # Loads the configuration, tools and engines first, in the worker: a setup that
        # fails, hangs or dies is a SetupError here, before compat imports any of it.
        self.worker = WorkerProcess(
            tasks.setup_perf,
            (options.model_dump(), roles(options)),
            memory_mb=options.memory_mb or None,
            setup_timeout=setup_timeout(options.timeout),
            name="compat-perf",
        )
        self.worker.start()

    def case(self, job: Job, case: Case) -> CasePerf:
        answer = self.worker.call(
            tasks.perf_case, str(job.path), case.name, timeout=self.options.timeout
        )
        if isinstance(answer, Done):
            return answer.value  # type: ignore[no-any-return]
        if isinstance(answer, Raised):
            answer.reraise_refusal()
        return CasePerf(
            fixture=str(job.path),
            case=case.name,
            isolated=self.options.isolate,
            problem=f"the measurement did not finish: {cause(answer)}",
        )

    def scaling(self, shape: str) -> ScalingReport | str:
        answer = self.worker.call(tasks.perf_scaling, shape, timeout=self.options.timeout)
        if isinstance(answer, Done):
            return answer.value  # type: ignore[no-any-return]
        if isinstance(answer, Raised):
            answer.reraise_refusal()
        return f"the measurement did not finish: {cause(answer)}"

    def close(self) -> None:
        self.worker.close()
