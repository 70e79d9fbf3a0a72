"""`compat check`: run every fixture case on two engines, compare, and check golden answers.

Everything is read and validated before the first case runs, so bad input (a missing path,
an unreadable or invalid fixture, bad tolerances, an unknown engine) fails fast with one of
our `SetupError`s and nothing half-done. Cases run one after another, or in worker processes
(`workers > 1`); the report lists them in fixture order either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compat.compare import compare_runs
from compat.compare.model import DimensionResult
from compat.compare.values import values_equal
from compat.detail import CaseDetail, RunDetail, WorkflowView
from compat.engines import Engine, EngineRun, load_engine, run_engine, run_engine_here
from compat.executors import DEFAULT_MEMORY_MB
from compat.executors.cluster import ClusterField
from compat.noise import compare_with_noise
from compat.perf.case import PerfOptions, measure_case
from compat.perf.report import PerfSummary
from compat.record import REPLAY_WEIGHT, RecordingRegistry, ReplayRegistry
from compat.relay import PORTS, Relay
from compat.report import (
    CaseReport,
    CheckReport,
    EngineSummary,
    ExpectResult,
    Settings,
    Summary,
    WorstDifference,
)
from compat.supervise import phase
from compat.tolerances import Policy, Tolerances, configured
from compat.validation import expand
from engines.config import EngineConfig, load_config
from engines.documents import (
    Case,
    DocumentKind,
    Fixture,
    document_kind,
    fixture_from_data,
    read_document,
)
from engines.documents.fixture import Expectation
from engines.errors import ConfigError, DocumentError
from engines.model import ValidatedWorkflow
from engines.tools import ToolRegistry


class CheckOptions(BaseModel):
    """How to run a check (the CLI's options)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: str = "graph"
    shadow: str = "journey"
    #: Overrides every configured policy (docs/harness.md, "Verdict").
    policy: Policy | None = None
    #: A similarity gate: the `threshold` policy, with this threshold for every case.
    min_score: float | None = Field(default=None, ge=0, le=1)
    #: Every pause goes through a saved snapshot / saved session and is resumed by a fresh
    #: engine instance.
    roundtrip: bool = False
    #: The shadow's run is handed to the other engine at every pause, through the common
    #: state (compat/sync), and must still equal the primary's uninterrupted run.
    handoff: bool = False
    noise_runs: int = Field(default=0, ge=0, le=100)
    replay: bool = False
    timeout: float = Field(default=60.0, gt=0, le=604_800, allow_inf_nan=False)
    workers: int = Field(default=1, ge=1, le=64)
    #: Run the engines in this process, in threads (trusted engines only: a thread that
    #: times out cannot be stopped, and an engine that exits or crashes takes compat with
    #: it). By default every run is in a killable worker process (compat/executors).
    in_process: bool = False
    #: A worker process's memory limit in MiB (0: none).
    memory_mb: int = Field(default=DEFAULT_MEMORY_MB, ge=0)
    #: An explicit compat.toml / pyproject.toml; None searches from the working directory.
    config: str | None = None
    #: Keep each case's workflow, traces, node outputs and transcript in its report (for
    #: `--json` and `--html`, which show them).
    details: bool = False
    #: Measure both engines' performance on each case too (kept out of the score).
    perf: bool = False
    #: With `perf`: a case fails when the shadow's wall time is, with 95 % confidence, more
    #: than this many times the primary's.
    max_slowdown: float | None = Field(default=None, gt=0)
    #: With `perf`: seconds of measuring per case.
    perf_budget: float = Field(default=0.3, gt=0, le=600)
    #: Run the cases on a Dask cluster (compat/executors/dask.py): `local`, `local:N`, or
    #: `tcp://HOST:PORT` (a running scheduler). None: local worker processes.
    cluster: ClusterField = None


@dataclass
class Job:
    """One fixture and the settings to check its cases with."""

    path: Path
    fixture: Fixture
    tolerances: Tolerances
    cases: tuple[Case, ...] = field(default_factory=tuple)


def _settings(options: CheckOptions) -> EngineConfig:
    return load_config(path=options.config) if options.config else load_config()


def collect(paths: Iterable[str | Path], config: EngineConfig, options: CheckOptions) -> list[Job]:
    """Every fixture under `paths`, loaded and checked. Raises `SetupError` on bad input."""
    named, walked, missing = expand(paths)
    if missing:
        raise DocumentError(missing[0], "no such file or directory")
    tools = config.tool_registry()
    roots = config.workflow_root_paths()
    base = configured(config)
    jobs: list[Job] = []
    seen: set[Path] = set()
    named_keys = {p.resolve() for p in named}
    for path in named + walked:
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        doc = read_document(path)
        if document_kind(doc) is not DocumentKind.FIXTURE:
            if key in named_keys:
                raise DocumentError(
                    str(path),
                    "not a fixture (a fixture has `workflow` and `cases`); "
                    "to compare one workflow, use `compat diff`",
                )
            continue  # a workflow file beside the fixtures that read it
        fixture = fixture_from_data(
            doc, source=str(path), base=key.parent, tools=tools, roots=roots
        )
        tol = base.override(fixture.tolerances, f"{path}: tolerances")
        if options.policy is not None:
            tol = tol.override({"policy": options.policy}, "--policy")
        if options.min_score is not None:
            gate = {"policy": "threshold", "threshold": options.min_score}
            tol = tol.override(gate, "--min-score")
        jobs.append(Job(path, fixture, tol, fixture.cases))
    if not jobs:
        raise DocumentError(
            ", ".join(str(p) for p in paths) or ".", "no fixtures found (.yaml, .yml, .json)"
        )
    return jobs


def expect_failures(
    expect: Expectation | None, run: EngineRun, tol: Tolerances | None = None
) -> tuple[str, ...]:
    """What of the golden answer did not hold for this run (empty: it held). Values compare
    as JSON: `2` is not `2.0` and `true` is not `1`, unless the tolerances turn
    `strict_numeric_types` off (then only the numeric type is relaxed)."""
    if expect is None:
        return ()
    result = run.result
    if result is None:
        return (f"no result: {run.status} ({run.error})",)
    # Only what differs is shown, by path (`outputs.total: expected 3, got 4`), at most
    # `shown` places with each value cut to `width` characters, so a message stays short.
    from compat.compare.model import Severity
    from compat.compare.values import compare_values

    shown, width = 5, 60

    def show(value: Any) -> str:
        text = _json(value)
        return text if len(text) <= width else text[: width - 3] + "..."

    def bounded(parts: list[str]) -> str:
        more = len(parts) - shown
        return "; ".join(parts[:shown] + ([f"and {more} more"] if more > 0 else []))

    def differing(root: str, wanted: Any, got: Any) -> str:
        found = compare_values(
            root, wanted, got, exact, root=root, severity=Severity.CRITICAL, weight=1.0
        ).differences
        parts = []
        for d in found:
            if d.kind == "added":
                parts.append(f"{d.path}: unexpected, got {show(d.shadow)}")
            elif d.kind == "removed":
                parts.append(f"{d.path}: missing, expected {show(d.primary)}")
            else:
                parts.append(f"{d.path}: expected {show(d.primary)}, got {show(d.shadow)}")
        return bounded(parts or [f"{root}: expected {show(wanted)}, got {show(got)}"])

    exact = Tolerances(strict_numeric_types=True if tol is None else tol.strict_numeric_types)
    problems = []
    if expect.status is not None and result.status != expect.status:
        problems.append(f"status: expected {expect.status.value}, got {result.status.value}")
    if expect.outputs is not None and not values_equal(expect.outputs, result.outputs, exact):
        problems.append(differing("outputs", expect.outputs, result.outputs))
    if expect.vars is not None and not values_equal(expect.vars, result.vars, exact):
        problems.append(differing("vars", expect.vars, result.vars))
    if expect.errors is not None:
        wanted = [(e.node, e.code) for e in expect.errors]
        got = result.error_codes()
        if got != wanted:
            parts = []
            for i in range(max(len(wanted), len(got))):
                if i >= len(got):
                    parts.append(
                        f"errors[{i}]: missing, expected {wanted[i][1]} at {wanted[i][0]!r}"
                    )
                elif i >= len(wanted):
                    parts.append(f"errors[{i}]: unexpected, got {got[i][1]} at {got[i][0]!r}")
                elif got[i] != wanted[i]:
                    parts.append(
                        f"errors[{i}]: expected {wanted[i][1]} at {wanted[i][0]!r}, "
                        f"got {got[i][1]} at {got[i][0]!r}"
                    )
            problems.append(bounded(parts))
    return tuple(problems)


def _json(value: Any) -> str:
    """JSON text, so a golden-answer failure shows `2.0` vs `2` and `true` vs `1`."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _no_stage(label: str) -> None:
    return None


class Runner:
    """Runs cases with two engines and the configured tools (one per process).

    `direct` runs each engine on the calling thread (in a worker process, whose parent
    enforces the deadline); `stage` is told before each step of a case (`primary`,
    `shadow`, `noise N`, `perf`, `compare`), so a parent can time steps and name the one a
    worker died in."""

    def __init__(
        self,
        config: EngineConfig,
        options: CheckOptions,
        *,
        direct: bool = False,
        stage: Callable[[str], None] = _no_stage,
    ) -> None:
        self.direct = direct
        self.stage = stage
        self.options = options
        self.config = config
        self.tools = config.tool_registry()
        env = config.environment()
        self.primary: Engine = load_engine(options.primary, tools=self.tools, env=env)
        self.shadow: Engine = load_engine(options.shadow, tools=self.tools, env=env)
        if options.handoff:
            # The shadow's side: a relay that starts on the shadow engine, so a case without
            # pauses still compares the two engines.
            for spec in (options.primary, options.shadow):
                if spec not in PORTS:
                    raise ConfigError(
                        f"--handoff: engine {spec!r} is not built in; a run is handed over "
                        f"through the saved formats of {' and '.join(PORTS)} only"
                    )
            self.shadow = Relay(options.shadow, options.primary, self.tools, env)

    def case(self, job: Job, case: Case) -> CaseReport:
        options = self.options

        extra: tuple[DimensionResult, ...] = ()
        if options.replay:
            recorder = RecordingRegistry(self.tools)
            primary = self.run("primary", job, case, recorder)
            replayer = ReplayRegistry(recorder.recording(), self.tools)
            shadow = self.run("shadow", job, case, replayer)
            extra = (replayer.dimension(job.tolerances.weights.get("replay", REPLAY_WEIGHT)),)
        else:
            primary, shadow = self.run("primary", job, case), self.run("shadow", job, case)
        reruns = [self.run(f"noise {n + 1}", job, case) for n in range(options.noise_runs)]
        performance = None
        if options.perf:
            self.stage("perf")
            performance = self._performance(job, case)
        self.stage("compare")
        return case_report(options, job, case, primary, shadow, reruns, extra, performance)

    def run(self, role: str, job: Job, case: Case, tools: ToolRegistry | None = None) -> EngineRun:
        """One engine's run of a case: `primary`, `shadow`, or `noise N` (the primary
        again). Every engine gets the configured tools (a user engine too), or the
        replay's."""
        self.stage(role)
        engine = self.shadow if role == "shadow" else self.primary
        args = (engine, job.fixture.registry, case.inputs, case.conversation)
        kwargs: dict[str, Any] = {
            "tools": tools or self.tools,
            "cancel": case.cancel,
            "roundtrip": self.options.roundtrip and not isinstance(engine, Relay),
        }
        if self.direct:
            return run_engine_here(*args, **kwargs)
        return run_engine(*args, timeout=self.options.timeout, **kwargs)

    def _performance(self, job: Job, case: Case) -> PerfSummary:
        engines = {self.options.primary: self.primary, self.options.shadow: self.shadow}
        if len(engines) == 1:
            engines = {self.options.primary: self.primary, f"{self.options.shadow}'": self.shadow}
        options = PerfOptions(budget=self.options.perf_budget, config=self.options.config)
        return measure_case(job, case, options, self.config, engines).summary()


def case_report(
    options: CheckOptions,
    job: Job,
    case: Case,
    primary: EngineRun,
    shadow: EngineRun,
    reruns: Sequence[EngineRun] = (),
    extra: tuple[DimensionResult, ...] = (),
    performance: PerfSummary | None = None,
) -> CaseReport:
    """The case's report from its runs: compared, and checked against golden answers."""
    if reruns:
        comparison = compare_with_noise(
            primary,
            shadow,
            list(reruns),
            job.fixture.workflow,
            job.tolerances,
            extra=extra,
            registry=job.fixture.registry,
        )
    else:
        comparison = compare_runs(
            primary,
            shadow,
            job.fixture.workflow,
            job.tolerances,
            extra=extra,
            registry=job.fixture.registry,
        )
    left = expect_failures(case.expect, primary, job.tolerances)
    right = expect_failures(case.expect, shadow, job.tolerances)
    held = None if case.expect is None else not (left or right)
    worst = comparison.worst
    too_slow = performance is not None and _too_slow(performance, options.max_slowdown)
    detail = None
    if options.details:
        detail = CaseDetail(
            workflow=_view(job.fixture.workflow),
            primary=RunDetail.of(primary.result),
            shadow=RunDetail.of(shadow.result),
        )
    return CaseReport(
        fixture=str(job.path),
        case=case.name,
        compatible=comparison.compatible,
        policy=comparison.policy,
        score=comparison.score,
        passed=comparison.compatible and held is not False and not too_slow,
        dimensions=comparison.dimensions,
        noisy_paths=comparison.noisy_paths,
        worst=None if worst is None else WorstDifference.of(worst),
        primary=EngineSummary.of(primary),
        shadow=EngineSummary.of(shadow),
        expect=ExpectResult(held=held, primary=left, shadow=right),
        replayed=options.replay,
        performance=performance,
        too_slow=too_slow,
        detail=detail,
    )


_VIEWS: dict[int, tuple[ValidatedWorkflow, WorkflowView]] = {}


def _view(workflow: ValidatedWorkflow) -> WorkflowView:
    """The workflow's view, made once per workflow object (a fixture's cases share it)."""
    held = _VIEWS.get(id(workflow))
    if held is None or held[0] is not workflow:
        held = _VIEWS[id(workflow)] = (workflow, WorkflowView.of(workflow))
    return held[1]


def _too_slow(performance: PerfSummary, max_slowdown: float | None) -> bool:
    """The shadow's wall time, with 95 % confidence, above `max_slowdown` × the primary's."""
    if max_slowdown is None or performance.problem is not None:
        return False
    wall = next(m for m in performance.metrics if m.name == "wall_seconds")
    return wall.ratio.low > max_slowdown


Progress = Callable[[int, int, CaseReport], None]


def run_check(
    paths: Sequence[str | Path], options: CheckOptions, progress: Progress | None = None
) -> CheckReport:
    """Check every case under `paths`. Raises `SetupError` (before running) on bad input."""
    config = _settings(options)
    if options.cluster is not None:
        if options.in_process or options.workers > 1:
            raise ConfigError("--cluster runs cases on a Dask cluster: drop --in-process/--workers")
        from compat.executors.dask import DaskCampaign

        jobs = collect(paths, config, options)
        with DaskCampaign(options, config) as cluster:
            work = [(job, case) for job in jobs for case in job.cases]
            outcome = cluster.run(work, progress)
        received = [r for r in outcome.reports if r is not None]
        return _assemble(received, options, jobs, incomplete=outcome.lost)
    if options.in_process:
        if options.workers > 1:
            raise ConfigError(
                "--workers runs cases in worker processes; it cannot be combined with --in-process"
            )
        phase("loading tools, fixtures and engines in-process")
        jobs = collect(paths, config, options)
        runner = Runner(config, options)  # loads the engines: fails here, before any run
        reports: list[CaseReport] = []
        work = [(job, case) for job in jobs for case in job.cases]
        for job, case in work:
            phase(f"running {job.path}::{case.name} in-process")
            reports.append(runner.case(job, case))
            if progress:
                progress(len(reports), len(work), reports[-1])
        return _assemble(reports, options, jobs)
    from compat.executors.campaign import CheckCampaign

    with CheckCampaign(options) as campaign:
        # Without tool modules, reading fixtures imports nothing of the user's: it happens
        # while the workers start.
        jobs = campaign.prepare(
            lambda: collect(paths, config, options), early=not config.tool_modules
        )
        work = [(job, case) for job in jobs for case in job.cases]
        return _assemble(campaign.run(work, progress), options, jobs)


def _assemble(
    reports: list[CaseReport],
    options: CheckOptions,
    jobs: list[Job],
    incomplete: str | None = None,
) -> CheckReport:
    threshold = jobs[0].tolerances.threshold if jobs else Tolerances().threshold
    summary = Summary(
        cases=len(reports),
        passed=sum(r.passed for r in reports),
        incompatible=sum(not r.compatible for r in reports),
        expect_failed=sum(r.expect.held is False for r in reports),
        too_slow=sum(r.too_slow for r in reports),
        mean_score=round(sum(r.score for r in reports) / len(reports), 6) if reports else 1.0,
    )
    settings = Settings(
        primary=options.primary,
        shadow=options.shadow,
        policy=jobs[0].tolerances.policy if jobs else Tolerances().policy,
        min_score=options.min_score,
        roundtrip=options.roundtrip,
        handoff=options.handoff,
        threshold=threshold,
        noise_runs=options.noise_runs,
        replay=options.replay,
        timeout=options.timeout,
        workers=options.workers,
        isolation="in-process" if options.in_process else "process",
        memory_mb=None if options.in_process else options.memory_mb or None,
        perf=options.perf,
        max_slowdown=options.max_slowdown,
        cluster=options.cluster,
    )
    return CheckReport(
        ok=incomplete is None and all(r.passed for r in reports),
        settings=settings,
        summary=summary,
        cases=tuple(reports),
        incomplete=incomplete,
    )


def check_options(**values: Any) -> CheckOptions:
    """`CheckOptions` from keyword values, or a `ConfigError` naming the bad one."""
    if values.get("min_score") is not None and values.get("policy") == "equivalence":
        raise ConfigError(
            "--min-score is a similarity gate (the threshold policy); it cannot be combined "
            "with --policy equivalence"
        )
    return options_of(CheckOptions, values)


Options = TypeVar("Options", bound=BaseModel)


def options_of(model: type[Options], values: dict[str, Any]) -> Options:
    """A command's options model from keyword values, or a `ConfigError` naming the bad
    option as the command line spells it (`--max-nodes: ...`)."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "options"
        raise ConfigError(f"{name}: {first['msg']}") from None


__all__ = ["CheckOptions", "Runner", "check_options", "collect", "options_of", "run_check"]
