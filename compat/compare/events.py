"""Event details and timing: what each trace event must say besides its step
(docs/semantics.md §8–§10).

A step `(node, path, attempt, kind)` says that something happened; its details say how: the
code, message and `handled` flag of a failure, the code and backoff `delay` of a retry, the
`reason` of a skip, the `key` of a deduplication, the `tool` and `ok` of a compensation. §9
requires them equal; an engine may add keys of its own (they are not compared). Events of
the same step are paired in the order each trace holds them.

When an execution begins depends on scheduling, but for a node that is neither an input, a
container nor a sub-workflow, the clock time from its first event to each later one does not
(§8: a wait lasts its seconds, an attempt its work or its timeout, a backoff its delay): it
is compared too, within `time_tol`. A wait that sleeps twice, or a backoff longer than the
`delay` it announces, shows there and nowhere else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from operator import attrgetter, le
from typing import Any

from compat.compare.model import Difference, Severity
from compat.compare.values import values_equal
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow
from engines.result import RunResult, TraceEvent, TraceKind

#: The detail keys §10 lists for each event kind: these, and only these, must agree.
DETAIL_KEYS: dict[str, tuple[str, ...]] = {
    "started": (),
    "completed": (),
    "failed": ("code", "message", "handled"),
    "retrying": ("code", "delay"),
    "skipped": ("reason",),
    "deduplicated": ("key",),
    "compensated": ("tool", "ok"),
}
#: The kinds whose events carry details to compare.
_DETAILED = frozenset(kind for kind, keys in DETAIL_KEYS.items() if keys)
_ABSENT = object()
#: Each kind's text: a `TraceKind` member, or the text itself, gives the plain `str`.
_KIND_TEXT: dict[str, str] = {kind: kind.value for kind in TraceKind}
_SEQ = attrgetter("seq")

Step = tuple[Any, ...]


def events_of(result: RunResult) -> Sequence[TraceEvent]:
    """A result's trace events as the engine built them: the lean form when the result has
    one (`lean_trace()`), so that comparing never builds pydantic events. Only the events'
    attributes (seq, kind, node, attempt, path, time, detail) are read, by every function
    here."""
    lean = getattr(result, "lean_trace", None)
    return lean() if lean is not None else result.trace


def steps_of(events: Sequence[TraceEvent]) -> list[Step]:
    """Each event's step `(node, path, attempt, kind)`, the kind as its plain text."""
    text = _KIND_TEXT.get
    return [(e.node, e.path, e.attempt, text(e.kind, e.kind)) for e in events]


def step_label(event: TraceEvent) -> str:
    where = "".join(f"[{c}#{i}]" for c, i in event.path)
    return f"trace.{event.node}{where}.{event.kind}#{event.attempt}"


def _value(detail: dict[str, Any], key: str, tol: Tolerances) -> Any:
    value = detail.get(key, _ABSENT)
    if value is _ABSENT:
        return value
    if key == "code" and isinstance(value, str):
        return tol.error_codes.get(value, value)
    if key == "message" and isinstance(value, str):
        return tol.normalise(value)
    return value


def _same(a: Any, b: Any, tol: Tolerances) -> bool:
    if a is _ABSENT or b is _ABSENT:
        return a is b
    return values_equal(a, b, tol)


#: Detail values whose `==` between equal types is JSON equality (no NaN: `nan != nan`).
_PLAIN = frozenset({str, bool, int, float, type(None)})


def details_alike(kind: Any, left: dict[str, Any], right: dict[str, Any], tol: Tolerances) -> bool:
    """Whether `compare_details` finds nothing to say about two events of one step of
    `kind`: plain values of the same type and equal (a few nanoseconds a key), anything else
    as `compare_details` itself judges it."""
    for key in DETAIL_KEYS.get(kind, ()):
        if key == "message" and not tol.compare_messages:
            continue
        a, b = left.get(key, _ABSENT), right.get(key, _ABSENT)
        if type(a) is type(b) and type(a) in _PLAIN and a == b:
            continue
        if not _same(_value(left, key, tol), _value(right, key, tol), tol):
            return False
    return True


def compare_details(
    primary: Sequence[TraceEvent],
    shadow: Sequence[TraceEvent],
    tol: Tolerances,
    steps: tuple[Sequence[Step], Sequence[Step]] | None = None,
) -> list[Difference]:
    """Differences in the details of the events both traces hold. `steps` are the events'
    steps when the caller has them already (a trace's events, in order)."""
    left_steps, right_steps = steps or (steps_of(primary), steps_of(shadow))
    right: dict[Step, list[TraceEvent]] = defaultdict(list)
    for event, step in zip(shadow, right_steps, strict=True):
        if step[3] in _DETAILED:
            right[step].append(event)
    taken: dict[Step, int] = defaultdict(int)
    out: list[Difference] = []
    for event, step in zip(primary, left_steps, strict=True):
        if step[3] not in _DETAILED:
            continue
        position = taken[step]
        if position >= len(right[step]):
            continue  # a missing step: reported as such
        taken[step] = position + 1
        other = right[step][position]
        for key in DETAIL_KEYS.get(step[3], ()):
            if key == "message" and not tol.compare_messages:
                continue
            a, b = _value(event.detail, key, tol), _value(other.detail, key, tol)
            if _same(a, b, tol):
                continue
            path = f"{step_label(event)}.{key}"
            if tol.ignored(path):
                continue
            left = None if a is _ABSENT else event.detail.get(key)
            right_value = None if b is _ABSENT else other.detail.get(key)
            out.append(
                Difference(
                    dimension="trace",
                    path=path,
                    primary=left,
                    shadow=right_value,
                    kind="detail_changed",
                    severity=Severity.HIGH,
                    note=f"{path}: {_show(a)} vs {_show(b)}",
                )
            )
    return out


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else repr(value)


def malformations(result: RunResult) -> list[str]:
    """What in one result breaks the trace's own bookkeeping (§10): event numbers must
    increase along the trace. (Metrics are not checked: §9 leaves them open.)"""
    return seq_problems(list(map(_SEQ, events_of(result))))


def seq_problems(seqs: list[Any]) -> list[str]:
    """`malformations` from a trace's event numbers, in order."""
    if any(map(le, seqs[1:], seqs)):  # a later number <= an earlier one, at C speed
        return ["trace.seq: the events' numbers do not increase along the trace"]
    return []


def _timed_executions(
    events: Sequence[TraceEvent],
    steps: Sequence[Step],
    containers: set[str],
    inputs: set[str],
    main: set[str],
) -> dict[tuple[Any, ...], list[tuple[Step, float, TraceEvent]]]:
    """Each comparable node execution's events as (step, time, event), compensation aside.
    `main` are the main workflow's containers: an input's execution is one of the main
    workflow's (child workflows have no inputs) when its path holds nothing else."""
    out: dict[tuple[Any, ...], list[tuple[Step, float, TraceEvent]]] = defaultdict(list)
    for event, step in zip(events, steps, strict=True):
        node, path, _, kind = step
        if kind == "compensated" or node in containers:
            continue
        if node in inputs and all(c in main for c, _ in path):
            continue
        out[(node, path)].append((step, event.time, event))
    return out


def compare_timing(
    primary: Sequence[TraceEvent],
    shadow: Sequence[TraceEvent],
    workflow: ValidatedWorkflow | None,
    tol: Tolerances,
    steps: tuple[Sequence[Step], Sequence[Step]] | None = None,
) -> list[Difference]:
    """Differences in the clock time from each comparable node execution's first event to
    its later events (§8): containers and sub-workflow nodes (they appear in iteration
    paths) and the main workflow's inputs are left out."""
    left_steps, right_steps = steps or (steps_of(primary), steps_of(shadow))
    containers = {c for step in (*left_steps, *right_steps) for c, _ in step[1]}
    inputs: set[str] = set()
    main: set[str] = set()
    if workflow is not None:
        inputs = {n.id for n in workflow.workflow.nodes if n.type == "input"}
        main = {c for c in workflow.topology.levels if c is not None}
    left = _timed_executions(primary, left_steps, containers, inputs, main)
    right = _timed_executions(shadow, right_steps, containers, inputs, main)
    out: list[Difference] = []
    for execution, events in left.items():
        others = right.get(execution)
        if not others or len(events) < 2:
            continue
        start, other_start = events[0][1], others[0][1]
        if len(events) == len(others) and all(
            a[0] == b[0] and abs((a[1] - start) - (b[1] - other_start)) <= tol.time_tol
            for a, b in zip(events, others, strict=True)
        ):
            continue  # the common case: the same steps at the same offsets
        paired: dict[Step, list[float]] = defaultdict(list)
        for step, time, _ in others[1:]:
            paired[step].append(time)
        for step, time, event in events[1:]:
            matches = paired.get(step)
            if not matches:
                continue  # a missing step: reported as such
            a, b = time - start, matches.pop(0) - other_start
            if abs(a - b) <= tol.time_tol:
                continue
            path = f"{step_label(event)}.elapsed"
            if tol.ignored(path):
                continue
            out.append(
                Difference(
                    dimension="trace",
                    path=path,
                    primary=round(a, 9),
                    shadow=round(b, 9),
                    kind="timing",
                    severity=Severity.HIGH,
                    note=f"{step_label(event)} comes {a:g} s into its execution in the "
                    f"primary, {b:g} s in the shadow",
                )
            )
    return out
