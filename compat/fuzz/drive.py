"""Driving a campaign: rounds in this process or in worker processes, merged in round order;
divergences saved as ordinary fixtures and checked to reproduce with `compat check`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compat.check import CheckOptions, run_check
from compat.executors.process import Done, Raised, cause
from compat.fuzz.campaign import FoundDivergence, Fuzzer, FuzzOptions, RoundResult, rounds
from compat.fuzz.coverage import Coverage
from compat.outputs import write_atomically
from compat.report import CaseReport
from engines.config import load_config


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


def fuzz_setup(options: FuzzOptions) -> Fuzzer:
    """A worker's fuzzer (engines, tools, strategies), made once per worker."""
    return Fuzzer(options)


def fuzz_round(fuzzer: Fuzzer, notes: Any, index: int, size: int) -> RoundResult:
    """A worker's task: one round."""
    return fuzzer.run_round(index, size)


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

    def flush(self) -> None:
        """Merge what finished after a round that never will (the campaign stopped)."""
        if self.pending:
            self.next = min(self.pending)
            self.add(self.pending.pop(self.next))

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
            _spread(options, merge, deadline)
    except KeyboardInterrupt:
        report.stopped = "interrupted"
    except _Stopped as stop:
        report.stopped = str(stop)
    merge.flush()
    report.seconds = time.perf_counter() - started
    if save:
        for finding in report.findings:
            finding.path = save_finding(finding.found, Path(save), options)
            finding.reproduced = reproduces(finding, options)
    return report


class _Stopped(Exception):
    """The campaign cannot go on (a round kept killing its worker, the cluster went away)."""


def _spread(options: FuzzOptions, merge: _Merge, deadline: float | None) -> None:
    """Rounds on `--workers` processes or a `--cluster`, handed out while the plan and the
    duration last (and, with `first`, until a divergence is found)."""
    from compat.executors.pools import open_executor

    def plan() -> Iterator[tuple[int, int]]:
        for step in rounds(options):
            if deadline is not None and time.perf_counter() >= deadline:
                return
            if options.first and merge.report.findings:
                return
            yield step

    lost: type[BaseException] = _Never
    if options.cluster is not None:
        from compat.executors.cluster import ClusterLost

        lost = ClusterLost
    modules, root = fuzz_modules(options)
    with open_executor(
        workers=options.workers, cluster=options.cluster, modules=modules, root=root
    ) as executor:
        stream = executor.stream(fuzz_setup, (options,), fuzz_round, plan())
        try:
            with contextlib.closing(stream):
                for index, answer in stream:
                    if isinstance(answer, Done):
                        merge.add(answer.value)
                    elif isinstance(answer, Raised):
                        answer.reraise_refusal()
                        raise RuntimeError(f"fuzz round {index}: {answer.error}")
                    else:
                        raise _Stopped(f"round {index} did not finish: {cause(answer)}")
        except lost as exc:
            raise _Stopped(f"lost the Dask scheduler ({executor.where}): {exc}") from None


class _Never(Exception):
    """Never raised: what is caught when no cluster can be lost."""


def fuzz_modules(options: FuzzOptions) -> tuple[list[str], str | None]:
    """What a cluster's workers must import for this campaign, and the configuration's
    folder (on their path while they import)."""
    from compat.executors.cluster import modules_of

    config = load_config(path=options.config) if options.config else load_config()
    named = (options.primary, options.shadow, *([options.tools] if options.tools else []))
    modules = modules_of(named, config.tool_modules, "compat.fuzz.drive")
    return modules, None if config.root is None else str(config.root)


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
