"""User CPU time of short `compat` commands: what a user waits for before any work starts.

    python bench/startup.py [--runs 7]

Each command runs `runs` times as a subprocess (through the `compat` console script, so the
supervisor's fork is counted too); a run's cost is the growth of
`resource.getrusage(RUSAGE_CHILDREN).ru_utime` across it, which counts the command and
every process it waited for. CPU time, not wall time: on a shared machine wall time varies
with the neighbours' load, user CPU much less. The median of the runs is printed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "help": ["--help"],
    "validate": ["validate", "fixtures/"],
    "check": ["check", "fixtures/", "--in-process"],
}


def compat_command() -> list[str]:
    """The installed `compat` script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("compat")
    if script.exists():
        return [str(script)]
    found = shutil.which("compat")
    return [found] if found else [sys.executable, "-m", "compat.supervise"]


def user_seconds(argv: list[str]) -> float:
    """User CPU seconds of one run of `argv` (and of every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def measure(names: list[str], runs: int) -> dict[str, list[float]]:
    """Samples per command, the commands interleaved so that a burst of load hits all."""
    base = compat_command()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            samples[name].append(user_seconds([*base, *COMMANDS[name]]))
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median shown)")
    parser.add_argument(
        "--commands", default=",".join(COMMANDS), help="comma-separated: " + ", ".join(COMMANDS)
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.commands.split(",") if n.strip()]
    unknown = sorted(set(names) - set(COMMANDS))
    if unknown:
        parser.error(f"--commands: unknown {', '.join(unknown)} (known: {', '.join(COMMANDS)})")
    if args.runs < 1:
        parser.error("--runs: give at least 1")
    samples = measure(names, args.runs)
    print(f"compat start-up: user CPU seconds, median of {args.runs} runs (min-max)")
    for name in names:
        values = samples[name]
        shown = " ".join(["compat", *COMMANDS[name]])
        print(
            f"{shown:<36} {statistics.median(values):6.3f} s ({min(values):.3f}-{max(values):.3f})"
        )


if __name__ == "__main__":
    main()
