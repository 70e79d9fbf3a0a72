"""Circuit breakers in the common state (docs/semantics.md §7.7, docs/harness-sync.md).

A paused run holds one breaker per tool it has called that has a circuit breaker:
`{failures, opened_at, time}` in breaker time. The graph keeps them in its snapshot's
`breakers` mapping, the journey in its journey variables `breaker:<tool>`; the common state
holds them in `breakers`, by tool, and this module maps each engine's form to it and back
and checks them against the workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from engines.errors import SnapshotInvalid
from engines.model import ValidatedWorkflow
from engines.model.nodes import ToolNode
from engines.model.tools import breakers_of

#: The journey variables that hold a breaker: `breaker:<tool>`.
JOURNEY_PREFIX = "breaker:"
Seconds = (
    Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] | Annotated[StrictInt, Field(ge=0)]
)


class BreakerState(BaseModel):
    """One tool's breaker: consecutive failed calls, the breaker time it last opened at
    (None while closed) and the breaker time passed so far."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    failures: Annotated[StrictInt, Field(ge=0)]
    opened_at: Seconds | None
    time: Seconds


def common_breaker(value: Mapping[str, Any]) -> dict[str, Any]:
    """A breaker's `{failures, opened_at, time}`, its times as floats (the engines compute
    them as floats; JSON may have turned `1.0` into `1`)."""
    opened, time = value.get("opened_at"), value.get("time")
    return {
        "failures": value.get("failures"),
        "opened_at": float(opened) if type(opened) is int else opened,
        "time": float(time) if type(time) is int else time,
    }


def split_journey_vars(journey_vars: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(breakers by tool, the other journey variables) of a saved session. A breaker that is
    not a mapping is kept as it is, for the common state's check to name."""
    breakers: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in journey_vars.items():
        if key.startswith(JOURNEY_PREFIX):
            tool = key[len(JOURNEY_PREFIX) :]
            breakers[tool] = common_breaker(value) if isinstance(value, Mapping) else value
        else:
            rest[key] = value
    return dict(sorted(breakers.items())), rest


def journey_vars_with(rest: Mapping[str, Any], breakers: Mapping[str, Any]) -> dict[str, Any]:
    """A saved session's journey variables: `rest` plus each breaker as `breaker:<tool>`."""
    clash = sorted(k for k in rest if k.startswith(JOURNEY_PREFIX))
    if clash:
        raise SnapshotInvalid(
            f"common state extension 'journey' holds {clash[0]!r}: breakers travel in the "
            "common state's `breakers`, not in the journey variables"
        )
    return {**rest, **{JOURNEY_PREFIX + tool: dict(b) for tool, b in breakers.items()}}


def check_breakers(
    breakers: Mapping[str, BreakerState], main: ValidatedWorkflow, fail: Any, place: str
) -> None:
    """Each breaker is of a tool the workflow calls, opened no later than the breaker time
    it reached, open only after a failed call, and — when the workflow itself declares the
    breaker (the configuration's are not known here) — open exactly when its count reached
    the threshold. `fail(where, problem)` builds the refusal; `place` names a breaker in the
    document's vocabulary (`{tool}` is replaced)."""
    workflow = main.workflow
    called = {
        node.params.tool
        for node_id in main.topology.iter_nodes()
        if isinstance(node := workflow.node(node_id), ToolNode)
    }
    declared = breakers_of(workflow.tools)
    for tool, state in breakers.items():
        where = place.format(tool=tool)
        if tool not in called:
            raise fail(where, f"no tool node of workflow {main.id!r} calls tool {tool!r}")
        if state.opened_at is not None and state.opened_at > state.time:
            raise fail(
                where,
                f"opened at breaker time {state.opened_at}, after the breaker time it has "
                f"reached ({state.time})",
            )
        if state.opened_at is not None and state.failures == 0:
            raise fail(where, "is open without a failed call")
        breaker = declared.get(tool)
        if breaker is not None and (state.opened_at is not None) != (
            state.failures >= breaker.failure_threshold
        ):
            shown = "open" if state.opened_at is not None else "closed"
            raise fail(
                where,
                f"is {shown} after {state.failures} consecutive failures, but the workflow's "
                f"breaker opens at {breaker.failure_threshold}",
            )
