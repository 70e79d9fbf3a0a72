"""The Flowise AgentFlow v2 dialect: reads the file, plans Loop back-jumps, maps every node
(flowise_nodes.py), then wires the native edges.

The workflow's `outputs` are the outputs of every top-level Flowise node except Start
(`null` for a node that did not run), so a run's result shows what each step produced.
Sticky notes are display only: ignored, and listed as such.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engines.documents.dialects.base import (
    DialectImport,
    DialectOptions,
    Mapped,
    Refusal,
    node_ref,
    quote,
    refuse_all,
)
from engines.documents.dialects.flowise_graph import (
    CONDITION,
    ITERATION,
    LOOP,
    NOTE,
    START,
    FlowiseGraph,
    FNode,
    is_flowise_v2,
    read_graph,
)
from engines.documents.dialects.flowise_loop import LoopPlan, plan_loop
from engines.documents.dialects.flowise_nodes import Emitted, choice_expression, map_node
from engines.documents.dialects.flowise_vars import resolver
from engines.documents.dialects.text import Untranslatable
from engines.errors import Problem, WorkflowInvalid

NAME = "flowise-agentflow-v2"


class FlowiseAgentflowV2:
    """Flowise AgentFlow v2 saved flows (`marketplaces/agentflowsv2/*.json`)."""

    name = NAME
    description = (
        "Flowise AgentFlow v2 (Start, Condition, Iteration, Loop, Human Input, LLM, Agent, Tool)"
    )

    def detect(self, doc: Any) -> bool:
        return is_flowise_v2(doc)

    def convert(self, doc: Any, *, default_id: str, options: DialectOptions) -> DialectImport:
        if not is_flowise_v2(doc):
            raise WorkflowInvalid(
                [Problem("nodes", "not a Flowise AgentFlow v2 flow: no agentFlow Start node")]
            )
        return _Assembly(read_graph(doc), options).run(doc, default_id)


class _Assembly:
    def __init__(self, graph: FlowiseGraph, options: DialectOptions) -> None:
        self.graph = graph
        self.options = options
        self.refusals: list[Refusal] = [
            Refusal(loc, node, kind, why) for loc, node, kind, why in graph.unreadable
        ]
        self.plans: dict[str, LoopPlan] = {}
        #: node id → the Loop whose section holds it.
        self.section_of: dict[str, str] = {}
        self.emitted: dict[str, Emitted] = {}
        self.variables: dict[str, Any] = {}
        self.mapped: list[Mapped] = []
        self.ignored: list[Mapped] = []

    def refuse(self, node: FNode, reason: str) -> None:
        self.refusals.append(Refusal(node.location, node.id, node.kind, reason))

    def run(self, doc: dict[str, Any], default_id: str) -> DialectImport:
        self._check_parents()
        self._plan_loops()
        for node in self.graph.nodes:
            self._map(node)
        refuse_all(self.refusals, NAME)
        nodes, edges = self._assemble()
        document: dict[str, Any] = {"id": default_id}
        if isinstance(doc.get("description"), str):
            document["description"] = doc["description"]
        if self.variables:
            document["variables"] = self.variables
        document["nodes"] = nodes
        document["edges"] = edges
        outputs = self._outputs()
        if outputs:
            document["outputs"] = outputs
        return DialectImport(NAME, document, tuple(self.mapped), tuple(self.ignored))

    def _check_parents(self) -> None:
        for node in self.graph.nodes:
            if node.parent is None:
                continue
            parent = self.graph.node(node.parent)
            if parent is None or parent.name != ITERATION:
                self.refuse(node, f"its parent {node.parent!r} is not an Iteration node")

    def _plan_loops(self) -> None:
        loops = [n for n in self.graph.nodes if n.name == LOOP]
        for number, loop in enumerate(loops):
            try:
                plan = plan_loop(self.graph, loop, number)
            except Untranslatable as exc:
                self.refuse(loop, f"cannot become a compat loop: {exc}")
                continue
            overlap = sorted(plan.section & set(self.section_of))
            if overlap:
                self.refuse(loop, f"its section overlaps another Loop's at {overlap[0]!r}")
                continue
            self.plans[loop.id] = plan
            self.section_of.update(dict.fromkeys(plan.section, loop.id))

    def _reachable(self, reader: FNode) -> Callable[[str], str | None]:
        def why(ref: str) -> str | None:
            loop = self.section_of.get(ref)
            if loop is not None and self.section_of.get(reader.id) != loop:
                return (
                    f"{ref!r} runs inside the loop that Loop node {loop!r} becomes, so only "
                    "nodes of that loop can read it"
                )
            return None

        return why

    def _map(self, node: FNode) -> None:
        if node.name == NOTE:
            self.ignored.append(Mapped(node.id, node.kind, "a sticky note (display only)"))
            return
        if node.name == LOOP:
            plan = self.plans.get(node.id)
            if plan is not None:
                mode = "doWhile" if plan.conditional else "for"
                became = f"loop ({mode}, at most {plan.passes} passes) over {sorted(plan.section)}"
                self.mapped.append(Mapped(node.id, node.kind, became))
            return
        resolve = resolver(node, self.graph, self._reachable(node))
        try:
            start = next((n for n in self.graph.nodes if n.name == START), None)
            emitted, variables = map_node(node, resolve, self.options, start)
        except Untranslatable as exc:
            self.refuse(node, str(exc))
            return
        self.variables.update(variables)
        self.emitted[node.id] = emitted
        self.mapped.append(Mapped(node.id, node.kind, emitted.became))

    # ------------------------------------------------------------------ assembly

    def _parent(self, node_id: str) -> str | None:
        loop = self.section_of.get(node_id)
        if loop is not None:
            return loop
        node = self.graph.node(node_id)
        return node.parent if node is not None else None

    def _assemble(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        nodes: list[dict[str, Any]] = []
        edges: list[dict[str, Any]] = []
        consumed: set[int] = set()
        for node in self.graph.nodes:
            if node.id in self.plans:
                nodes += self._loop_nodes(self.plans[node.id], edges, consumed)
                continue
            emitted = self.emitted.get(node.id)
            if emitted is None:
                continue
            plan = self.plans.get(self.section_of.get(node.id, ""))
            if plan is not None and plan.choice.id == node.id:
                nodes += self._choice_nodes(plan, emitted, edges)
                continue
            parent = self._parent(node.id)
            for native in emitted.nodes:
                nodes.append(native | ({"parent": parent} if parent else {}))
            edges += emitted.edges
        for node in self.graph.nodes:
            if node.name == ITERATION and node.id in self.emitted:
                nodes.append({"id": f"{node.id}.start", "type": "start", "parent": node.id})
                children = [n.id for n in self.graph.nodes if n.parent == node.id]
                for child in children:
                    if not any(e.source in children for e in self.graph.incoming(child)):
                        edges.append({"source": f"{node.id}.start", "target": child})
        for edge in self.graph.edges:
            if edge.index in consumed:
                continue
            source = self.emitted.get(edge.source)
            if source is None or (
                edge.target not in self.emitted and edge.target not in self.plans
            ):
                continue
            native_source, handle = source.exits[edge.handle]
            target = edge.target
            section = self.section_of.get(target)
            if section is not None and self.section_of.get(edge.source) != section:
                target = section  # entering a repeated section: enter its loop
            edges.append(_edge(native_source, handle, target))
        return nodes, edges

    def _loop_nodes(
        self, plan: LoopPlan, edges: list[dict[str, Any]], consumed: set[int]
    ) -> list[dict[str, Any]]:
        loop = plan.loop
        var = quote(plan.variable)
        if plan.conditional:
            params: dict[str, Any] = {
                "mode": "doWhile",
                "condition": f"vars[{var}] == {quote(plan.back_handle)} "
                f"and loop.iteration < {plan.passes}",
                "max_iterations": plan.passes,
            }
            self.variables[plan.variable] = ""
        else:
            params = {"mode": "for", "count": plan.passes, "max_iterations": plan.passes}
        native: dict[str, Any] = {"id": loop.id, "type": "loop"}
        if loop.label:
            native["name"] = loop.label
        native["params"] = params
        if loop.parent:
            native["parent"] = loop.parent
        start = {"id": f"{loop.id}.start", "type": "start", "parent": loop.id}
        edges.append({"source": start["id"], "target": plan.target})
        out = [native, start]
        for edge in self.graph.edges:
            if edge.source == plan.choice.id and (edge.target == loop.id or edge in plan.exits):
                consumed.add(edge.index)
        handles = sorted({e.handle for e in plan.exits})
        if handles:
            router_id = f"{plan.choice.id}.route"
            routes = [{"name": _route(h), "when": f"vars[{var}] == {quote(h)}"} for h in handles]
            router: dict[str, Any] = {
                "id": router_id,
                "type": "router",
                "params": {"routes": routes},
            }
            if loop.parent:
                router["parent"] = loop.parent
            out.append(router)
            edges.append({"source": loop.id, "target": router_id})
            for edge in plan.exits:
                edges.append(_edge(router_id, _route(edge.handle), edge.target))
        return out

    def _choice_nodes(
        self, plan: LoopPlan, emitted: Emitted, edges: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The node that jumps back, inside the loop body, followed by a `set` recording the
        output it chose (the loop's condition and the router after it read that)."""
        node = plan.choice
        parent = {"parent": plan.loop.id}
        if not plan.conditional:
            edges += emitted.edges
            return [native | parent for native in emitted.nodes]
        kept = [emitted.nodes[0] | parent]
        if node.name == CONDITION:
            edges += emitted.edges
            sources = sorted(set(emitted.exits.values()))
        else:  # a Human Input: its answer is the choice, no router needed in the body
            sources = [(node.id, "out")]
        choice_id = f"{node.id}.choice"
        first = "input" if node.name != CONDITION else "router"
        became = (
            f"{first} inside loop {plan.loop.id!r}, then set {choice_id!r} recording its choice"
        )
        self.mapped = [
            Mapped(m.node, m.kind, became) if m.node == node.id else m for m in self.mapped
        ]
        value = "{{ " + choice_expression(node) + " }}"
        kept.append(
            {"id": choice_id, "type": "set", "params": {"values": {plan.variable: value}}} | parent
        )
        for source, handle in sources:
            edges.append(_edge(source, handle, choice_id))
        return kept

    def _outputs(self) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for node in self.graph.nodes:
            if node.name in (START, NOTE) or self._parent(node.id) is not None:
                continue
            if node.id in self.emitted or node.id in self.plans:
                outputs[node.id] = "{{ " + node_ref(node.id) + " }}"
        return outputs


def _route(handle: str) -> str:
    return "otherwise" if handle == "default" else handle


def _edge(source: str, handle: str, target: str) -> dict[str, Any]:
    edge: dict[str, Any] = {"source": source, "target": target}
    if handle != "out":
        edge["handle"] = handle
    return edge
