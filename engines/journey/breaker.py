"""The journey engine's circuit breakers (docs/semantics.md §7.7, "Circuit breakers").

A breaker is journey-held state, like a tool state's attempt count: the journey variable
`breaker:<tool>` holds `{failures, opened_at, time}` (in breaker time: the clock time spent
inside the tool's node states), so it is saved with the session and read back on load. A
tool state asks it before each attempt (the *guard* of the attempt's transition) and tells
it how the call went.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure, SnapshotInvalid
from engines.model.tools import CircuitBreaker

if TYPE_CHECKING:
    from engines.journey.session import Session

PREFIX = "breaker:"
Attempt = Callable[[int], Awaitable[Any]]


def protect(session: Session, tool: str, breaker: CircuitBreaker, attempt: Attempt) -> Attempt:
    """Each attempt of this node state, behind `tool`'s breaker; breaker time counts from
    now (the state's first event)."""
    name = PREFIX + tool
    held = session.journey_vars.get(name)
    if held is None:
        held = session.journey_vars[name] = {"failures": 0, "opened_at": None, "time": 0.0}
    entered, began = held["time"], session.now()

    def clock() -> float:
        held["time"] = entered + round(session.now() - began, 6)
        return held["time"]

    async def guarded(number: int) -> Any:
        opened = held["opened_at"]
        # Half-open once R seconds have passed, counted to the microsecond (§7.7).
        if opened is not None and round(clock() - opened, 6) < breaker.reset_timeout:
            clock()
            raise failures.circuit_open(tool, breaker.failure_threshold, breaker.reset_timeout)
        try:
            output = await attempt(number)
        except NodeFailure:
            at = clock()
            held["failures"] += 1
            if held["opened_at"] is not None or held["failures"] >= breaker.failure_threshold:
                held["opened_at"] = at
            raise
        clock()
        held["failures"], held["opened_at"] = 0, None
        return output

    return guarded


def check_saved(key: str, value: Any, breakers: Mapping[str, CircuitBreaker]) -> None:
    """A saved `breaker:<tool>` journey variable: a breaker this journey has, in its shape."""
    tool = key[len(PREFIX) :]
    if tool not in breakers:
        raise SnapshotInvalid(
            f"saved session journey_vars holds {key!r}, but tool {tool!r} has no circuit "
            "breaker in this workflow"
        )

    def seconds(item: Any) -> bool:
        return type(item) in (int, float) and 0 <= item < float("inf")

    if (
        not isinstance(value, Mapping)
        or set(value) != {"failures", "opened_at", "time"}
        or type(value["failures"]) is not int
        or value["failures"] < 0
        or not seconds(value["time"])
        or not (value["opened_at"] is None or seconds(value["opened_at"]))
        or (value["opened_at"] is not None and value["opened_at"] > value["time"])
    ):
        raise SnapshotInvalid(
            f"saved session journey_vars[{key!r}] is {value!r}, not a circuit breaker's state "
            "({failures, opened_at, time} with opened_at <= time)"
        )
