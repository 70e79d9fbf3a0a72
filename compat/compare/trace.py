"""Traces compared as partial orders.

Both traces are reduced to node-level steps `(node, iteration path, attempt, kind)`. They
must hold the same multiset of steps; each node execution's own steps must come in the same
order; and every order the workflow imposes must be the same in both: a node's predecessors
settle before it starts, a container starts before and finishes after its body, a loop's
iterations follow one another, compensations run in the same sequence and after the rest of
the run. Each pair of matching events must carry the same details (`events.py`). Steps the
workflow leaves unordered (concurrent branches, parallel branches, and the skip of a node an
unhandled failure gave up, which may come as soon as the failure is known) may interleave in
any way — legal concurrency is never a difference; a missing, extra or reordered step, or a
detail that differs, always is. A missing or extra step or a differing detail is high
severity; a broken order is critical, because it breaks the contract (docs/semantics.md)
even when the final values happen to agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from compat.compare.events import compare_details, compare_timing
from compat.compare.model import Difference, DimensionResult, Severity
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow
from engines.result import IterationPath, TraceEvent

Step = tuple[str, IterationPath, int, str]
Execution = tuple[str, IterationPath]
_TERMINAL = ("completed", "failed", "skipped", "deduplicated")
_GIVEN_UP = ("upstream_failed", "abandoned")


def _label(step: Step) -> str:
    node, path, attempt, kind = step
    where = "".join(f"[{c}#{i}]" for c, i in path)
    return f"trace.{node}{where}.{kind}#{attempt}"


def _execution_label(execution: Execution) -> str:
    node, path = execution
    return node + "".join(f"[{c}#{i}]" for c, i in path)


class _Positions:
    """Where each execution's steps are in one trace."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.first: dict[Execution, int] = {}
        self.last: dict[Execution, int] = {}
        self.start: dict[Execution, int] = {}
        self.end: dict[Execution, int] = {}
        self.sequence: dict[Execution, list[tuple[int, str]]] = defaultdict(list)
        self.compensations: list[Execution] = []
        for position, (node, path, attempt, kind) in enumerate(steps):
            execution = (node, path)
            if kind == "compensated":
                self.compensations.append(execution)
                continue
            self.sequence[execution].append((attempt, kind))
            self.first.setdefault(execution, position)
            self.last[execution] = position
            if kind == "started":
                self.start.setdefault(execution, position)
            if kind in _TERMINAL:
                self.end[execution] = position


#: (kind, before, after, where): where is an execution, or (loop execution, iteration).
Constraint = tuple[str, tuple[Execution, ...], tuple[Execution, ...], Any]


def _constraint_label(where: Any) -> str:
    """Labels are built only for broken constraints (most never are)."""
    if isinstance(where[1], int):
        return f"{_execution_label(where[0])} iteration {where[1]}"
    return _execution_label(where)


def _owner(
    path: IterationPath,
    main: ValidatedWorkflow,
    registry: Mapping[str, ValidatedWorkflow] | None,
    cache: dict[IterationPath, ValidatedWorkflow | None],
) -> ValidatedWorkflow | None:
    """The workflow whose levels hold the nodes executed at `path`: the main one, or the
    child a sub-workflow node on the path runs (ids are per workflow: a child's `n0` is not
    the parent's); None when that cannot be known (no registry given)."""
    if path in cache:
        return cache[path]
    current: ValidatedWorkflow | None = main
    for container, _ in path:
        if current is None:
            break
        if container not in current.topology.level_of:
            current = None
            break
        node = current.workflow.node(container)
        if node.type == "subworkflow":
            child = node.params.workflow  # type: ignore[attr-defined]
            current = registry.get(child) if registry is not None else None
    cache[path] = current
    return current


def _constraints(
    workflow: ValidatedWorkflow,
    executions: set[Execution],
    registry: Mapping[str, ValidatedWorkflow] | None = None,
) -> list[Constraint]:
    """Orders the workflow imposes, as (kind, before, after, where): `edge` — the `before`
    execution settles before the `after` one starts; `body` — a container starts before its
    iteration's or branch's steps and ends after them; `iteration` — a loop iteration's steps
    all come before the next one's. Steps of a child run are judged by the child workflow's
    own topology (from `registry`), or only by `body` when it is not given."""
    cache: dict[IterationPath, ValidatedWorkflow | None] = {}
    out: list[Constraint] = []
    groups: dict[tuple[Execution, int], list[Execution]] = defaultdict(list)
    for node, path in executions:
        owner = _owner(path, workflow, registry, cache)
        if owner is not None and node in owner.topology.level_of:
            for edge in owner.topology.level(node).incoming.get(node, ()):
                if (edge.source, path) in executions:
                    out.append(
                        (
                            "edge",
                            ((edge.source, path),),
                            ((node, path),),
                            (node, path),
                        )
                    )
        if path:
            container, index = path[-1]
            groups[((container, path[:-1]), index)].append((node, path))
    for (owner_execution, index), members in groups.items():
        if owner_execution in executions:
            out.append(("body", (owner_execution,), tuple(members), owner_execution))
        container, outer_path = owner_execution
        following = groups.get((owner_execution, index + 1))
        if not following:
            continue
        outer = _owner(outer_path, workflow, registry, cache)
        if (
            outer is not None
            and container in outer.topology.level_of
            and outer.workflow.node(container).type == "loop"
        ):
            out.append(
                (
                    "iteration",
                    tuple(members),
                    tuple(following),
                    (owner_execution, index + 1),
                )
            )
    return out


def compare_traces(
    primary: Sequence[TraceEvent],
    shadow: Sequence[TraceEvent],
    workflow: ValidatedWorkflow | None,
    *,
    weight: float,
    tol: Tolerances | None = None,
    malformed: tuple[Sequence[str], Sequence[str]] = ((), ()),
    registry: Mapping[str, ValidatedWorkflow] | None = None,
) -> DimensionResult:
    """The trace dimension: steps, their details, and the orders the workflow imposes.
    `malformed` are each side's bookkeeping problems (`events.malformations`); `registry`
    holds the sub-workflows, whose runs' steps are ordered by their own topology."""
    tol = tol or Tolerances()
    left = [e.step() for e in primary]
    right = [e.step() for e in shadow]
    counts_left, counts_right = Counter(left), Counter(right)
    differences: list[Difference] = []
    for step in sorted(counts_left - counts_right, key=_label):
        differences.append(
            Difference(
                dimension="trace",
                path=_label(step),
                primary=counts_left[step],
                shadow=counts_right[step],
                kind="missing_step",
                severity=Severity.HIGH,
                note=f"{_label(step)} is in the primary's trace, not the shadow's",
            )
        )
    for step in sorted(counts_right - counts_left, key=_label):
        differences.append(
            Difference(
                dimension="trace",
                path=_label(step),
                primary=counts_left[step],
                shadow=counts_right[step],
                kind="extra_step",
                severity=Severity.HIGH,
                note=f"{_label(step)} is in the shadow's trace, not the primary's",
            )
        )
    p, s = _Positions(left), _Positions(right)
    shared = set(p.sequence) & set(s.sequence)
    unequal = [e for e in shared if p.sequence[e] != s.sequence[e]]
    for execution in sorted(unequal, key=_execution_label):
        a, b = p.sequence[execution], s.sequence[execution]
        if Counter(a) == Counter(b):
            differences.append(
                _reordered(
                    f"trace.{_execution_label(execution)}",
                    a,
                    b,
                    f"{_execution_label(execution)}'s own steps come in another order",
                )
            )
    if workflow is not None:
        # A node given up by an unhandled failure (or abandoned) is skipped whenever its engine
        # learns of the failure: the contract orders that skip after nothing but the failure.
        given_up = {
            (e.node, e.path)
            for e in (*primary, *shadow)
            if e.kind == "skipped" and e.detail.get("reason") in _GIVEN_UP
        }
        for kind, before, after, where in _constraints(workflow, shared, registry):
            if kind == "edge" and after[0] in given_up:
                continue
            if _holds(p, kind, before, after) != _holds(s, kind, before, after):
                differences.append(
                    _reordered(
                        f"trace.{_constraint_label(where)}",
                        [_execution_label(e) for e in before],
                        [_execution_label(e) for e in after],
                        f"the workflow orders these steps ({kind}) but the traces order them "
                        "differently",
                    )
                )
    if workflow is not None:
        after_left = _compensations_last(primary, workflow)
        after_right = _compensations_last(shadow, workflow)
        if after_left != after_right:
            differences.append(
                _reordered(
                    "trace.compensations.after",
                    after_left,
                    after_right,
                    "compensation runs once the run's other work is over (§7.8), in one trace "
                    "but not in the other",
                )
            )
    differences += compare_details(primary, shadow, tol, (left, right))
    differences += compare_timing(primary, shadow, workflow, tol, (left, right))
    for side, problems in zip(("primary", "shadow"), malformed, strict=True):
        for problem in problems:
            where, _, note = problem.partition(": ")
            differences.append(
                Difference(
                    dimension="trace",
                    path=where,
                    primary=side == "primary" or None,
                    shadow=side == "shadow" or None,
                    kind="malformed",
                    severity=Severity.HIGH,
                    note=f"the {side}'s result breaks the result contract: {note}",
                )
            )
    runs: dict[IterationPath, IterationPath] = {}
    left_runs = _by_run(p.compensations, workflow, registry, runs)
    right_runs = _by_run(s.compensations, workflow, registry, runs)
    for run in sorted(set(left_runs) & set(right_runs)):
        a, b = left_runs[run], right_runs[run]
        if a != b and Counter(a) == Counter(b):
            differences.append(
                _reordered(
                    "trace.compensations" + (f"@{list(map(list, run))}" if run else ""),
                    [_execution_label(e) for e in a],
                    [_execution_label(e) for e in b],
                    "compensations ran in another order",
                )
            )
    differences = [d for d in differences if not tol.ignored(d.path)]
    total = len(counts_left | counts_right) or 1
    score = max(0.0, 1.0 - len(differences) / total)
    return DimensionResult(name="trace", score=score, weight=weight, differences=tuple(differences))


def _run_of(
    path: IterationPath,
    workflow: ValidatedWorkflow | None,
    registry: Mapping[str, ValidatedWorkflow] | None,
) -> IterationPath:
    """The run an execution belongs to: its path up to the last sub-workflow node on it
    (`()`: the top run). Each run compensates itself (§7.8), so only compensations within
    one run are ordered; two child runs of concurrent nodes may compensate in any order."""
    current = workflow
    last = 0
    for position, (container, _) in enumerate(path):
        if current is None or container not in current.topology.level_of:
            break
        node = current.workflow.node(container)
        if node.type == "subworkflow":
            last = position + 1
            child = node.params.workflow  # type: ignore[attr-defined]
            current = registry.get(child) if registry is not None else None
    return path[:last]


def _by_run(
    compensations: Sequence[Execution],
    workflow: ValidatedWorkflow | None,
    registry: Mapping[str, ValidatedWorkflow] | None,
    cache: dict[IterationPath, IterationPath],
) -> dict[IterationPath, list[Execution]]:
    """Compensations grouped by run (all in one group without a workflow to tell runs by)."""
    grouped: dict[IterationPath, list[Execution]] = defaultdict(list)
    for execution in compensations:
        path = execution[1]
        if workflow is None:
            grouped[()].append(execution)
            continue
        run = cache.get(path)
        if run is None:
            run = cache[path] = _run_of(path, workflow, registry)
        grouped[run].append(execution)
    return grouped


def _compensations_last(trace: Sequence[TraceEvent], workflow: ValidatedWorkflow) -> bool:
    """Whether the top run's compensations all come after every other event (a child run's
    events, its own compensations included, belong to its sub-workflow node's execution)."""
    topology = workflow.topology
    containers = {c for c in topology.levels if c is not None}
    last_work = -1
    first_compensation = None
    for position, event in enumerate(trace):
        if event.kind != "compensated":
            last_work = position
        elif all(c in containers for c, _ in event.path) and first_compensation is None:
            first_compensation = position
    return first_compensation is None or last_work < first_compensation


def _holds(
    positions: _Positions, kind: str, before: tuple[Execution, ...], after: tuple[Execution, ...]
) -> bool:
    firsts = [positions.first[e] for e in after if e in positions.first]
    lasts = [positions.last[e] for e in after if e in positions.last]
    if not firsts:
        return True
    if kind == "body":
        start, end = positions.start.get(before[0]), positions.end.get(before[0])
        return (start is None or start < min(firsts)) and (end is None or max(lasts) < end)
    ends = [positions.last[e] for e in before if e in positions.last]
    return not ends or max(ends) < min(firsts)


def _reordered(path: str, primary: Any, shadow: Any, note: str) -> Difference:
    return Difference(
        dimension="trace",
        path=path,
        primary=primary,
        shadow=shadow,
        kind="reordered",
        severity=Severity.CRITICAL,
        note=note,
    )
