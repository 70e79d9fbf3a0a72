"""Quick states: nodes whose state runs to its outcome at once — no clock time, no question,
no container (`start`, `set`, `transform`, `end`, `condition`, `router`, `fail`, untimed).

They are most of a journey's states, so running one is the journey's hot path: `run_quick`
does the settling (`settling.complete`) itself, and each node type's action only computes
what the node yields — its output, the handles its paths leave by, and the outcome token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.journey.settling import fail
from engines.journey.state import DONE, Walk
from engines.model.nodes import (
    ConditionNode,
    EndNode,
    FailNode,
    NodeBase,
    RouterNode,
    SetNode,
    TransformNode,
)
from engines.trace import EMPTY_DETAIL, KINDS, NodeEvent, new_event

if TYPE_CHECKING:
    from engines.journey.session import Session

#: What a quick action yields: (output, handles out, outcome token).
Yield = tuple[Any, tuple[str, ...], str]
Action = Callable[["Session", Any, Any], Yield]

OUT = ("out",)
STARTED, COMPLETED = KINDS["started"], KINDS["completed"]
_new = tuple.__new__


def run_quick(session: Session, frame: Walk, node: NodeBase, action: Action, time: float) -> str:
    """Run a quick node's state (`action`, its type's) at session time `time` and settle
    it: its two events (one instant: nothing in between waits), its output, its paths;
    returns the outcome token. With nobody forwarding its events (a sub-journey's parent),
    the two events are recorded as a compact pair (`engines.trace`), built when read."""
    node_id, path, events = node.id, frame.path, session.events
    forward = session._forward
    if forward is not None:
        event = _new(NodeEvent, (len(events), STARTED, node_id, 1, path, time, EMPTY_DETAIL))
        events.append(event)
        forward(event)
    try:
        output, handles, token = action(session, node, frame.scope)
    except NodeFailure as failure:
        if forward is not None:
            return fail(session, frame, node_id, failures.node_error(node_id, failure, path=path))
        return run_quick_failed(session, frame, node_id, failure, time)
    frame.settled[node_id] = {"output": output, "error": None, "status": DONE}
    frame.open -= 1
    if forward is None:
        events.append((node_id, path, time))
        events.append(None)
    else:
        event = _new(NodeEvent, (len(events), COMPLETED, node_id, 1, path, time, EMPTY_DETAIL))
        events.append(event)
        forward(event)
    if node.compensate is not None:
        session.remember_undo(frame, node, 1)
    unarrived, arrived = frame.unarrived, frame.arrived
    for handle, target in session.plan_out[node_id]:
        unarrived[target] -= 1
        if handle in handles:
            arrived[target] += 1
    return token


def run_quick_failed(
    session: Session, frame: Walk, node_id: str, failure: NodeFailure, time: float
) -> str:
    """A quick node's action raised: its `started` event (none was recorded before the
    action ran), then the failure settled; returns the outcome token."""
    events = session.events
    events.append(new_event(len(events), STARTED, node_id, 1, frame.path, time, None))
    return fail(session, frame, node_id, failures.node_error(node_id, failure, path=frame.path))


def _start(session: Session, node: Any, scope: Any) -> Yield:
    return (scope["inputs"], OUT, "completed")


def _set(session: Session, node: SetNode, scope: Any) -> Yield:
    values = {name: t.render(scope) for name, t in node.params.values.items()}
    session.vars.update(values)
    return (values, OUT, "completed")


def _transform(session: Session, node: TransformNode, scope: Any) -> Yield:
    return (node.params.value.render(scope), OUT, "completed")


def _end(session: Session, node: EndNode, scope: Any) -> Yield:
    outputs = {name: t.render(scope) for name, t in node.params.outputs.items()}
    session.say(f"Outputs of {node.name or node.id}: {session.show(outputs)}", node.id)
    return (outputs, (), "completed")


def _condition(session: Session, node: ConditionNode, scope: Any) -> Yield:
    verdict = node.params.expression.test(scope)
    handle = "true" if verdict else "false"
    return (verdict, (handle,), handle)


def _fail_now(session: Session, node: FailNode, scope: Any) -> Yield:
    raise fail_failure(node, scope)


def _route(session: Session, node: RouterNode, scope: Any) -> Yield:
    matched: list[str] = []
    for route in node.params.routes:
        if route.when.test(scope):
            matched.append(route.name)
            if not node.params.all_matching:
                break
    output = {"matched": matched}
    if not matched:
        return (output, ("default",), "default")
    token = "matched" if node.params.all_matching else f"route:{matched[0]}"
    return (output, tuple(matched), token)


def fail_failure(node: FailNode, scope: Any) -> NodeFailure:
    """The failure a `fail` node raises (its code and message rendered)."""
    return NodeFailure(
        node.params.code.render(scope),
        node.params.message.render(scope),
        recoverable=node.params.recoverable,
    )


#: Each quick node type's action.
ACTIONS: dict[str, Action] = {
    "start": _start,
    "set": _set,
    "transform": _transform,
    "end": _end,
    "condition": _condition,
    "router": _route,
    "fail": _fail_now,
}
