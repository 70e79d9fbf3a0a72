"""Handing a paused run from one engine to the other through the common state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compat.sync.graph import from_graph, to_graph
from compat.sync.journey import from_journey, to_journey
from compat.sync.state import CommonState, RegistryLike
from engines.errors import ConfigError
from engines.graph.execution import Execution
from engines.journey.session import Session

ENGINES = ("graph", "journey")

READERS: dict[str, Callable[[Mapping[str, Any], RegistryLike], CommonState]] = {
    "graph": from_graph,
    "journey": from_journey,
}
WRITERS: dict[str, Callable[[CommonState, RegistryLike], dict[str, Any]]] = {
    "graph": to_graph,
    "journey": to_journey,
}


def _engine(name: Any, role: str) -> str:
    if name not in ENGINES:
        raise ConfigError(f"unknown {role} engine {name!r} (known: {', '.join(ENGINES)})")
    return str(name)


def handoff(
    paused: Execution | Session | Mapping[str, Any],
    source: str = "graph",
    target: str = "journey",
    *,
    registry: RegistryLike | None = None,
) -> dict[str, Any]:
    """The `target` engine's JSON of a run paused in `source`: for `GraphEngine.restore` or
    `JourneyEngine.load_session` with the same registry.

    `paused` is a paused graph `Execution`, a paused journey `Session` (their own registry is
    used unless one is given), or the source engine's JSON (then `registry` is required).
    `source == target` is a round trip through the common state."""
    source = _engine(source, "source")
    target = _engine(target, "target")
    if isinstance(paused, Execution | Session):
        kind = "graph" if isinstance(paused, Execution) else "journey"
        if kind != source:
            raise ConfigError(f"handoff from {source!r} was given a paused {kind} run")
        if isinstance(paused, Execution):
            data = paused.snapshot()
            registry = registry if registry is not None else paused.plan.registry
        else:
            data = paused.to_json()
            registry = registry if registry is not None else paused.blueprint.registry
    else:
        if registry is None:
            raise ConfigError("handoff of a saved document needs the workflow registry")
        data = paused
    common = READERS[source](data, registry)
    return WRITERS[target](common, registry)
