"""`compat check`: run every fixture case on two engines, compare, and check golden answers.

Everything is read and validated before the first case runs, so bad input (a missing path,
an unreadable or invalid fixture, bad tolerances, an unknown engine) fails fast with one of
our `SetupError`s and nothing half-done. Cases run one after another, or in worker processes
(`workers > 1`); the report lists them in fixture order either way.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compat.compare import compare_runs
from compat.compare.values import values_equal
from compat.engines import Engine, EngineRun, load_engine, run_engine
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
    timeout: float = Field(default=60.0, gt=0)
    workers: int = Field(default=1, ge=1, le=64)
    #: An explicit compat.toml / pyproject.toml; None searches from the working directory.
    config: str | None = None
    #: Measure both engines' performance on each case too (kept out of the score).
    perf: bool = False
    #: With `perf`: a case fails when the shadow's wall time is, with 95 % confidence, more
    #: than this many times the primary's.
    max_slowdown: float | None = Field(default=None, gt=0)
    #: With `perf`: seconds of measuring per case.
    perf_budget: float = Field(default=0.3, gt=0, le=600)


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
        fixture = fixture_from_data(doc, source=str(path), base=key.parent, tools=tools)
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
    exact = Tolerances(strict_numeric_types=True if tol is None else tol.strict_numeric_types)
    problems = []
    if expect.status is not None and result.status != expect.status:
        problems.append(f"status: expected {expect.status.value}, got {result.status.value}")
    if expect.outputs is not None and not values_equal(expect.outputs, result.outputs, exact):
        problems.append(f"outputs: expected {_json(expect.outputs)}, got {_json(result.outputs)}")
    if expect.vars is not None and not values_equal(expect.vars, result.vars, exact):
        problems.append(f"vars: expected {_json(expect.vars)}, got {_json(result.vars)}")
    if expect.errors is not None:
        wanted = [(e.node, e.code) for e in expect.errors]
        if result.error_codes() != wanted:
            problems.append(f"errors: expected {wanted}, got {result.error_codes()}")
    return tuple(problems)


def _json(value: Any) -> str:
    """JSON text, so a golden-answer failure shows `2.0` vs `2` and `true` vs `1`."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Runner:
    """Runs cases with two engines and the configured tools (one per process)."""

    def __init__(self, config: EngineConfig, options: CheckOptions) -> None:
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
        options, registry = self.options, job.fixture.registry

        # Every engine gets the configured tools (a user engine too), or the replay's.
        def run(engine: Engine, tools: ToolRegistry = self.tools) -> EngineRun:
            return run_engine(
                engine,
                registry,
                case.inputs,
                case.conversation,
                timeout=options.timeout,
                tools=tools,
                cancel=case.cancel,
                roundtrip=options.roundtrip and not isinstance(engine, Relay),
            )

        extra = ()
        if options.replay:
            recorder = RecordingRegistry(self.tools)
            primary = run(self.primary, recorder)
            replayer = ReplayRegistry(recorder.recording(), self.tools)
            shadow = run(self.shadow, replayer)
            extra = (replayer.dimension(job.tolerances.weights.get("replay", REPLAY_WEIGHT)),)
        else:
            primary, shadow = run(self.primary), run(self.shadow)
        if options.noise_runs:
            reruns = [run(self.primary) for _ in range(options.noise_runs)]
            comparison = compare_with_noise(
                primary, shadow, reruns, job.fixture.workflow, job.tolerances, extra=extra
            )
        else:
            comparison = compare_runs(
                primary, shadow, job.fixture.workflow, job.tolerances, extra=extra
            )
        left = expect_failures(case.expect, primary, job.tolerances)
        right = expect_failures(case.expect, shadow, job.tolerances)
        held = None if case.expect is None else not (left or right)
        worst = comparison.worst
        performance = self._performance(job, case) if options.perf else None
        too_slow = performance is not None and _too_slow(performance, options.max_slowdown)
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
        )

    def _performance(self, job: Job, case: Case) -> PerfSummary:
        engines = {self.options.primary: self.primary, self.options.shadow: self.shadow}
        if len(engines) == 1:
            engines = {self.options.primary: self.primary, f"{self.options.shadow}'": self.shadow}
        options = PerfOptions(budget=self.options.perf_budget, config=self.options.config)
        return measure_case(job, case, options, self.config, engines).summary()


def _too_slow(performance: PerfSummary, max_slowdown: float | None) -> bool:
    """The shadow's wall time, with 95 % confidence, above `max_slowdown` × the primary's."""
    if max_slowdown is None or performance.problem is not None:
        return False
    wall = next(m for m in performance.metrics if m.name == "wall_seconds")
    return wall.ratio.low > max_slowdown


# Worker processes: each loads the configuration, the engines and its fixtures once.
_WORKER: dict[str, Any] = {}


def _worker_init(options: dict[str, Any], cwd: str) -> None:
    os.chdir(cwd)
    opts = CheckOptions.model_validate(options)
    config = _settings(opts)
    _WORKER.update(options=opts, config=config, runner=Runner(config, opts), jobs={})


def _worker_case(path: str, case_name: str) -> dict[str, Any]:
    jobs: dict[str, Job] = _WORKER["jobs"]
    if path not in jobs:
        (jobs[path],) = collect([path], _WORKER["config"], _WORKER["options"])
    job = jobs[path]
    report = _WORKER["runner"].case(job, job.fixture.case(case_name))
    return report.model_dump(mode="json")


Progress = Callable[[int, int, CaseReport], None]


def run_check(
    paths: Sequence[str | Path], options: CheckOptions, progress: Progress | None = None
) -> CheckReport:
    """Check every case under `paths`. Raises `SetupError` (before running) on bad input."""
    config = _settings(options)
    jobs = collect(paths, config, options)
    runner = Runner(config, options)  # loads the engines: fails here, before any run
    work = [(job, case) for job in jobs for case in job.cases]
    reports: list[CaseReport] = []
    if options.workers == 1 or len(work) == 1:
        for job, case in work:
            reports.append(runner.case(job, case))
            if progress:
                progress(len(reports), len(work), reports[-1])
    else:
        reports = _in_processes(work, options, progress)
    return _assemble(reports, options, jobs)


def _in_processes(
    work: list[tuple[Job, Case]], options: CheckOptions, progress: Progress | None
) -> list[CaseReport]:
    context = multiprocessing.get_context("spawn")
    found: dict[int, CaseReport] = {}
    with ProcessPoolExecutor(
        max_workers=min(options.workers, len(work)),
        mp_context=context,
        initializer=_worker_init,
        initargs=(options.model_dump(), os.getcwd()),
    ) as pool:
        futures = {
            pool.submit(_worker_case, str(job.path), case.name): index
            for index, (job, case) in enumerate(work)
        }
        for future in as_completed(futures):
            report = CaseReport.model_validate(future.result())
            found[futures[future]] = report
            if progress:
                progress(len(found), len(work), report)
    return [found[i] for i in range(len(work))]


def _assemble(reports: list[CaseReport], options: CheckOptions, jobs: list[Job]) -> CheckReport:
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
        perf=options.perf,
        max_slowdown=options.max_slowdown,
    )
    return CheckReport(
        ok=all(r.passed for r in reports), settings=settings, summary=summary, cases=tuple(reports)
    )


def check_options(**values: Any) -> CheckOptions:
    """`CheckOptions` from keyword values, or a `ConfigError` naming the bad one."""
    if values.get("min_score") is not None and values.get("policy") == "equivalence":
        raise ConfigError(
            "--min-score is a similarity gate (the threshold policy); it cannot be combined "
            "with --policy equivalence"
        )
    try:
        return CheckOptions(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "options"
        raise ConfigError(f"{name}: {first['msg']}") from None


__all__ = ["CheckOptions", "Runner", "check_options", "collect", "run_check"]
