"""Running mutants in parallel, each in a fresh subprocess of its own.

Why subprocesses (not a pool of long-lived workers): a mutant replaces an engine module for
its whole process, so no two mutants may share one; and a mutant that hangs must be killed
without taking the others down. Each job is `python -m tests.mutants.worker`, started in the
mutated tree with a clean import path, given a generous timeout; a process that exits badly
or writes no result is `crashed`, one that outlives its timeout `hung` — never `caught`.

The real engines are checked first, the same way (the baseline): a case on which they
already disagree, or whose golden answers already fail, cannot say anything about a mutant,
so it is left out of every mutant's verdict (and reported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.mutants.catalog import MODES, ROOT, Mutant
from tests.mutants.verdict import CRASHED, HUNG, SURVIVED, Verdict, failed, judge
from tests.mutants.worker import BASELINE

DEFAULT_TIMEOUT = 900.0
FIXTURES = "fixtures/"


class BaselineError(RuntimeError):
    """The real engines could not be checked: no mutant can be judged."""


@dataclass
class Spawned:
    """What one worker process did."""

    data: dict[str, Any] | None
    seconds: float
    #: Why there is no data: `hung` or `crashed` and a readable reason.
    failure: tuple[str, str] | None = None


def worker_command(
    job: str,
    out: Path,
    modes: Iterable[str],
    probe: str,
    fixtures: Sequence[str],
    every: bool = False,
    baseline: Path | None = None,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.mutants.worker",
        job,
        "--out",
        str(out),
        "--modes",
        ",".join(modes),
        "--probe",
        probe,
        "--fixtures",
        ",".join(fixtures),
        *(["--all-modes"] if every else []),
        *(["--baseline", str(baseline)] if baseline is not None else []),
    ]


def worker_env() -> dict[str, str]:
    """The worker imports this tree's `engines`, `compat` and `tests` first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONSTARTUP", None)
    return env


def spawn(
    job: str,
    modes: Iterable[str],
    timeout: float,
    probe: str,
    fixtures: Sequence[str],
    every: bool = False,
    baseline: dict[str, Any] | None = None,
) -> Spawned:
    """Run one worker (a mutant's id, or `baseline`) in a fresh process; it reads the
    baseline (the real engines' check) to tell a catch from the cases it leaves out."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        out = Path(tmp) / "result.json"
        known = None
        if baseline is not None:
            known = Path(tmp) / "baseline.json"
            known.write_text(json.dumps(baseline), encoding="utf-8")
        process = subprocess.Popen(
            worker_command(job, out, modes, probe, fixtures, every, known),
            cwd=ROOT,
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: a hang is killed whole
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.communicate()
            reason = f"no result within {timeout:g} s"
            return Spawned(None, time.perf_counter() - started, (HUNG, reason))
        seconds = time.perf_counter() - started
        if process.returncode != 0 or not out.is_file():
            tail = " | ".join(stderr.strip().splitlines()[-3:]) or "no output"
            reason = f"exit {process.returncode}: {tail}"
            return Spawned(None, seconds, (CRASHED, reason))
        return Spawned(json.loads(out.read_text(encoding="utf-8")), seconds)


def run_baseline(
    modes: Iterable[str] = MODES,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    fixtures: Sequence[str] = (FIXTURES,),
) -> dict[str, Any]:
    """The real engines' check in each mode (the worker's JSON); `BaselineError` if it
    cannot run."""
    done = spawn(BASELINE, modes, timeout, "never", fixtures, every=True)
    if done.data is None:
        assert done.failure is not None
        raise BaselineError(f"the real engines could not be checked: {done.failure[1]}")
    return done.data


def run_one(
    mutant: Mutant,
    modes: Iterable[str],
    timeout: float = DEFAULT_TIMEOUT,
    probe: str = "auto",
    fixtures: Sequence[str] = (FIXTURES,),
    baseline: dict[str, Any] | None = None,
    every: bool = False,
) -> Verdict:
    """Run one mutant in a fresh process and judge what it did."""
    modes = list(modes)
    if not modes:
        note = f"not run: meant for {'/'.join(mutant.modes)}, not requested"
        return Verdict(mutant, SURVIVED, notes=[note])
    done = spawn(mutant.id, modes, timeout, probe, fixtures, every, baseline)
    if done.data is None:
        assert done.failure is not None
        return failed(mutant, done.failure[0], done.failure[1], done.seconds)
    return judge(mutant, done.data, done.seconds, baseline)


def modes_for(mutant: Mutant, requested: Iterable[str]) -> list[str]:
    """The requested modes the mutant can act in (a persistence bug: only where pauses are
    saved and resumed)."""
    return [m for m in requested if not mutant.modes or m in mutant.modes]


def run_all(
    mutants: list[Mutant],
    modes: Iterable[str] | Callable[[Mutant], list[str]],
    *,
    jobs: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    probe: str = "auto",
    fixtures: Sequence[str] = (FIXTURES,),
    baseline: dict[str, Any] | None = None,
    every: bool = False,
    progress: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Every mutant's verdict, in the order given (they run `jobs` at a time). `modes` are
    the requested modes (each mutant runs in those it can act in), or a function giving a
    mutant's own. `fixtures` are the paths checked (the bundled fixtures by default);
    `baseline` is the real engines' check on them (`run_baseline`), if known. A mutant
    stops at the first mode that catches it unless `every`."""
    if callable(modes):
        plan = {m.id: modes(m) for m in mutants}
    else:
        requested = list(modes)
        plan = {m.id: modes_for(m, requested) for m in mutants}
    verdicts: dict[str, Verdict] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(run_one, m, plan[m.id], timeout, probe, fixtures, baseline, every): m
            for m in mutants
        }
        for future in as_completed(futures):
            verdict = future.result()
            verdicts[verdict.mutant.id] = verdict
            if progress is not None:
                progress(verdict)
    return [verdicts[m.id] for m in mutants]
