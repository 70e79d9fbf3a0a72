"""`compat fuzz --invalid`: invalid documents fed to every entry point that reads one.

Inputs (compat/fuzz/mutations.py) are valid workflows, fixtures and ReactFlow flows broken
by structure-aware and textual mutations, and random JSON and YAML. Each goes to the
in-memory entry points (`validate_workflow`, `workflow_from_data` — the ReactFlow import
path —, `import_reactflow`, `fixture_from_data`) and, written to a file, to one of the ones
that read files (`read_document`, `load_workflow`, `load_fixture`, `load_target` — what
`compat run` reads —, `validate_paths`, in turn by kind and index: they share
`read_document`, and PyYAML reads ~100 KB a second, so one parse an input keeps the rate
up); every `cli_every`-th input also goes to the real `compat validate`, `compat check
--in-process` or `compat run` in a subprocess.

Inputs run in batches in worker processes (compat/executors/process.py). The worker says
which call it starts (a note), and each call has its own deadline of `timeout` seconds: a
call past it, or one that kills the worker, is named exactly — input and entry point — and
the batch runs again in a fresh worker without that call. Nothing else is re-run.

A finding is one of:

* `traceback` — an entry point raised anything but our `CompatError`s (or the CLI printed
  a traceback, or exited with a code other than 0, 1 or 2 — 3 is compat's internal error);
* `hang` — a call took longer than `timeout` seconds;
* `crash` — the worker process died during a call (a signal, an exit, out of memory);
* `unplaced` — a refusal that does not name the place. The rule:
  1. it names its source: the `source` of a `DocumentError` or `InvalidDocument` is the file
     read, or the source given to an in-memory entry point (`import_reactflow` takes none);
     any other `CompatError` quotes the source in its message;
  2. an `InvalidDocument` holds at least one problem, each with a message and a location,
     and a problem may have an empty location only when it is about the whole document:
     the document is not a mapping, or not the kind the entry point reads (not a workflow
     or flow for `workflow_from_data` and `load_workflow`, no ReactFlow graph in it for
     `import_reactflow`);
  3. a `DocumentError` that says the text does not parse ("not valid JSON/YAML") names a
     line, unless it is a limit on the document as a whole (nesting once aliases are
     expanded);
  4. `validate_paths`: every line names the file, and an invalid file has at least one line
     saying more than its name; the CLI: `compat validate` prints only lines naming the
     file, and any command that refuses its input (exit 2) prints exactly one line on
     standard error, starting `compat:`, and (but for validate's count) naming the file.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compat.executors.process import Died, Done, Raised, TimedOut, WorkerProcess
from compat.fuzz.invalid_checks import (
    CLI_COMMANDS,
    DATA_ENTRIES,
    FILE_ENTRIES,
    Outcome,
    check_batch,
    run_cli,
    setup_worker,
)
from compat.fuzz.invalid_seeds import support_files
from compat.fuzz.invalid_text import TEXT_MUTATIONS
from compat.fuzz.mutations import DATA_MUTATIONS, RANDOM_ORIGINS, make_input
from engines.errors import ConfigError

ENTRY_POINTS = (*DATA_ENTRIES, *FILE_ENTRIES, *(f"cli {c}" for c in CLI_COMMANDS))
KINDS = ("traceback", "hang", "crash", "unplaced")
#: Every mutation category and input origin the report counts.
CATEGORIES = (*DATA_MUTATIONS, *TEXT_MUTATIONS, *RANDOM_ORIGINS)
_BATCH = 40


@dataclass(frozen=True)
class InvalidOptions:
    """`examples` inputs, or as many as `duration` seconds allow (the first limit reached;
    neither: 1,000); `timeout` seconds per call; `workers` processes; every `cli_every`-th
    input also through the real command line (0: never)."""

    examples: int | None = None
    duration: float | None = None
    seed: int = 0
    timeout: float = 10.0
    workers: int = 1
    cli_every: int = 100

    def __post_init__(self) -> None:
        if self.examples is not None and self.examples < 1:
            raise ConfigError(f"examples: {self.examples} is not a number of inputs (≥ 1)")
        if self.duration is not None and not 0 < self.duration < float("inf"):
            raise ConfigError(f"duration: {self.duration} is not a number of seconds (> 0)")
        if not 0 < self.timeout < float("inf"):
            raise ConfigError(f"timeout: {self.timeout} is not a number of seconds (> 0)")
        if self.workers < 1 or self.cli_every < 0:
            raise ConfigError("workers must be at least 1 and cli_every at least 0")


@dataclass(frozen=True)
class InvalidFinding:
    kind: str
    entry: str
    index: int
    origin: str
    mutations: tuple[str, ...]
    detail: str
    #: The input as a file (its bytes and suffix) and, for in-memory entry points, as data
    #: (its `repr`, which Python reads back, NaN and dates included).
    raw: bytes | None
    suffix: str
    data: str | None
    #: Inputs that gave this same finding (same kind, entry point and cause); this is the first.
    count: int = 1


@dataclass
class EntryCounts:
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    findings: int = 0


@dataclass
class InvalidReport:
    seed: int
    inputs: int = 0
    seconds: float = 0.0
    entries: dict[str, EntryCounts] = field(
        default_factory=lambda: {e: EntryCounts() for e in ENTRY_POINTS}
    )
    #: Inputs each mutation category (or random origin) made.
    mutations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    origins: dict[str, int] = field(default_factory=dict)
    findings: list[InvalidFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


# --------------------------------------------------------------------------- the run

Result = tuple[str, tuple[str, ...], list[Outcome]]


def _stage(label: str | None) -> tuple[int, str] | None:
    index, _, entry = (label or "").partition(" ")
    return (int(index), entry) if index.isdigit() and entry else None


def _run_batch(worker: WorkerProcess, options: InvalidOptions, start: int, stop: int):
    """{index: Result} for inputs `start` to `stop`; a call that hangs or kills the worker
    is that input's finding, and the batch is run again without it."""
    skip: set[tuple[int, str]] = set()
    failed: list[tuple[int, Outcome]] = []
    for _ in range(stop - start + 10):
        answer = worker.call(
            check_batch,
            options.seed,
            start,
            stop,
            frozenset(skip),
            timeout=options.timeout,
            on_note=lambda _label: options.timeout,
        )
        if isinstance(answer, Done):
            results = {index: (origin, muts, outs) for index, origin, muts, outs in answer.value}
            for index, outcome in failed:
                results.setdefault(index, ("fuzzer", (), []))[2].append(outcome)
            return results
        stage = _stage(answer.stage)
        if stage is None or stage in skip:
            break
        if isinstance(answer, TimedOut):
            kind, detail = "hang", f"no answer within {answer.seconds:g} s"
        elif isinstance(answer, Died):
            kind, detail = "crash", answer.cause
        else:
            assert isinstance(answer, Raised)
            kind, detail = "traceback", f"the fuzzer's task failed: {answer.error[:300]}"
        entry = "fuzzer" if stage[1] == "generate" else stage[1]  # making the input failed
        failed.append((stage[0], Outcome(entry, kind, detail, f"{kind} {detail[:80]}")))
        skip.add(stage)
    outcome = Outcome("fuzzer", "traceback", f"inputs {start}-{stop - 1} could not be checked")
    return {start: ("fuzzer", (), [outcome])}


class _Run:
    def __init__(self, options: InvalidOptions, progress: Callable[[int, int], None] | None):
        self.options = options
        self.progress = progress
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.deadline = self.started + options.duration if options.duration else None
        self.limit = options.examples or (None if options.duration else 1000)
        self.batches = 0
        self.results: dict[int, Result] = {}
        self.cli: dict[int, Result] = {}
        self.findings = 0
        self.errors: list[BaseException] = []

    def over(self, index: int) -> bool:
        out_of_time = self.deadline is not None and time.monotonic() >= self.deadline
        return bool(self.errors) or out_of_time or (self.limit is not None and index >= self.limit)

    def take(self) -> tuple[int, int] | None:
        with self.lock:
            start = self.batches * _BATCH
            if self.over(start):
                return None
            self.batches += 1
            return start, start + _BATCH if self.limit is None else min(self.limit, start + _BATCH)

    def add(self, results: dict[int, Result], cli: bool = False) -> None:
        with self.lock:
            (self.cli if cli else self.results).update(results)
            self.findings += sum(
                o.verdict not in ("accepted", "refused") for r in results.values() for o in r[2]
            )
            if self.progress is not None and not cli:
                self.progress(len(self.results), self.findings)

    def lane(self, work: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                work()
            except BaseException as exc:
                with self.lock:
                    self.errors.append(exc)

        thread = threading.Thread(target=guarded, daemon=True)
        thread.start()
        return thread


def _worker_lane(run: _Run, folder: Path, setup: Callable[[str], Any]) -> None:
    with WorkerProcess(setup, (str(folder),), name="compat-fuzz-invalid") as worker:
        while (batch := run.take()) is not None:
            run.add(_run_batch(worker, run.options, *batch))


def _cli_lane(run: _Run, folder: Path) -> None:
    support_files(folder)
    every = run.options.cli_every
    index = 0
    while not run.over(index):
        item = make_input(run.options.seed, index)
        if item.raw is not None:
            command = CLI_COMMANDS[(index // every) % len(CLI_COMMANDS)]
            outcome = run_cli(folder, item, command, run.options.timeout)
            run.add({index: (item.origin, item.mutations, [outcome])}, cli=True)
        index += every


def run_invalid(
    options: InvalidOptions,
    progress: Callable[[int, int], None] | None = None,
    *,
    setup: Callable[[str], Any] = setup_worker,
) -> InvalidReport:
    """Fuzz every entry point with invalid documents; `progress(inputs done, findings)` is
    told after each batch. Deterministic: the same seed and examples give the same report
    (but for `seconds`, and hangs, which depend on the machine). `setup` builds a worker's
    state (`setup_worker`; a test gives one that breaks an entry point in the worker)."""
    run = _Run(options, progress)
    with tempfile.TemporaryDirectory(prefix="compat-fuzz-invalid-") as tmp:
        lanes = [
            run.lane(lambda n=n: _worker_lane(run, Path(tmp) / f"worker{n}" / "work", setup))
            for n in range(options.workers)
        ]
        if options.cli_every:
            lanes.append(run.lane(lambda: _cli_lane(run, Path(tmp) / "cli" / "work")))
        try:
            for lane in lanes:
                lane.join()
        except BaseException as exc:  # an interrupt: lanes take no more work, workers end
            with run.lock:
                run.errors.append(exc)
            raise
    if run.errors:
        raise run.errors[0]
    return _assemble(options.seed, run.results, run.cli, time.monotonic() - run.started)


def _assemble(
    seed: int, results: dict[int, Result], cli: dict[int, Result], seconds: float
) -> InvalidReport:
    report = InvalidReport(seed, seconds=seconds)
    merged = {index: (r[0], r[1], list(r[2])) for index, r in results.items()}
    for index, (origin, mutations, outcomes) in cli.items():
        merged.setdefault(index, (origin, mutations, []))[2].extend(outcomes)
    origins: Counter[str] = Counter()
    groups: dict[tuple[str, str, str], list[tuple[int, Outcome]]] = {}
    for index in sorted(merged):
        origin, mutations, outcomes = merged[index]
        report.inputs += 1
        origins[origin.split(":")[0]] += 1
        for category in {*mutations, origin}:
            if category in report.mutations:
                report.mutations[category] += 1
        for outcome in outcomes:
            counts = report.entries.setdefault(outcome.entry, EntryCounts())
            counts.tried += 1
            if outcome.verdict in ("accepted", "refused"):
                setattr(counts, outcome.verdict, getattr(counts, outcome.verdict) + 1)
                continue
            counts.findings += 1
            key = (outcome.verdict, outcome.entry, outcome.signature)
            groups.setdefault(key, []).append((index, outcome))
    report.origins = dict(sorted(origins.items()))
    for (kind, entry, _), hits in groups.items():
        index, outcome = hits[0]
        item = make_input(seed, index)
        data = repr(item.data) if item.has_data else None
        report.findings.append(
            InvalidFinding(
                kind, entry, index, item.origin, item.mutations, outcome.detail,
                item.raw, item.suffix, data, len(hits),
            )
        )  # fmt: skip
    report.findings.sort(key=lambda f: (f.index, f.entry))
    return report


# --------------------------------------------------------------------------- output


def _n(count: int) -> str:
    return f"{count:,}"


def render_invalid(report: InvalidReport) -> list[str]:
    """The lines `compat fuzz --invalid` prints."""
    rate = report.inputs / report.seconds if report.seconds else 0.0
    lines = [
        f"compat fuzz --invalid: {_n(report.inputs)} inputs in {report.seconds:.1f} s "
        f"({rate:,.0f} per second), seed {report.seed}",
        f"  {'entry point':<20} {'tried':>9} {'refused':>9} {'accepted':>9} {'findings':>9}",
    ]
    for entry, c in report.entries.items():
        row = (c.tried, c.refused, c.accepted, c.findings)
        lines.append(f"  {entry:<20} " + " ".join(f"{_n(v):>9}" for v in row))
    made = sorted(report.mutations.items(), key=lambda kv: (-kv[1], kv[0]))
    lines.append("inputs by mutation: " + ", ".join(f"{k} {_n(v)}" for k, v in made))
    origins = report.origins.items()
    lines.append("inputs by origin: " + ", ".join(f"{k} {_n(v)}" for k, v in origins))
    if report.ok:
        lines.append("no findings: no traceback, no hang, no crash, every refusal names its place")
        return lines
    kinds = Counter(f.kind for f in report.findings)
    summary = ", ".join(f"{kinds[k]} {k}" for k in KINDS if kinds[k])
    lines.append(f"{len(report.findings)} findings ({summary}):")
    for f in report.findings:
        more = f" (and {_n(f.count - 1)} more inputs)" if f.count > 1 else ""
        how = f"{f.origin}" + (f" + {', '.join(f.mutations)}" if f.mutations else "")
        lines.append(f"  [{f.kind}] {f.entry}, input {f.index} ({how}): {f.detail}{more}")
    return lines


def save_findings(report: InvalidReport, folder: str | Path) -> list[Path]:
    """Write each finding's reproducer into `folder`: `NNN-kind-entry.txt` says what and
    how to make the input again, `NNN-kind-entry.<suffix>` is the file, `.data.py` the data."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, f in enumerate(report.findings, 1):
        stem = f"{number:03d}-{f.kind}-{f.entry.replace(' ', '-')}"
        about = out / f"{stem}.txt"
        about.write_text(
            f"{f.kind} in {f.entry}: {f.detail}\n"
            f"input {f.index} of seed {report.seed} ({f.count} inputs alike)\n"
            f"origin {f.origin}; mutations: {', '.join(f.mutations) or 'none'}\n"
            "made again by: python -c 'from compat.fuzz.mutations import make_input; "
            f"print(make_input({report.seed}, {f.index}))'\n",
            encoding="utf-8",
        )
        written.append(about)
        if f.raw is not None:
            written.append(out / f"{stem}{f.suffix}")
            written[-1].write_bytes(f.raw)
        if f.data is not None:
            written.append(out / f"{stem}.data.py")
            header = "import datetime\nfrom math import inf, nan\n\nDATA = "
            written[-1].write_text(header + f.data + "\n", encoding="utf-8")
    return written
