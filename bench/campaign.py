"""Campaign parallelism: `compat check` on a generated suite of CPU-bound cases, with one
worker process, two (`--workers 2`) and `--in-process`, run side by side.

The suite is written by a deterministic generator (`suite(folder, cases, seed)`): a few
workflow shapes made of loops, sets, conditions, tools and parallels whose work grows
with the case's inputs, so each case is engine work (tens of milliseconds of CPU) rather
than harness overhead, and the cases differ. The same seed gives the same files.

Each round runs every mode once (the order rotates), as real subprocesses of the `compat`
console script; the figures are the median wall time over the rounds and, per round, the
ratios between modes (a busy machine stretches a whole round, not one mode); ranges are
the lowest and highest ratio seen. Usage:

    python bench/campaign.py [--cases N] [--rounds R] [--seed S] [--keep DIR] [--fixtures]
                             [--no-in-process] [--this COPY] [--baseline CHECKOUT] [--cpu]

`--fixtures` times the bundled suite (`fixtures/`) instead of a generated one. `--baseline`
times another checkout too (its `compat/` and `engines/`, e.g. a copy with the files of an
earlier commit), and `--this` a copy of this one, so that files edited meanwhile do not
count; each runs in its own folder, which the fork server puts first on its path.

With `--cpu`, CPU seconds are sampled from each command's process tree too (every 0.25 s:
reading it costs CPU, which `--workers 2` misses most, so wall figures are best taken
without), and the critical path — compat's own CPU, then its busiest worker's — is what the
wall time would be with a free core for each process: on a shared machine (the kernel
shares CPU between sessions first, so a session's workers share its one share), it shows
what `--workers 2` gains when the wall time cannot. It leaves the fork server's start out,
which this checkout overlaps with reading the fixtures; an older one did not (its path is
then short).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import psutil

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "--in-process": ["--in-process"],
    "--workers 1": [],
    "--workers 2": ["--workers", "2"],
}
#: Cases per generated fixture file (a real suite has many files of a few dozen cases).
CASES_PER_FIXTURE = 40


# --------------------------------------------------------------------------- the suite


def _counting(name: str) -> dict[str, Any]:
    """A `for` loop whose body does arithmetic in Jinja and accumulates into a variable."""
    return {
        "id": name,
        "variables": {"total": 0, "trail": ""},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "repeat", "type": "loop", "params": {"mode": "for", "count": "{{ inputs.n }}"}},
            {"id": "r_start", "type": "start", "parent": "repeat"},
            {
                "id": "r_mix",
                "type": "transform",
                "parent": "repeat",
                "params": {"value": "{{ (loop.index * inputs.k + inputs.seed) % 97 }}"},
            },
            {
                "id": "r_add",
                "type": "set",
                "parent": "repeat",
                "params": {
                    "values": {
                        "total": "{{ vars.total + nodes.r_mix.output }}",
                        "trail": "{{ (vars.trail ~ (nodes.r_mix.output % 10))[-12:] }}",
                    }
                },
            },
            {
                "id": "done",
                "type": "end",
                "params": {
                    "outputs": {
                        "total": "{{ vars.total }}",
                        "trail": "{{ vars.trail }}",
                        "count": "{{ nodes.repeat.output.iterations }}",
                    }
                },
            },
        ],
        "edges": [
            {"source": "start", "target": "repeat"},
            {"source": "r_start", "target": "r_mix"},
            {"source": "r_mix", "target": "r_add"},
            {"source": "repeat", "target": "done"},
        ],
    }


def _words(name: str) -> dict[str, Any]:
    """A `forEach` over words with a tool call and text templates, then a condition."""
    return {
        "id": name,
        "variables": {"longest": ""},
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "each",
                "type": "loop",
                "params": {"mode": "forEach", "items": "{{ inputs.words }}"},
            },
            {"id": "e_start", "type": "start", "parent": "each"},
            {
                "id": "e_up",
                "type": "tool",
                "parent": "each",
                "params": {"tool": "upper", "args": {"text": "{{ loop.item }}"}},
            },
            {
                "id": "e_keep",
                "type": "set",
                "parent": "each",
                "params": {
                    "values": {
                        "longest": "{{ loop.item if loop.item | length > vars.longest | length "
                        "else vars.longest }}"
                    }
                },
            },
            {
                "id": "e_tag",
                "type": "transform",
                "parent": "each",
                "params": {
                    "value": "{{ loop.iteration }}/{{ loop.items | length }}:"
                    "{{ nodes.e_up.output | lower | replace('a', '4') }}"
                },
            },
            {
                "id": "check",
                "type": "condition",
                "params": {"expression": "nodes.each.output.iterations > inputs.limit"},
            },
            {"id": "many", "type": "set", "params": {"values": {"longest": "many"}}},
            {"id": "few", "type": "transform", "params": {"value": "few"}},
            {
                "id": "done",
                "type": "end",
                "params": {
                    "outputs": {
                        "tags": "{{ nodes.each.output.results | join(',') | length }}",
                        "longest": "{{ vars.longest }}",
                    }
                },
            },
        ],
        "edges": [
            {"source": "start", "target": "each"},
            {"source": "e_start", "target": "e_up"},
            {"source": "e_up", "target": "e_keep"},
            {"source": "e_keep", "target": "e_tag"},
            {"source": "each", "target": "check"},
            {"source": "check", "target": "many", "handle": "true"},
            {"source": "check", "target": "few", "handle": "false"},
            {"source": "many", "target": "done"},
            {"source": "few", "target": "done"},
        ],
    }


def _fan(name: str) -> dict[str, Any]:
    """A parallel over branches, each running its own loop; a `while` loop after them."""
    return {
        "id": name,
        "variables": {"i": 0, "acc": 0},
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "fan",
                "type": "parallel",
                "params": {"mode": "count", "count": "{{ inputs.b }}"},
            },
            {"id": "f_start", "type": "start", "parent": "fan"},
            {
                "id": "f_loop",
                "type": "loop",
                "parent": "fan",
                "params": {"mode": "for", "count": "{{ inputs.n // inputs.b }}"},
            },
            {"id": "l_start", "type": "start", "parent": "f_loop"},
            {
                "id": "l_val",
                "type": "transform",
                "parent": "f_loop",
                "params": {"value": "{{ parallel.index * 1000 + loop.index * inputs.k }}"},
            },
            {
                "id": "until",
                "type": "loop",
                "params": {"mode": "while", "condition": "vars.i < inputs.limit"},
            },
            {"id": "w_start", "type": "start", "parent": "until"},
            {
                "id": "w_inc",
                "type": "set",
                "parent": "until",
                "params": {"values": {"i": "{{ vars.i + 1 }}", "acc": "{{ vars.acc + vars.i }}"}},
            },
            {
                "id": "done",
                "type": "end",
                "params": {
                    "outputs": {
                        "branches": "{{ nodes.fan.output.results | length }}",
                        "acc": "{{ vars.acc }}",
                    }
                },
            },
        ],
        "edges": [
            {"source": "start", "target": "fan"},
            {"source": "f_start", "target": "f_loop"},
            {"source": "l_start", "target": "l_val"},
            {"source": "fan", "target": "until"},
            {"source": "w_start", "target": "w_inc"},
            {"source": "until", "target": "done"},
        ],
    }


SHAPES = {"counting": _counting, "words": _words, "fan": _fan}
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "an", "el")


def _inputs(rng: random.Random) -> dict[str, Any]:
    words = [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 5)))
        for _ in range(rng.randint(30, 90))
    ]
    return {
        "n": rng.randint(60, 160),
        "k": rng.randint(1, 50),
        "seed": rng.randint(0, 1000),
        "b": rng.randint(2, 6),
        "limit": rng.randint(20, 80),
        "words": words,
    }


def suite(folder: Path, cases: int, seed: int = 13) -> list[Path]:
    """Write a deterministic suite of `cases` CPU-bound cases into `folder` (YAML fixtures
    of `CASES_PER_FIXTURE` cases, shapes in turn); the files written."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    shapes = list(SHAPES.items())
    for number in range((cases + CASES_PER_FIXTURE - 1) // CASES_PER_FIXTURE):
        shape, build = shapes[number % len(shapes)]
        count = min(CASES_PER_FIXTURE, cases - number * CASES_PER_FIXTURE)
        fixture = {
            "description": f"generated ({shape}, seed {seed})",
            "workflow": build(f"{shape}_{number:03d}"),
            "cases": [{"name": f"case-{i:03d}", "inputs": _inputs(rng)} for i in range(count)],
        }
        path = folder / f"gen_{number:03d}_{shape}.yaml"
        # JSON is YAML: one line per case keeps the file small and quick to read.
        body = "".join(f"  - {json.dumps(case)}\n" for case in fixture["cases"])
        path.write_text(_yaml(fixture, body))
        written.append(path)
    return written


def _yaml(fixture: dict[str, Any], cases: str) -> str:
    head = {k: v for k, v in fixture.items() if k != "cases"}
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in head.items()) + (
        "cases:\n" + cases
    )


# --------------------------------------------------------------------------- timing

#: A mode: the command's extra arguments, and a checkout to take compat from (None: this).
Mode = tuple[list[str], Path | None]


def _compat() -> list[str]:
    # The console script, not `-m` (which would put this checkout before --baseline's).
    return [str(Path(sys.executable).with_name("compat"))]


class Took(NamedTuple):
    """One command's wall seconds and, with `--cpu`, CPU seconds sampled from its process
    tree: all of it; compat itself (the supervisor and the process that reads fixtures,
    gathers reports and prints); and its busiest worker process."""

    wall: float
    cpu: float = 0.0
    harness_cpu: float = 0.0
    worker_cpu: float = 0.0

    @property
    def critical(self) -> float:
        """CPU seconds on the critical path — compat's own, then the busiest worker's: the
        wall time with a free core for each process (the fork server's start, which
        overlaps reading the fixtures, left out)."""
        return self.harness_cpu + self.worker_cpu


#: Seconds between samples of the process tree (reading it costs the machine CPU).
SAMPLE_EVERY = 0.25


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _sample(top: psutil.Process, seen: dict[tuple[int, float], tuple[str, float]]) -> None:
    """Each process's CPU so far, and its role: harness, server or worker."""
    for proc in [top, *top.children(recursive=True)]:
        try:
            key = (proc.pid, proc.create_time())
            if key not in seen:
                parent = proc.parent()
                server = "forkserver" in " ".join(parent.cmdline()) if parent else False
                mine = proc.pid == top.pid or proc.ppid() == top.pid
                role = "harness" if mine else "worker" if server else "server"
            else:
                role = seen[key][0]
            seen[key] = (role, _cpu(proc))
        except psutil.Error:
            continue  # it ended while being read: its last sample stands


def _once(target: Path, mode: Mode, cpu: bool) -> Took:
    """One `compat check TARGET ARGS...`, which must pass: its times (CPU too if `cpu`:
    sampling costs a little CPU, taken from the command when its workers use every core)."""
    extra, checkout = mode
    env = dict(os.environ)
    if checkout is not None:
        # Its compat and engines first on the path, and the working directory: the fork
        # server is `python -c`, which puts that first on its own path.
        env["PYTHONPATH"] = os.pathsep.join([str(checkout), env.get("PYTHONPATH", "")])
    seen: dict[tuple[int, float], tuple[str, float]] = {}
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*_compat(), "check", str(target), *extra],
            cwd=checkout or ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if cpu:
            top = psutil.Process(process.pid)
            while process.poll() is None:
                _sample(top, seen)
                time.sleep(SAMPLE_EVERY)
        process.wait()
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        raise SystemExit(f"compat check {' '.join(extra)} failed: {text[-2000:]}")
    roles = {role: [c for r, c in seen.values() if r == role] for role in ("harness", "worker")}
    return Took(
        seconds,
        sum(c for _, c in seen.values()),
        sum(roles["harness"]),
        max(roles["worker"], default=0.0),
    )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def modes(in_process: bool, this: Path | None, baseline: Path | None) -> dict[str, Mode]:
    """The commands to time: `--workers 1` (the reference), `--workers 2`, `--in-process`
    and, with a baseline checkout, its `--workers 1` and `--workers 2`. `this`: a copy of
    this checkout to time instead of it (so that edits made meanwhile do not count)."""
    out: dict[str, Mode] = {}
    for name, extra in MODES.items():
        if name == "--in-process" and not in_process:
            continue
        out[name] = (extra, this)
        if baseline is not None and name != "--in-process":
            out[f"before {name}"] = (extra, baseline)
    return out


def measure(
    target: Path, rounds: int, chosen: dict[str, Mode], cpu: bool = False
) -> dict[str, list[Took]]:
    """Every mode once per round, the order rotating."""
    names = list(chosen)
    took: dict[str, list[Took]] = {name: [] for name in names}
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        now = {name: _once(target, chosen[name], cpu) for name in order}
        for name in names:
            took[name].append(now[name])
        shown = ", ".join(
            f"{name} {now[name].wall:.2f} s" + (f" (path {now[name].critical:.1f})" if cpu else "")
            for name in names
        )
        print(f"  round {round_ + 1}: {shown} ({_load()})", flush=True)
    return took


def _ratios(top: list[float], bottom: list[float]) -> str:
    ratios = [a / b for a, b in zip(top, bottom, strict=True)]
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def report(title: str, took: dict[str, list[Took]], cpu: bool = False) -> None:
    """Medians; each mode's wall time over `--workers 1`'s in the same round (median,
    range); `--workers 2`'s speed-up over `--workers 1` (for this checkout and the
    baseline); the baseline's times over this checkout's; with `cpu`, CPU seconds (whole
    tree, compat's own, the critical path) and speed-ups by critical path too."""
    print(title)
    head = f"{'wall s':>8} {'× --workers 1 (range)':>22}"
    if cpu:
        head += f" {'cpu s':>7} {'compat':>7} {'path':>7}"
    print(f"{'mode':<22} {head}")
    walls = {name: [t.wall for t in runs] for name, runs in took.items()}
    paths = {name: [t.critical for t in runs] for name, runs in took.items()}
    for name, runs in took.items():
        base = walls["before --workers 1" if name.startswith("before") else "--workers 1"]
        line = f"{name:<22} {statistics.median(walls[name]):>8.2f} {_ratios(walls[name], base):>22}"
        if cpu:
            line += (
                f" {statistics.median(t.cpu for t in runs):>7.2f}"
                f" {statistics.median(t.harness_cpu for t in runs):>7.2f}"
                f" {statistics.median(paths[name]):>7.2f}"
            )
        print(line)
    for prefix in ("", "before "):
        one, two = f"{prefix}--workers 1", f"{prefix}--workers 2"
        if two in walls:
            text = f"wall {_ratios(walls[one], walls[two])}"
            if cpu:
                text += f", critical path {_ratios(paths[one], paths[two])}"
            print(f"{prefix or 'this: '}--workers 2 speed-up over --workers 1: {text}")
    for name in ("--workers 1", "--workers 2"):
        if f"before {name}" in walls:
            text = f"wall {_ratios(walls[f'before {name}'], walls[name])}"
            if cpu:
                text += f", critical path {_ratios(paths[f'before {name}'], paths[name])}"
            print(f"{name}: baseline / this: {text}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, help="write the suite here (kept) instead")
    parser.add_argument("--fixtures", action="store_true", help="time fixtures/ instead")
    parser.add_argument("--no-in-process", action="store_true", help="skip --in-process")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout (its compat/ and engines/) to time too"
    )
    parser.add_argument("--this", type=Path, help="a copy of this checkout to time instead")
    parser.add_argument("--cpu", action="store_true", help="sample CPU time too")
    args = parser.parse_args(argv)
    absolute = [p.resolve() if p else None for p in (args.this, args.baseline)]
    chosen = modes(not args.no_in_process, *absolute)
    print(f"before: {_load()}", flush=True)
    if args.fixtures:
        took = measure(ROOT / "fixtures", args.rounds, chosen, args.cpu)
        report(f"compat check fixtures/ — {args.rounds} rounds", took, args.cpu)
    else:
        with tempfile.TemporaryDirectory(prefix="compat-campaign-") as temporary:
            folder = (args.keep or Path(temporary)).resolve()
            files = suite(folder, args.cases, args.seed)
            print(f"suite: {args.cases} cases in {len(files)} fixtures under {folder}")
            took = measure(folder, args.rounds, chosen, args.cpu)
        title = f"compat check (generated, {args.cases} cases) — {args.rounds} rounds"
        report(title, took, args.cpu)
    print(f"after: {_load()}")


if __name__ == "__main__":
    main(sys.argv[1:])
