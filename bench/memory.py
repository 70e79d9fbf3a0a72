"""Memory of paused executions: what one paused 100-node run holds, and the RSS of 10,000.

    python bench/memory.py [--count 10000] [--engines graph,journey]

An execution waiting for an answer is held by a service for as long as the customer takes;
thousands wait at once. The first figure is tracemalloc's count of bytes still allocated
per paused run (200 runs, after a collection); the second is the growth of the process's
resident set (VmRSS) while `--count` paused runs are created and kept, measured in a fresh
interpreter per engine so that one engine's heap does not hide the other's.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_graph  # noqa: E402

from engines.clock import VirtualClock  # noqa: E402
from engines.graph import GraphEngine  # noqa: E402
from engines.journey import JourneyEngine  # noqa: E402

ENGINES = ("graph", "journey")


def _starter(engine_name: str) -> Any:
    """A function that starts one paused 100-node run and returns what must be kept."""
    workflow = bench_graph.paused_workflow(100)
    if engine_name == "graph":
        graph = GraphEngine(clock=VirtualClock())
        graph.plan(workflow)

        def start_graph() -> Any:
            execution = graph.start(workflow, {"x": 1})
            assert graph.clock.run(execution.run).status == "paused"
            return execution

        return start_graph
    journey = JourneyEngine(clock=VirtualClock())
    journey.blueprint(workflow)

    def start_journey() -> Any:
        session = journey.start_session(workflow, {"x": 1})
        assert journey.clock.run(session.start).status == "paused"
        return session

    return start_journey


def held_per_run(engine_name: str, count: int = 200) -> float:
    """Bytes still allocated per paused run (tracemalloc), after a full collection."""
    start = _starter(engine_name)
    start()  # warm: first-use caches are not the run's
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    kept = [start() for _ in range(count)]
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(kept) == count
    return (current - base) / count


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(engine_name: str, count: int) -> None:
    start = _starter(engine_name)
    start()
    gc.collect()
    before = _rss_bytes()
    kept = [start() for _ in range(count)]
    gc.collect()
    after = _rss_bytes()
    print(json.dumps({"count": len(kept), "rss_growth": after - before}))


def rss_growth(engine_name: str, count: int) -> int:
    done = subprocess.run(
        [sys.executable, __file__, "--child", engine_name, "--count", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(done.stdout)["rss_growth"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--child", choices=ENGINES)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.count)
        return
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    print(f"paused 100-node runs (held per run by tracemalloc; RSS growth of {args.count:,})")
    for name in names:
        held = held_per_run(name)
        growth = rss_growth(name, args.count)
        print(
            f"{name:<8} held per run {held / 1024:6.1f} KiB   "
            f"RSS of {args.count:,}: {growth / 2**20:7.1f} MiB ({growth / args.count / 1024:.1f} "
            "KiB each)"
        )


if __name__ == "__main__":
    main()
