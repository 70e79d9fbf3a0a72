"""User engines for harness tests, loaded by name (`harness_engines:crashing`) the way a
team names its own engine. Each misbehaves in one specific way."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from compat.engines import GraphAdapter, JourneyAdapter
from engines.clock import VirtualClock
from engines.graph import GraphEngine
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry


class Crashing:
    name = "crashing"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        raise RuntimeError("engine bug: lost the plan")


class Hanging:
    name = "hanging"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        time.sleep(30)
        raise AssertionError("unreachable: the harness gave up long ago")


class NotAResult:
    name = "not-a-result"

    def run_case(self, *args: Any, **kwargs: Any) -> Any:
        return {"status": "completed"}


class OffByOnePercent(JourneyAdapter):
    """The journey engine, with every numeric output 1% larger."""

    name = "off-by-one-percent"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        result = super().run_case(registry, inputs, conversation, tools=tools)
        bumped = {
            key: value * 1.01
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else value
            for key, value in result.outputs.items()
        }
        return result.model_copy(update={"outputs": bumped})


class ExtraVariable(JourneyAdapter):
    """The journey engine, leaving one more workflow variable behind: a context difference
    (medium), which the score and threshold weigh."""

    name = "extra-variable"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        result = super().run_case(registry, inputs, conversation, tools=tools)
        return result.model_copy(update={"vars": {**result.vars, "shadow_scratch": True}})


def busy_wait(seconds: float) -> float:
    """Spend `seconds` of real (and CPU) time; sleep() is too coarse below a millisecond.
    Returns the seconds it took."""
    start = time.perf_counter()
    end = start + seconds
    now = start
    while now < end:
        now = time.perf_counter()
    return now - start


class Slowed(GraphAdapter):
    """The graph engine with a delay injected into every node execution through its `delay`
    test hook: `per_node` seconds, no clock time. `hooked` is the same engine with a
    hook that waits for nothing — the fair baseline, since any hook makes every node a task.
    `injected` holds the seconds the hook injected into each run.

    The delay is spent by `spend` (seconds in, seconds spent out): a busy wait of real time,
    or — under tests/perf_support.py's work meter, which tests judging a verdict use — a
    charge to that meter, so the slowdown is the same however loaded the machine is."""

    name = "slowed"
    spend: Callable[[float], float] = staticmethod(busy_wait)

    def __init__(self, per_node: float = 0.002, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.per_node = per_node
        self.injected: list[float] = []

    def _hook(self, node: str, path: Any) -> float:
        if self.per_node:
            self.injected[-1] += self.spend(self.per_node)
        return 0.0

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        self.injected.append(0.0)
        return super().run_case(registry, inputs, conversation, tools=tools)

    def engine(self, tools: ToolRegistry | None = None) -> GraphEngine:
        return GraphEngine(
            tools=tools or self.tools, clock=VirtualClock(), env=self.env, delay=self._hook
        )


crashing = Crashing()
hanging = Hanging()
not_a_result = NotAResult()
off_by_one_percent = OffByOnePercent
extra_variable = ExtraVariable
slowed = Slowed(per_node=0.002)
hooked = Slowed(per_node=0.0)
hooked.name = "hooked"


class Legacy:
    """A user engine written against the first protocol: no `cancel`, no `roundtrip`."""

    name = "legacy"

    def __init__(self) -> None:
        self._inner = GraphAdapter()

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        return self._inner.run_case(registry, inputs, conversation, tools=tools)


legacy = Legacy()
