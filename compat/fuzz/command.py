"""`compat fuzz`: the campaign on the terminal — a live line while it runs, then the
coverage table, each divergence as `compat diff` shows it, and where it was saved."""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from compat import render
from compat.check import Job
from compat.commands import _console as render_console
from compat.compare import compare_runs
from compat.fuzz.campaign import Fuzzer, FuzzOptions
from compat.fuzz.coverage import Coverage
from compat.fuzz.drive import Finding, FuzzReport, Tick, run_fuzz
from compat.fuzz.strategies import Example
from compat.outputs import write_atomically
from compat.publish import Targets, publish
from engines.documents import fixture_from_data
from engines.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str | None) -> float | None:
    """`90`, `90s`, `10m`, `1.5h` -> seconds."""
    if text is None:
        return None
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"--duration {text!r}: give seconds, or a number with s, m or h (10m)")
    seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if not 0 < seconds <= 7 * 86_400:
        raise ConfigError(f"--duration {text!r}: must be above 0 and at most 7 days")
    return seconds


def new_seed() -> int:
    return secrets.randbits(32)


def coverage_table(coverage: Coverage) -> Table:
    table = Table(title=f"coverage over {coverage.examples} examples", title_justify="left")
    table.add_column("group")
    table.add_column("feature")
    table.add_column("generated", justify="right")
    table.add_column("executed", justify="right")
    for group, name, generated, executed in coverage.rows():
        style = "red" if not executed else ""
        table.add_row(group, name, str(generated), str(executed), style=style)
    return table


@contextmanager
def _live(err: Console) -> Iterator[Tick | None]:
    if not err.is_terminal:
        yield None
        return
    with Live(Text("fuzzing…"), console=err, transient=True, refresh_per_second=4) as live:

        def tick(examples: int, divergences: int, seconds: float) -> None:
            rate = examples / seconds if seconds > 0 else 0.0
            live.update(
                Text(
                    f"fuzzing: {examples} examples, {rate:.0f}/s, "
                    f"{divergences} divergence{'s' if divergences != 1 else ''} so far, "
                    f"{seconds:.0f} s"
                )
            )

        yield tick


def show_finding(console: Console, finding: Finding, options: FuzzOptions, fuzzer: Fuzzer) -> None:
    """The shrunk example, run again and shown as `compat diff` shows a comparison."""
    found = finding.found
    dimension, kind, path = found.key
    modes = f", modes: {', '.join(found.modes)}" if found.modes else ""
    flaky = ", FLAKY: an engine is not deterministic" if found.flaky else ""
    console.print(
        f"[bold red]divergence[/] in {escape(dimension)}: {escape(kind)} at {escape(path)} "
        f"(shrunk to {found.nodes} nodes{modes}{flaky})",
        soft_wrap=True,
    )
    fixture = fixture_from_data(found.fixture, source="<fuzz>", base=Path.cwd(), tools=fuzzer.tools)
    example_case = fixture.cases[0]
    runner = fuzzer.runner(found.modes)
    job = Job(Path("<fuzz>"), fixture, fuzzer.tolerances, fixture.cases)
    left = runner.run("primary", job, example_case)
    right = runner.run("shadow", job, example_case)
    comparison = compare_runs(
        left, right, fixture.workflow, fuzzer.tolerances, registry=fixture.registry
    )
    console.print(render.side_by_side(left, right))
    if comparison.differences:
        console.print(render.comparison_table(comparison, left, right))
    if finding.path is not None:
        again = "reproduces" if finding.reproduced else "does NOT reproduce"
        command = escape(finding.command(options))
        console.print(
            f"saved: {escape(str(finding.path))} ({again} with: {command})",
            soft_wrap=True,
        )


def fuzz(
    options: FuzzOptions,
    *,
    save: str | None,
    json_path: str | None,
    targets: Targets | None = None,
    history: tuple[bool, str | None] = (False, None),
    config: Path | None = None,
) -> FuzzReport:
    from compat.history_commands import finish, plan

    planned = plan(history, None, config, kind="fuzz")  # a bad history: refused up front
    console = render_console()
    err = Console(stderr=True, highlight=False)
    err.print(
        f"compat fuzz: {escape(options.primary)} vs {escape(options.shadow)}, seed {options.seed}"
        + (f", features {escape(options.features)}" if options.features else ""),
        soft_wrap=True,
    )
    with _live(err) as tick:
        report = run_fuzz(options, save=save, tick=tick)
    console.print(coverage_table(report.coverage))
    if report.findings:
        fuzzer = Fuzzer(options.model_copy(update={"database": None}))
        for finding in report.findings:
            show_finding(console, finding, options, fuzzer)
    compared = report.examples + report.shrinking
    rate = compared / report.seconds if report.seconds > 0 else 0.0
    verdict = (
        "[green]no divergence[/]"
        if report.ok
        else f"[red]{len(report.findings)} distinct divergence(s)[/]"
    )
    shrunk = f" (+{report.shrinking} while shrinking)" if report.shrinking else ""
    repeats = f", {report.repeats} more examples of known divergences" if report.repeats else ""
    console.print(
        f"{report.examples} examples{shrunk} in {report.seconds:.1f} s ({rate:.0f}/s, "
        f"{_where(options)}), seed "
        f"{options.seed}{repeats}: {verdict}" + (" (interrupted)" if report.stopped else ""),
        soft_wrap=True,
    )
    if json_path:
        write_atomically(json_path, json.dumps(report.to_data(), indent=1, sort_keys=True))
        console.print(f"report: {escape(json_path)}")
    if targets is not None:
        # The saved JSON's data, so that the page is the one `compat report` renders.
        data = json.loads(json.dumps(report.to_data(), sort_keys=True))
        for line in publish("fuzz", data, targets):
            if line.startswith("::"):
                sys.stdout.write(line + "\n")
            else:
                console.print(escape(line), soft_wrap=True)
    if planned is not None:
        from compat.history import fuzz_record, run_meta

        data = json.loads(json.dumps(report.to_data(), sort_keys=True))
        finish(console, planned, fuzz_record(data, run_meta()))
    return report


def _where(options: FuzzOptions) -> str:
    if options.cluster is not None:
        return f"on the Dask cluster {options.cluster}"
    return f"{options.workers} worker{'s' if options.workers != 1 else ''}"


def invalid_campaign(
    *,
    examples: int | None,
    duration: float | None,
    seed: int,
    workers: int,
    json_path: str | None,
    save: str | None = None,
) -> bool:
    """`compat fuzz --invalid`: True when every entry point refused every invalid input
    cleanly (our error, naming the place; the CLI: one line, exit 2)."""
    from compat.fuzz.invalid import InvalidOptions, render_invalid, run_invalid, save_findings

    console = render_console()
    if examples is None and duration is None:
        examples = 1000
    options = InvalidOptions(examples=examples, duration=duration, seed=seed, workers=workers)
    Console(stderr=True, highlight=False).print(f"compat fuzz --invalid: seed {seed}")
    report = run_invalid(options)
    for line in render_invalid(report):
        console.print(escape(line), soft_wrap=True)
    if save and report.findings:
        saved = save_findings(report, Path(save))
        console.print(f"saved {len(saved)} files under {escape(save)}")
    if json_path:
        write_atomically(
            json_path, json.dumps(_plain(report), indent=1, sort_keys=True, default=str)
        )
        console.print(f"report: {escape(json_path)}")
    return not report.findings


def lifecycle_campaign(*, examples: int, seed: int) -> bool:
    """`compat fuzz --lifecycle`: True when every machine's run ended as the uninterrupted
    run; a failure prints the machine's steps and the differences."""
    from compat.fuzz.lifecycle import check_lifecycle

    console = render_console()
    Console(stderr=True, highlight=False).print(f"compat fuzz --lifecycle: seed {seed}")
    try:
        report = check_lifecycle(max_examples=examples, seed=seed)
    except AssertionError as failure:
        console.print(escape(str(failure)), soft_wrap=True)
        console.print(f"[red]a paused run did not end as the uninterrupted run[/] (seed {seed})")
        return False
    steps = ", ".join(f"{kind} {count}" for kind, count in sorted(report.steps.items()))
    endings = ", ".join(f"{kind} {count}" for kind, count in sorted(report.endings.items()))
    console.print(
        f"{report.machines} machines, steps: {steps}; runs ended: {endings}; seed {seed}: "
        "[green]every run ended as the uninterrupted run[/]",
        soft_wrap=True,
    )
    return True


def _plain(value: object) -> object:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


__all__ = [
    "Example",
    "fuzz",
    "invalid_campaign",
    "lifecycle_campaign",
    "new_seed",
    "parse_duration",
]
