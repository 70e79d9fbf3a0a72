"""`--handoff`: a run relayed between the two built-in engines at every pause.

The relay starts a case on one engine; at each pause the run is saved in that engine's
format, converted through the engine-neutral common state (`compat.sync.handoff`) into the
other engine's format, loaded by a fresh instance of the other engine, and answered there.
docs/harness-sync.md promises that such a run ends exactly as an uninterrupted one;
`compat check --handoff` holds it to that on every case, so the converters and both engines'
restore paths stay under the gate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compat.sync import handoff
from engines.clock import VirtualClock, run_turn
from engines.documents import Cancel
from engines.graph import GraphEngine
from engines.journey import JourneyEngine
from engines.model import WorkflowRegistry
from engines.result import RunResult, RunStatus
from engines.tools import ToolRegistry


@dataclass(frozen=True)
class Port:
    """One built-in engine's turn-by-turn API, seen alike from the relay."""

    kind: str
    make: Callable[[ToolRegistry, Mapping[str, str]], Any]
    begin: Callable[[Any, WorkflowRegistry, dict[str, Any]], Any]
    first: Callable[[Any], Any]
    answer: Callable[[Any, Any], Any]
    save: Callable[[Any], dict[str, Any]]
    load: Callable[[Any, WorkflowRegistry, dict[str, Any]], Any]


PORTS = {
    "graph": Port(
        "graph",
        lambda tools, env: GraphEngine(tools=tools, clock=VirtualClock(), env=dict(env)),
        lambda engine, registry, inputs: engine.start(registry, inputs),
        lambda run: run.run,
        lambda run, payload: lambda: run.resume(payload),
        lambda run: run.snapshot(),
        lambda engine, registry, doc: engine.restore(registry, doc),
    ),
    "journey": Port(
        "journey",
        lambda tools, env: JourneyEngine(tools=tools, clock=VirtualClock(), env=dict(env)),
        lambda engine, registry, inputs: engine.start_session(registry, inputs),
        lambda run: run.start,
        lambda run, payload: lambda: run.reply(payload),
        lambda run: run.to_json(),
        lambda engine, registry, doc: engine.load_session(registry, doc),
    ),
}


class Relay:
    """A harness engine: the case starts on `first` and moves to the other engine at every
    pause (first → second → first …)."""

    def __init__(
        self,
        first: str,
        second: str,
        tools: ToolRegistry,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.ports = (PORTS[first], PORTS[second])
        self.tools = tools
        self.env = dict(env or {})
        self.name = f"{first}⇄{second}"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
        cancel: Cancel | None = None,
    ) -> RunResult:
        tools = tools or self.tools
        at = cancel.at if cancel is not None else None
        side = 0
        port = self.ports[side]
        engine = port.make(tools, self.env)
        run = port.begin(engine, registry, dict(inputs))
        result = run_turn(
            engine.clock, port.first(run), cancel_after=at, cancel=lambda r=run: r.cancel()
        )
        for payload in conversation:
            if result.status is not RunStatus.PAUSED:
                break
            side, engine, run = self._hand_over(side, run, registry, tools)
            result = run_turn(
                engine.clock,
                self.ports[side].answer(run, payload),
                cancel_after=None if at is None else at - result.metrics.duration,
                cancel=lambda r=run: r.cancel(),
            )
        if cancel is not None and cancel.when == "paused" and result.status is RunStatus.PAUSED:
            side, engine, run = self._hand_over(side, run, registry, tools)
            result = engine.clock.run(run.cancel_paused)
        return result  # type: ignore[no-any-return]

    def _hand_over(
        self, side: int, run: Any, registry: WorkflowRegistry, tools: ToolRegistry
    ) -> tuple[int, Any, Any]:
        source, target = self.ports[side], self.ports[1 - side]
        saved = json.loads(json.dumps(source.save(run)))  # what crosses a process boundary
        document = json.loads(
            json.dumps(handoff(saved, source.kind, target.kind, registry=registry))
        )
        engine = target.make(tools, self.env)
        return 1 - side, engine, target.load(engine, registry, document)
