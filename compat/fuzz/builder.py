"""Drawing one valid, race-free workflow document, node by node.

How validity is kept by construction (so no example is thrown away):
- a level is drawn in order; every node gets at least one predecessor among the nodes
  drawn before it, so everything is reachable and nothing is cyclic;
- a body ends with one exit node (a `transform` joining every node still without a
  successor, led by the iteration's or branch's index, so each result says where it came
  from);
- templates name only ancestors (and, in a body, the ancestors of the enclosing containers),
  so rule 4 holds; each `set` writes its own variable `v_<id>`, read only where its writer is
  an ancestor, so no two nodes that can run concurrently touch one variable (rule 6);
  parallel bodies, at any depth, hold no `set` (rule 7);
- sub-workflows come from a library drawn first; none of them holds an `input`;
- with circuit breakers, one tool is called only by an ordered segment (fuzz/breakers.py).
Every choice is a hypothesis draw, so shrinking removes nodes, options and features.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import strategies as st

from compat.fuzz.breakers import declare_breakers, reserve_tool, segment

Draw = Callable[[st.SearchStrategy[Any]], Any]

FLAGS = 6
SECONDS = (0, 0.5, 1, 2)
#: Never equal to a duration or a backoff sum, so a timeout is never a tie.
TIMEOUTS = (0.75, 1.5, 5)
SCHEMAS: tuple[dict[str, Any], ...] = (
    {"type": "integer"},
    {"type": "string"},
    {"type": ["integer", "null"]},
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    {"enum": [1, "yes"]},
)
LITERALS: tuple[Any, ...] = (0, 1, -2, 3, "s", None, True, [1, 2], {"k": 1}, 2.5)
#: Built-in tools that always succeed on the arguments drawn for them (bar bad `b`s).
SAFE_TOOLS = ("echo", "add", "subtract", "multiply", "sum", "concat", "upper", "length", "sleep")
#: Built-in tools that fail, recoverably or not (`flaky` only for its first attempts).
FAILING_TOOLS = ("raise", "crash", "divide", "lookup")


@cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


_BOOLS = st.booleans()


def fast_integers(draw: Draw) -> Callable[[int, int], int] | None:
    owner = getattr(draw, "__self__", None)
    choose = getattr(owner, "draw_integer", None)
    return choose if callable(choose) else None


@dataclass
class Scope:
    """What a node's templates may name."""

    nodes: list[str]
    variables: list[str]
    #: Context references of the enclosing containers, innermost first.
    context: list[str] = field(default_factory=list)
    #: Integer-valued context references (`loop.index`, `parallel.index`).
    indices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Child:
    """A workflow of the library a `subworkflow` node may call."""

    id: str
    recursive: bool = False


@dataclass
class Budget:
    nodes: int


class Builder:
    """Draws one workflow document with the features `on` enabled."""

    def __init__(
        self,
        draw: Draw,
        workflow_id: str,
        features: frozenset[str],
        *,
        budget: Budget,
        max_depth: int,
        library: Sequence[Child] = (),
        inputs: bool = True,
        user_tools: Mapping[str, st.SearchStrategy[Any]] | None = None,
    ) -> None:
        self.draw = draw
        #: hypothesis's own integer choice, when `draw` is a ConjectureData's: the same
        #: choice `st.integers` makes (so shrinking is unchanged) without a strategy's cost.
        self._fast = fast_integers(draw)
        self.id = workflow_id
        self.features = features
        self.budget = budget
        self.max_depth = max_depth
        self.library = list(library)
        self.allow_inputs = inputs and "input" in features
        self.user_tools = dict(user_tools or {})
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.variables: dict[str, Any] = {}
        #: Variables each node writes (a container: everything its body writes).
        self.writes: dict[str, set[str]] = {}
        self.depth = 0
        self.top: list[str] = []
        #: Tool nodes with an idempotency key: node id -> (tool, key).
        self.keyed: dict[str, tuple[str, str]] = {}
        #: The tool only the breaker segment calls, and its place (compat/fuzz/breakers.py).
        self.breaker_tool: str | None = None
        self.segment_at: int | None = None

    # ------------------------------------------------------------------ small draws

    def on(self, feature: str) -> bool:
        return feature in self.features

    def number(self, low: int, high: int) -> int:
        if high <= low:
            return low
        if self._fast is not None:
            return self._fast(low, high)
        return self.draw(_ints(low, high))

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.number(0, len(options) - 1)]

    def flag(self) -> bool:
        return bool(self.number(0, 1))

    def some(self, options: Sequence[Any], most: int) -> list[Any]:
        """Up to `most` distinct picks, in the order drawn."""
        chosen: list[Any] = []
        for _ in range(self.number(0, min(most, len(options)))):
            item = self.pick(options)
            if item not in chosen:
                chosen.append(item)
        return chosen

    # ------------------------------------------------------------------ templates

    def refs(self, scope: Scope) -> list[str]:
        pool = [f"nodes.{n}.output" for n in scope.nodes]
        pool += [f"nodes.{n}.status" for n in scope.nodes]
        if self.on("error_ports"):  # what a routed failure shows downstream
            pool += [f"nodes.{n}.error" for n in scope.nodes]
        pool += [f"vars.{v}" for v in scope.variables] + scope.context + ["inputs.d"]
        return pool

    def value(self, scope: Scope, *, first: str | None = None) -> Any:
        """A template: mostly a list of references (led by `first`), sometimes a literal, a
        template that fails at run time, or (with `rich_templates`) any other kind."""
        kinds = ["refs"] * 3 + ["paths"] * 3 + ([] if first else ["literal"])
        if self.on("expression_errors"):
            kinds += ["error"] * (3 if scope.context else 2)
        if self.on("rich_templates"):
            kinds += ["text", "mapping", "filter", "for", "if", "arith", "bracket"]
        kind = self.pick(kinds)
        if kind == "literal":
            return self.pick(LITERALS)
        if kind == "error":
            return self.pick(["{{ inputs.d // inputs.z }}", "{{ [inputs.d // inputs.z] }}"])
        picked = self.some(self.refs(scope), 3)
        listed = "[" + ", ".join(([first] if first else []) + picked) + "]"
        if kind == "refs":
            return "{{ " + listed + " }}"
        if kind == "paths":  # plain references: the expression layer's fast path
            named = ([first] if first else []) + picked
            return {f"r{i}": "{{ " + ref + " }}" for i, ref in enumerate(named)} or [0]
        one = picked[0] if picked else (first or "inputs.d")
        if kind == "text":
            return f"{first or 't'}={{{{ {one} }}}}|{{{{ {listed} | length }}}}"
        if kind == "mapping":
            return {"first": "{{ " + (first or one) + " }}", "all": "{{ " + listed + " }}", "n": 1}
        if kind == "filter":
            return (
                "{{ "
                + listed
                + " | "
                + self.pick(["length", "tojson", "list", "reverse | list"])
                + " }}"
            )
        if kind == "for":
            return "{% for v in " + listed + " %}{{ loop.index }}:{{ v }};{% endfor %}"
        if kind == "if":
            test = f"inputs.flags[{self.number(0, FLAGS - 1)}]"
            return "{% if " + test + " %}{{ " + one + " }}{% else %}-{% endif %}"
        if kind == "arith":
            index = self.pick(scope.indices) if scope.indices else "inputs.d"
            return "{{ " + f"inputs.d * {self.number(-2, 3)} + {index}" + " }}"
        # bracket access
        if scope.nodes:
            node = self.pick(scope.nodes)
            return "{{ nodes['" + node + "']." + self.pick(["output", "status", "error"]) + " }}"
        if scope.variables:
            return "{{ vars['" + self.pick(scope.variables) + "'] }}"
        return "{{ inputs['d'] }}"

    def test(self, scope: Scope) -> str:
        """An expression for a condition or a route."""
        tests = [f"inputs.flags[{i}]" for i in range(FLAGS)] + ["inputs.d > 2"]
        tests += [f"nodes.{n}.status == 'completed'" for n in scope.nodes]
        tests += [f"{index} < 1" for index in scope.indices]
        if self.on("expression_errors"):
            tests.append("inputs.d // inputs.z > 1")
        return self.pick(tests)

    # ------------------------------------------------------------------ nodes

    def leaf_kinds(self, sets: bool) -> list[str]:
        kinds = [
            k
            for k in ("set", "transform", "condition", "router", "tool", "wait", "fail")
            if self.on(k) and (sets or k != "set")
        ]
        if self.on("tool"):
            kinds += ["tool"] * (2 if self.on("idempotency_key") else 1)
        if self.allow_inputs:
            kinds += ["input", "input"]
        if self.on("subworkflow") and self.library:
            kinds.append("subworkflow")
        return kinds or ["transform"]

    def leaf(self, node_id: str, kind: str, scope: Scope) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The node (without parent) and the handles it may leave by."""
        out: dict[str, Any] = {"id": node_id, "type": kind}
        handles: tuple[str, ...] = ("out", "out", "error")
        if kind == "set":
            name = f"v_{node_id}"
            self.variables[name] = self.initial()
            self.writes[node_id] = {name}
            values: dict[str, Any] = {name: self.value(scope)}
            if self.number(0, 2) == 0:  # a second value reading the first: before or after?
                second = f"{name}_b"
                self.variables[second] = self.initial()
                self.writes[node_id].add(second)
                values[second] = "{{ [vars." + name + "] }}"
            out["params"] = {"values": values}
        elif kind == "transform":
            out["params"] = {"value": self.value(scope)}
        elif kind == "condition":
            out["params"] = {"expression": self.test(scope)}
            handles = ("true", "false", "error")
        elif kind == "router":
            names = [f"r{i}" for i in range(self.number(1, 3))]
            routes = [{"name": n, "when": self.test(scope)} for n in names]
            out["params"] = {"routes": routes}
            if self.on("all_matching") and self.flag():
                out["params"]["all_matching"] = True
            handles = (*names, "default", "error")
        elif kind == "input":
            out["params"] = {"prompt": self.prompt(node_id, scope)}
            if self.on("bad_payloads") and self.number(0, 3) > 0:
                out["params"]["schema"] = self.pick(SCHEMAS)
        elif kind == "fail":
            code = self.pick(["BOOM", "E{{ inputs.d }}", "OOPS"])
            if self.on("expression_errors") and self.number(0, 3) == 0:
                code = "{{ inputs.d // inputs.z }}"
            out["params"] = {"code": code, "message": self.value(scope)}
            if self.flag():
                out["params"]["recoverable"] = True
            self.options(out, retry=True, timeout=False)
            handles = ("error",)
        elif kind == "wait":
            out["params"] = {"seconds": self.duration(scope)}
            self.options(out, retry=True, timeout=True)
        elif kind == "subworkflow":
            self.subworkflow(out, scope)
            handles = ("out", "error")
        else:
            self.tool(out, scope)
        return out, handles

    def duration(self, scope: Scope) -> Any:
        """Seconds of clock time: in a body often different per iteration or branch (later
        branches finishing first), so that finish order and canonical order part."""
        if scope.indices and self.flag():
            return "{{ (3 - " + scope.indices[0] + ") * 0.5 }}"
        if self.on("rich_templates") and self.number(0, 3) == 0:
            return "{{ inputs.z + 0.5 }}"
        return self.pick((1, 2, 0.5, 0))

    def initial(self) -> Any:
        if self.on("rich_templates") and self.flag():
            if self.on("expression_errors") and self.number(0, 2) == 0:
                return self.pick(["{{ inputs.d // inputs.z }}", "{{ inputs.items[0] }}"])
            return "{{ inputs.d }}"
        return 0

    def prompt(self, node_id: str, scope: Scope) -> Any:
        if self.on("expression_errors") and self.number(0, 5) == 0:
            return "{{ inputs.d // inputs.z }}"
        return f"{node_id}: {self.value(scope, first='inputs.d')}"

    def subworkflow(self, out: dict[str, Any], scope: Scope) -> None:
        child = self.pick(self.library)
        d = self.pick(
            ["{{ inputs.d - 1 }}", "{{ inputs.d }}", *(f"{{{{ {i} }}}}" for i in scope.indices)]
        )
        out["params"] = {
            "workflow": child.id,
            "inputs": {
                "flags": "{{ inputs.flags }}",
                "d": d,
                "z": "{{ inputs.z }}",
                "items": "{{ inputs.items }}",
            },
        }
        if self.on("compensate") and self.number(0, 2) == 0:
            out["compensate"] = self.compensation(out["id"])

    def tool(self, out: dict[str, Any], scope: Scope) -> None:
        names = list(SAFE_TOOLS) + (["flaky"] * 3 if self.on("retry") else [])
        names += list(FAILING_TOOLS) if self.on("tool_failures") else []
        names += list(self.user_tools)
        # Deduplication needs two executions of one (tool, key): keyed calls share a few
        # tools and keys, so that one happening before another is common.
        keyed = self.on("idempotency_key") and self.number(0, 3) > 0
        before = [n for n in scope.nodes if n in self.keyed]
        if keyed and before and self.flag():  # the same call again, after an earlier one
            name, key = self.keyed[self.pick(before)]
        else:
            pool = ["echo", "echo", "sleep", *names] if keyed else names
            name = self.pick([n for n in pool if n != self.breaker_tool])
            key = None
        if name in self.user_tools:
            args = self.draw(self.user_tools[name])
        else:
            args = self.builtin_args(name, scope)
        out["params"] = {"tool": name, "args": args}
        self.options(out, retry=True, timeout=name in ("sleep", "flaky") or self.number(0, 3) == 0)
        if keyed:
            if key is None:
                keys = ["k1", "k1", "k1", "k2", "{{ inputs.d }}"]
                key = self.pick(keys + [f"k{{{{ {i} }}}}" for i in scope.indices])
            out["idempotency_key"] = key
            self.keyed[out["id"]] = (name, key)
        if self.on("compensate") and self.flag():
            out["compensate"] = self.compensation(out["id"])

    def builtin_args(self, name: str, scope: Scope) -> dict[str, Any]:
        if name == "echo":
            return {"v": self.value(scope)}
        if name in ("add", "subtract", "multiply"):
            b: Any = self.pick([1, "{{ inputs.d }}", 2])
            if self.on("tool_failures") and self.number(0, 3) == 0:
                b = "{{ nodes.start.output }}"  # a mapping: BAD_ARGS
            return {"a": self.number(-3, 3), "b": b}
        if name == "divide":
            return {"a": "{{ inputs.d }}", "b": self.pick(["{{ inputs.z }}", 2])}
        if name == "sum":
            return {"values": "{{ [inputs.d, 1] + inputs.items }}"}
        if name == "concat":
            return {"values": ["a", "{{ inputs.d }}"], "separator": self.pick(["-", ""])}
        if name == "upper":
            return {"text": "x{{ inputs.d }}"}
        if name == "length":
            return {"value": self.value(scope)}
        if name == "sleep":
            return {"seconds": self.duration(scope), "value": self.value(scope)}
        if name == "flaky":
            return {"failures": self.number(0, 3)}
        if name == "raise":
            return {"code": "RAISED", "message": "m", "recoverable": self.flag()}
        if name == "lookup":
            return {"table": {"a": 1, "b": [2]}, "key": self.pick(["a", "b", "c"])}
        return {}  # crash

    def compensation(self, node_id: str) -> dict[str, Any]:
        if self.on("tool_failures") and self.number(0, 3) == 0:
            return {"tool": "raise", "args": {"code": "UNDO", "message": "undo failed"}}
        return {"tool": "echo", "args": {"undo": "{{ nodes." + node_id + ".output }}"}}

    def options(self, out: dict[str, Any], *, retry: bool, timeout: bool) -> None:
        """With the feature on, most eligible nodes get the option: an option that is
        generated but never taken (no retry after a failure, no attempt timed out) tests
        nothing."""
        if retry and self.on("retry") and self.number(0, 3) > 0:
            policy: dict[str, Any] = {
                "max_attempts": self.pick([2, 3, 1]),
                "initial_interval": self.pick([0.5, 1]),
                "backoff_coefficient": self.pick([2, 1]),
            }
            if self.number(0, 3) == 0:
                policy["non_retryable_codes"] = [self.pick(["FLAKY", "TIMEOUT", "RAISED"])]
            out["retry"] = policy
        if timeout and self.on("timeout") and self.number(0, 3) > 0:
            out["timeout"] = self.pick((0.75, 0.75, *TIMEOUTS))

    # ------------------------------------------------------------------ containers and levels

    def container(self, node_id: str, kind: str, scope: Scope, *, sets: bool) -> dict[str, Any]:
        if kind == "loop":
            mode = self.pick(["for", "forEach", "while", "doWhile"])
            params: dict[str, Any] = {"mode": mode}
            if mode == "for":
                params["count"] = self.pick([0, 1, 2, 3, "{{ inputs.z + 1 }}"])
            elif mode == "forEach":
                params["items"] = self.pick(["{{ inputs.items }}", "{{ [1, 2] }}"])
            else:
                params["condition"] = f"loop.index < {self.number(0, 3)}"
            if self.number(0, 3) == 0:
                params["max_iterations"] = 2  # LOOP_LIMIT for longer loops
            context, index = ["loop.index", "loop.item", "loop.iteration"], "loop.index"
        else:
            if self.flag():
                params = {"mode": "count", "count": self.number(0, 3)}
            else:
                params = {"mode": "collection", "items": "{{ inputs.items }}"}
            params["max_concurrency"] = self.pick([1, 2, 3, 1])
            context, index = ["parallel.index", "parallel.item"], "parallel.index"
        inner = Scope(
            scope.nodes, scope.variables, context + scope.context, [index, *scope.indices]
        )
        self.depth += 1
        size = self.number(1, max(1, min(4 if self.depth == 1 else 2, self.budget.nodes)))
        body = self.level(node_id, inner, size, sets=sets and kind == "loop")
        self.depth -= 1
        self.writes[node_id] = set().union(*(self.writes.get(n, set()) for n in body))
        return {"id": node_id, "type": kind, "params": params}

    def kinds(self, container: str | None, sets: bool) -> list[str]:
        kinds = self.leaf_kinds(sets)
        deeper = self.depth < (self.max_depth if self.on("nesting") else 1)
        if container is None:
            kinds += ["end"] if self.on("end") else []
        if deeper and self.budget.nodes > 2:
            kinds += [k for k in ("loop", "parallel") if self.on(k)]
        return kinds

    def level(self, container: str | None, outer: Scope, size: int, *, sets: bool) -> list[str]:
        """Add one level's nodes and edges; return its node ids."""
        prefix = f"{container}b" if container else "n"
        start = f"{container}s" if container else "start"
        self.add({"id": start, "type": "start"}, container)
        order, handles = [start], {start: ("out",)}
        ancestors: dict[str, set[str]] = {start: set()}
        left: list[str] = [start]  # nodes with handles and no outgoing edge yet
        chain = self.on("chain")
        for index in range(size + (1 if container else 0)):
            node_id = f"{prefix}{index}"
            exit_node = container is not None and index == size
            if not exit_node and self.budget.nodes <= 0:
                if container is None:
                    break
                continue
            candidates = [n for n in order if handles[n]]
            if exit_node:
                preds = list(left) or [candidates[-1]]
            elif chain:
                preds = [candidates[-1]]
            else:
                preds = [self.pick(candidates)]
                for extra in self.some(candidates, 2):
                    if extra not in preds:
                        preds.append(extra)
            mine = set(preds).union(*(ancestors[p] for p in preds))
            written = set().union(*(self.writes.get(a, set()) for a in mine))
            scope = Scope(
                sorted(mine) + outer.nodes,
                sorted(written) + outer.variables,
                outer.context,
                outer.indices,
            )
            self.budget.nodes -= 1
            if container is None and index == self.segment_at:
                self.segment_at = None
                placed = segment(self, node_id, [(p, handles[p]) for p in preds])
                for pred in preds:
                    if pred in left:
                        left.remove(pred)
                for placed_id, placed_handles in placed:
                    order.append(placed_id)
                    handles[placed_id] = placed_handles
                    ancestors[placed_id] = set(mine)
                    mine = mine | {placed_id}
                if placed[-1][1]:
                    left.append(placed[-1][0])
                continue
            if exit_node:
                made: dict[str, Any] = {"id": node_id, "type": "transform"}
                made["params"] = {"value": self.value(scope, first=outer.indices[0])}
                made_handles: tuple[str, ...] = ("out", "error")
            else:
                kind = self.pick(self.kinds(container, sets))
                if kind in ("loop", "parallel"):
                    made = self.container(node_id, kind, scope, sets=sets)
                    made_handles = ("out", "error")
                elif kind == "end":
                    made = {"id": node_id, "type": "end"}
                    # Ends often share a key: the merge order (canonical) decides which wins.
                    key = self.pick(["o", f"o_{node_id}"])
                    made["params"] = {"outputs": {key: self.value(scope)}}
                    made_handles = ()
                else:
                    made, made_handles = self.leaf(node_id, kind, scope)
            if not self.on("error_ports"):
                made_handles = tuple(h for h in made_handles if h != "error")
            self.add(made, container)
            for pred in preds:
                handle = self.pick(handles[pred])
                self.edges.append({"source": pred, "target": node_id, "handle": handle})
                if pred in left:
                    left.remove(pred)
            order.append(node_id)
            handles[node_id] = made_handles
            ancestors[node_id] = mine
            if made_handles:
                left.append(node_id)
        return order

    def add(self, made: dict[str, Any], container: str | None) -> None:
        if container is not None:
            made["parent"] = container
        self.nodes.append(made)

    # ------------------------------------------------------------------ whole documents

    def document(self, size: int) -> dict[str, Any]:
        self.breaker_tool = reserve_tool(self)
        if self.breaker_tool is not None:
            self.segment_at = self.number(0, min(size - 1, 2))
        top = self.level(None, Scope([], []), size, sets=True)
        self.top = top
        doc: dict[str, Any] = {"id": self.id}
        if self.variables:
            doc["variables"] = self.variables
        doc["nodes"] = self.nodes
        doc["edges"] = self.edges
        if self.on("outputs") and self.flag():
            outputs: dict[str, Any] = {
                "statuses": "{{ [" + ", ".join(f"nodes.{n}.status" for n in top) + "] }}"
            }
            if len(top) > 1:
                outputs["last"] = "{{ nodes." + self.pick(top[1:]) + ".output }}"
            if self.variables and self.flag():
                outputs["vars"] = "{{ vars }}"
            if self.on("expression_errors") and self.number(0, 2) == 0:
                outputs["bad"] = "{{ inputs.d // inputs.z }}"  # fails the run at its end
            doc["outputs"] = outputs
        if self.on("circuit_breakers"):
            declare_breakers(self, doc)
        return doc

    def recursive(self) -> dict[str, Any]:
        """A workflow that calls itself while `inputs.d` is above a floor: a floor far
        enough below `d` reaches the depth guard (SUBWORKFLOW_DEPTH)."""
        floor = self.pick([0, -2, -4])
        scope = Scope(["start"], [])
        middle, _ = self.leaf("work", "transform", scope)
        return {
            "id": self.id,
            "nodes": [
                {"id": "start", "type": "start"},
                middle,
                {
                    "id": "more",
                    "type": "condition",
                    "params": {"expression": f"inputs.d > {floor}"},
                },
                {
                    "id": "deeper",
                    "type": "subworkflow",
                    "params": {
                        "workflow": self.id,
                        "inputs": {
                            "flags": "{{ inputs.flags }}",
                            "d": "{{ inputs.d - 1 }}",
                            "z": "{{ inputs.z }}",
                            "items": "{{ inputs.items }}",
                        },
                    },
                },
                {
                    "id": "up",
                    "type": "end",
                    "params": {"outputs": {"depth": "{{ nodes.deeper.output.depth + 1 }}"}},
                },
                {"id": "bottom", "type": "end", "params": {"outputs": {"depth": 0}}},
            ],
            "edges": [
                {"source": "start", "target": "work"},
                {"source": "work", "target": "more"},
                {"source": "more", "target": "deeper", "handle": "true"},
                {"source": "deeper", "target": "up"},
                {"source": "more", "target": "bottom", "handle": "false"},
            ],
        }
