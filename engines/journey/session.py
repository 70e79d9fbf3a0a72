"""A journey session: the conversation in which a journey runs, turn by turn.

`start()` walks the journey until the agent must ask the customer something (a
customer-dependent chat state) or the journey ends, and returns what the agent said;
`reply(payload)` gives the customer's answer and walks on. One state at a time, strictly
sequential. The session holds the journey path (the states visited, as Parlant keeps
`journey_paths`), the journey variables, and the transcript. `cancel()` stops a turn in
progress and `cancel_paused()` ends a paused session (see `engines.journey.cancel`).
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import EngineStateError, ExpressionError, InputInvalid, NodeFailure
from engines.expressions import as_json
from engines.journey import packing, walker
from engines.journey.blueprint import Blueprint
from engines.journey.cancel import Unwound, close_dead_paths, request
from engines.journey.model import State
from engines.journey.settling import complete, fail
from engines.journey.state import DONE, Message, OrderKey, Question, Record, Undo, Walk
from engines.model.nodes import NodeBase
from engines.result import (
    OUTPUTS_NODE,
    VARIABLES_NODE,
    IterationPath,
    NodeError,
    PauseInfo,
    RunMetrics,
    RunResult,
    RunStatus,
)
from engines.tools import ToolContext
from engines.trace import EMPTY_DETAIL, KINDS, NodeEvent, Recorded, new_event

if TYPE_CHECKING:
    from engines.journey.engine import JourneyEngine

NEW, RUNNING = "new", "running"
STARTED, COMPLETED = KINDS["started"], KINDS["completed"]
_new = tuple.__new__


class JourneyResult(RunResult):
    """The shared result, plus the conversation."""

    transcript: tuple[Message, ...] = ()
    #: What the agent said in the turn this result ends.
    said: tuple[str, ...] = ()
    #: Number of states visited so far (the length of the journey path).
    states_visited: int = 0


class Session:
    """One run of a journey. Create it with `JourneyEngine.start_session` or `.load_session`."""

    def __init__(
        self,
        engine: JourneyEngine,
        blueprint: Blueprint,
        inputs: dict[str, Any],
        *,
        session_id: str,
        depth: int = 0,
    ) -> None:
        self.engine = engine
        self.blueprint = blueprint
        self.journey = blueprint.journey
        self.workflow = blueprint.workflow
        self.topology = blueprint.topology
        self.plan_out = blueprint.out
        self.incoming = blueprint.incoming
        self.descendants = blueprint.descendants
        self.has_error_port = blueprint.has_error_port
        self.position = blueprint.position
        self.exits = blueprint.exits
        self.timed = blueprint.timed
        self.quick = blueprint.quick
        self.nodes = blueprint.workflow.node_map
        self.tools = engine.tools
        self.clock = engine.clock
        self.id = session_id
        self.depth = depth
        self.status: str = NEW
        self.inputs = inputs
        self.vars: dict[str, Any] = {}
        #: Journey-held numbers beside the workflow variables (attempt counts while a tool
        #: state repeats).
        self.journey_vars: dict[str, Any] = {}
        self.top: Walk | None = None
        self.questions: list[Question] = []
        self.records: dict[tuple[str, str], list[Record]] = {}
        self.undo: list[Undo] = []
        self.extra_errors: list[NodeError] = []
        #: Node events in the lean form, quick nodes' as compact pairs (`engines.trace`).
        self.events: list[Any] = []
        self.path: list[tuple[str, str | None, IterationPath]] = []
        #: While paused: the bulk of the state, packed (`engines.journey.packing`).
        self.packed: packing.Packed | None = None
        self.transcript: list[Message] = []
        self.elapsed = 0.0
        self._t0 = 0.0
        self._said_from = 0
        self._wall = 0.0
        self._forward: Any = None
        #: Cancellation (`engines.journey.cancel`): set when the turn is being cancelled;
        #: the CANCELLED failures with their order keys; the turn's task; the sub-journey
        #: in progress; whether the task was sent a cancel not caught yet; whether the turn
        #: is ending (a cancel then changes nothing).
        self.cancelling = False
        self.cancelled: list[tuple[OrderKey, NodeError]] = []
        self._task: asyncio.Task[Any] | None = None
        self._child: Session | None = None
        self._interrupted = False
        self._ending = False

    # ------------------------------------------------------------------ the conversation

    async def start(self) -> JourneyResult:
        """Walk the journey until the agent asks something or the journey ends."""
        if self.status != NEW:
            raise EngineStateError(f"session {self.id!r} has already started ({self.status})")
        self._begin()
        scope = {"inputs": self.inputs, "env": self.engine.env}
        try:
            values = {n: t.render(scope) for n, t in self.workflow.variables.items()}
        except NodeFailure as failure:
            self.extra_errors.append(failures.node_error(VARIABLES_NODE, failure))
            return await self._end(force=RunStatus.FAILED)
        self.vars.update(values)
        top = Walk.top(
            self.journey.levels[None],
            self.incoming[None],
            {"inputs": self.inputs, "vars": self.vars, "env": self.engine.env},
        )
        self.top = top
        with suppress(Unwound):  # a cancelled walk unwinds to here
            await walker.walk(self, top, 0)
        return await self._end()

    async def reply(self, payload: Any) -> JourneyResult:
        """The customer's answer to the agent's pending question."""
        if self.status != RunStatus.PAUSED:
            raise EngineStateError(
                f"session {self.id!r} is {self.status}: there is no question to answer"
            )
        question = self.pending_question()
        self._begin()
        self.transcript.append(Message("customer", self.show(payload), question.node))
        self.questions.remove(question)
        frame = question.walk
        frame.waiting.discard(question.node)
        node = self.workflow.node(question.node)
        try:
            value = _payload(payload, node)
        except NodeFailure as failure:
            token = fail(
                self, frame, node.id, failures.node_error(node.id, failure, path=frame.path)
            )
        else:
            token = complete(self, frame, node.id, value, 1)
        self.visit(self.journey.states[node.id], token, frame.path)
        with suppress(Unwound):  # a cancelled walk unwinds to here
            await walker.settle(self, frame)
        return await self._end()

    def cancel(self) -> None:
        """Cancel the turn in progress (docs/semantics.md §7.11), from another task while
        the turn waits on the clock: the attempt in progress fails with CANCELLED, nothing
        else starts, and the turn returns a `cancelled` result."""
        if self.status != RUNNING:
            raise EngineStateError(
                f"session {self.id!r} is {self.status}, not running: only a turn in "
                "progress can be cancelled (cancel_paused() ends a paused session)"
            )
        request(self)

    async def cancel_paused(self) -> JourneyResult:
        """End a paused session as cancelled: its questions are abandoned and what it
        completed is compensated. A loaded session can be cancelled too: both persist."""
        if self.status != RunStatus.PAUSED:
            raise EngineStateError(
                f"session {self.id!r} is {self.status}, not paused: there is no paused "
                "session to cancel (cancel() stops a turn in progress)"
            )
        self._begin()
        self.cancelling = True
        return await self._end()

    def pending_question(self) -> Question:
        if not self.questions:
            raise EngineStateError(f"session {self.id!r} has no question pending")
        return min(self.questions, key=lambda q: q.order_key)

    # ------------------------------------------------------------------ bookkeeping

    def _begin(self) -> None:
        packing.unpack(self)
        self.status = RUNNING
        self._task = asyncio.current_task()
        self.cancelling = self._interrupted = self._ending = False
        self._child = None
        self._wall = time.perf_counter()
        self._t0 = self.clock.now() - self.elapsed
        self._said_from = len(self.transcript)

    def now(self) -> float:
        return self.clock.now() - self._t0

    def emit(
        self,
        kind: str,
        node: str,
        attempt: int,
        path: IterationPath,
        detail: dict[str, Any] | None = None,
    ) -> None:
        events = self.events
        time = self.clock.now() - self._t0
        event = new_event(len(events), KINDS[kind], node, attempt, path, time, detail)
        events.append(event)
        if self._forward is not None:
            self._forward(event)

    def node_started(self, node: str, path: IterationPath) -> None:
        """`emit("started", node, 1, path)`, for the hot path (one per node)."""
        events = self.events
        time = self.clock.now() - self._t0
        event = _new(NodeEvent, (len(events), STARTED, node, 1, path, time, EMPTY_DETAIL))
        events.append(event)
        if self._forward is not None:
            self._forward(event)

    def node_completed(self, node: str, attempt: int, path: IterationPath) -> None:
        """`emit("completed", ...)`, for the hot path (one per node)."""
        events = self.events
        event = _new(
            NodeEvent,
            (
                len(events),
                COMPLETED,
                node,
                attempt,
                path,
                self.clock.now() - self._t0,
                EMPTY_DETAIL,
            ),
        )
        events.append(event)
        if self._forward is not None:
            self._forward(event)

    def visit(self, state: State, token: str | None, path: IterationPath) -> None:
        """Record a state on the journey path, with the outcome it left by."""
        self.path.append((state.id, token, path))

    def say(self, text: str, node: str | None = None) -> None:
        self.transcript.append(Message("agent", text, node))

    @staticmethod
    def show(value: Any) -> str:
        return (
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        )

    def remember_undo(self, frame: Walk, node: NodeBase, attempt: int) -> None:
        from engines.journey.actions import remember_undo

        remember_undo(self, frame, node, attempt)

    def subjourney(
        self, workflow_id: str, inputs: dict[str, Any], prefix: IterationPath
    ) -> Session:
        """A child session for a sub-workflow; its trace joins this one, paths prefixed."""
        child = self.engine.start_session(
            self.blueprint.registry[workflow_id],
            inputs,
            registry=self.blueprint.registry,
            depth=self.depth + 1,
        )
        child.elapsed = self.now()

        def forward(event: NodeEvent) -> None:
            detail = event.detail
            self.emit(event.kind, event.node, event.attempt, (*prefix, *event.path), detail or None)

        child._forward = forward
        return child

    # ------------------------------------------------------------------ end of a turn

    async def _end(self, force: RunStatus | None = None) -> JourneyResult:
        self._ending = True
        top = self.top
        outputs: dict[str, Any] = {}
        if force is not None:
            status = force
        elif self.cancelling:
            status = RunStatus.CANCELLED
        elif top is not None and top.errors:
            status = RunStatus.FAILED
        elif self.questions:
            status = RunStatus.PAUSED
        else:
            status = RunStatus.COMPLETED
            try:
                outputs = self._outputs()
            except NodeFailure as failure:
                self.extra_errors.append(failures.node_error(OUTPUTS_NODE, failure))
                status = RunStatus.FAILED
        if status is RunStatus.CANCELLED and top is not None:
            close_dead_paths(self, top)
        if (status is RunStatus.FAILED or status is RunStatus.CANCELLED) and top is not None:
            for question in sorted(self.questions, key=lambda q: q.order_key):
                self.emit("skipped", question.node, 0, question.walk.path, {"reason": "abandoned"})
            self.questions.clear()
            await self._compensate()
        if status is RunStatus.PAUSED:
            self.say(self.pending_question().prompt, self.pending_question().node)
        self.status = status
        self.elapsed = self.now()
        result = self._result(status, outputs)
        self._task = None  # a finished task keeps its result: the session need not
        if status is RunStatus.PAUSED:
            packing.pack(self)
        return result

    def _outputs(self) -> dict[str, Any]:
        top = self.top
        assert top is not None
        declared = self.workflow.outputs
        if declared is not None:
            return {name: t.render(top.scope) for name, t in declared.items()}
        merged: dict[str, Any] = {}
        for node_id in self.blueprint.top_ends:
            state = top.settled.get(node_id)
            if state and state["status"] == DONE:
                merged.update(state["output"])
        return merged

    async def _compensate(self) -> None:
        for undo in sorted(self.undo, key=lambda u: u.order_key, reverse=True):
            failure: NodeFailure | None = None
            if undo.args is None:
                failure = ExpressionError(undo.problem or "args could not be rendered")
            else:
                ctx = ToolContext(
                    clock=self.clock,
                    node=undo.node,
                    attempt=undo.attempt,
                    path=undo.path,
                    workflow=self.workflow.id,
                )
                try:
                    await self.tools.call(undo.tool, undo.args, ctx)
                except NodeFailure as error:
                    failure = error
            detail: dict[str, Any] = {"tool": undo.tool, "ok": failure is None}
            if failure is not None:
                detail["code"] = failure.code
                self.extra_errors.append(
                    failures.compensation_failed(undo.node, undo.tool, failure, path=undo.path)
                )
            self.emit("compensated", undo.node, undo.attempt, undo.path, detail)
        self.undo.clear()

    def _result(self, status: RunStatus, outputs: dict[str, Any]) -> JourneyResult:
        top = self.top
        node_outputs: dict[str, Any] = {}
        node_errors: dict[str, NodeError] = {}
        errors: list[NodeError] = []
        if top is not None:
            node_outputs = {n: s["output"] for n, s in top.settled.items() if s["status"] == DONE}
            node_errors = dict(top.routed)
            errors = sorted(top.errors, key=lambda e: self.position[e.node])
        if self.cancelled:
            errors.extend(error for _, error in sorted(self.cancelled, key=lambda c: c[0]))
        pause = None
        if status is RunStatus.PAUSED:
            question = self.pending_question()
            schema = self.workflow.node(question.node).params.schema_  # type: ignore[attr-defined]
            pause = PauseInfo(
                node=question.node,
                prompt=question.prompt,
                schema=schema.as_json_schema() if schema is not None else None,
                path=question.walk.path,
            )
        trace = Recorded(self.events)
        return JourneyResult.with_lean_trace(
            trace,
            engine=self.engine.name,
            workflow_id=self.workflow.id,
            status=status,
            outputs=outputs,
            vars=dict(self.vars),
            node_outputs=node_outputs,
            node_errors=node_errors,
            errors=(*errors, *self.extra_errors),
            pause=pause,
            metrics=RunMetrics(
                node_executions=trace.started(),
                duration=self.elapsed,
                wall_seconds=time.perf_counter() - self._wall,
                states=len(self.path),
            ),
            transcript=tuple(self.transcript),
            said=tuple(m.text for m in self.transcript[self._said_from :] if m.role == "agent"),
            states_visited=len(self.path),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable copy of a paused session (see `engines.journey.persist`)."""
        from engines.journey.persist import dump

        if self.status != RunStatus.PAUSED:
            raise EngineStateError(
                f"session {self.id!r} is {self.status}: only a paused session can be saved"
            )
        packing.unpack(self)  # for good: the copy shares the session's containers
        return dump(self)


def _payload(payload: Any, node: NodeBase) -> Any:
    try:
        value = as_json(payload)
    except ExpressionError as exc:
        raise InputInvalid(f"payload is not JSON data: {exc.message}") from None
    schema = node.params.schema_  # type: ignore[attr-defined]
    if schema is not None:
        schema.check(value)
    return value
