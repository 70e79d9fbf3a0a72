"""Instructions per node execution, counted by valgrind (callgrind), for both engines.

    python bench/instructions.py [--shapes chain,fan_out,loop] [--runs 4]

Wall time on a shared VM varies by 2x from one minute to the next; an instruction count
does not. Each figure is (instructions of a process that runs a shape `runs` times) minus
(the same process running it zero times), over `runs` x node executions: imports, compiling
the plan or journey and two warm-up runs cancel out. CPython's instructions are the same
whatever the host does, so the journey/graph ratio here is the steady one; it leaves out
what instructions do not show (cache misses, branch prediction).
Needs `valgrind` on PATH; without it the benchmark says so and measures nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHAPES = ("chain", "fan_out", "loop")
ENGINES = ("graph", "journey")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def child(engine: str, shape: str, runs: int) -> None:
    """Run `shape` on `engine` `runs` times after two warm-up runs (under valgrind)."""
    sys.path.insert(0, str(HERE))
    import bench_graph
    import bench_journey

    workflow = getattr(bench_graph, shape)()
    run = (bench_graph.our_runner if engine == "graph" else bench_journey.journey_runner)(workflow)
    run()
    run()
    for _ in range(runs):
        run()


def node_executions(shape: str) -> int:
    sys.path.insert(0, str(HERE))
    import bench_graph

    return bench_graph.our_runner(getattr(bench_graph, shape)())()


def instructions(engine: str, shape: str, runs: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        engine,
        shape,
        str(runs),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count for {engine} {shape}: {done.stderr}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="chain", help="comma-separated: " + ", ".join(SHAPES))
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "SHAPE", "RUNS"))
    args = parser.parse_args(argv)
    if args.child:
        engine, shape, runs = args.child
        child(engine, shape, int(runs))
        return
    if shutil.which("valgrind") is None:
        print("instructions per node: valgrind is not installed; nothing measured")
        return
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        parser.error(f"--shapes: unknown {', '.join(unknown)} (known: {', '.join(SHAPES)})")
    jobs = [(e, s, k) for s in shapes for e in ENGINES for k in (0, args.runs)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: instructions(*job), jobs), strict=True))
    print(f"instructions per node execution (callgrind), {args.runs} runs after 2 warm-up runs")
    for shape in shapes:
        nodes = node_executions(shape) * args.runs
        per = {e: (counts[(e, shape, args.runs)] - counts[(e, shape, 0)]) / nodes for e in ENGINES}
        print(
            f"{shape:<10} graph {per['graph']:>9,.0f}   journey {per['journey']:>9,.0f}   "
            f"journey/graph {per['journey'] / per['graph']:.2f}"
        )


if __name__ == "__main__":
    main()
