"""Peer engines for `bench_graph.py`: the same chain and fan-out on LangGraph and pydantic-graph.

`available()` returns `{peer_name: factory}`; `factory(shape)` builds and compiles the graph for
`shape` ("chain" or "fan") once and returns `run`, which executes one complete in-memory run
through the peer's normal entry point, checks the final state and returns the number of node
executions it performed, counted inside the node functions. Node counts match ours: the
chain is a start node and 1,000 nodes (1,001), the fan-out a start node, 100 branches and one
join node (102).

Install the peers with `pip install -e .[bench]`; a peer that fails to import is left out.
"""

import importlib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, TypedDict

CHAIN_LENGTH = 1000
FAN_WIDTH = 100
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


# --- registry ----------------------------------------------------------------------------

PEERS: dict[str, tuple[str, str, Callable[[str], Run]]] = {
    "LangGraph": ("langgraph.graph", "StateGraph", langgraph_runner),
    "pydantic-graph": ("pydantic_graph", "GraphBuilder", pydantic_graph_runner),  # 2.x API
}


def available() -> dict[str, Callable[[str], Run]]:
    """The peers whose package imports; says which are missing, raises ImportError if all are."""
    peers: dict[str, Callable[[str], Run]] = {}
    missing: list[str] = []
    for name, (module, attribute, factory) in PEERS.items():
        try:
            getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name}: {exc}")
        else:
            peers[name] = factory
    if not peers:
        raise ImportError("; ".join(missing))
    for reason in missing:
        print(f"(peer skipped: {reason}; install it with pip install -e .[bench])")
    return peers
