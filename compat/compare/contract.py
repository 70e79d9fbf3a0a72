"""What of a `RunResult` is compared, field by field, and under which rule.

docs/semantics.md §9 lists what two engines must return alike; §10 defines the fields. Every
field of the result contract (and every event detail §10 lists) is either compared by one
dimension or out of scope for a stated reason. `tests/test_compare_contract.py` enumerates
the contract's models and fails on a field that is neither, perturbs every compared field of
real results to prove the comparison sees it, and perturbs every out-of-scope field to prove
it raises no false alarm; docs/harness.md shows this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from compat.compare.events import DETAIL_KEYS


@dataclass(frozen=True)
class Rule:
    #: The dimension that compares the field, or None when it is out of scope.
    dimension: str | None
    #: How it is compared, or why it is not.
    how: str


def _out(why: str) -> Rule:
    return Rule(None, why)


_ERROR = "errors"
_RECORD = "part of each error record, in `errors` and `node_errors` alike (at any depth of `cause`)"

CONTRACT: dict[str, Rule] = {
    # RunResult
    "RunResult.engine": _out("the engine's own name: the two sides are different engines"),
    "RunResult.workflow_id": Rule("outcome", "equal"),
    "RunResult.status": Rule(
        "outcome", "equal; a crashed or timed-out engine is a critical difference"
    ),
    "RunResult.outputs": Rule(
        "outputs", "deep, leaf by leaf, JSON types included, under the tolerances"
    ),
    "RunResult.vars": Rule("context", "deep, as `context.vars`, like outputs"),
    "RunResult.node_outputs": Rule("context", "deep, as `context.nodes`, like outputs"),
    "RunResult.node_errors": Rule(_ERROR, "by node; each a whole error record"),
    "RunResult.trace": Rule(
        "trace",
        "steps as a multiset, each execution's own order, the orders the workflow imposes, "
        "compensation order, event details",
    ),
    "RunResult.errors": Rule(_ERROR, "an ordered list of whole error records"),
    "RunResult.pause": Rule("outcome", "equal when both runs paused (every field)"),
    "RunResult.metrics": _out("§9: metrics may differ (concurrency changes duration)"),
    # NodeError
    "NodeError.node": Rule(_ERROR, "identifies the error (with code and path)"),
    "NodeError.code": Rule(_ERROR, "identifies the error; foreign codes mapped by `error_codes`"),
    "NodeError.message": Rule(_ERROR, "normalised; unless `compare_messages` is off"),
    "NodeError.recoverable": Rule(_ERROR, _RECORD),
    "NodeError.attempts": Rule(_ERROR, _RECORD),
    "NodeError.path": Rule(_ERROR, "identifies an unhandled error; " + _RECORD),
    "NodeError.cause": Rule(_ERROR, "field by field, recursively"),
    # PauseInfo
    "PauseInfo.node": Rule("outcome", "the input the run waits for"),
    "PauseInfo.prompt": Rule("outcome", "the rendered prompt"),
    "PauseInfo.schema_": Rule("outcome", "the payload schema"),
    "PauseInfo.path": Rule("outcome", "the input's iteration path"),
    # TraceEvent
    "TraceEvent.seq": Rule(
        "trace", "must increase along each trace; the numbers themselves may differ (§10)"
    ),
    "TraceEvent.kind": Rule("trace", "part of the step (node, path, attempt, kind)"),
    "TraceEvent.node": Rule("trace", "part of the step"),
    "TraceEvent.attempt": Rule("trace", "part of the step"),
    "TraceEvent.path": Rule("trace", "part of the step"),
    "TraceEvent.time": Rule(
        "trace",
        "only as the time from a node execution's first event to each later one, for nodes "
        "other than inputs, containers and sub-workflows (§8), within `time_tol`; when an "
        "execution begins may differ (§9)",
    ),
    "TraceEvent.detail": Rule("trace", "the keys §10 lists for the event's kind (below)"),
    # RunMetrics
    "RunMetrics.node_executions": _out("§9: metrics may differ"),
    "RunMetrics.duration": _out("§9: metrics may differ (concurrency changes it)"),
    "RunMetrics.wall_seconds": _out("real time"),
}

for _kind, _keys in DETAIL_KEYS.items():
    for _key in _keys:
        CONTRACT[f"detail.{_kind}.{_key}"] = Rule(
            "trace",
            "normalised like error messages, unless `compare_messages` is off"
            if _key == "message"
            else "equal (codes mapped by `error_codes`; numbers under the tolerances)",
        )
CONTRACT["detail.*.other keys"] = _out("§9: details beyond those §10 lists may differ")
