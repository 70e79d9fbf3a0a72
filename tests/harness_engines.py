"""User engines for harness tests, loaded by name (`harness_engines:crashing`) the way a
team names its own engine. Each misbehaves in one specific way."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from compat.engines import JourneyAdapter
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


crashing = Crashing()
hanging = Hanging()
not_a_result = NotAResult()
off_by_one_percent = OffByOnePercent
extra_variable = ExtraVariable
