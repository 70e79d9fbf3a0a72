"""What isolation costs: `compat check fixtures/` with every engine run in a worker process
(the default) against `--in-process`, and with `--workers 2`, run side by side.

Each round runs the three commands one after another (the order rotates), as real
subprocesses of the `compat` console script; the figures are the median wall time over the
rounds and each mode's ratio to `--in-process` within the same round (a busy machine
stretches a whole round, not one mode). Usage: python bench/isolation.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "--in-process": ["--in-process"],
    "worker process": [],
    "--workers 2": ["--workers", "2"],
}


def _compat() -> list[str]:
    script = Path(sys.executable).with_name("compat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "compat.supervise"]


def _once(extra: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [*_compat(), "check", "fixtures/", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"compat check {' '.join(extra)} failed: {done.stderr or done.stdout}")
    return seconds


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    names = list(MODES)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        took = {name: _once(MODES[name]) for name in order}
        for name in names:
            seconds[name].append(took[name])
            ratios[name].append(took[name] / took["--in-process"])
    print(f"compat check fixtures/ — isolation, {args.rounds} rounds (median)")
    print(f"{'mode':<16} {'wall s':>8} {'× in-process':>13}")
    for name in names:
        print(
            f"{name:<16} {statistics.median(seconds[name]):>8.2f} "
            f"{statistics.median(ratios[name]):>13.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
