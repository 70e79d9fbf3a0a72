"""What the CLI's commands do, apart from declaring their options (compat/cli.py).

Each returns whether the command succeeded (the CLI maps False to exit 1) and raises one of
our `SetupError`s on bad input (exit 2).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compat.executors.process import DEFAULT_MEMORY_MB
from engines.errors import ConfigError

if TYPE_CHECKING:  # each command imports what it needs: `compat --help` imports none of it
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from compat.adhoc import Target
    from compat.engines import EngineRun
    from compat.history_commands import HistoryPlan
    from compat.perf.report import CasePerf
    from compat.publish import Targets
    from compat.report import CaseReport
    from engines.config import EngineConfig


def escape(text: object) -> str:
    """`text` rich-escaped and free of terminal controls (compat/safe_text.py)."""
    from compat.safe_text import markup

    return markup(text)


class ExportFormat(StrEnum):
    PARLANT = "parlant"
    MERMAID = "mermaid"


def _config(path: Path | None) -> EngineConfig:
    from engines.config import load_config

    return load_config(path=path) if path else load_config()


class _Later:
    """Lines for a console, printed later (`replay`): what a step said before the output
    it belongs after was ready."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def print(self, text: str, **options: Any) -> None:
        self.lines.append((text, options))

    def replay(self, console: Console) -> None:
        for text, options in self.lines:
            console.print(text, **options)


def _console() -> Console:
    """Rich's console; off a terminal (pipes, CI logs) 120 columns unless COLUMNS says."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, soft_wrap=False, width=120)
    return console


@contextmanager
def _bar(err: Console, label: str) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar on stderr (only shown on a terminal), cleared when done."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        yield bar, bar.add_task("", total=None)


def _write(json_path: str, text: str) -> None:
    from compat.outputs import write_atomically

    write_atomically(json_path, text)  # a killed run leaves no half-written report


def check(
    paths: Sequence[Path],
    *,
    primary: str,
    shadow: str,
    json_path: str | None,
    min_score: float | None,
    noise_runs: int,
    replay: bool,
    workers: int,
    timeout: float,
    perf: bool = False,
    max_slowdown: float | None = None,
    policy: str | None = None,
    roundtrip: bool = False,
    handoff: bool = False,
    in_process: bool = False,
    memory_mb: int = DEFAULT_MEMORY_MB,
    config: Path | None,
    targets: Targets | None = None,
    history: tuple[bool, str | None] = (False, None),
    gate: tuple[str, bool, float] | None = None,
    cluster: str | None = None,
) -> bool:
    import time

    from rich.console import Console

    from compat import render
    from compat.check import check_options, run_check
    from compat.history_commands import plan
    from compat.outputs import refuse_overwrite
    from compat.publish import Targets, publish

    targets = targets or Targets()
    if max_slowdown is not None and not perf:
        raise ConfigError("--max-slowdown needs --perf (it gates on the measured slowdown)")
    refuse_overwrite(json_path, paths, config)  # before anything runs
    targets.refuse_inputs(paths, config)
    options = check_options(
        primary=primary,
        shadow=shadow,
        policy=policy,
        min_score=min_score,
        roundtrip=roundtrip,
        handoff=handoff,
        noise_runs=noise_runs,
        replay=replay,
        workers=workers,
        timeout=timeout,
        perf=perf,
        max_slowdown=max_slowdown,
        in_process=in_process,
        memory_mb=memory_mb,
        config=str(config) if config else None,
        cluster=cluster,
        # A saved report keeps every case's workflow and runs, for `compat report --html`.
        details=targets.wants_detail or bool(json_path),
    )
    # The history opened (its schema checked) and the baseline resolved before any case
    # runs: a bad --baseline or history is refused up front, not after the whole run.
    planned = plan(history, gate, config)
    err = Console(stderr=True, highlight=False)
    started = time.perf_counter()
    if err.is_terminal:
        with _bar(err, "checking") as (bar, task):

            def advance(done: int, total: int, case: CaseReport) -> None:
                bar.update(task, completed=done, total=total, description=escape(case.case))

            report = run_check(paths, options, advance)
    else:
        report = run_check(paths, options)
    seconds = time.perf_counter() - started
    # Gated and recorded before the files are written (the page's trend shows this run);
    # what came of it is said after the table.
    said: Any = _Later() if json_path != "-" else err
    verdict = _history_of_check(said, report, options, seconds, planned, config)
    if json_path == "-":
        sys.stdout.write(report.to_json())
        for line in publish("check", report, Targets(html=targets.html, junit=targets.junit)):
            err.print(escape(line), soft_wrap=True)
        _stop_if_incomplete(report, "the JSON report on stdout")
        return report.ok if verdict is None else verdict
    if json_path:
        _write(json_path, report.to_json())
    published = publish("check", report, targets, trend=_trend(targets, planned))
    console = _console()
    if targets.format == "text":
        console.print(render.check_table(report))
    console.print(render.check_summary(report))
    if json_path:
        console.print(f"report: {escape(json_path)}")
    _print_published(console, published)
    if isinstance(said, _Later):
        said.replay(console)
    _stop_if_incomplete(report, json_path)
    return report.ok if verdict is None else verdict


def _stop_if_incomplete(report: Any, where: str | None) -> None:
    """A campaign cut short (its cluster's scheduler went away) is an error, once what
    came back has been written, recorded and shown."""
    if report.incomplete is None:
        return
    kept = f"; the {len(report.cases)} that did are in {where}" if where else ""
    raise ConfigError(f"{report.incomplete}{kept}")


def _rooted(report: Any, config: Path | None) -> Any:
    """The report with each fixture named relative to the project's root (the
    configuration's folder, else the working directory), so that a case keeps one name in
    the history however the fixtures were named on the command line."""
    import os

    from engines.config import load_config

    settings = load_config(path=config) if config else load_config()
    root = (settings.root or Path.cwd()).resolve()
    cases = []
    for case in report.cases:
        path = Path(case.fixture).resolve()
        name = os.path.relpath(path, root) if path.is_relative_to(root) else str(path)
        cases.append(case.model_copy(update={"fixture": Path(name).as_posix()}))
    return report.model_copy(update={"cases": tuple(cases)})


def _trend(targets: Targets, planned: HistoryPlan | None) -> Any:
    """The mean score over the recorded runs — this one, recorded already, last — for the
    page's overview (when there is a page and a history)."""
    if not targets.html or planned is None or not planned.recording:
        return None
    from compat.history import open_history
    from compat.html.trend import trend_svg

    with open_history(planned.url) as store:
        points = store.trend(None, limit=29)
    return trend_svg(points) or None


def _history_of_check(
    console: Any,
    report: Any,
    options: Any,
    seconds: float,
    planned: HistoryPlan | None,
    config: Path | None,
) -> bool | None:
    """Gate the run against the planned baseline and record it, as asked; the gate's
    verdict."""
    if planned is None:
        return None
    from compat.history import check_record, run_meta
    from compat.history_commands import finish

    current = check_record(
        _rooted(report, config),
        run_meta(),
        seconds=seconds,
        options=options.model_dump(mode="json"),
    )
    return finish(console, planned, current)


def perf(
    paths: Sequence[Path],
    *,
    primary: str,
    shadow: str,
    repeat: int | None,
    isolate: bool,
    scaling: bool,
    band: float,
    case: str | None = None,
    json_path: str | None,
    timeout: float = 600.0,
    in_process: bool = False,
    memory_mb: int = DEFAULT_MEMORY_MB,
    config: Path | None,
    targets: Targets | None = None,
    history: tuple[bool, str | None] = (False, None),
    cluster: str | None = None,
) -> bool:
    from rich.console import Console

    from compat.history_commands import plan
    from compat.outputs import refuse_overwrite
    from compat.perf.render import print_report
    from compat.perf.run import perf_options, run_perf
    from compat.publish import Targets, publish

    targets = targets or Targets()
    refuse_overwrite(json_path, paths, config)  # before anything runs
    targets.refuse_inputs(paths, config)
    options = perf_options(
        primary=primary,
        shadow=shadow,
        repeat=repeat,
        isolate=isolate,
        scaling=scaling,
        band=band,
        case=case,
        timeout=timeout,
        in_process=in_process,
        memory_mb=memory_mb,
        config=str(config) if config else None,
        cluster=cluster,
    )
    planned = plan(history, None, config, kind="perf")  # the history checked up front
    err = Console(stderr=True, highlight=False)
    if err.is_terminal:
        with _bar(err, "measuring") as (bar, task):

            def advance(done: int, total: int, case: CasePerf) -> None:
                bar.update(task, completed=done, total=total, description=escape(case.case))

            report = run_perf(paths, options, advance)
    else:
        report = run_perf(paths, options)
    if json_path:
        _write(json_path, report.to_json())
    published = publish("perf", report, targets)
    console = _console()
    if targets.format == "text":
        print_report(console, report)
    for problem in report.problems:
        console.print(f"[red]not measured[/]: {escape(problem)}")
    unmeasured = [c for c in report.cases if c.problem is not None]
    for case in unmeasured:
        console.print(
            f"[red]not measured[/]: {escape(Path(case.fixture).name)}::{escape(case.case)}: "
            f"{escape(case.problem or '')}"
        )
    if json_path:
        console.print(f"report: {escape(json_path)}")
    _print_published(console, published)
    if planned is not None:
        from compat.history import perf_record, run_meta
        from compat.history_commands import finish

        finish(console, planned, perf_record(report, run_meta(), band=band))
    # A measurement that did not finish is no result: never exit 0 on it.
    return not unmeasured and not report.problems


def _print_published(console: Any, lines: list[str]) -> None:
    """GitHub annotations raw on standard output (the runner reads them there); the rest
    through the console."""
    for line in lines:
        if line.startswith("::"):
            sys.stdout.write(line + "\n")
        else:
            console.print(escape(line), soft_wrap=True)


def report(saved: str, targets: Targets) -> bool:
    """`compat report`: a saved JSON report rendered again; whether it says all went well."""
    from compat.publish import load_saved, publish

    kind, loaded = load_saved(saved)
    targets.refuse_inputs([saved], None)
    _print_published(_console(), publish(kind, loaded, targets))
    if kind == "check":
        return bool(loaded.ok)
    if kind == "perf":
        return not loaded.problems and all(c.problem is None for c in loaded.cases)
    return bool(loaded.get("ok"))


def run(
    target: Path,
    *,
    engine: str,
    inputs: str | None,
    conversation: str | None,
    case: str | None,
    as_json: bool,
    timeout: float,
    in_process: bool = False,
    memory_mb: int = DEFAULT_MEMORY_MB,
    config: Path | None,
) -> bool:
    from compat import render
    from engines.result import RunStatus

    given = Given(target, case, inputs, conversation)
    with _engine_runs(given, config, in_process, memory_mb, timeout) as (_, _chosen, execute):
        outcome = execute(engine)
    console = _console()
    if outcome.result is None:
        console.print(
            f"[red]{escape(outcome.engine)} {outcome.status}[/]: {escape(outcome.error or '')}"
        )
        return False
    if as_json:
        sys.stdout.write(outcome.result.model_dump_json(indent=2) + "\n")
    else:
        render.print_result(console, outcome.result)
    return outcome.result.status in (RunStatus.COMPLETED, RunStatus.PAUSED)


@dataclass(frozen=True)
class Given:
    """What `run` and `diff` were given to run: a target, and its case or inputs."""

    target: Path
    case: str | None
    inputs: str | None
    conversation: str | None


@contextmanager
def _engine_runs(
    given: Given, config: Path | None, in_process: bool, memory_mb: int, timeout: float
) -> Iterator[tuple[EngineConfig, Target, Callable[[str], EngineRun]]]:
    """The configuration, the target loaded, and a way to run an engine on it: in a worker
    process (tools imported there first, the run killed at the timeout) or, with
    `--in-process`, in a thread."""
    from compat.adhoc import load_target
    from compat.engines import load_engine, run_engine
    from compat.executors.adhoc import run_in_worker, tool_worker

    worker = None if in_process else tool_worker(config, memory_mb or None, timeout)
    try:
        settings = _config(config)
        tools = settings.tool_registry()
        chosen = load_target(
            given.target,
            tools,
            case=given.case,
            inputs=given.inputs,
            conversation=given.conversation,
            roots=settings.workflow_root_paths(),
        )

        def execute(spec: str) -> EngineRun:
            if worker is not None:
                return run_in_worker(
                    worker,
                    spec,
                    given.target,
                    case=given.case,
                    inputs=given.inputs,
                    conversation=given.conversation,
                    timeout=timeout,
                )
            return run_engine(
                load_engine(spec, tools=tools, env=settings.environment()),
                chosen.registry,
                chosen.inputs,
                chosen.conversation,
                timeout=timeout,
                tools=tools,
                cancel=chosen.cancel,
            )

        yield settings, chosen, execute
    finally:
        if worker is not None:
            worker.close()


def diff(
    target: Path,
    *,
    inputs: str | None,
    conversation: str | None,
    case: str | None,
    primary: str,
    shadow: str,
    timeout: float,
    policy: str | None = None,
    in_process: bool = False,
    memory_mb: int = DEFAULT_MEMORY_MB,
    config: Path | None,
) -> bool:
    from compat import render
    from compat.adhoc import target_tolerances
    from compat.compare import compare_runs

    given = Given(target, case, inputs, conversation)
    with _engine_runs(given, config, in_process, memory_mb, timeout) as (
        settings,
        chosen,
        execute,
    ):
        tol = target_tolerances(settings, chosen, policy)
        left = execute(primary)
        right = execute(shadow)
    comparison = compare_runs(left, right, chosen.registry.main, tol, registry=chosen.registry)
    console = _console()
    label = f"{chosen.source}" + (f"::{chosen.case}" if chosen.case else "")
    console.print(render.side_by_side(left, right))
    if comparison.differences:
        console.print(render.comparison_table(comparison, left, right))
    console.print(render.scores_table(comparison))
    verdict = "[green]compatible[/]" if comparison.compatible else "[red]incompatible[/]"
    console.print(
        f"{escape(label)}: {verdict} ({comparison.policy}), score {comparison.score:.3f}, "
        f"{len(comparison.differences)} differences",
        soft_wrap=True,  # one line, however long the path: CI logs are read by grep too
    )
    return comparison.compatible


def export_journey(
    target: Path, format: ExportFormat, *, workflow: str | None, config: Path | None
) -> str:
    from compat.adhoc import load_target
    from engines.clock import VirtualClock
    from engines.journey import JourneyEngine
    from engines.journey.export import to_mermaid, to_parlant

    settings = _config(config)
    tools = settings.tool_registry()
    chosen = load_target(target, tools, roots=settings.workflow_root_paths())
    registry = chosen.registry
    if workflow is not None and workflow not in registry:
        known = ", ".join(sorted(w.id for w in registry.values()))
        raise ConfigError(f"--workflow: no workflow {workflow!r} in {target} (it has: {known})")
    validated = registry[workflow] if workflow else registry.main
    engine = JourneyEngine(tools=tools, clock=VirtualClock(), env=settings.environment())
    journey = engine.blueprint(validated, registry).journey
    if format is ExportFormat.PARLANT:
        return to_parlant(journey, workflow_hash=validated.content_hash)
    return to_mermaid(journey)


def report_schema_text() -> str:
    from compat.report import schema_text

    return schema_text()
