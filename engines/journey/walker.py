"""Walking a journey: one state at a time, strictly sequential.

A walk visits its level's positions in journey order. At each it enters by the position's
entry state: a guard fork decides, from the paths into the node, whether a path has
arrived (run the node's state), none can arrive any more (the node is skipped and its own
paths close), or one still waits for an answer (the position is put off until then). A node
state runs and yields an outcome token; the walk follows the transition for that token, and
every position it passes over on the way is one the transition's choice closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.journey import actions, counters
from engines.journey.compiler import finish_id
from engines.journey.model import END_JOURNEY, Role, State
from engines.journey.quick import run_quick, run_quick_failed
from engines.journey.settling import fail, skip
from engines.journey.state import DONE, Question, Walk

if TYPE_CHECKING:
    from engines.journey.session import Session

NODE = Role.NODE  # read once: an enum member lookup costs more than the walk's own steps


class JourneyDivergence(AssertionError):
    """A transition skipped a node the semantics say is alive: a compiler bug."""


async def walk(session: Session, frame: Walk, position: int) -> None:
    """Walk `frame` from `position` to the end of its level."""
    states = session.journey.states
    level = frame.level
    order, entries, after, end = level.order, level.entries, level.after, len(level.order)
    quick_nodes, nodes, visited = session.quick, session.nodes, session.path
    steps = session.blueprint.steps
    path = frame.path
    # The walk's own tables: its frame keeps the same ones while the walk goes on.
    settled, waiting, runs = frame.settled, frame.waiting, frame.runs
    deferred, unarrived_from, arrived = frame.deferred, frame.unarrived, frame.arrived
    direct = False  # entered by a transition that targets the node's state itself
    now = session.now()  # the clock stands still until something awaits
    scope, events, plan_out = frame.scope, session.events, session.plan_out
    forward = session._forward  # set when a sub-workflow's session is made, before it walks
    while position < end:
        if deferred:
            deferred.discard(position)
        node_id = order[position]
        if node_id in settled or node_id in waiting or node_id in runs:
            position, direct = position + 1, False
            continue
        entry = entries[position]
        unarrived = unarrived_from[node_id]
        if entry != node_id and not direct:  # a guard: the join rule decides
            guard = states[entry]
            if unarrived:
                deferred.add(position)
                session.visit(guard, "not_arrived", path)
                position += 1
                continue
            if not arrived[node_id]:
                session.visit(guard, "not_arrived", path)
                skip(session, frame, node_id, "dead_path")
                position += 1
                continue
            session.visit(guard, "arrived", path)
        elif unarrived:
            deferred.add(position)
            position, direct = position + 1, False
            continue
        elif position and not arrived[node_id]:
            skip(session, frame, node_id, "dead_path")
            position, direct = position + 1, False
            continue
        action = quick_nodes.get(node_id)
        if action is not None:  # a node's own state, nothing to compensate (Blueprint.quick)
            state_id = node_id  # its state is read only if its transition is not the usual
            node = nodes[node_id]
            if forward is not None:
                token: str | None = run_quick(session, frame, node, action, now)
            else:  # `run_quick`, inlined for the usual quick node (the journey's hot path)
                try:
                    output, handles, token = action(session, node, scope)
                except NodeFailure as failure:
                    token = run_quick_failed(session, frame, node_id, failure, now)
                else:
                    settled[node_id] = {"output": output, "error": None, "status": DONE}
                    frame.open -= 1
                    events.append((node_id, path, now))  # its two events: a compact pair
                    events.append(None)
                    for handle, target in plan_out[node_id]:
                        unarrived_from[target] -= 1
                        if handle in handles:
                            arrived[target] += 1
        else:
            token, state = await run_state(session, frame, states[node_id], position)
            state_id = state.id  # the node's state, or a container's finish state
            now = session.now()  # time may have passed while it waited
            events = session.events
        if token is None:  # waiting for an answer, or a container waiting inside
            position, direct = position + 1, False
            continue
        visited.append((state_id, token, path))  # `session.visit`, inlined
        if token == "failed" and node_id in settled and node_id not in frame.routed:
            # An unhandled failure is not a transition: its dependents were given up, and
            # the walk goes on with the next position (docs/semantics.md §7.7).
            position, direct = position + 1, False
            continue
        onward = steps[state_id].get(token)
        if onward is not None:  # the usual step: on to the next position
            position, direct = position + 1, onward
            continue
        target = states[state_id].target(token)
        following = states.get(target)
        if following is not None and following.position == position + 1 and target != after:
            position += 1  # the next position: nothing passed over
        elif target == after and position + 1 == end:
            position = end  # out of the level from its last position: nothing passed over
        else:
            position = _pass_over(session, frame, position, target)
        direct = following is not None and following.role is NODE


def _pass_over(session: Session, frame: Walk, position: int, target: str) -> int:
    """Move to `target`'s position, checking that every node passed over is closed."""
    if target == END_JOURNEY or target == frame.level.after:
        stop = len(frame.level.order)
    else:
        stop = session.journey.states[target].position
    for skipped in range(position + 1, stop):
        node_id = frame.level.order[skipped]
        if node_id in frame.settled:
            continue
        if frame.unarrived[node_id] or frame.arrived[node_id]:
            raise JourneyDivergence(
                f"transition to {target!r} passes over {node_id!r}, which may still run"
            )
        skip(session, frame, node_id, "dead_path")
    return stop


async def run_state(
    session: Session, frame: Walk, state: State, position: int
) -> tuple[str | None, State]:
    """Run a node's state. Returns the outcome token (None when the node is not settled yet:
    a question waits for its answer, a container waits inside) and the state whose
    transitions the token selects (a container's finish state)."""
    node = session.nodes[state.node]  # type: ignore[index]
    if state.role is Role.ENTER:
        token = await counters.enter(session, frame, node, position)
        return token, session.journey.states[finish_id(node.id)]
    if node.type == "input":
        return ask(session, frame, node, position), state
    return await actions.run(session, frame, state, node), state


def ask(session: Session, frame: Walk, node: Any, position: int) -> str | None:
    session.emit("started", node.id, 1, frame.path)
    try:
        prompt = node.params.prompt.render(frame.scope)
    except NodeFailure as failure:
        return fail(session, frame, node.id, failures.node_error(node.id, failure, path=frame.path))
    frame.waiting.add(node.id)
    session.questions.append(Question(frame, node.id, position, prompt))
    return None


async def settle(session: Session, frame: Walk) -> None:
    """After an answer settled a node of `frame`: walk what it put off, and when the walk is
    over, let its counter move on — up to the top."""
    current: Walk | None = frame
    while current is not None:
        if current.deferred:
            await walk(session, current, min(current.deferred))
        if not current.finished or current.counter is None:
            return
        counter = current.counter
        finished = await counters.walk_finished(session, counter, current)
        if not finished:
            return
        current = counter.walk
