"""`compat perf`: both engines measured on every fixture case, compared with statistics, and
recommendations drawn from what was measured (the case itself: compat/perf/case.py).

Where the measuring happens is the executor layer's business (compat/executors/pools.py):
one killable worker process (the default), this process (`--in-process`) or a Dask cluster
(`--cluster`), where cases are measured at once on different workers and each case's A/B
pairs on one worker (timings are never compared across machines)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from compat.check import CheckOptions, Job, collect
from compat.executors import tasks
from compat.executors.pools import Executor, Killable, Task, open_executor
from compat.executors.process import Answer, Done, Raised, cause
from compat.executors.shipping import pack
from compat.perf import recommend
from compat.perf.case import PerfOptions, perf_options, roles
from compat.perf.report import CasePerf, PerfReport, PerfSettings
from compat.perf.scaling import ScalingReport
from compat.perf.shapes import SHAPES
from engines.config import load_config
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
    jobs = collect(paths, config, CheckOptions(config=options.config))
    work = [
        (job, case)
        for job in jobs
        for case in job.cases
        if options.case is None or case.name == options.case
    ]
    if not work:
        raise ConfigError(f"--case: no case named {options.case!r} in {', '.join(map(str, paths))}")
    root = None if config.root is None else str(config.root)
    modules = _modules(options, config.tool_modules)
    killable = (
        None
        if options.in_process
        else Killable(options.timeout, options.memory_mb or None, "compat-perf")
    )
    with open_executor(
        cluster=options.cluster, modules=modules, root=root, killable=killable
    ) as executor:
        cases = _cases(executor, options, work, progress)
        scaling: list[ScalingReport] = []
        advice = []
        problems = []
        if options.scaling:
            shapes = list(SHAPES)
            for index, answer in _stream(
                executor, options, tasks.perf_scaling, [(s,) for s in shapes]
            ):
                if isinstance(answer, Done):
                    scaling.append(answer.value)
                    advice += recommend.for_scaling(answer.value)
                else:
                    problems.append(f"scaling shape {shapes[index]}: {_problem(answer)}")
            order = {shape: n for n, shape in enumerate(shapes)}
            scaling.sort(key=lambda found: order.get(found.shape, len(order)))
    settings = PerfSettings(
        primary=options.primary,
        shadow=options.shadow,
        repeat=options.repeat,
        budget=options.budget,
        warmup=options.warmup,
        memory_runs=options.memory_runs,
        isolate=options.isolate,
        band=options.band,
        cluster=options.cluster,
    )
    return PerfReport(
        settings=settings,
        cases=cases,
        scaling=scaling,
        recommendations=advice,
        problems=problems,
    )


def _cases(
    executor: Executor,
    options: PerfOptions,
    work: Sequence[tuple[Job, Case]],
    progress: Progress | None,
) -> list[CasePerf]:
    """Each case's measurement, in the order of `work` (whatever order they finish in)."""
    held: dict[int, Any] = {}

    def units() -> Iterator[tuple[Any, ...]]:
        for job, case in work:
            if id(job) not in held:  # each fixture packed once, given to the executor once
                held[id(job)] = executor.held(pack(job), "fixture")
            yield str(job.path), held[id(job)], case.name

    measured: list[CasePerf | None] = [None] * len(work)
    stream = _stream(executor, options, tasks.perf_case, units())
    for done, (index, answer) in enumerate(stream, start=1):
        job, case = work[index]
        if isinstance(answer, Done):
            found: CasePerf = answer.value
        else:
            found = CasePerf(
                fixture=str(job.path),
                case=case.name,
                isolated=options.isolate,
                problem=_problem(answer),
            )
        measured[index] = found
        if progress:
            progress(done, len(work), found)
    return [m for m in measured if m is not None]


def _stream(
    executor: Executor, options: PerfOptions, task: Task, units: Iterable[tuple[Any, ...]]
) -> Iterator[tuple[int, Answer]]:
    setup = (options.model_dump(), roles(options))
    stream = executor.stream(tasks.setup_perf, setup, task, units)
    with contextlib.closing(stream):
        for index, answer in stream:
            if isinstance(answer, Raised):
                answer.reraise_refusal()  # bad input: the command's error
            yield index, answer


def _problem(answer: Answer) -> str:
    if isinstance(answer, Raised):
        return f"an engine raised while measured: {answer.error}"
    return f"the measurement did not finish: {cause(answer)}"


def _modules(options: PerfOptions, tool_modules: Sequence[str]) -> list[str]:
    if options.cluster is None:
        return []
    from compat.executors.cluster import modules_of

    return modules_of((options.primary, options.shadow), tool_modules, "compat.executors.tasks")
