"""Circuit breakers on generated workflows (docs/semantics.md §7.7): the `circuit_breakers`
feature.

A breaker makes every call of its tool a write of shared state, so the validator refuses
two calls that can run concurrently or a call in a parallel body (§4 rules 6 and 7). A
workflow drawn freely calls its tools from concurrent branches, so a breaker rarely fits
it. With the feature on, the builder therefore reserves one tool for a breaker (no other
node of the workflow calls it) and draws, at a position of the top level, a **segment**
whose calls of that tool are ordered: a chain of calls, or a `for` loop whose body calls
it, each call often retried with backoff, failures routed onwards when error ports are on,
and sometimes a `wait` or an `input` (a pause the breaker's state must survive) between
calls. The tool fails often (`flaky`, `raise`, or `sleep` against a timeout), so the
breaker trips, fails fast with CIRCUIT_OPEN, and half-opens once backoff has passed its
reset timeout. Breakers on the workflow's other tools are declared only where the finished
document still validates with them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from engines.errors import WorkflowInvalid
from engines.model import validate_workflow

if TYPE_CHECKING:
    from compat.fuzz.builder import Builder

#: Reset timeouts drawn: shorter than, equal to and longer than the usual backoffs (longer
#: ones most: a call refused while the breaker is open is what tests fail-fast), and one
#: that decimal backoffs reach only when counted to the microsecond (0.3 - 0.1 is 0.2).
RESET_TIMEOUTS = (0.5, 1, 2, 3, 3, 0.2)
#: What a segment's call answers to (`flaky`'s code, `raise`'s, a timeout).
CODES = ("FLAKY", "DOWN", "TIMEOUT")


def reserve_tool(builder: Builder) -> str | None:
    """The tool the segment calls (None: no segment), drawn among those that fail."""
    if not (builder.on("circuit_breakers") and builder.on("tool")):
        return None
    tools = ["flaky", "flaky"]
    tools += ["raise"] if builder.on("tool_failures") else []
    tools += ["sleep"] if builder.on("timeout") else []
    return str(builder.pick(tools))


def _call(builder: Builder, node_id: str, tool: str) -> dict[str, Any]:
    """A call of the breaker's tool that fails on some attempts, mostly with a retry policy
    whose backoff lets a later attempt find the breaker open, then half-open."""
    out: dict[str, Any] = {"id": node_id, "type": "tool"}
    if tool == "flaky":
        args: dict[str, Any] = {"failures": builder.pick([1, 2, 3, 2, 0])}
    elif tool == "raise":
        args = {"code": "DOWN", "message": "down", "recoverable": builder.number(0, 3) > 0}
    else:  # sleep: times out when slower than the node's timeout
        args = {"seconds": builder.pick([1, 0.5, 2]), "value": node_id}
        out["timeout"] = builder.pick([0.75, 0.1])
    out["params"] = {"tool": tool, "args": args}
    if builder.on("retry") and builder.number(0, 4) > 0:
        policy: dict[str, Any] = {
            "max_attempts": builder.pick([3, 4, 2, 5]),
            "initial_interval": builder.pick([0.5, 1, 0.1]),
            "backoff_coefficient": builder.pick([2, 1]),
        }
        if builder.number(0, 4) == 0:
            policy["non_retryable_codes"] = [builder.pick(["CIRCUIT_OPEN", *CODES])]
        out["retry"] = policy
    if builder.on("idempotency_key") and builder.number(0, 4) == 0:
        out["idempotency_key"] = "kb"  # ordered calls only: a later one may be deduplicated
    if builder.on("compensate") and builder.number(0, 3) == 0:
        out["compensate"] = builder.compensation(node_id)
    return out


def _leaving(builder: Builder) -> tuple[str, ...]:
    """The handles a call or the loop may leave by."""
    return ("out", "error") if builder.on("error_ports") else ("out",)


def _link(builder: Builder, source: str, target: str, handles: tuple[str, ...]) -> None:
    """`source` → `target` by its `out` edge (else a drawn handle, `error` last) and, with
    error ports, by its `error` edge too, so a failed call does not stop the calls after
    it."""
    others = tuple(h for h in handles if h != "error") or handles
    handle = "out" if "out" in handles else builder.pick(others)
    builder.edges.append({"source": source, "target": target, "handle": handle})
    if "error" in handles and handle != "error":
        builder.edges.append({"source": source, "target": target, "handle": "error"})


def _between(builder: Builder, node_id: str) -> dict[str, Any] | None:
    """Sometimes a node between two calls: an `input` (a pause) or a `wait`."""
    kinds = ["input"] * 2 if builder.allow_inputs else []
    kinds += ["wait"] if builder.on("wait") else []
    if not kinds or builder.number(0, 2) == 0:
        return None
    if builder.pick(kinds) == "input":
        return {"id": node_id, "type": "input", "params": {"prompt": f"{node_id}: go on?"}}
    return {"id": node_id, "type": "wait", "params": {"seconds": builder.pick([1, 0.5, 2])}}


def _calls(
    builder: Builder, prefix: str, count: int, parent: str | None
) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """Up to `count` calls one after another, with nodes between them; the first is paid
    for by the caller, the others from the budget while it lasts."""
    tool = builder.breaker_tool
    assert tool is not None
    made: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    for index in range(count):
        if index:
            if builder.budget.nodes <= 0:
                break
            builder.budget.nodes -= 1
            between = _between(builder, f"{prefix}p{index}") if builder.budget.nodes else None
            if between is not None:
                builder.budget.nodes -= 1
                made.append((between, ("out",)))
        made.append((_call(builder, f"{prefix}c{index}", tool), _leaving(builder)))
    for node, _ in made:
        builder.add(node, parent)
    for (first, handles), (second, _) in itertools.pairwise(made):
        _link(builder, first["id"], second["id"], handles)
    return made


def segment(
    builder: Builder, node_id: str, preds: list[tuple[str, tuple[str, ...]]]
) -> list[tuple[str, tuple[str, ...]]]:
    """Add the segment at `node_id`'s place in the top level (paid for by the caller), after
    `preds` (each with its handles); return its top-level nodes in order, with the handles
    each may leave by."""
    loop = builder.on("loop") and builder.budget.nodes >= 1 and builder.number(0, 2) == 0
    if loop:
        made = [_loop(builder, node_id)]
        if builder.budget.nodes > 0 and builder.flag():  # a call after the loop
            builder.budget.nodes -= 1
            after = _calls(builder, f"{node_id}a", 1, None)
            _link(builder, node_id, after[0][0]["id"], made[0][1])
            made += [(node["id"], handles) for node, handles in after]
    else:
        calls = _calls(builder, node_id, builder.number(2, 4), None)
        made = [(node["id"], handles) for node, handles in calls]
    for pred, handles in preds:
        _link(builder, pred, made[0][0], handles)
    return made


def _loop(builder: Builder, node_id: str) -> tuple[str, tuple[str, ...]]:
    """A `for` loop whose body calls the tool (a breaker carries across iterations)."""
    builder.add(
        {"id": node_id, "type": "loop", "params": {"mode": "for", "count": builder.number(2, 3)}},
        None,
    )
    builder.writes[node_id] = set()
    start = f"{node_id}s"
    builder.add({"id": start, "type": "start"}, node_id)
    builder.budget.nodes -= 1
    calls = _calls(builder, f"{node_id}b", builder.number(1, 3), node_id)
    _link(builder, start, calls[0][0]["id"], ("out",))
    last, handles = calls[-1]
    exit_id = f"{node_id}bx"
    value = "{{ [loop.index, nodes." + last["id"] + ".status] }}"
    builder.add({"id": exit_id, "type": "transform", "params": {"value": value}}, node_id)
    _link(builder, last["id"], exit_id, handles)
    return node_id, _leaving(builder)


def declare_breakers(builder: Builder, doc: dict[str, Any]) -> None:
    """Add `tools.<name>.circuit_breaker` to `doc`: for the segment's tool, and for up to
    one more tool it calls when the workflow stays valid with it."""
    tools: dict[str, Any] = {}
    called = sorted({n["params"]["tool"] for n in doc["nodes"] if n["type"] == "tool"})
    if builder.breaker_tool in called:
        tools[builder.breaker_tool] = _settings(builder)
    for name in builder.some([t for t in called if t != builder.breaker_tool], 1):
        settings = _settings(builder)
        try:
            validate_workflow({**doc, "tools": {**tools, name: settings}})
        except WorkflowInvalid:
            continue
        tools[name] = settings
    if tools:
        doc["tools"] = tools


def _settings(builder: Builder) -> dict[str, Any]:
    return {
        "circuit_breaker": {
            "failure_threshold": builder.pick([1, 2, 1, 3]),
            "reset_timeout": builder.pick(RESET_TIMEOUTS),
        }
    }
