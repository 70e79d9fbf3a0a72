"""Campaigns on a Dask cluster (issue 16): `compat check --cluster` against one process and
`--workers 2`, on the generated CPU-bound suite of bench/campaign.py.

The suite is built once (`campaign.suite`). Each round runs, in rotating order, the real
`compat` console script: `--in-process` (one process), `--workers 2`, `--cluster local:2`
and `--cluster local:1`. Printed: each round's wall times; the median ratios, with their
range, of one process over `local:2` and over `--workers 2`; and the per-task overhead of
the cluster, `(local:1 wall − in-process wall) / tasks`, in seconds and as a share of the
median case's cost (`in-process wall / cases`). That figure is an upper bound: it includes
importing Dask and starting and stopping the cluster. So the script also times starting
and stopping an empty `LocalCluster(n_workers=1)` with a client (as compat does), and
importing `distributed` in a fresh interpreter, and reports the overhead with those taken
off too. The load average is printed before and after. Usage:

    python bench/cluster.py [--cases N] [--rounds R] [--seed S]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import campaign  # bench/campaign.py, by path

from compat.executors.dask import batches

MODES: dict[str, campaign.Mode] = {
    "one process": (["--in-process"], None),
    "--workers 2": (["--workers", "2"], None),
    "--cluster local:2": (["--cluster", "local:2"], None),
    "--cluster local:1": (["--cluster", "local:1"], None),
}


def tasks(files: list[Path], cases: int, workers: int) -> int:
    """How many tasks compat's batching makes of the suite for `workers` workers (the real
    `batches`, on stand-ins: consecutive cases of one fixture file)."""
    work: list[tuple[object, int]] = []
    left = cases
    for _ in files:
        job = object()
        count = min(campaign.CASES_PER_FIXTURE, left)
        work += [(job, i) for i in range(count)]
        left -= count
    return len(batches(work, workers))  # type: ignore[arg-type]


def empty_cluster() -> float:
    """Seconds to start and stop an empty `LocalCluster(n_workers=1)` and its client, with
    the options compat uses (Dask already imported)."""
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(cluster)
    client.close()
    cluster.close()
    return time.perf_counter() - started


def import_cost() -> float:
    """Seconds `import distributed` adds to a fresh interpreter (median of 3)."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    return statistics.median(run("import distributed") - run("pass") for _ in range(3))


def task_overhead(folder: Path) -> tuple[float, float, int, float]:
    """On a warm `LocalCluster(n_workers=1)` (the campaign run once first): the campaign's
    wall time, the tasks' compute time as Dask's task stream records it (start to stop of
    each task's `compute`), the number of tasks and the cases. With one single-threaded
    worker, tasks run one after another, so `(wall − compute) / tasks` is what each task
    costs besides its work: scheduling, transfer, the client's bookkeeping."""
    from distributed import get_task_stream

    from compat.check import CheckOptions, _settings, collect
    from compat.executors.dask import DaskCampaign

    options = CheckOptions(cluster="local:1")
    config = _settings(options)
    jobs = collect([str(folder)], config, options)
    work = [(job, case) for job in jobs for case in job.cases]
    with DaskCampaign(options, config) as running:
        running.run(work, None)  # workers import compat, fixtures and engines are loaded
        with get_task_stream(client=running.cluster.client) as stream:
            started = time.perf_counter()
            outcome = running.run(work, None)
            wall = time.perf_counter() - started
    assert outcome.lost is None and outcome.received == len(work)
    computes = [
        part["stop"] - part["start"]
        for task in stream.data
        if "compat-check" in str(task["key"])
        for part in task["startstops"]
        if part["action"] == "compute"
    ]
    return wall, sum(computes), len(computes), len(work)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--overhead-only", action="store_true", help="only the warm per-task overhead"
    )
    args = parser.parse_args(argv)
    print(f"before: {campaign._load()}", flush=True)
    temporary = tempfile.TemporaryDirectory(prefix="compat-cluster-")
    folder = Path(temporary.name).resolve()
    files = campaign.suite(folder, args.cases, args.seed)
    print(f"suite: {args.cases} cases in {len(files)} fixtures under {folder}", flush=True)
    took = {} if args.overhead_only else campaign.measure(folder, args.rounds, MODES)
    if args.overhead_only:
        print_overhead(folder, args.rounds)
        temporary.cleanup()
        return
    walls = {name: [t.wall for t in runs] for name, runs in took.items()}
    one = walls["one process"]
    print(f"compat check (generated, {args.cases} cases) — {args.rounds} rounds")
    for name, values in walls.items():
        print(f"  {name:<18} median {statistics.median(values):7.2f} s")
    print(f"one process / --cluster local:2: {campaign._ratios(one, walls['--cluster local:2'])}")
    print(f"one process / --workers 2:       {campaign._ratios(one, walls['--workers 2'])}")
    workers, local = walls["--workers 2"], walls["--cluster local:2"]
    print(f"--workers 2 / --cluster local:2: {campaign._ratios(workers, local)}")

    # Per-task overhead of the cluster: local:1 against one process, round by round.
    count = tasks(files, args.cases, 1)
    starts = [empty_cluster() for _ in range(args.rounds)]
    start = statistics.median(starts)
    imported = import_cost()
    print(
        f"empty LocalCluster(n_workers=1) + Client start and stop: median {start:.2f} s "
        f"({', '.join(f'{s:.2f}' for s in starts)}); import distributed: {imported:.2f} s"
    )
    print(f"local:1 runs {count} tasks ({args.cases} cases)")
    for label, off in (
        ("upper bound, includes Dask's import and the cluster's start-up", 0.0),
        ("minus the empty cluster's start and stop", start),
        ("minus that and importing distributed", start + imported),
    ):
        per_task = [
            (c - i - off) / count for c, i in zip(walls["--cluster local:1"], one, strict=True)
        ]
        shares = [p / (i / args.cases) for p, i in zip(per_task, one, strict=True)]
        print(
            f"per-task overhead ({label}): {statistics.median(per_task):.3f} s "
            f"({min(per_task):.3f}–{max(per_task):.3f}) = {100 * statistics.median(shares):.1f} % "
            f"({100 * min(shares):.1f}–{100 * max(shares):.1f} %) of the median case's cost "
            f"({1000 * statistics.median(one) / args.cases:.1f} ms, one process / cases)"
        )
    # The same, measured on a warm cluster from Dask's own record of each task's compute.
    print_overhead(folder, args.rounds)
    print(f"after: {campaign._load()}")
    temporary.cleanup()


def print_overhead(folder: Path, rounds: int) -> None:
    """`task_overhead`, round after round: per task, as a share of a case and of the whole."""
    for n in range(rounds):
        wall, compute, count, total = task_overhead(folder)
        per_task, per_case = (wall - compute) / count, compute / total
        print(
            f"warm local:1, round {n + 1}: {total} cases in {count} tasks, wall {wall:.2f} s, "
            f"tasks computing {compute:.2f} s: per-task overhead {1000 * per_task:.1f} ms = "
            f"{100 * per_task / per_case:.1f} % of a case's cost ({1000 * per_case:.1f} ms, "
            f"compute / cases), {100 * (wall - compute) / compute:.2f} % of the campaign",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
