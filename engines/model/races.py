"""Determinism by construction: no two nodes that can run concurrently may race on a variable.

Two nodes of one level *can run concurrently* unless one is an ancestor of the other or they
are mutually exclusive: each is dominated by a different outgoing handle group of the same
exclusive choice (a condition's true/false, a router's routes without `all_matching`, a
node's normal output versus its `error` port). A node inside a container touches what its
container touches, as seen from the container's level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from engines.errors import Problem
from engines.model.nodes import (
    DEFAULT,
    ERROR,
    FALSE,
    TRUE,
    NodeBase,
    RouterNode,
    SetNode,
    ToolNode,
)
from engines.model.scoping import node_location, node_references
from engines.model.topology import Level, Topology
from engines.model.workflow import Edge, Workflow


@dataclass
class Touches:
    reads: set[str] = field(default_factory=set)
    reads_all: bool = False
    writes: set[str] = field(default_factory=set)

    def absorb(self, other: Touches) -> None:
        self.reads |= other.reads
        self.reads_all = self.reads_all or other.reads_all
        self.writes |= other.writes

    def touches(self, var: str) -> bool:
        return self.reads_all or var in self.reads or var in self.writes


def handle_groups(node: NodeBase, outgoing: tuple[Edge, ...]) -> list[frozenset[str]]:
    """The node's outgoing handles, grouped so that at most one group fires per run."""
    kind = node.type
    groups: list[frozenset[str]]
    if kind == "condition":
        groups = [frozenset((TRUE,)), frozenset((FALSE,))]
    elif isinstance(node, RouterNode):
        names = node.params.route_names
        if node.params.all_matching:
            groups = [frozenset(names)]
        else:
            groups = [frozenset((name,)) for name in names]
        groups.append(frozenset((DEFAULT,)))
    else:
        groups = [frozenset(h for h in node.handles() if h != ERROR)]
    groups.append(frozenset((ERROR,)))
    used = {edge.handle for edge in outgoing}
    return [g for g in groups if g & used]


def dominance(workflow: Workflow, level: Level) -> dict[str, dict[str, int]]:
    """node -> {choice node -> index (in `handle_groups` order) of the handle group that
    every path to node passes}."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    everything = set(level.nodes)
    for choice in level.nodes:
        groups = handle_groups(workflow.node(choice), level.outgoing[choice])
        if len(groups) < 2:
            continue
        for position, handles in enumerate(groups):
            seen = {level.start}
            frontier = [level.start]
            while frontier:
                current = frontier.pop()
                for edge in level.outgoing[current]:
                    if current == choice and edge.handle in handles:
                        continue
                    if edge.target not in seen:
                        seen.add(edge.target)
                        frontier.append(edge.target)
            for node in everything - seen:
                out[node][choice] = position
    return out


def _exclusive(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    return any(choice in b and b[choice] != group for choice, group in a.items())


def _touches(workflow: Workflow, topology: Topology) -> dict[str, Touches]:
    own: dict[str, Touches] = {}
    for node_id in topology.iter_nodes():
        node = workflow.node(node_id)
        refs = node_references(node)
        touches = Touches(set(refs.vars), refs.all_vars)
        if isinstance(node, SetNode):
            touches.writes = set(node.params.values)
        own[node_id] = touches
    # Fold bodies into their containers, innermost first.
    for container in sorted(
        (c for c in topology.levels if c is not None),
        key=lambda c: -len(topology.enclosing(c)),
    ):
        for node_id in topology.levels[container].nodes:
            own[container].absorb(own[node_id])
    return own


def _related_masks(level: Level, topology: Topology) -> dict[str, int]:
    """node -> bitmask (by canonical index) of itself, its ancestors and its descendants in
    its level: the nodes it can never run concurrently with because of the edges."""
    descendants: dict[str, int] = {}
    for node in reversed(level.nodes):
        mask = 0
        for edge in level.outgoing[node]:
            mask |= descendants[edge.target] | 1 << topology.index[edge.target]
        descendants[node] = mask
    return {
        node: topology.ancestor_mask(node) | descendants[node] | 1 << topology.index[node]
        for node in level.nodes
    }


def check_races(workflow: Workflow, topology: Topology) -> list[Problem]:
    problems: list[Problem] = []
    touches = _touches(workflow, topology)
    for level in topology.levels.values():
        written = sorted({v for n in level.nodes for v in touches[n].writes})
        if not written:
            continue
        dom = dominance(workflow, level)
        related = _related_masks(level, topology)
        reported: set[tuple[str, str]] = set()
        for var in written:
            involved = [n for n in level.nodes if touches[n].touches(var)]
            involved_mask = sum(1 << topology.index[n] for n in involved)
            for writer in (n for n in involved if var in touches[n].writes):
                candidates = involved_mask & ~related[writer]
                while candidates:
                    lowest = candidates & -candidates
                    candidates ^= lowest
                    other = level.nodes[lowest.bit_length() - 1]
                    first, second = sorted((writer, other), key=topology.index.__getitem__)
                    if (first, second) in reported or _exclusive(
                        dom.get(writer, {}), dom.get(other, {})
                    ):
                        continue
                    reported.add((first, second))
                    problems.append(
                        Problem(
                            node_location(workflow, first),
                            f"nodes {first!r} and {second!r} can run concurrently and both touch "
                            f"variable {var!r} ({writer!r} writes it); order them with an edge or "
                            "put them on exclusive branches",
                        )
                    )
    for node_id in topology.iter_nodes():
        node = workflow.node(node_id)
        if not isinstance(node, SetNode):
            continue
        for container in topology.enclosing(node_id):
            if workflow.node(container).type == "parallel":
                names = ", ".join(sorted(node.params.values))
                problems.append(
                    Problem(
                        node_location(workflow, node_id),
                        f"writes variables ({names}) inside parallel {container!r}; parallel "
                        "bodies may not write variables (their branches would race): return "
                        "values from the body's exit node instead",
                    )
                )
                break
    return problems


# --------------------------------------------------------------------------- breakers


def _breaker_calls(
    workflow: Workflow, topology: Topology, protected: Collection[str]
) -> dict[str, set[str]]:
    """node -> the breaker-protected tools it calls (a container: what its body calls)."""
    calls: dict[str, set[str]] = {n: set() for n in topology.iter_nodes()}
    for node_id in calls:
        node = workflow.node(node_id)
        if isinstance(node, ToolNode) and node.params.tool in protected:
            calls[node_id].add(node.params.tool)
    for container in sorted(
        (c for c in topology.levels if c is not None),
        key=lambda c: -len(topology.enclosing(c)),
    ):
        for node_id in topology.levels[container].nodes:
            calls[container] |= calls[node_id]
    return calls


def check_breaker_races(
    workflow: Workflow, topology: Topology, protected: Collection[str]
) -> list[Problem]:
    """A circuit breaker is state every call of its tool reads and writes, so calls of a
    breaker-protected tool race like writes of one variable (docs/semantics.md §4 rules 6
    and 7): two calls that can run concurrently, or a call in a parallel body, are refused."""
    if not protected:
        return []
    calls = _breaker_calls(workflow, topology, protected)
    problems: list[Problem] = []
    for level in topology.levels.values():
        callers = [n for n in level.nodes if calls[n]]
        if len(callers) < 2:
            continue
        dom = dominance(workflow, level)
        related = _related_masks(level, topology)
        for position, first in enumerate(callers):
            for second in callers[position + 1 :]:
                shared = calls[first] & calls[second]
                if (
                    not shared
                    or related[first] >> topology.index[second] & 1
                    or _exclusive(dom.get(first, {}), dom.get(second, {}))
                ):
                    continue
                tool = min(shared)
                problems.append(
                    Problem(
                        node_location(workflow, first),
                        f"nodes {first!r} and {second!r} can run concurrently and both call "
                        f"tool {tool!r}, whose circuit breaker every call reads and writes; "
                        "order them with an edge or put them on exclusive branches",
                    )
                )
    for node_id in topology.iter_nodes():
        node = workflow.node(node_id)
        if not isinstance(node, ToolNode) or node.params.tool not in protected:
            continue
        for container in topology.enclosing(node_id):
            if workflow.node(container).type == "parallel":
                problems.append(
                    Problem(
                        node_location(workflow, node_id),
                        f"calls tool {node.params.tool!r}, which has a circuit breaker, inside "
                        f"parallel {container!r}; its branches would race on the breaker's "
                        "state: call the tool before or after the parallel, or in a loop",
                    )
                )
                break
    return problems


# --------------------------------------------------------------------------- timed work


def _spends_time(workflow: Workflow, topology: Topology) -> set[str]:
    """Nodes that can spend clock time: tools, waits, sub-workflows, fail nodes with a retry
    policy (their backoff), and containers whose body holds any of them."""
    timed = {
        node_id
        for node_id in topology.iter_nodes()
        if (node := workflow.node(node_id)).type in ("tool", "wait", "subworkflow")
        or (node.type == "fail" and node.retry is not None)
    }
    for container in sorted(
        (c for c in topology.levels if c is not None),
        key=lambda c: -len(topology.enclosing(c)),
    ):
        if any(n in timed for n in topology.levels[container].nodes):
            timed.add(container)
    return timed


def _single_branch(node: NodeBase) -> bool:
    limit = node.params.max_concurrency  # type: ignore[attr-defined]
    source = getattr(limit, "source", limit)
    return getattr(limit, "is_static", True) and source == 1 and not isinstance(source, bool)


def timed_concurrency(workflow: Workflow, topology: Topology) -> list[Problem]:
    """Where the moment of a cancel at a clock time would depend on scheduling
    (docs/semantics.md §7.11): a node that spends clock time and another node that can run
    concurrently with it, or a parallel with such a body that may open several branches."""
    problems: list[Problem] = []
    timed = _spends_time(workflow, topology)
    for level in topology.levels.values():
        dom = dominance(workflow, level)
        related = _related_masks(level, topology)
        for node_id in level.nodes:
            if node_id not in timed:
                continue
            for other in level.nodes:
                if other == node_id or related[node_id] >> topology.index[other] & 1:
                    continue
                if _exclusive(dom.get(node_id, {}), dom.get(other, {})):
                    continue
                problems.append(
                    Problem(
                        node_location(workflow, node_id),
                        f"spends clock time and can run concurrently with {other!r}",
                    )
                )
                break
            node = workflow.node(node_id)
            if node.type == "parallel" and not _single_branch(node):
                problems.append(
                    Problem(
                        node_location(workflow, node_id),
                        "a parallel whose body spends clock time may run several branches at "
                        "once (its max_concurrency is not a literal 1)",
                    )
                )
    return problems
