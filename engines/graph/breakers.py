"""The graph engine's circuit breakers (docs/semantics.md §7.7, "Circuit breakers").

A breaker is run-level state (`RunState.breakers`), read and written by the tasks of the
nodes that call its tool. That is the one place a task touches the execution's state
directly: a breaker is consulted between the attempts of one task, and the validator (§4
rules 6 and 7) guarantees that no two tasks calling one breaker's tool ever run at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.model.tools import CircuitBreaker

if TYPE_CHECKING:
    from engines.graph.execution import Execution

Attempt = Callable[[int], Awaitable[Any]]


@dataclass
class BreakerState:
    """One tool's breaker in one run. `time` is breaker time (§7.7): the clock time spent
    inside the executions that call the tool, so far; `opened_at` is the breaker time it last
    opened at (None while closed)."""

    failures: int = 0
    opened_at: float | None = None
    time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"failures": self.failures, "opened_at": self.opened_at, "time": self.time}


def guarded(execution: Execution, tool: str, breaker: CircuitBreaker, attempt: Attempt) -> Attempt:
    """`attempt`, asking `tool`'s breaker first and telling it how each call went. Call it
    when the node execution has begun: breaker time counts from here."""
    state = execution.state.breakers.get(tool)
    if state is None:
        state = execution.state.breakers[tool] = BreakerState()
    base, start = state.time, execution.now()

    def tick() -> float:
        state.time = base + round(execution.now() - start, 6)
        return state.time

    async def call(number: int) -> Any:
        now = tick()
        # Half-open once R seconds have passed, counted to the microsecond (§7.7).
        if state.opened_at is not None and round(now - state.opened_at, 6) < breaker.reset_timeout:
            raise failures.circuit_open(tool, breaker.failure_threshold, breaker.reset_timeout)
        try:
            result = await attempt(number)
        except NodeFailure:
            now = tick()
            state.failures += 1
            if state.opened_at is not None or state.failures >= breaker.failure_threshold:
                state.opened_at = now  # a failed probe opens it again, counting afresh
            raise
        tick()
        state.failures = 0
        state.opened_at = None
        return result

    return call
