"""Property tests of the graph engine: on random valid workflows, no schedule changes a result
(docs/semantics.md §4 "within these rules every order of execution consistent with the
edges gives the same result", §9), and every trace respects happens-before (§3).

The generator builds random DAGs level by level. Every node gets at least one predecessor
among the nodes before it (so everything is reachable and acyclic); templates name only
ancestors (and, in a body, the ancestors of the container); each `set` writes its own
variable `v_<id>` (declared in `variables`), and a node reads a variable only when its
writer (or the container holding it) is an ancestor — so no two nodes that can run
concurrently touch one variable. Parallel bodies hold no `set`. The schedule is reshuffled
with the engine's `delay` hook (seconds of clock time before each node execution).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engines.clock import VirtualClock
from engines.errors import WorkflowInvalid
from engines.graph import GraphEngine
from engines.model import ValidatedWorkflow, validate_workflow
from engines.result import IterationPath, RunResult, TraceEvent
from engines.tools import builtin_registry

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FLAGS = 6
SECONDS = (0, 0.5, 1, 2)
TIMEOUTS = (0.75, 1.5, 5)  # never equal to a duration: timeouts are not a tie-break
DELAYS = (0, 0, 0.25, 0.5, 1, 3)
LEAVES = ("set", "transform", "condition", "router", "tool", "tool", "wait")
Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass
class Scope:
    """What a node's templates may name."""

    nodes: list[str]
    variables: list[str]
    context: list[str] = field(default_factory=list)


class Builder:
    """Draws one workflow document."""

    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.variables: dict[str, Any] = {}
        #: Variables each node writes (a container: everything its body writes).
        self.writes: dict[str, set[str]] = {}

    def template(self, scope: Scope, *, first: str | None = None) -> Any:
        """A literal, a division by `inputs.z` (EXPRESSION_ERROR when it is 0), or a list of
        references, led by `first` if given."""
        draw = self.draw
        kind = draw(st.integers(0, 10))
        if kind == 0 and first is None:
            return draw(st.integers(-3, 3))
        if kind in (1, 2) or (kind == 3 and scope.context):  # bodies fail a bit more often
            return "{{ inputs.d // inputs.z }}"
        pool = [f"nodes.{n}.output" for n in scope.nodes]
        pool += [f"nodes.{n}.status" for n in scope.nodes]
        pool += [f"vars.{v}" for v in scope.variables] + scope.context + ["inputs.d"]
        picked = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
        return "{{ [" + ", ".join(([first] if first else []) + picked) + "] }}"

    def leaf(self, node_id: str, kind: str, scope: Scope) -> tuple[dict[str, Any], tuple]:
        """The node (without parent) and the handles it may leave by."""
        draw = self.draw
        out: dict[str, Any] = {"id": node_id, "type": kind}
        handles: tuple[str, ...] = ("out", "out", "error")
        if kind == "set":
            name = f"v_{node_id}"
            self.variables[name] = 0
            self.writes[node_id] = {name}
            out["params"] = {"values": {name: self.template(scope)}}
        elif kind == "transform":
            out["params"] = {"value": self.template(scope)}
        elif kind == "condition":
            tests = [f"inputs.flags[{i}]" for i in range(FLAGS)]
            tests += [f"nodes.{n}.status == 'completed'" for n in scope.nodes]
            out["params"] = {"expression": draw(st.sampled_from(tests))}
            handles = ("true", "false", "error")
        elif kind == "router":
            names = [f"r{i}" for i in range(draw(st.integers(1, 2)))]
            flags = draw(
                st.lists(st.integers(0, FLAGS - 1), min_size=len(names), max_size=len(names))
            )
            routes = [
                {"name": n, "when": f"inputs.flags[{f}]"} for n, f in zip(names, flags, strict=True)
            ]
            out["params"] = {"routes": routes, "all_matching": draw(st.booleans())}
            handles = (*names, "default", "error")
        elif kind == "wait":
            out["params"] = {"seconds": draw(st.sampled_from(SECONDS))}
            self.options(out, retry=True, timeout=True)
        else:
            self.tool(out, scope)
        return out, handles

    def tool(self, out: dict[str, Any], scope: Scope) -> None:
        draw = self.draw
        name = draw(st.sampled_from(["echo", "add", "sleep", "flaky"]))
        if name == "echo":
            args: dict[str, Any] = {"v": self.template(scope)}
        elif name == "add":
            b = draw(st.sampled_from([1, "{{ inputs.d }}", "{{ nodes.start.output }}"]))
            args = {"a": draw(st.integers(-3, 3)), "b": b}  # a mapping b is BAD_ARGS
        elif name == "sleep":
            args = {"seconds": draw(st.sampled_from(SECONDS)), "value": self.template(scope)}
        else:
            args = {"failures": draw(st.integers(0, 3))}
        out["params"] = {"tool": name, "args": args}
        self.options(out, retry=name in ("sleep", "flaky"), timeout=name == "sleep")
        if draw(st.booleans()):
            out["idempotency_key"] = draw(st.sampled_from(["k1", "k1", "k2", "{{ inputs.d }}"]))
        if draw(st.integers(0, 3)) == 0:
            undo = "{{ nodes." + out["id"] + ".output }}"
            out["compensate"] = {"tool": "echo", "args": {"undo": undo}}

    def options(self, out: dict[str, Any], *, retry: bool, timeout: bool) -> None:
        draw = self.draw
        if retry and draw(st.booleans()):
            out["retry"] = {
                "max_attempts": draw(st.integers(1, 3)),
                "initial_interval": draw(st.sampled_from([0.5, 1])),
                "backoff_coefficient": draw(st.sampled_from([1, 2])),
            }
        if timeout and draw(st.booleans()):
            out["timeout"] = draw(st.sampled_from(TIMEOUTS))

    def container(self, node_id: str, kind: str, scope: Scope) -> dict[str, Any]:
        draw = self.draw
        if kind == "loop":
            mode = draw(st.sampled_from(["for", "forEach", "while", "doWhile"]))
            params: dict[str, Any] = {"mode": mode}
            if mode == "for":
                params["count"] = draw(st.integers(0, 3))
            elif mode == "forEach":
                params["items"] = "{{ inputs.items }}"
            else:
                params["condition"] = f"loop.index < {draw(st.integers(0, 3))}"
            if draw(st.integers(0, 3)) == 0:
                params["max_iterations"] = 2  # LOOP_LIMIT for longer loops
            context = ["loop.index", "loop.item"]
        else:
            if draw(st.booleans()):
                params = {"mode": "count", "count": draw(st.integers(0, 3))}
            else:
                params = {"mode": "collection", "items": "{{ inputs.items }}"}
            params["max_concurrency"] = draw(st.integers(1, 3))
            context = ["parallel.index", "parallel.item"]
        inner = Scope(scope.nodes, scope.variables, context)
        body = self.level(node_id, inner, draw(st.integers(1, 4)), sets=kind == "loop")
        self.writes[node_id] = set().union(*(self.writes.get(n, set()) for n in body))
        return {"id": node_id, "type": kind, "params": params}

    def level(self, container: str | None, outer: Scope, size: int, *, sets: bool) -> list[str]:
        """Add one level's nodes and edges; return its node ids."""
        draw = self.draw
        prefix = f"{container}b" if container else "n"
        start = f"{container}s" if container else "start"
        self.add({"id": start, "type": "start"}, container)
        order, handles = [start], {start: ("out",)}
        ancestors: dict[str, set[str]] = {start: set()}
        left: set[str] = {start}  # nodes without an outgoing edge yet
        kinds = [k for k in LEAVES if sets or k != "set"]
        if container is None:
            kinds += ["end", "loop", "parallel"]
        for index in range(size + (1 if container else 0)):
            node_id = f"{prefix}{index}"
            exit_node = container is not None and index == size
            candidates = [n for n in order if handles[n]]
            if exit_node:
                preds = sorted(left, key=order.index)
            else:
                preds = draw(
                    st.lists(
                        st.sampled_from(candidates),
                        min_size=1,
                        max_size=min(3, len(candidates)),
                        unique=True,
                    )
                )
            mine = set(preds).union(*(ancestors[p] for p in preds))
            written = set().union(*(self.writes.get(a, set()) for a in mine))
            scope = Scope(
                sorted(mine) + outer.nodes, sorted(written) + outer.variables, outer.context
            )
            kind = "transform" if exit_node else draw(st.sampled_from(kinds))
            if exit_node:  # each iteration's or branch's result tells its index
                made = {"id": node_id, "type": kind}
                made["params"] = {"value": self.template(scope, first=outer.context[0])}
                made_handles: tuple[str, ...] = ("out", "error")
            elif kind in ("loop", "parallel"):
                made, made_handles = self.container(node_id, kind, scope), ("out", "error")
            elif kind == "end":
                made = {"id": node_id, "type": "end"}
                made["params"] = {"outputs": {f"o_{node_id}": self.template(scope)}}
                made_handles = ()
            else:
                made, made_handles = self.leaf(node_id, kind, scope)
            self.add(made, container)
            for pred in preds:
                handle = draw(st.sampled_from(handles[pred]))
                self.edges.append({"source": pred, "target": node_id, "handle": handle})
                left.discard(pred)
            order.append(node_id)
            handles[node_id] = made_handles
            ancestors[node_id] = mine
            left.add(node_id)
        return order

    def add(self, made: dict[str, Any], container: str | None) -> None:
        if container is not None:
            made["parent"] = container
        self.nodes.append(made)


@st.composite
def documents(draw: Draw) -> dict[str, Any]:
    builder = Builder(draw)
    top = builder.level(None, Scope([], []), draw(st.integers(1, 7)), sets=True)
    doc: dict[str, Any] = {
        "id": "random",
        "variables": builder.variables,
        "nodes": builder.nodes,
        "edges": builder.edges,
    }
    if draw(st.integers(0, 3)) == 0:
        doc["outputs"] = {"statuses": "{{ [" + ", ".join(f"nodes.{n}.status" for n in top) + "] }}"}
    return doc


inputs_strategy = st.fixed_dictionaries(
    {
        "flags": st.lists(st.booleans(), min_size=FLAGS, max_size=FLAGS),
        "d": st.integers(-3, 9),
        "z": st.sampled_from([0, 1, 1, 1]),
        "items": st.lists(st.integers(0, 5), max_size=3),
    }
)


@dataclass(frozen=True)
class Case:
    doc: dict[str, Any]
    inputs: dict[str, Any]
    validated: ValidatedWorkflow

    def __repr__(self) -> str:  # what a falsifying example shows: the document itself
        return f"Case(doc={json.dumps(self.doc)}, inputs={json.dumps(self.inputs)})"


@st.composite
def cases(draw: Draw) -> Case:
    doc = draw(documents())
    try:
        validated = validate_workflow(doc)
    except WorkflowInvalid:
        assume(False)
        raise  # unreachable: assume(False) raises
    return Case(doc, draw(inputs_strategy), validated)


def delay_hooks(node_ids: list[str]) -> st.SearchStrategy[Callable[[str, IterationPath], float]]:
    """A delay per node (varying with the iteration path), drawn from a small set of values."""
    per_node = st.lists(st.sampled_from(DELAYS), min_size=1, max_size=4)

    def hook(table: dict[str, list[float]]) -> Callable[[str, IterationPath], float]:
        def delay(node_id: str, path: IterationPath) -> float:
            values = table[node_id]
            return values[sum(index for _, index in path) % len(values)]

        return delay

    return st.fixed_dictionaries({n: per_node for n in node_ids}).map(hook)


def _run(
    validated: ValidatedWorkflow,
    inputs: dict[str, Any],
    delay: Callable[[str, IterationPath], float] | None = None,
    max_concurrency: int = 64,
) -> RunResult:
    engine = GraphEngine(
        tools=builtin_registry(),
        clock=VirtualClock(),
        delay=delay,
        max_concurrency=max_concurrency,
    )
    return engine.run(validated, inputs)


def _summary(result: RunResult) -> dict[str, Any]:
    """Everything §9 requires to be equal, as canonical JSON (so 1, 1.0 and True differ)."""
    data = result.model_dump(
        mode="json",
        include={"status", "outputs", "vars", "node_outputs", "node_errors", "errors", "pause"},
    )
    return {
        "data": json.dumps(data, sort_keys=True),
        "executed": result.executed_nodes(),
        "steps": Counter(e.step() for e in result.trace),
    }


def _node_ids(validated: ValidatedWorkflow) -> list[str]:
    return list(validated.topology.iter_nodes())


@SETTINGS
@given(case=cases(), data=st.data())
def test_results_never_depend_on_node_delays(case: Case, data: st.DataObject) -> None:
    validated, inputs = case.validated, case.inputs
    baseline = _summary(_run(validated, inputs))
    for _ in range(2):
        delay = data.draw(delay_hooks(_node_ids(validated)), label="delay")
        concurrency = data.draw(st.sampled_from([1, 2, 64]), label="max_concurrency")
        assert _summary(_run(validated, inputs, delay, concurrency)) == baseline


# --------------------------------------------------------------------------- trace order

Execution = tuple[str, IterationPath]
BEGIN = ("started", "deduplicated")
END = ("completed", "failed", "deduplicated")


def _spans(trace: tuple[TraceEvent, ...]) -> dict[Execution, tuple[int, int]]:
    """(position of the first event, position of the last terminal event) per execution that
    ran (started or deduplicated); compensations after the end are not part of the span."""
    first: dict[Execution, int] = {}
    last: dict[Execution, int] = {}
    for position, event in enumerate(trace):
        key = (event.node, event.path)
        if event.kind.value in BEGIN:
            first.setdefault(key, position)
        if event.kind.value in END:
            last[key] = position
    return {key: (first[key], last[key]) for key in first if key in last}


def _kinds_are_well_formed(kinds: list[str]) -> bool:
    """`started (retrying started)* (completed|failed) compensated?`, or one skipped or
    deduplicated event (a pending input never shows up here: there are no inputs)."""
    if kinds in (["skipped"], ["deduplicated"]):
        return True
    if kinds and kinds[-1] == "compensated":
        if len(kinds) < 2 or kinds[-2] != "completed":
            return False
        kinds = kinds[:-1]
    if len(kinds) < 2 or kinds[0] != "started" or kinds[-1] not in ("completed", "failed"):
        return False
    middle = kinds[1:-1]
    return middle == ["retrying", "started"] * (len(middle) // 2)


@SETTINGS
@given(case=cases(), data=st.data())
def test_every_trace_respects_happens_before(case: Case, data: st.DataObject) -> None:
    validated, inputs = case.validated, case.inputs
    topology = validated.topology
    delay = data.draw(delay_hooks(_node_ids(validated)), label="delay")
    trace = _run(validated, inputs, delay).trace
    spans = _spans(trace)
    for (node_a, path_a), (_, end_a) in spans.items():
        for (node_b, path_b), (begin_b, _) in spans.items():
            if path_a == path_b and node_a != node_b and topology.is_ancestor(node_a, node_b):
                assert end_a < begin_b, f"{node_a} ended after its descendant {node_b} began"
            if topology.happens_before((node_a, path_a), (node_b, path_b)):
                assert end_a < begin_b, f"{(node_a, path_a)} ran into {(node_b, path_b)}"
    per_execution: dict[Execution, list[str]] = {}
    for event in trace:
        per_execution.setdefault((event.node, event.path), []).append(event.kind.value)
    for key, kinds in per_execution.items():
        assert _kinds_are_well_formed(kinds), f"{key}: {kinds}"
        started = [e.attempt for e in trace if (e.node, e.path) == key and e.kind == "started"]
        assert started == list(range(1, len(started) + 1)), f"{key}: attempts {started}"
