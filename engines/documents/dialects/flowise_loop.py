"""Flowise's Loop node (a back-jump) as a structured compat `loop`.

A Loop node `L` has no outgoing edge: `data.inputs.loopBackToNode` (`"<node id>-<label>"`)
names an earlier node `T`, and `maxLoopCount` how many times it may jump back. The nodes
on a path from `T` to `L` form the **section** that repeats. compat has no back edges (a
level is acyclic, docs/semantics.md §3), but a section with one entry (`T`) and one exit
(one node `X` leads to `L`, and only `X` leads out) is exactly a `loop` body:

* `X` a Human Input or Condition: `doWhile`, repeating while `X` took the output that leads
  to `L`, at most `maxLoopCount + 1` passes (Flowise stops jumping back after
  `maxLoopCount` jumps); a router after the loop takes the output `X` chose on its last
  pass (after the last allowed jump, the output leading to `L` goes nowhere).
* `X` any other node (it always jumps back): `for`, `maxLoopCount + 1` passes.

Anything else (a second way in, a second way out, nested sections …) is refused, naming
the Loop node and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engines.documents.dialects.flowise_graph import (
    CONDITION,
    HUMAN,
    LOOP,
    FEdge,
    FlowiseGraph,
    FNode,
)
from engines.documents.dialects.text import Untranslatable


@dataclass
class LoopPlan:
    loop: FNode
    target: str
    section: set[str]
    #: The node that jumps back (its edge leads to the Loop node).
    choice: FNode
    back_handle: str
    #: Edges from `choice` leaving the section (empty: the section always jumps back).
    exits: list[FEdge] = field(default_factory=list)
    passes: int = 1
    variable: str = ""

    @property
    def conditional(self) -> bool:
        return self.choice.name in (HUMAN, CONDITION)


def _target(graph: FlowiseGraph, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise Untranslatable("loopBackToNode is empty: no node to jump back to")
    ids = sorted((n.id for n in graph.nodes), key=len, reverse=True)
    for node_id in ids:
        if value == node_id or value.startswith(node_id + "-"):
            return node_id
    raise Untranslatable(f"loopBackToNode {value!r} names no node of this flow")


def _passes(value: object) -> int:
    try:
        count = int(str(value)) if not isinstance(value, bool) else -1
    except ValueError:
        count = -1
    if count < 0:
        raise Untranslatable(f"maxLoopCount {value!r} is not a whole number >= 0")
    return count + 1


def _reach(graph: FlowiseGraph, start: str, stop: str, forward: bool) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current in seen or current == stop:
            continue
        seen.add(current)
        edges = graph.outgoing(current) if forward else graph.incoming(current)
        todo.extend(e.target if forward else e.source for e in edges)
    return seen


def plan_loop(graph: FlowiseGraph, loop: FNode, number: int) -> LoopPlan:
    """The structured form of one Loop node. Raises `Untranslatable` naming why not."""
    if graph.outgoing(loop.id):
        raise Untranslatable("a Loop node with outgoing edges (Flowise gives it none)")
    target = _target(graph, loop.inputs.get("loopBackToNode"))
    passes = _passes(loop.inputs.get("maxLoopCount", 5))
    into_loop = graph.incoming(loop.id)
    if not into_loop:
        raise Untranslatable("no edge leads to the Loop node, so it never runs")
    back = _reach(graph, loop.id, "", forward=False) - {loop.id}
    section = _reach(graph, target, loop.id, forward=True) & back
    if target not in section:
        raise Untranslatable(f"the Loop node is not reached from its loop-back target {target!r}")
    for node_id in section:
        other = graph.node(node_id)
        if other is not None and other.name == LOOP:
            raise Untranslatable(f"the section it repeats holds another Loop node {node_id!r}")
        if other is not None and other.parent != loop.parent:
            raise Untranslatable(
                f"{node_id!r} in the section it repeats is in another container than the Loop"
            )
    for edge in graph.edges:
        if edge.target in section and edge.source not in section and edge.target != target:
            raise Untranslatable(
                f"the section from {target!r} is not single-entry: {edge.source!r} enters it "
                f"at {edge.target!r}"
            )
    sources = sorted({e.source for e in into_loop})
    if len(sources) > 1:
        raise Untranslatable(
            f"the section is not single-exit: {', '.join(map(repr, sources))} all jump back"
        )
    choice = graph.node(sources[0])
    if choice is None or choice.id not in section:
        raise Untranslatable(f"the Loop node is reached from {sources[0]!r}, outside the section")
    exits = [e for e in graph.edges if e.source in section and e.target not in section | {loop.id}]
    strays = sorted({f"{e.source!r} -> {e.target!r}" for e in exits if e.source != choice.id})
    if strays:
        raise Untranslatable(
            f"the section from {target!r} is not single-exit: it also leaves by {', '.join(strays)}"
        )
    back_handles = {e.handle for e in into_loop}
    plan = LoopPlan(loop, target, section, choice, sorted(back_handles)[0], exits, passes)
    plan.variable = f"flowise_loop_{number}"
    if plan.conditional:
        shared = sorted({e.handle for e in exits} & back_handles)
        if shared:
            raise Untranslatable(
                f"{choice.id!r} output {shared[0]!r} both jumps back and goes on to another node"
            )
    elif exits:
        raise Untranslatable(
            f"{choice.id!r} ({choice.kind}) leads both to the Loop and to "
            f"{exits[0].target!r}; only a Condition or Human Input can choose between them"
        )
    return plan
