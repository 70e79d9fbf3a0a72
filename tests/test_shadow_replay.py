"""Shadow experiments with `replay=True`: the shadow sees the primary's outside world."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from compat.shadow import Experiment
from engines.errors import ConfigError
from engines.model import WorkflowRegistry, validate_workflow
from engines.tools import ToolContext, ToolRegistry, builtin_registry


def ticketing() -> ToolRegistry:
    """Built-ins plus `ticket`, a different answer on every call."""
    tools = builtin_registry()
    counter = itertools.count(1)

    def ticket(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        return next(counter)

    tools.register("ticket", ticket)
    return tools


DOC = {
    "id": "tickets",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "take", "type": "tool", "params": {"tool": "ticket"}},
        {"id": "end", "type": "end", "params": {"outputs": {"n": "{{ nodes.take.output }}"}}},
    ],
    "edges": [{"source": "start", "target": "take"}, {"source": "take", "target": "end"}],
}


def _one(replay: bool) -> Any:
    tools = ticketing()
    registry = WorkflowRegistry([validate_workflow(DOC)], tools=tools)
    seen: list[Any] = []
    with Experiment(
        "tickets", "graph", "journey", tools=tools, replay=replay, publish=seen.append
    ) as experiment:
        value = experiment.run(registry, {})
        experiment.wait(10)
    (result,) = seen
    return value, result


def test_without_replay_a_flaky_world_makes_a_mismatch() -> None:
    value, result = _one(replay=False)
    assert value.outputs == {"n": 1}
    assert result.mismatched
    assert "outputs" in result.comparison.differing_dimensions()


def test_with_replay_the_shadow_gets_the_primarys_answers() -> None:
    value, result = _one(replay=True)
    assert value.outputs == {"n": 1}  # the primary's own result, untouched by recording
    assert result.matched, result.summary()
    replay = result.comparison.dimension("replay")
    assert replay.score == 1.0 and replay.differences == ()
    assert result.shadow.value.outputs == {"n": 1}


def test_replay_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match="replay must be True or False"):
        Experiment("x", "graph", "journey", replay="yes")  # type: ignore[arg-type]
