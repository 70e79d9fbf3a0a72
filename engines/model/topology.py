"""The shape of a workflow: its levels (the top level and each container body), what is
reachable, the canonical order and the ancestor relation.

Built once, when the workflow is validated, and checked while it is built: one start per
level, edges that stay inside their level and use a handle their source has, no cycle
outside a loop, one exit per container body. Both engines read the result; neither
computes its own notion of "canonical order" or "ancestor", since those are part of the
contract (docs/semantics.md).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from engines.errors import Problem
from engines.model.nodes import NodeBase
from engines.model.workflow import Edge, Workflow

Container = str | None  # None is the top level


@dataclass(frozen=True)
class Level:
    """One graph: the top level (`container` None) or the body of a loop/parallel node."""

    container: Container
    #: Reachable nodes in canonical order (topological, ties by declaration order).
    nodes: tuple[str, ...]
    start: str
    #: The body's single exit node (its output is the iteration's result); None at top level.
    exit: str | None
    #: Nodes of this level that cannot be reached from its start (dropped, with a warning).
    unreachable: tuple[str, ...]
    incoming: Mapping[str, tuple[Edge, ...]]
    outgoing: Mapping[str, tuple[Edge, ...]]


@dataclass(frozen=True)
class Topology:
    levels: Mapping[Container, Level]
    #: Every reachable node's level (the id of its container, None at top level).
    level_of: Mapping[str, Container]
    #: Position of each reachable node in its level's canonical order.
    index: Mapping[str, int]
    _ancestor_bits: Mapping[str, int] = field(repr=False)
    #: Container id -> whether it is a loop (else a parallel).
    _is_loop: Mapping[str, bool] = field(repr=False, default_factory=dict)

    def level(self, node: str) -> Level:
        return self.levels[self.level_of[node]]

    def enclosing(self, node: str) -> tuple[str, ...]:
        """The containers around `node`, innermost first."""
        out: list[str] = []
        container = self.level_of[node]
        while container is not None:
            out.append(container)
            container = self.level_of[container]
        return tuple(out)

    def is_ancestor(self, ancestor: str, node: str) -> bool:
        """Whether `ancestor` always finishes before `node` can start: it precedes `node` in
        `node`'s level, or precedes one of the containers around `node` in theirs."""
        target_level = self.level_of.get(ancestor, "\0")
        current: str | None = node
        while current is not None:
            if self.level_of[current] == target_level:
                return bool(self._ancestor_bits[current] >> self.index[ancestor] & 1)
            current = self.level_of[current]
        return False

    def ancestor_mask(self, node: str) -> int:
        """`node`'s ancestors in its own level as a bitmask over canonical indices."""
        return self._ancestor_bits[node]

    def ancestors(self, node: str) -> tuple[str, ...]:
        """Ancestors of `node` in its own level, in canonical order."""
        level = self.level(node)
        bits = self._ancestor_bits[node]
        return tuple(n for i, n in enumerate(level.nodes) if bits >> i & 1)

    def descendants(self, node: str) -> tuple[str, ...]:
        """Descendants of `node` in its own level, in canonical order."""
        level = self.level(node)
        bit = 1 << self.index[node]
        return tuple(n for n in level.nodes if self._ancestor_bits[n] & bit)

    def order_key(self, node: str, path: tuple[tuple[str, int], ...] = ()) -> tuple[int, ...]:
        """The order key of a node execution (docs/semantics.md §3): canonical indices of the
        enclosing containers interleaved with the iteration indices, then the node's."""
        key: list[int] = []
        for container, position in path:
            key += (self.index[container], position)
        key.append(self.index[node])
        return tuple(key)

    def happens_before(
        self,
        first: tuple[str, tuple[tuple[str, int], ...]],
        second: tuple[str, tuple[tuple[str, int], ...]],
    ) -> bool:
        """Whether node execution `first` (node, path) always finishes before `second` starts:
        at the deepest level holding both, `first` (or its container there) is an ancestor of
        `second` (or its container), or both are in one loop and `first` is in an earlier
        iteration. Executions in different parallel branches never are."""
        (node1, path1), (node2, path2) = first, second
        chain1 = [*path1, (node1, -1)]
        chain2 = [*path2, (node2, -1)]
        for (x1, k1), (x2, k2) in zip(chain1, chain2, strict=False):
            if x1 != x2:
                return bool(self._ancestor_bits[x2] >> self.index[x1] & 1)
            if k1 == -1 or k2 == -1:
                return False
            if k1 != k2:
                return self._is_loop[x1] and k1 < k2
        return False

    def body(self, container: str) -> Level:
        return self.levels[container]

    def iter_nodes(self) -> Iterator[str]:
        """Every reachable node, level by level, each level in canonical order."""
        for level in self.levels.values():
            yield from level.nodes


def describe_level(container: Container, workflow: Workflow) -> str:
    if container is None:
        return "the top level"
    return f"the body of {workflow.node(container).type} {container!r}"


class _Builder:
    def __init__(self, workflow: Workflow) -> None:
        self.wf = workflow
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def fail(self, location: str, message: str) -> None:
        self.problems.append(Problem(location, message))

    def _at(self, node_id: str) -> str:
        return f"nodes[{self.wf.declaration_index[node_id]}] (id {node_id!r})"

    # ---------------------------------------------------------------- identities

    def check_nodes(self) -> dict[str, NodeBase]:
        nodes: dict[str, NodeBase] = {}
        for index, node in enumerate(self.wf.nodes):
            if node.id in nodes:
                first = self.wf.declaration_index[node.id]
                self.fail(
                    f"nodes[{index}]", f"duplicate node id {node.id!r} (first at nodes[{first}])"
                )
            else:
                nodes[node.id] = node
        for index, node in enumerate(self.wf.nodes):
            if node.parent is None:
                continue
            where = f"nodes[{index}] (id {node.id!r}).parent"
            parent = nodes.get(node.parent)
            if parent is None:
                self.fail(where, f"unknown node {node.parent!r}")
            elif not parent.CONTAINER:
                self.fail(
                    where,
                    f"{node.parent!r} is a {parent.type} node; only loop and "
                    "parallel nodes can hold a body",
                )
        if not self.problems:
            reported: set[frozenset[str]] = set()
            for node in nodes.values():
                seen = [node.id]
                current = node.parent
                while current is not None:
                    if current in seen:
                        cycle = seen[seen.index(current) :]
                        if frozenset(cycle) not in reported:
                            reported.add(frozenset(cycle))
                            chain = " -> ".join([*cycle, current])
                            self.fail(self._at(current), f"containers nest in a cycle: {chain}")
                        break
                    seen.append(current)
                    current = nodes[current].parent
        return nodes

    # ---------------------------------------------------------------- edges

    def check_edges(self, nodes: Mapping[str, NodeBase]) -> list[Edge]:
        good: list[Edge] = []
        seen: dict[tuple[str, str, str], int] = {}
        for index, edge in enumerate(self.wf.edges):
            where = f"edges[{index}] ({edge.describe()})"
            source, target = nodes.get(edge.source), nodes.get(edge.target)
            missing = [
                f"{end} {name!r}"
                for end, name, node in (
                    ("source", edge.source, source),
                    ("target", edge.target, target),
                )
                if node is None
            ]
            if missing:
                self.fail(
                    where,
                    f"{' and '.join(missing)} is not a node"
                    if len(missing) == 1
                    else f"{' and '.join(missing)} are not nodes",
                )
                continue
            assert source is not None and target is not None
            if source.parent != target.parent:
                self.fail(
                    where,
                    "crosses a container boundary: "
                    f"{edge.source!r} is in {describe_level(source.parent, self.wf)}, "
                    f"{edge.target!r} in {describe_level(target.parent, self.wf)}",
                )
                continue
            handles = source.handles()
            if edge.handle not in handles:
                kind = source.type
                if not handles:
                    self.fail(where, f"{kind} nodes have no outgoing edges")
                else:
                    self.fail(
                        where,
                        f"{kind} node {edge.source!r} has no handle {edge.handle!r} "
                        f"(its handles: {', '.join(sorted(handles))})",
                    )
                continue
            if target.type == "start":
                self.fail(where, "start nodes have no incoming edges")
                continue
            key = (edge.source, edge.handle, edge.target)
            if key in seen:
                self.fail(where, f"duplicates edges[{seen[key]}]")
                continue
            seen[key] = index
            good.append(edge)
        return good

    # ---------------------------------------------------------------- levels

    def build(self) -> Topology | None:
        nodes = self.check_nodes()
        if self.problems:
            return None
        edges = self.check_edges(nodes)
        members: dict[Container, list[str]] = defaultdict(list)
        for node in self.wf.nodes:
            members[node.parent].append(node.id)
        for container, node in nodes.items():
            if node.CONTAINER and container not in members:
                self.fail(
                    self._at(container),
                    f"{node.type} node has an empty body "
                    "(its body needs a start node: give child nodes parent "
                    f"{container!r})",
                )
        outgoing: dict[str, list[Edge]] = defaultdict(list)
        incoming: dict[str, list[Edge]] = defaultdict(list)
        for edge in edges:
            outgoing[edge.source].append(edge)
            incoming[edge.target].append(edge)

        starts: dict[Container, str] = {}
        for container, ids in members.items():
            found = [n for n in ids if nodes[n].type == "start"]
            where = describe_level(container, self.wf)
            location = "nodes" if container is None else self._at(container)
            if not found:
                self.fail(location, f"{where} has no start node")
            elif len(found) > 1:
                self.fail(
                    location,
                    f"{where} has {len(found)} start nodes "
                    f"({', '.join(found)}); exactly one is allowed",
                )
            else:
                starts[container] = found[0]
        if self.problems:
            return None

        levels: dict[Container, Level] = {}
        level_of: dict[str, Container] = {}
        index: dict[str, int] = {}
        bits: dict[str, int] = {}
        dropped: set[str] = set()
        # Outer levels first, so a container dropped as unreachable drops its body too.
        for container in self._outer_first(members):
            if container is not None and container in dropped | set(self._unreached(levels)):
                dropped.update(members[container])
                continue
            level = self._level(
                container, members[container], starts[container], incoming, outgoing
            )
            if level is None:
                continue
            levels[container] = level
            for i, node_id in enumerate(level.nodes):
                level_of[node_id] = container
                index[node_id] = i
            for node_id in level.nodes:
                mask = 0
                for edge in level.incoming[node_id]:
                    mask |= bits[edge.source] | (1 << index[edge.source])
                bits[node_id] = mask
        if self.problems:
            return None
        for node_id in dropped:
            self.warnings.append(
                Problem(self._at(node_id), "is inside an unreachable container and is dropped")
            )
        is_loop = {c: self.wf.node(c).type == "loop" for c in levels if c is not None}
        return Topology(
            MappingProxyType(levels),
            MappingProxyType(level_of),
            MappingProxyType(index),
            MappingProxyType(bits),
            MappingProxyType(is_loop),
        )

    @staticmethod
    def _unreached(levels: Mapping[Container, Level]) -> Iterator[str]:
        for level in levels.values():
            yield from level.unreachable

    def _outer_first(self, members: Mapping[Container, list[str]]) -> list[Container]:
        def depth(container: Container) -> int:
            d = 0
            while container is not None:
                container = self.wf.node(container).parent
                d += 1
            return d

        return sorted(
            members,
            key=lambda c: (depth(c), self.wf.declaration_index.get(c, -1) if c is not None else -1),
        )

    def _level(
        self,
        container: Container,
        ids: list[str],
        start: str,
        incoming: Mapping[str, list[Edge]],
        outgoing: Mapping[str, list[Edge]],
    ) -> Level | None:
        where = describe_level(container, self.wf)
        reachable = {start}
        frontier = [start]
        while frontier:
            current = frontier.pop()
            for edge in outgoing.get(current, ()):
                if edge.target not in reachable:
                    reachable.add(edge.target)
                    frontier.append(edge.target)
        unreachable = tuple(n for n in ids if n not in reachable)
        if container is not None and unreachable and reachable == {start}:
            # A body with nodes that can never run is a bug, not a warning (semantics §3).
            # An edge from the start that was refused above is already reported.
            if not any(e.source == start for e in self.wf.edges):
                container_type = self.wf.node(container).type
                self.fail(
                    self._at(container),
                    f"{where} cannot run: its start {start!r} has no outgoing edge, so "
                    f"{', '.join(repr(n) for n in unreachable)} would never run and every "
                    f"{'iteration' if container_type == 'loop' else 'branch'} would do "
                    f"nothing; connect them from {start!r}",
                )
            return None
        for node_id in unreachable:
            self.warnings.append(
                Problem(
                    self._at(node_id), f"cannot be reached from the start of {where} and is dropped"
                )
            )
        inc = {n: tuple(e for e in incoming.get(n, ()) if e.source in reachable) for n in reachable}
        out = {n: tuple(outgoing.get(n, ())) for n in reachable}

        order = self._canonical(container, reachable, inc, out)
        if order is None:
            return None
        exit_node: str | None = None
        if container is not None:
            sinks = [n for n in order if not out[n] and self.wf.node(n).type != "fail"]
            if len(sinks) != 1:
                found = ", ".join(sinks) if sinks else "none"
                self.fail(
                    self._at(container),
                    f"{where} needs exactly one exit node (a node "
                    "with no outgoing edge, other than fail nodes) whose output is the "
                    f"iteration's result; found {found}",
                )
                return None
            exit_node = sinks[0]
        return Level(
            container,
            order,
            start,
            exit_node,
            unreachable,
            MappingProxyType(inc),
            MappingProxyType(out),
        )

    def _canonical(
        self,
        container: Container,
        reachable: set[str],
        incoming: Mapping[str, tuple[Edge, ...]],
        outgoing: Mapping[str, tuple[Edge, ...]],
    ) -> tuple[str, ...] | None:
        decl = self.wf.declaration_index
        pending = {n: len({e.source for e in incoming[n]}) for n in reachable}
        heap = [(decl[n], n) for n, count in pending.items() if count == 0]
        heapq.heapify(heap)
        order: list[str] = []
        while heap:
            _, current = heapq.heappop(heap)
            order.append(current)
            for target in sorted({e.target for e in outgoing[current]}):
                pending[target] -= 1
                if pending[target] == 0:
                    heapq.heappush(heap, (decl[target], target))
        if len(order) == len(reachable):
            return tuple(order)
        done = set(order)
        left = {n for n in reachable if n not in done}
        cycle = self._cycle(left, incoming)
        if container is None:
            self.fail("edges", f"cycle outside a loop: {cycle} (repeat work with a loop node)")
        else:
            self.fail(
                self._at(container),
                f"cycle in {describe_level(container, self.wf)}: {cycle} (a body runs once "
                "per iteration; repeat work inside it with a nested loop node)",
            )
        return None

    @staticmethod
    def _cycle(left: set[str], incoming: Mapping[str, tuple[Edge, ...]]) -> str:
        # Every unresolved node has an unresolved predecessor: walking backwards must repeat.
        current = min(left)
        path: list[str] = []
        while current not in path:
            path.append(current)
            current = min(e.source for e in incoming[current] if e.source in left)
        forward = path[path.index(current) :][::-1]
        return " -> ".join([*forward, forward[0]])


def build_topology(workflow: Workflow) -> tuple[Topology | None, list[Problem], list[Problem]]:
    """(topology or None, problems, warnings)."""
    builder = _Builder(workflow)
    topology = builder.build()
    return topology, builder.problems, builder.warnings
