"""Random valid workflows with conversations, for the journey engine's property tests.

A copy of the generator of tests/test_graph_properties.py (see its docstring for how it keeps
every workflow valid), extended with `input` nodes — at the top level and in loop and
parallel bodies, with an optional schema and a prompt that may fail to render — and with a
random conversation of payloads (some of which a schema refuses) to answer them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from engines.errors import WorkflowInvalid
from engines.model import ValidatedWorkflow, validate_workflow

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FLAGS = 6
SECONDS = (0, 0.5, 1, 2)
TIMEOUTS = (0.75, 1.5, 5)  # never equal to a duration: timeouts are not a tie-break
DELAYS = (0, 0, 0.25, 0.5, 1, 3)
LEAVES = (
    "set",
    "transform",
    "condition",
    "router",
    "tool",
    "tool",
    "wait",
    "input",
    "input",
    "input",
    "fail",
)
SCHEMAS = (
    None,
    {"type": "integer"},
    {"type": "string"},
    {"type": ["integer", "null"]},
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
)
PAYLOADS = st.one_of(
    st.integers(-3, 5),
    st.sampled_from(["yes", "", None, True, {"n": 1}, {"n": "1"}, [1, 2], 2.5]),
)
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
        #: Containers enclosing the level being drawn.
        self.depth = 0

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
        elif kind == "input":
            if draw(st.integers(0, 5)) == 0:  # EXPRESSION_ERROR when inputs.z is 0
                prompt: Any = "{{ inputs.d // inputs.z }}"
            else:
                prompt = self.template(scope, first="inputs.d")
            out["params"] = {"prompt": f"{node_id}: {prompt}"}
            schema = draw(st.sampled_from(SCHEMAS))
            if schema is not None:
                out["params"]["schema"] = schema
        elif kind == "fail":
            code = draw(st.sampled_from(["BOOM", "E{{ inputs.d }}", "{{ inputs.d // inputs.z }}"]))
            out["params"] = {"code": code, "message": self.template(scope)}
            if draw(st.booleans()):
                out["params"]["recoverable"] = True
            self.options(out, retry=True, timeout=False)
            handles = ("error",)
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

    def container(self, node_id: str, kind: str, scope: Scope, *, sets: bool) -> dict[str, Any]:
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
        inner = Scope(scope.nodes, scope.variables, context + scope.context)
        self.depth += 1
        size = draw(st.integers(1, 4 if self.depth == 1 else 2))
        body = self.level(node_id, inner, size, sets=sets and kind == "loop")
        self.depth -= 1
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
        elif self.depth < 2:  # one container inside another, at most
            kinds += ["loop", "parallel"]
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
                made = self.container(node_id, kind, scope, sets=sets)
                made_handles = ("out", "error")
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
    conversation: list[Any]
    validated: ValidatedWorkflow

    def __repr__(self) -> str:  # what a falsifying example shows: the document itself
        return (
            f"Case(doc={json.dumps(self.doc)}, inputs={json.dumps(self.inputs)}, "
            f"conversation={json.dumps(self.conversation)})"
        )


@st.composite
def cases(draw: Draw) -> Case:
    doc = draw(documents())
    try:
        validated = validate_workflow(doc)
    except WorkflowInvalid:
        assume(False)
        raise  # unreachable: assume(False) raises
    conversation = draw(st.lists(PAYLOADS, min_size=1, max_size=6), label="conversation")
    return Case(doc, draw(inputs_strategy), conversation, validated)
