"""What worker processes run: each setup builds a worker's state once (configuration, tools,
engines; fixtures as the parent sends them, or read when first asked for); each task answers
one request from it.

Tasks are module-level functions (they travel by name) taking `(state, notes, *args)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compat.adhoc import load_target
from compat.check import CheckOptions, Job, Runner, _settings, collect
from compat.engines import EngineRun, load_engine, run_engine_here
from compat.executors.serve import Notes
from compat.executors.shipping import unpack
from compat.perf.case import PerfOptions, measure_case
from compat.perf.report import CasePerf
from compat.perf.scaling import ScalingReport, measure_scaling
from compat.perf.shapes import SHAPES
from engines.config import EngineConfig, load_config
from engines.tools import ToolRegistry

# --------------------------------------------------------------------------- compat check

#: A job as the parent sends it: its path, and its pickle (`shipping.pack`; None: read the
#: path). Sent once per worker, with the first batch that needs it.
Shipped = tuple[str, bytes | None]


@dataclass
class CheckState:
    runner: Runner
    #: Jobs read here, by path (`check_case`, and a job that did not pickle).
    jobs: dict[str, Job] = field(default_factory=dict)
    #: Jobs the parent sent, by their number in the campaign, unpacked when first used.
    shipped: dict[int, Shipped] = field(default_factory=dict)
    held: dict[int, Job] = field(default_factory=dict)

    def job(self, path: str) -> Job:
        if path not in self.jobs:
            (self.jobs[path],) = collect([path], self.runner.config, self.runner.options)
        return self.jobs[path]

    def numbered(self, number: int, notes: Notes) -> Job:
        """Job `number`, unpacked (or read) the first time it is asked for."""
        if number not in self.held:
            if number not in self.shipped:  # the parent's bookkeeping is wrong: our bug
                raise RuntimeError(f"job {number} was never sent to this worker")
            notes("load")
            path, data = self.shipped.pop(number)
            self.held[number] = self.job(path) if data is None else unpack(data)
        return self.held[number]


def setup_check(options: dict[str, Any]) -> CheckState:
    opts = CheckOptions.model_validate(options)
    return CheckState(Runner(_settings(opts), opts, direct=True))


def check_case(state: CheckState, notes: Notes, path: str, case: str) -> Any:
    """One whole case: both engines, noise runs, perf, comparison; the `CaseReport`."""
    job = state.job(path)
    previous, state.runner.stage = state.runner.stage, notes
    try:
        return state.runner.case(job, job.fixture.case(case))
    finally:
        state.runner.stage = previous


def check_cases(
    state: CheckState,
    notes: Notes,
    jobs: dict[int, Shipped],
    batch: list[tuple[int, int]],
) -> int:
    """Cases `(job number, case number)` one after another, each case's `CaseReport` sent as
    a part as soon as it is made (the parent times every step from the notes, as for one
    case); the answer is how many were sent. `jobs` are those this worker has not had yet."""
    state.shipped.update(jobs)
    previous, state.runner.stage = state.runner.stage, notes
    try:
        for number, index in batch:
            job = state.numbered(number, notes)
            notes.part(state.runner.case(job, job.cases[index]))
    finally:
        state.runner.stage = previous
    return len(batch)


def engine_run(state: CheckState, notes: Notes, path: str, case: str, role: str) -> EngineRun:
    """One engine's run of a case (`primary` or `shadow`), with the configured tools."""
    job = state.job(path)
    return state.runner.run(role, job, job.fixture.case(case))


def numbered_run(
    state: CheckState,
    notes: Notes,
    jobs: dict[int, Shipped],
    number: int,
    index: int,
    role: str,
) -> EngineRun:
    """One engine's run (`primary` or `shadow`) of case `index` of job `number`."""
    state.shipped.update(jobs)
    previous, state.runner.stage = state.runner.stage, notes
    try:
        job = state.numbered(number, notes)
        return state.runner.run(role, job, job.cases[index])  # notes the role: its deadline
    finally:
        state.runner.stage = previous


# --------------------------------------------------------------------------- run, diff


@dataclass
class ToolState:
    config: EngineConfig
    tools: ToolRegistry
    engines: dict[str, Any] = field(default_factory=dict)


def setup_tools(config: str | None) -> ToolState:
    """The configuration and its tool modules, imported here first: a module that hangs,
    exits or crashes at import does it in a worker, where it is reported."""
    settings = load_config(path=config) if config else load_config()
    return ToolState(settings, settings.tool_registry())


def adhoc_engine(state: ToolState, notes: Notes, spec: str) -> str:
    """Load (import, construct) an engine once, before any run: its name."""
    if spec not in state.engines:
        state.engines[spec] = load_engine(spec, tools=state.tools, env=state.config.environment())
    return str(state.engines[spec].name)


def adhoc_run(
    state: ToolState,
    notes: Notes,
    spec: str,
    target: str,
    case: str | None,
    inputs: str | None,
    conversation: str | None,
) -> EngineRun:
    """`compat run` / `compat diff`: one engine on a workflow or fixture case."""
    chosen = load_target(
        target,
        state.tools,
        case=case,
        inputs=inputs,
        conversation=conversation,
        roots=state.config.workflow_root_paths(),
    )
    adhoc_engine(state, notes, spec)
    return run_engine_here(
        state.engines[spec],
        chosen.registry,
        chosen.inputs,
        chosen.conversation,
        tools=state.tools,
        cancel=chosen.cancel,
    )


# --------------------------------------------------------------------------- compat perf


@dataclass
class PerfState:
    options: PerfOptions
    config: EngineConfig
    engines: dict[str, Any]
    jobs: dict[str, Job] = field(default_factory=dict)


def setup_perf(options: dict[str, Any], roles: dict[str, str]) -> PerfState:
    opts = PerfOptions.model_validate(options)
    settings = load_config(path=opts.config) if opts.config else load_config()
    tools = settings.tool_registry()
    engines = {
        name: load_engine(spec, tools=tools, env=settings.environment())
        for name, spec in roles.items()
    }
    return PerfState(opts, settings, engines)


def perf_case(
    state: PerfState, notes: Notes, path: str, packed: bytes | None, case: str
) -> CasePerf:
    """One case measured here; its fixture as the parent packed it (None: read `path`).
    The report says on which machine (on a cluster, which worker)."""
    if path not in state.jobs:
        if packed is not None:
            state.jobs[path] = unpack(packed)
        else:
            (state.jobs[path],) = collect(
                [path], state.config, CheckOptions(config=state.options.config)
            )
    job = state.jobs[path]
    found = measure_case(job, job.fixture.case(case), state.options, state.config, state.engines)
    if state.options.cluster is None:
        return found
    from compat.executors.cluster import machine

    return found.model_copy(update={"machine": machine()})


def perf_scaling(state: PerfState, notes: Notes, shape: str) -> ScalingReport:
    return measure_scaling(SHAPES[shape], state.engines, tools=state.config.tool_registry())


__all__ = [
    "adhoc_engine",
    "adhoc_run",
    "check_case",
    "check_cases",
    "engine_run",
    "numbered_run",
    "perf_case",
    "perf_scaling",
    "setup_check",
    "setup_perf",
    "setup_tools",
]
