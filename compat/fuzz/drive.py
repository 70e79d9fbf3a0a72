"""Driving a campaign: rounds in this process or in worker processes, merged in round order;
divergences saved as ordinary fixtures and checked to reproduce with `compat check`."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compat.check import CheckOptions, run_check
from compat.fuzz.campaign import FoundDivergence, Fuzzer, FuzzOptions, RoundResult, rounds
from compat.fuzz.coverage import Coverage
from compat.outputs import write_atomically
from compat.report import CaseReport


@dataclass
class Finding:
    """A distinct divergence, shrunk, and where it was saved."""

    found: FoundDivergence
    path: Path | None = None
    #: `compat check` on the saved fixture finds it incompatible again.
    reproduced: bool | None = None

    @property
    def report(self) -> CaseReport:
        return CaseReport.model_validate(self.found.report)

    def command(self, options: FuzzOptions) -> str:
        where = str(self.path) if self.path else "FIXTURE"
        return f"compat check {where}{check_flags(options, self.found.modes)}"


@dataclass
class FuzzReport:
    options: FuzzOptions
    #: Examples compared: generated, and while shrinking a divergence.
    examples: int = 0
    shrinking: int = 0
    seconds: float = 0.0
    rounds: int = 0
    coverage: Coverage = field(default_factory=Coverage)
    findings: list[Finding] = field(default_factory=list)
    #: Why the campaign ended before its plan: `interrupted`.
    stopped: str | None = None
    #: Divergent examples of an already known divergence (not shrunk again).
    repeats: int = 0
    #: Seconds from the start to the first divergent example (before shrinking it).
    first_divergence: float | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_data(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "options": self.options.model_dump(mode="json"),
            "examples": self.examples,
            "shrinking_examples": self.shrinking,
            "seconds": round(self.seconds, 3),
            "rounds": self.rounds,
            "repeats": self.repeats,
            "stopped": self.stopped,
            "first_divergence_seconds": self.first_divergence,
            "coverage": self.coverage.to_data(),
            "findings": [
                {
                    "key": list(f.found.key),
                    "round": f.found.round,
                    "modes": list(f.found.modes),
                    "nodes": f.found.nodes,
                    "flaky": f.found.flaky,
                    "saved": str(f.path) if f.path else None,
                    "reproduced": f.reproduced,
                    "fixture": f.found.fixture,
                    "report": f.found.report,
                }
                for f in self.findings
            ],
        }


Tick = Callable[[int, int, float], None]
"""progress(examples so far, distinct divergences so far, seconds)."""

_WORKER: Fuzzer | None = None


def _start_worker(options: FuzzOptions) -> None:
    global _WORKER
    _WORKER = Fuzzer(options)


def _worker_round(index: int, size: int) -> RoundResult:
    assert _WORKER is not None
    return _WORKER.run_round(index, size)


class _Merge:
    """Round results, merged in round order whatever order they finish in."""

    def __init__(self, report: FuzzReport, tick: Tick | None, started: float) -> None:
        self.report = report
        self.tick = tick
        self.started = started
        self.pending: dict[int, RoundResult] = {}
        self.next = 0
        self.keys: set[tuple[str, str, str]] = set()

    def add(self, result: RoundResult) -> None:
        if result.first_divergence is not None and self.report.first_divergence is None:
            # perf_counter is the system's monotonic clock: comparable across processes.
            offset = result.started - self.started
            self.report.first_divergence = offset + result.first_divergence
        self.pending[result.index] = result
        while self.next in self.pending:
            done = self.pending.pop(self.next)
            self.next += 1
            self.report.rounds += 1
            self.report.examples += done.examples
            self.report.shrinking += done.shrinking
            self.report.repeats += done.repeats
            self.report.coverage.merge(done.coverage)
            for found in done.found:
                if found.key not in self.keys:
                    self.keys.add(found.key)
                    self.report.findings.append(Finding(found))
        self.progress()

    def progress(self, extra: int = 0) -> None:
        if self.tick is not None:
            elapsed = time.perf_counter() - self.started
            done = self.report.examples + self.report.shrinking + extra
            self.tick(done, len(self.report.findings), elapsed)


def run_fuzz(options: FuzzOptions, save: str | None = None, tick: Tick | None = None) -> FuzzReport:
    """Run a campaign; save each distinct divergence under `save` and check it reproduces.
    Bad input raises one of our errors before any example runs. Ctrl-C stops the campaign
    and keeps (and saves) everything found in the rounds that finished."""
    fuzzer = Fuzzer(options)  # validates engines, tools and features: bad input fails here
    report = FuzzReport(options)
    started = time.perf_counter()
    deadline = None if options.duration is None else started + options.duration
    merge = _Merge(report, tick, started)
    try:
        if options.workers == 1:
            for index, size in rounds(options):
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                merge.add(
                    fuzzer.run_round(
                        index, size, lambda r: merge.progress(r.examples + r.shrinking)
                    )
                )
                if options.first and report.findings:
                    break
        else:
            _parallel(options, merge, deadline)
    except KeyboardInterrupt:
        report.stopped = "interrupted"
    report.seconds = time.perf_counter() - started
    if save:
        for finding in report.findings:
            finding.path = save_finding(finding.found, Path(save), options)
            finding.reproduced = reproduces(finding, options)
    return report


def _parallel(options: FuzzOptions, merge: _Merge, deadline: float | None) -> None:
    context = multiprocessing.get_context("forkserver")
    plan = rounds(options)
    with ProcessPoolExecutor(
        options.workers, mp_context=context, initializer=_start_worker, initargs=(options,)
    ) as pool:
        running: set[Future[RoundResult]] = set()
        try:
            while True:
                while len(running) < options.workers and (
                    deadline is None or time.perf_counter() < deadline
                ):
                    step = next(plan, None)
                    if step is None:
                        break
                    running.add(pool.submit(_worker_round, *step))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=id):
                    merge.add(future.result())
        except KeyboardInterrupt:
            for future in running:
                future.cancel()
            raise


def _slug(text: str) -> str:
    kept = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in kept.split("-") if part)[:40] or "divergence"


def check_flags(options: FuzzOptions, modes: tuple[str, ...]) -> str:
    """The `compat check` options that reproduce a finding: engines (unless the defaults),
    modes and configuration."""
    flags = ""
    if options.primary != "graph":
        flags += f" --primary {options.primary}"
    if options.shadow != "journey":
        flags += f" --shadow {options.shadow}"
    flags += "".join(f" --{mode}" for mode in modes)
    if options.config:
        flags += f" --config {options.config}"
    return flags


def save_finding(found: FoundDivergence, folder: Path, options: FuzzOptions) -> Path:
    """Write the shrunk example as an ordinary fixture; named by its content, so the same
    divergence found again is the same file."""
    dimension, kind, path = found.key
    body = json.dumps(found.fixture, sort_keys=True).encode()
    name = f"fuzz-{_slug(dimension)}-{_slug(kind)}-{hashlib.sha256(body).hexdigest()[:10]}.yaml"
    target = folder / name
    description = (
        f"Found by compat fuzz (seed {options.seed}, round {found.round}): the engines differ "
        f"in {dimension} ({kind} at {path}). Reproduce with: compat check {target}"
        f"{check_flags(options, found.modes)}"
    )
    document = {"description": description, **found.fixture}
    document["cases"] = [dict(case, name="found") for case in document["cases"]]
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    write_atomically(str(target), text)
    return target


def reproduces(finding: Finding, options: FuzzOptions) -> bool:
    """`compat check` on the saved fixture (same engines and modes) finds a difference."""
    assert finding.path is not None
    check = CheckOptions(
        primary=options.primary,
        shadow=options.shadow,
        timeout=options.timeout,
        in_process=True,
        config=options.config,
        **{mode: True for mode in finding.found.modes},
    )
    result = run_check([finding.path], check)
    return not all(case.compatible for case in result.cases)
