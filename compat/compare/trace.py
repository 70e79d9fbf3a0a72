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

import marshal
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from itertools import compress
from math import isfinite
from operator import attrgetter, itemgetter
from typing import Any

from compat.compare import shortcut
from compat.compare.events import (
    compare_details,
    compare_timing,
    details_alike,
    seq_problems,
    steps_of,
)
from compat.compare.model import Difference, DimensionResult, Severity, agreeing
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
    malformed: tuple[Sequence[str], Sequence[str]] | None = ((), ()),
    registry: Mapping[str, ValidatedWorkflow] | None = None,
) -> DimensionResult:
    """The trace dimension: steps, their details, and the orders the workflow imposes.
    `malformed` are each side's bookkeeping problems (`events.malformations`; None: found
    here, from the same pass over the events); `registry` holds the sub-workflows, whose
    runs' steps are ordered by their own topology."""
    tol = tol or Tolerances()
    if shortcut.taken():
        lockstep = _lockstep(primary, shadow, tol)
        if lockstep is not None:
            # Same steps in the same order, same details: every order holds in both or in
            # neither, so only the clock within executions and the bookkeeping can differ.
            times_agree, problems = lockstep
            found = [] if times_agree else compare_timing(primary, shadow, workflow, tol)
            found += _malformed(problems if malformed is None else malformed)
            return _dimension(found, tol, lambda: len(set(steps_of(primary))), weight)
    if malformed is None:
        malformed = (seq_problems([e.seq for e in primary]), seq_problems([e.seq for e in shadow]))
    left = steps_of(primary)
    right = steps_of(shadow)
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
    differences += _malformed(malformed)
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
    return _dimension(differences, tol, lambda: len(counts_left | counts_right), weight)


#: What `_lockstep` reads of an event, in one C call; then its parts.
_EVENT = attrgetter("node", "path", "attempt", "kind", "time", "detail", "seq")
_STEP = itemgetter(0, 1, 2, 3)
_TIME = itemgetter(4)
_DETAIL = itemgetter(5)
_SEQ = itemgetter(6)


def _lockstep(
    primary: Sequence[TraceEvent], shadow: Sequence[TraceEvent], tol: Tolerances
) -> tuple[bool, tuple[list[str], list[str]]] | None:
    """Whether two traces hold the same steps in the same order with the same details (a
    kind compares as its text: `TraceKind` is a `StrEnum`): None when not (the walk
    decides), else whether their times agree too, all finite (`compare_timing` has then
    nothing to say), and each side's bookkeeping problems. Each event's attributes are read
    once, the tuples compared at C speed; the details' types are checked only where an
    event has details."""
    if len(primary) != len(shadow):
        return None
    left, right = list(map(_EVENT, primary)), list(map(_EVENT, shadow))
    if left == right:
        seqs = seq_problems(list(map(_SEQ, left)))  # the same numbers on both sides
        problems, details_equal, times_equal = (seqs, seqs), True, True
    elif list(map(_STEP, left)) == list(map(_STEP, right)):  # other numbers, times or details
        problems = (seq_problems(list(map(_SEQ, left))), seq_problems(list(map(_SEQ, right))))
        details_equal = list(map(_DETAIL, left)) == list(map(_DETAIL, right))
        times_equal = list(map(_TIME, left)) == list(map(_TIME, right))
    else:
        return None
    if not details_equal:
        pairs: Any = ((a, b) for a, b in zip(left, right, strict=True) if a[5] or b[5])
    elif _identical_details(left, right):
        pairs = ()
    else:  # equal details are both empty or neither: the left's select the pairs
        pairs = compress(zip(left, right, strict=True), map(_DETAIL, left))
    for a, b in pairs:
        if not details_alike(a[3], a[5], b[5], tol):
            return None
    return times_equal and _finite(map(_TIME, left)), problems


def _identical_details(left: list[Any], right: list[Any]) -> bool:
    """Whether the details of two traces in lockstep, equal by `==`, are identical types
    included and hold no float (`==` lets a nan through when it is the same object on both
    sides, and `compare_details` reports it): their marshal bytes (version 2: exact built-in
    types only, no back-references) agree and carry no float (`g`) or complex (`y`) code. A
    `g` in a text only sends the details to `details_alike`, one pair at a time."""
    try:
        a = marshal.dumps(list(filter(None, map(_DETAIL, left))), 2)
        b = marshal.dumps(list(filter(None, map(_DETAIL, right))), 2)
    except ValueError:  # a type marshal does not know (a dict subclass, an object)
        return False
    return a == b and b"g" not in a and b"y" not in a


def _finite(times: Any) -> bool:
    """Whether every time is a finite number: one nan or inf makes their sum so (an
    overflow or a non-number only sends the times to `compare_timing`)."""
    try:
        return isfinite(sum(times))
    except (TypeError, ValueError, OverflowError):
        return False


def _malformed(malformed: tuple[Sequence[str], Sequence[str]]) -> list[Difference]:
    """Each side's bookkeeping problems (`events.malformations`) as differences."""
    out = []
    for side, problems in zip(("primary", "shadow"), malformed, strict=True):
        for problem in problems:
            where, _, note = problem.partition(": ")
            out.append(
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
    return out


def _dimension(
    differences: list[Difference], tol: Tolerances, distinct_steps: Any, weight: float
) -> DimensionResult:
    """The trace dimension from its differences; `distinct_steps()` counts the steps of both
    traces (called only when something differs)."""
    differences = [d for d in differences if not tol.ignored(d.path)]
    if not differences:
        return agreeing("trace", weight)
    score = max(0.0, 1.0 - len(differences) / (distinct_steps() or 1))
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
