"""Peer engines for `bench_graph.py`: the same shapes on LangGraph, pydantic-graph and Hamilton.

`available()` returns `{peer_name: Peer}`; `peer.factory(shape)` builds and compiles the graph
for `shape` (one of `peer.shapes`: "chain", "fan", "loop") once and returns `run`, which
executes one complete in-memory run through the peer's normal entry point, checks the final
state and returns the number of node executions it performed, counted inside the node
functions. Node counts match ours: the chain is a start node and 1,000 nodes (1,001), the
fan-out a start node, 100 branches and one join node (102). `peer.notes[shape]` says where a
peer's graph is not the same shape as ours (Hamilton has no loop).

Install the peers with `pip install -e .[bench]`; a peer that fails to import is left out.
"""

import importlib
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Annotated, Any, TypedDict

CHAIN_LENGTH = 1000
FAN_WIDTH = 100
LOOP_ITERATIONS = 1000
X = 1

Run = Callable[[], int]


# --- LangGraph ---------------------------------------------------------------------------


class LgChainState(TypedDict, total=False):
    x: int
    last: int
    value: int


class LgFanState(TypedDict, total=False):
    x: int
    values: Annotated[list[int], operator.add]  # every branch appends; the reducer concatenates
    total: int


def langgraph_runner(shape: str) -> Run:
    """LangGraph `StateGraph` over a TypedDict state, compiled once, run with `invoke`.

    chain: START -> `start` -> n0 -> ... -> n999 -> END, one `add_node` and one `add_edge` per
    node; even nodes write `last = x`, odd nodes write `value = 2 * x`. Each node is one
    superstep, so `recursion_limit` is raised above the chain length.
    fan: `start` has an edge to each of b0..b99 and each of them an edge to `join`. The 100
    branches run in one superstep, each appending `2 * x` to the `values` channel (an
    `operator.add` reducer); `join` runs once, in the next superstep, and sums them.
    No checkpointer: state lives only for the run.
    """
    from langgraph.graph import END, START, StateGraph

    calls = 0

    def start(state: dict) -> dict:
        nonlocal calls
        calls += 1
        return {}

    if shape == "chain":

        def set_last(state: LgChainState) -> dict:
            nonlocal calls
            calls += 1
            return {"last": state["x"]}

        def transform(state: LgChainState) -> dict:
            nonlocal calls
            calls += 1
            return {"value": 2 * state["x"]}

        builder = StateGraph(LgChainState)
        builder.add_node("start", start)
        names = [f"n{i}" for i in range(CHAIN_LENGTH)]
        for i, name in enumerate(names):
            builder.add_node(name, set_last if i % 2 == 0 else transform)
        for source, target in pairwise([START, "start", *names, END]):
            builder.add_edge(source, target)
        graph = builder.compile()
        config = {"recursion_limit": CHAIN_LENGTH + 10}

        def run() -> int:
            nonlocal calls
            calls = 0
            final = graph.invoke({"x": X}, config)
            assert final == {"x": X, "last": X, "value": 2 * X}, final
            return calls

        return run

    def branch(state: LgFanState) -> dict:
        nonlocal calls
        calls += 1
        return {"values": [2 * state["x"]]}

    def join(state: LgFanState) -> dict:
        nonlocal calls
        calls += 1
        return {"total": sum(state["values"])}

    builder = StateGraph(LgFanState)
    builder.add_node("start", start)
    builder.add_node("join", join)
    builder.add_edge(START, "start")
    for i in range(FAN_WIDTH):
        builder.add_node(f"b{i}", branch)
        builder.add_edge("start", f"b{i}")
        builder.add_edge(f"b{i}", "join")
    builder.add_edge("join", END)
    graph = builder.compile()

    def run() -> int:
        nonlocal calls
        calls = 0
        final = graph.invoke({"x": X})
        assert final["values"] == [2 * X] * FAN_WIDTH, final
        assert final["total"] == 2 * X * FAN_WIDTH, final
        return calls

    return run


# --- pydantic-graph ----------------------------------------------------------------------


@dataclass
class PgState:
    last: int | None = None
    value: int | None = None


def pydantic_graph_runner(shape: str) -> Run:
    """pydantic-graph `GraphBuilder` of async steps, built once, run with `Graph.run_sync`.

    Data flows along edges: the graph input `x` goes from `start_node` into step `start`,
    and every step hands it on as its output.
    chain: start_node -> `start` -> n0 -> ... -> n999 -> end_node, one step and one
    `edge_from(a).to(b)` per node; even steps set `state.last = x`, odd steps compute
    `state.value = 2 * x`.
    fan: `edge_from(start).to(b0, ..., b99)` broadcasts `x` to 100 parallel steps (a fork;
    each branch runs as its own task), each returning `2 * x`; `edge_from(b0, ..., b99)` leads
    into a `join` with `reduce_list_append`, which hands the list of 100 to step `join`
    (run once), which sums it into the graph output.
    """
    from pydantic_graph import GraphBuilder, StepContext, reduce_list_append

    calls = 0

    async def start(ctx: StepContext[PgState, None, int]) -> int:
        nonlocal calls
        calls += 1
        return ctx.inputs

    if shape == "chain":

        async def set_last(ctx: StepContext[PgState, None, int]) -> int:
            nonlocal calls
            calls += 1
            ctx.state.last = ctx.inputs
            return ctx.inputs

        async def transform(ctx: StepContext[PgState, None, int]) -> int:
            nonlocal calls
            calls += 1
            ctx.state.value = 2 * ctx.inputs
            return ctx.inputs

        g = GraphBuilder(name="chain", state_type=PgState, input_type=int, output_type=int)
        steps = [g.step(start, node_id="start")]
        for i in range(CHAIN_LENGTH):
            steps.append(g.step(set_last if i % 2 == 0 else transform, node_id=f"n{i}"))
        nodes = [g.start_node, *steps, g.end_node]
        g.add(*(g.edge_from(source).to(target) for source, target in pairwise(nodes)))
        graph = g.build()

        def run() -> int:
            nonlocal calls
            calls = 0
            state = PgState()
            output = graph.run_sync(state=state, inputs=X)
            assert (output, state.last, state.value) == (X, X, 2 * X), (output, state)
            return calls

        return run

    async def branch(ctx: StepContext[PgState, None, int]) -> int:
        nonlocal calls
        calls += 1
        return 2 * ctx.inputs

    async def join(ctx: StepContext[PgState, None, list[int]]) -> int:
        nonlocal calls
        calls += 1
        assert ctx.inputs == [2 * X] * FAN_WIDTH, ctx.inputs
        return sum(ctx.inputs)

    g = GraphBuilder(name="fan", state_type=PgState, input_type=int, output_type=int)
    start_step = g.step(start, node_id="start")
    branches = [g.step(branch, node_id=f"b{i}") for i in range(FAN_WIDTH)]
    collect = g.join(reduce_list_append, initial_factory=list, node_id="collect")
    join_step = g.step(join, node_id="join")
    g.add(
        g.edge_from(g.start_node).to(start_step),
        g.edge_from(start_step).to(*branches),
        g.edge_from(*branches).to(collect),
        g.edge_from(collect).to(join_step),
        g.edge_from(join_step).to(g.end_node),
    )
    graph = g.build()

    def run() -> int:
        nonlocal calls
        calls = 0
        output = graph.run_sync(state=PgState(), inputs=X)
        assert output == 2 * X * FAN_WIDTH, output
        return calls

    return run


# --- Hamilton ----------------------------------------------------------------------------


def _hamilton_function(
    namespace: dict[str, Any], name: str, params: str, returns: str, body: str
) -> Callable[..., Any]:
    """One generated node function. Hamilton names a node after its function and its
    dependencies after the parameters, so a DAG built in a loop needs functions with generated
    names and signatures; they all count into `namespace["calls"]`."""
    source = f"def {name}({params}) -> {returns}:\n    global calls\n    calls += 1\n    {body}\n"
    exec(source, namespace)  # our own generated text, as ad_hoc_utils.module_from_source does
    return namespace[name]


def hamilton_runner(shape: str) -> Run:
    """Hamilton (`sf-hamilton`, import `hamilton`): one function per node, generated, gathered
    with `ad_hoc_utils.create_temporary_module` and built once with
    `driver.Builder().with_modules(...)`; a run is `Driver.execute(final_vars, inputs={"x": 1})`
    (the default result is a dict of the final variables).

    chain: `start(x)` -> `n0(start, x)` -> `n1(n0, x)` -> ... -> `n999(n998, x)`: each node
    depends on its predecessor and reads the input `x`; even nodes return `x` (`last`), odd ones
    `2 * x` (`value`); the run asks for n998 and n999. Hamilton's default executor walks the
    DAG depth-first by recursion, a frame per link, so the run raises `sys.setrecursionlimit`
    to fit the chain (and restores it); without that a 1,000-node chain is a RecursionError.
    fan: `start(x)`, `b0(start)` ... `b99(start)` each returning `2 * start`, and `join`,
    whose one parameter gathers the 100 branches as a list (`@inject(values=group(*[source(b)
    ...]))`, Hamilton's fan-in of named nodes) and sums it.
    loop: Hamilton has none: a DAG has no cycle, and no state passes from one iteration to the
    next. Its nearest is dynamic execution: `index(start) -> Parallelizable[int]` yields
    0..999, `body(index)` returns the index (our loop body's work), `collected(body:
    Collect[int])` gathers them; tasks run in this thread (`SynchronousLocalTaskExecutor`).
    That is a map, not a loop, and `notes["loop"]` says so.
    """
    from hamilton import ad_hoc_utils, driver
    from hamilton.execution import executors
    from hamilton.function_modifiers import group, inject, source
    from hamilton.htypes import Collect, Parallelizable

    ns: dict[str, Any] = {"calls": 0, "Parallelizable": Parallelizable, "Collect": Collect}
    functions = [_hamilton_function(ns, "start", "x: int", "int", "return x")]
    builder = driver.Builder()
    recursion_limit = 0
    if shape == "chain":
        previous = "start"
        for i in range(CHAIN_LENGTH):
            body = "return x" if i % 2 == 0 else "return 2 * x"
            functions.append(
                _hamilton_function(ns, f"n{i}", f"{previous}: int, x: int", "int", body)
            )
            previous = f"n{i}"
        final_vars = [f"n{CHAIN_LENGTH - 2}", f"n{CHAIN_LENGTH - 1}"]
        expected: dict[str, Any] = {final_vars[0]: X, final_vars[1]: 2 * X}
        recursion_limit = 2 * CHAIN_LENGTH + 1000
    elif shape == "fan":
        for i in range(FAN_WIDTH):
            functions.append(
                _hamilton_function(ns, f"b{i}", "start: int", "int", "return 2 * start")
            )
        join = _hamilton_function(ns, "join", "values: list[int]", "int", "return sum(values)")
        branches = group(*(source(f"b{i}") for i in range(FAN_WIDTH)))
        functions.append(inject(values=branches)(join))
        final_vars = ["join"]
        expected = {"join": 2 * X * FAN_WIDTH}
    elif shape == "loop":
        index_body = f"yield from range({LOOP_ITERATIONS})"
        functions += [
            _hamilton_function(ns, "index", "start: int", "Parallelizable[int]", index_body),
            _hamilton_function(ns, "body", "index: int", "int", "return index"),
            _hamilton_function(
                ns, "collected", "body: Collect[int]", "list[int]", "return list(body)"
            ),
        ]
        builder = (
            builder.enable_dynamic_execution(allow_experimental_mode=True)
            .with_local_executor(executors.SynchronousLocalTaskExecutor())
            .with_remote_executor(executors.SynchronousLocalTaskExecutor())
        )
        final_vars = ["collected"]
        expected = {"collected": list(range(LOOP_ITERATIONS))}
    else:
        raise ValueError(f"unknown shape {shape!r}")
    dr = builder.with_modules(ad_hoc_utils.create_temporary_module(*functions)).build()
    inputs = {"x": X}

    def run() -> int:
        ns["calls"] = 0
        previous_limit = sys.getrecursionlimit()
        if recursion_limit > previous_limit:
            sys.setrecursionlimit(recursion_limit)
        try:
            output = dr.execute(final_vars, inputs=inputs)
        finally:
            sys.setrecursionlimit(previous_limit)
        assert output == expected, output
        return ns["calls"]

    return run


# --- registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """A peer engine: the import that proves it is installed, and which shapes it runs."""

    module: str
    attribute: str
    factory: Callable[[str], Run]
    shapes: tuple[str, ...] = ("chain", "fan")
    notes: dict[str, str] = field(default_factory=dict)


HAMILTON_LOOP_NOTE = (
    "Hamilton cannot express a loop (a DAG has no cycle, no state passes between iterations);"
    f" its figure is the nearest it has, a Parallelizable/Collect map over {LOOP_ITERATIONS:,}"
    " items run in this thread: a map, not a loop"
)

PEERS: dict[str, Peer] = {
    "LangGraph": Peer("langgraph.graph", "StateGraph", langgraph_runner),
    "pydantic-graph": Peer("pydantic_graph", "GraphBuilder", pydantic_graph_runner),  # 2.x API
    "Hamilton": Peer(
        "hamilton.driver",
        "Builder",
        hamilton_runner,
        shapes=("chain", "fan", "loop"),
        notes={"loop": HAMILTON_LOOP_NOTE},
    ),
}


def available() -> dict[str, Peer]:
    """The peers whose package imports; says which are missing, raises ImportError if all are."""
    peers: dict[str, Peer] = {}
    missing: list[str] = []
    for name, peer in PEERS.items():
        try:
            getattr(importlib.import_module(peer.module), peer.attribute)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name}: {exc}")
        else:
            peers[name] = peer
    if not peers:
        raise ImportError("; ".join(missing))
    for reason in missing:
        print(f"(peer skipped: {reason}; install it with pip install -e .[bench])")
    return peers
