"""What a paused run can be in: the checks both engines make when they load a saved run.

Types and node names are checked by each loader against its own format. What they cannot
see is whether the values fit together and fit the workflow — an iteration beyond its loop's
`max_iterations`, more fired edges than a node has, a node that is neither resolved, nor
running, nor waiting for anything, a failed node no error list names, a compensation recorded
at a place its node never runs. A run never writes such a state, so a saved run holding one
was changed by hand or by a bug, and resuming it would run into nonsense: it is refused with
`SnapshotInvalid` naming the run, the place and the problem.

The checks are written once, in the vocabulary of neither engine: each loader passes its own
words (`frame`/`walk`, `view`/`settled` ...) so a refusal names the place in the document it
was given. They are the rules `compat.sync` checks on the common state, seen from each
engine's side.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from engines import failures
from engines.errors import SnapshotInvalid
from engines.model.nodes import LoopNode, NodeBase, ParallelNode, ToolNode
from engines.model.topology import Topology

Path = tuple[tuple[str, int], ...]

#: The neutral names of a level's parts; loaders override them with their own.
WORDS: dict[str, str] = {
    "level": "level",
    "resolved": "resolved",
    "pending": "pending edges",
    "fired": "fired edges",
    "errors": "errors",
    "routed": "routed",
    "waiting": "waiting",
    "opened": "opened",
    "child": "iteration",
}


def show_path(path: Sequence[Sequence[Any]], noun: str) -> str:
    """`top frame`, or `frame survey[1]` / `frame outer[0].inner[2]`."""
    if not path:
        return f"top {noun}"
    return f"{noun} " + ".".join(f"{c}[{i}]" for c, i in path)


class PausedChecks:
    """The consistency checks of one saved run, refusing with `SnapshotInvalid` whose message
    starts with `label` (which names the run)."""

    def __init__(
        self,
        topology: Topology,
        node_of: Callable[[str], NodeBase | None],
        label: str,
        words: Mapping[str, str] | None = None,
    ) -> None:
        self.topology = topology
        self.node_of = node_of
        self.label = label
        self.w = {**WORDS, **(words or {})}

    def fail(self, where: str, problem: str) -> SnapshotInvalid:
        return SnapshotInvalid(f"{self.label}, {where}: {problem}")

    def where(self, path: Sequence[Sequence[Any]]) -> str:
        return show_path(path, self.w["level"])

    # ------------------------------------------------------------------ levels

    def level(
        self,
        path: Path,
        container: str | None,
        *,
        resolved: Mapping[str, Mapping[str, Any]],
        pending: Mapping[str, int],
        fired: Mapping[str, int],
        errors: Iterable[str],
        routed: Mapping[str, str],
        waiting: Collection[str],
        running: Collection[str],
    ) -> None:
        """One level execution: `resolved` maps nodes to `{status, error, ...}`, `pending`
        and `fired` count incoming edges per node (every node of the level), `errors` are
        the nodes of the unhandled failures, `routed` maps a node to the node its routed
        error names, `running` are the containers in progress."""
        w = self.w
        where = self.where(path)
        level = self.topology.levels[container]
        for node in level.nodes:
            incoming = len(level.incoming[node])
            left, done = pending[node], fired[node]
            if left < 0 or done < 0 or left + done > incoming:
                raise self.fail(
                    where,
                    f"{node!r} has {left} {w['pending']} and {done} {w['fired']}, but only "
                    f"{incoming} incoming edges",
                )
        busy = [*waiting, *running]
        twice = sorted({n for n in busy if busy.count(n) > 1})
        if twice:
            raise self.fail(where, f"{', '.join(twice)} listed as running twice")
        for node in waiting:
            found = self.node_of(node)
            if found is None or found.type != "input":
                raise self.fail(where, f"{w['waiting']} names {node!r}, which is not an input")
        self._failures(where, resolved, list(errors), routed)
        for node in level.nodes:
            if node not in resolved and node not in busy and not pending[node]:
                raise self.fail(
                    where,
                    f"{node!r} is not resolved, not running and waits for no edge (a paused "
                    "run has run everything it could)",
                )
        if len(resolved) == len(level.nodes):
            raise self.fail(where, "every node is resolved, yet it is still open")

    def _failures(
        self,
        where: str,
        resolved: Mapping[str, Mapping[str, Any]],
        errors: list[str],
        routed: Mapping[str, str],
    ) -> None:
        w = self.w
        for node, named in routed.items():
            if named != node:
                raise self.fail(where, f"{w['routed']}[{node!r}] is an error of {named!r}")
        failed = sorted(n for n, s in resolved.items() if s.get("status") == "failed")
        listed = sorted([*errors, *routed])
        if listed != failed:
            raise self.fail(
                where,
                f"failed nodes must be exactly those listed once in {w['errors']} or "
                f"{w['routed']} (failed: {', '.join(failed) or 'none'}; listed: "
                f"{', '.join(listed) or 'none'})",
            )
        for node, state in resolved.items():
            if (state.get("status") == "failed") != (state.get("error") is not None):
                raise self.fail(
                    where, f"{node!r} is {state.get('status')} with error {state.get('error')!r}"
                )

    # ------------------------------------------------------------------ containers

    def loop(
        self,
        path: Path,
        node: str,
        *,
        mode: str,
        count: int | None,
        items: list[Any] | None,
        index: int,
        max_iterations: int,
        results: int,
        has_child: bool,
    ) -> None:
        """A loop in progress: iteration `index` runs (its child level is there), `results`
        iterations finished before it, and no count goes beyond `max_iterations`."""
        where = f"{self.where(path)}, loop {node!r}"
        found = self.node_of(node)
        if not isinstance(found, LoopNode) or found.params.mode != mode:
            raise self.fail(where, "does not match the workflow's loop node")
        counted, listed = mode == "for", mode == "forEach"
        if (count is not None) != counted or (items is not None) != listed:
            raise self.fail(where, f"mode {mode} has count {count!r} and items {items!r}")
        total = count if counted else len(items) if listed and items is not None else None
        if index >= max_iterations or (total is not None and not index < total <= max_iterations):
            bound = f" of {total}" if total is not None else ""
            raise self.fail(
                where,
                f"iteration {index}{bound} is out of range (max_iterations {max_iterations})",
            )
        if results != index:
            raise self.fail(where, f"has {results} results before iteration {index}")
        if not has_child:
            raise self.fail(where, f"is in progress without its {self.w['child']}")

    def parallel(
        self,
        path: Path,
        node: str,
        *,
        branches: int,
        items: list[Any] | None,
        opened: int,
        max_concurrency: int,
        active: Collection[int],
        results: Collection[int],
        failed: Collection[int],
    ) -> None:
        """A parallel in progress: every opened branch is active, done or failed — exactly
        one of them — and at most `max_concurrency` are active, at least one."""
        where = f"{self.where(path)}, parallel {node!r}"
        found = self.node_of(node)
        if not isinstance(found, ParallelNode) or (found.params.mode == "collection") != (
            items is not None
        ):
            raise self.fail(where, "does not match the workflow's parallel node")
        if items is not None and len(items) != branches:
            raise self.fail(where, f"has {branches} branches for {len(items)} items")
        every = sorted([*active, *results, *failed])
        if (
            not opened <= branches
            or every != list(range(opened))
            or not 0 < len(active) <= max_concurrency
        ):
            raise self.fail(
                where,
                f"{self.w['opened']} = {opened} does not fit {branches} branches (at most "
                f"{max_concurrency} open): active {sorted(active)}, results {sorted(results)}, "
                f"failures {sorted(failed)}",
            )

    # ------------------------------------------------------------------ run-level records

    def placed(self, node: str, path: Path, order_key: Sequence[int], what: str) -> None:
        """`node` runs at `path` in the main workflow, and `order_key` is that execution's."""
        where = f"{what} of {node!r} in {self.where(path)}"
        if node not in self.topology.level_of:
            raise self.fail(where, "names a node the workflow does not run")
        enclosing = tuple(reversed(self.topology.enclosing(node)))
        if tuple(c for c, _ in path) != enclosing:
            inside = " > ".join(enclosing) or "no container"
            raise self.fail(where, f"{node!r} runs inside {inside}")
        expected = self.topology.order_key(node, path)
        if tuple(order_key) != expected:
            raise self.fail(where, f"order key {list(order_key)} is not {list(expected)}")

    def compensation(self, node: str, path: Path, order_key: Sequence[int], tool: str) -> None:
        self.placed(node, path, order_key, "compensation")
        found = self.node_of(node)
        compensate = found.compensate if found is not None else None
        if compensate is None or compensate.tool != tool:
            raise self.fail(f"compensation of {node!r}", f"it is not compensated by {tool!r}")

    def record(self, node: str, path: Path, order_key: Sequence[int], tool: str) -> None:
        """An idempotency record of the main workflow (a sub-workflow's are not placed)."""
        if node not in self.topology.level_of:
            return
        self.placed(node, path, order_key, "idempotency record")
        found = self.node_of(node)
        if not isinstance(found, ToolNode) or found.params.tool != tool:
            raise self.fail(f"idempotency record of {node!r}", f"it does not call {tool!r}")

    def events(self, seqs: Sequence[int], noun: str) -> None:
        """Events are numbered by their position: nothing was dropped, added or moved."""
        for position, seq in enumerate(seqs):
            if seq != position:
                raise self.fail(
                    f"{noun} {position}", f"is numbered {seq}: events were removed or reordered"
                )

    def run(self, *, depth: int, elapsed: float) -> None:
        if depth > failures.MAX_SUBWORKFLOW_DEPTH:
            raise self.fail(
                "depth",
                f"{depth} is beyond the sub-workflow depth limit {failures.MAX_SUBWORKFLOW_DEPTH}",
            )
        if not elapsed >= 0 or elapsed == float("inf"):
            raise self.fail("elapsed", f"{elapsed!r} is not a duration")


def branch_indices(mapping: Mapping[str, Any], where: str) -> dict[int, Any]:
    """A parallel's branch-keyed mapping with its keys as integers (saved as `str(int)`);
    `where` names it in the error (`snapshot parallel 'p' results`)."""
    out: dict[int, Any] = {}
    for key, value in mapping.items():
        try:
            index = int(key)
        except ValueError:
            index = None
        if index is None or str(index) != key:
            raise SnapshotInvalid(f"{where} has a non-integer branch index {key!r}")
        out[index] = value
    return out
