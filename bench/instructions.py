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
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHAPES = ("chain", "fan_out", "loop")
ENGINES = ("graph", "journey")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def child(engine: str, shape: str, runs: int) -> None:
    """Run `shape` on `engine` `runs` times after two warm-up runs (under valgrind).

    `graph-no-events` is the graph engine with its two per-node events not recorded (the
    methods that build them return at once): the difference is what the events cost.
    `graph-read` and `journey-read` also read each result's trace (`lean_trace()`, the
    form the harness compares), so the events recorded compactly are built too.
    `floor` is the minimal loop (`floor_runner`), on the chain only."""
    sys.path.insert(0, str(HERE))
    import bench_graph
    import bench_journey

    if engine == "floor":
        run = floor_runner(1000)
    else:
        if engine == "graph-no-events":
            _drop_node_events()
        workflow = getattr(bench_graph, shape)()
        journey = engine.startswith("journey")
        runner = bench_journey.journey_runner if journey else bench_graph.our_runner
        run = runner(workflow, read_trace=engine.endswith("-read"))
    run()
    run()
    for _ in range(runs):
        run()


#: The statements of the graph engine's hot loop that record a node's two events (a
#: compact pair, engines.trace).
_EVENT_LINES = ("events.append((node_id, path, now))", "events.append(None)")


def _drop_node_events() -> None:
    """Make the graph engine build no per-node events: the hot loop (`_run_ready`)
    recompiled with its event statements made `pass`, and the stream's event methods (the
    other paths' events) made no-ops."""
    import inspect
    import textwrap

    from engines.graph import execution
    from engines.graph.events import EventStream

    EventStream.node_started = lambda self, *args: None  # type: ignore[method-assign]
    EventStream.node_completed = lambda self, *args: None  # type: ignore[method-assign]
    source = textwrap.dedent(inspect.getsource(execution.Execution._run_ready))
    lines, dropped = [], 0
    for line in source.splitlines():
        text = line.strip()
        if text.startswith(_EVENT_LINES):
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(indent + "pass")
            dropped += 1
        else:
            lines.append(line)
    if dropped != len(_EVENT_LINES):
        raise RuntimeError(
            f"expected {len(_EVENT_LINES)} event statements in _run_ready, found {dropped}"
        )
    namespace = dict(vars(execution))
    exec(compile("\n".join(lines), execution.__file__, "exec"), namespace)
    execution.Execution._run_ready = namespace["_run_ready"]  # type: ignore[method-assign]


def floor_runner(n: int) -> Any:
    """The least a pure-Python engine does per node of a chain: pop a queue, call a handler
    that reads the inputs, record its output and a variable, append two tuple events, count
    down the next node's incoming edges."""
    handlers = [lambda scope: scope["inputs"]["x"] for _ in range(n)]
    following = [[i + 1] if i + 1 < n else [] for i in range(n)]

    def run() -> int:
        events: list[tuple[Any, ...]] = []
        outputs: dict[int, Any] = {}
        variables: dict[str, Any] = {}
        remaining = [1] * n
        queue = deque([0])
        scope = {"inputs": {"x": 1}, "vars": variables}
        while queue:
            node = queue.popleft()
            events.append((len(events), "started", node, 1, (), 0.0, None))
            output = handlers[node](scope)
            outputs[node] = output
            variables["last"] = output
            events.append((len(events), "completed", node, 1, (), 0.0, None))
            for target in following[node]:
                remaining[target] -= 1
                if remaining[target] == 0:
                    queue.append(target)
        return len(outputs)

    return run


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
    # A fixed hash seed: string hashes decide dict probing and set order, which move the
    # count by a few percent from one process to the next.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
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
    engines = (*ENGINES, "graph-read", "journey-read")
    jobs = [(e, s, k) for s in shapes for e in engines for k in (0, args.runs)]
    if "chain" in shapes:
        jobs += [(e, "chain", k) for e in ("graph-no-events", "floor") for k in (0, args.runs)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: instructions(*job), jobs), strict=True))

    def per_node(engine: str, shape: str) -> float:
        nodes = (1000 if engine == "floor" else node_executions(shape)) * args.runs
        return (counts[(engine, shape, args.runs)] - counts[(engine, shape, 0)]) / nodes

    print(f"instructions per node execution (callgrind), {args.runs} runs after 2 warm-up runs")
    for shape in shapes:
        graph, journey = per_node("graph", shape), per_node("journey", shape)
        print(
            f"{shape:<10} graph {graph:>9,.0f}   journey {journey:>9,.0f}   "
            f"journey/graph {journey / graph:.2f}"
        )
        graph, journey = per_node("graph-read", shape), per_node("journey-read", shape)
        print(
            f"{'  + trace':<10} graph {graph:>9,.0f}   journey {journey:>9,.0f}   "
            f"journey/graph {journey / graph:.2f}   (each result's trace read too)"
        )
    if "chain" in shapes:
        graph = per_node("graph", "chain")
        events = graph - per_node("graph-no-events", "chain")
        floor = per_node("floor", "chain")
        print(
            f"chain: the two events per node {events:,.0f} ({events / graph:.0%} of the graph's); "
            f"minimal loop {floor:,.0f} (graph / minimal loop {graph / floor:.2f})"
        )


if __name__ == "__main__":
    main()
