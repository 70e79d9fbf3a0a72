"""`compat perf`: both engines measured on every fixture case, compared with statistics, and
recommendations drawn from what was measured (the case itself: compat/perf/case.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from compat.check import CheckOptions, collect
from compat.engines import load_engine
from compat.perf import recommend
from compat.perf.case import PerfOptions, measure_case, perf_options, roles
from compat.perf.report import CasePerf, PerfReport, PerfSettings
from compat.perf.scaling import measure_scaling
from compat.perf.shapes import SHAPES
from engines.config import load_config
from engines.errors import ConfigError

__all__ = ["PerfOptions", "perf_options", "run_perf"]

Progress = Callable[[int, int, CasePerf], None]


def run_perf(
    paths: Sequence[str | Path], options: PerfOptions, progress: Progress | None = None
) -> PerfReport:
    """Measure every case under `paths`. Raises `SetupError` (before measuring) on bad input."""
    config = load_config(path=options.config) if options.config else load_config()
    jobs = collect(paths, config, CheckOptions(config=options.config))
    tools = config.tool_registry()
    engines = {
        name: load_engine(spec, tools=tools, env=config.environment())
        for name, spec in roles(options).items()
    }
    work = [
        (job, case)
        for job in jobs
        for case in job.cases
        if options.case is None or case.name == options.case
    ]
    if not work:
        raise ConfigError(f"--case: no case named {options.case!r} in {', '.join(map(str, paths))}")
    cases: list[CasePerf] = []
    for job, case in work:
        cases.append(measure_case(job, case, options, config, engines))
        if progress:
            progress(len(cases), len(work), cases[-1])
    scaling = []
    advice = []
    if options.scaling:
        for shape in SHAPES.values():
            report = measure_scaling(shape, engines, tools=tools)
            scaling.append(report)
            advice += recommend.for_scaling(report)
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
    return PerfReport(settings=settings, cases=cases, scaling=scaling, recommendations=advice)
