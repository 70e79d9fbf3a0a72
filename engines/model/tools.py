"""Per-tool settings a workflow or the configuration declares: today, a circuit breaker.

Only the *declaration* is shared: each engine keeps and updates breaker state in its own
execution code (docs/semantics.md §7.7, "Circuit breakers"). The declaration is checked
here, once, so a bad value is refused by the same rule whether it came from a workflow
(`tools.<name>.circuit_breaker`) or from `[tool.compat.tools.<name>.circuit_breaker]`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

_CLOSED = ConfigDict(frozen=True, extra="forbid")


class CircuitBreaker(BaseModel):
    """closed → open after `failure_threshold` consecutive failed calls → half-open after
    `reset_timeout` seconds of breaker time → closed on a successful probe."""

    model_config = _CLOSED

    failure_threshold: Annotated[StrictInt, Field(ge=1)]
    reset_timeout: float

    @field_validator("reset_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"must be a finite number of seconds > 0, not {value!r}")
        return float(value)


class ToolSettings(BaseModel):
    """What a workflow or the configuration says about one tool."""

    model_config = _CLOSED

    circuit_breaker: CircuitBreaker | None = None


ToolName = Annotated[str, Field(min_length=1)]


def breakers_of(settings: Mapping[str, ToolSettings] | None) -> dict[str, CircuitBreaker]:
    """The circuit breakers declared in a `tools` mapping, by tool name."""
    if not settings:
        return {}
    return {
        name: item.circuit_breaker
        for name, item in settings.items()
        if item.circuit_breaker is not None
    }


def effective_breakers(
    configured: Mapping[str, CircuitBreaker], workflow: Mapping[str, ToolSettings] | None
) -> dict[str, CircuitBreaker]:
    """The breakers a run of a workflow uses: the configuration's, with the workflow's
    declarations replacing them tool by tool (docs/semantics.md §6)."""
    declared = breakers_of(workflow)
    if not configured:
        return declared
    return {**configured, **declared}
