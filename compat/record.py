"""Record the primary's tool calls and replay them to the shadow.

With replay, both engines see the same outside world: every tool call the shadow makes is
answered from the primary's recording — same result or same error, after the same time on the
run's clock (so timeouts fire alike) — and a difference between the runs can only come from
orchestration. A call is found by where it happens: workflow, node, iteration path, attempt
and tool name (and, when one place calls a tool several times, the call with the same
arguments). A call the
recording does not hold, or holds with other arguments, is a *replay miss*: it is answered
live by the real tool so the run goes on, and the miss is reported as a difference of its own
(the `replay` dimension). Recorded calls the shadow never made are reported too.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compat.compare.model import Difference, DimensionResult, Severity
from engines.errors import SnapshotInvalid, ToolError
from engines.model.fields import JsonData
from engines.tools import ToolContext, ToolRegistry

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Where a call happens: workflow, node, iteration path, attempt, tool.
Where = tuple[str, str, tuple[tuple[str, int], ...], int, str]

#: Weight of the replay dimension in the overall score when `weights` does not name it.
REPLAY_WEIGHT = 0.10


class RecordedError(BaseModel):
    model_config = _FROZEN
    code: str
    message: str
    recoverable: bool


class ToolCall(BaseModel):
    """One tool call as the primary made it."""

    model_config = _FROZEN

    tool: str
    workflow: str = ""
    node: str = ""
    path: tuple[tuple[str, int], ...] = ()
    attempt: int = 1
    args: dict[str, JsonData] = Field(default_factory=dict)
    result: JsonData = None
    error: RecordedError | None = None
    #: The call was cancelled (its node timed out or the run was cancelled) before it ended.
    cancelled: bool = False
    #: Seconds on the run's clock the call took.
    duration: float = 0.0

    @property
    def where(self) -> Where:
        return (self.workflow, self.node, self.path, self.attempt, self.tool)

    @property
    def label(self) -> str:
        place = "".join(f"[{c}={i}]" for c, i in self.path)
        scope = f"{self.workflow}/" if self.workflow else ""
        return f"{scope}{self.node}{place}#{self.attempt}:{self.tool}"


class Recording(BaseModel):
    """Every tool call of one run, in the order they were made."""

    model_config = _FROZEN

    version: int = 1
    calls: tuple[ToolCall, ...] = ()

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SnapshotInvalid(f"{path}: cannot read the recording: {exc.strerror}") from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "recording"
            raise SnapshotInvalid(f"{path}: {where}: {first['msg']}") from None


def _ctx_where(name: str, ctx: ToolContext) -> Where:
    path = tuple((str(container), int(index)) for container, index in ctx.path)
    return (ctx.workflow, ctx.node, path, ctx.attempt, name)


class RecordingRegistry(ToolRegistry):
    """The real tools, with every call written down."""

    def __init__(self, tools: ToolRegistry) -> None:
        super().__init__(tools.get(name) for name in tools)
        self._calls: list[ToolCall] = []

    async def call(self, name: str, args: Mapping[str, Any], ctx: ToolContext) -> Any:
        workflow, node, path, attempt, _ = _ctx_where(name, ctx)
        started = ctx.clock.now()
        fields: dict[str, Any] = {
            "tool": name,
            "workflow": workflow,
            "node": node,
            "path": path,
            "attempt": attempt,
            "args": _json_args(args),
        }
        try:
            result = await super().call(name, args, ctx)
        except ToolError as exc:
            self._calls.append(
                ToolCall(
                    **fields,
                    error=RecordedError(
                        code=exc.code, message=exc.message, recoverable=exc.recoverable
                    ),
                    duration=ctx.clock.now() - started,
                )
            )
            raise
        except asyncio.CancelledError:
            self._calls.append(
                ToolCall(**fields, cancelled=True, duration=ctx.clock.now() - started)
            )
            raise
        self._calls.append(ToolCall(**fields, result=result, duration=ctx.clock.now() - started))
        return result

    def recording(self) -> Recording:
        return Recording(calls=tuple(self._calls))


class ReplayRegistry(ToolRegistry):
    """Answers calls from a recording; what the recording cannot answer is a miss."""

    def __init__(self, recording: Recording, live: ToolRegistry) -> None:
        super().__init__(live.get(name) for name in live)
        self._queues: dict[tuple[Any, ...], list[ToolCall]] = defaultdict(list)
        for recorded in recording.calls:
            self._queues[recorded.where].append(recorded)
        self._total = len(recording.calls)
        self.served = 0
        self.misses: list[Difference] = []

    async def call(self, name: str, args: Mapping[str, Any], ctx: ToolContext) -> Any:
        where = _ctx_where(name, ctx)
        queue = self._queues.get(where)
        label = ToolCall(
            tool=name, workflow=where[0], node=where[1], path=where[2], attempt=where[3]
        ).label
        if not queue:
            self._miss(label, "unrecorded_call", None, _json_args(args), "not in the recording")
            return await super().call(name, args, ctx)
        sent = _json_args(args)
        # One place may be called from several callers (a sub-workflow run twice): the call
        # with the same arguments is the one meant, whatever order the engine ran them in.
        index = next((i for i, c in enumerate(queue) if c.args == sent), None)
        if index is None:
            recorded = queue.pop(0)
            self._miss(label, "args_changed", recorded.args, sent, "called with other arguments")
            return await super().call(name, args, ctx)
        recorded = queue.pop(index)
        if recorded.cancelled:
            # The primary's call was cancelled after `duration` (its node timed out, or the
            # run was cancelled); a shadow that behaves alike cancels this one at the same
            # moment. Its timeout fires as that moment comes, a run's cancel once everything
            # due then has happened — so wait for that too, twice, in case the cancel is
            # requested by a task released at the same idle moment as this one.
            await ctx.clock.sleep(recorded.duration)
            await ctx.clock.settle()
            await ctx.clock.settle()
            self._miss(label, "outcome_unknown", None, None, "the recorded call was cancelled")
            return await super().call(name, args, ctx)
        if recorded.duration:
            await ctx.clock.sleep(recorded.duration)
        self.served += 1
        if recorded.error is not None:
            e = recorded.error
            raise ToolError(e.code, e.message, recoverable=e.recoverable)
        return recorded.result

    def _miss(self, label: str, kind: str, primary: Any, shadow: Any, why: str) -> None:
        self.misses.append(
            Difference(
                dimension="replay",
                path=f"replay.{label}",
                primary=primary,
                shadow=shadow,
                kind=kind,
                severity=Severity.HIGH,
                note=f"the shadow's call {label} was {why}; it was answered live",
            )
        )

    def dimension(self, weight: float = REPLAY_WEIGHT) -> DimensionResult:
        """The replay dimension: misses, and recorded calls the shadow never made."""
        unused = [
            Difference(
                dimension="replay",
                path=f"replay.{call.label}",
                primary=call.args,
                kind="unused_call",
                severity=Severity.HIGH,
                note=f"the primary's call {call.label} was never made by the shadow",
            )
            for queue in self._queues.values()
            for call in queue
        ]
        differences = self.misses + unused
        calls = self.served + len(self.misses) + len(unused)
        score = 1.0 if not calls else self.served / calls
        return DimensionResult(
            name="replay", score=score, weight=weight, differences=tuple(differences)
        )


def _json_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as JSON data, so a recording compares and saves the same way."""
    try:
        return json.loads(json.dumps(dict(args), default=str))
    except (TypeError, ValueError):
        return {key: repr(value) for key, value in args.items()}
