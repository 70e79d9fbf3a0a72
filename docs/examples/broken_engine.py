"""A deliberately broken engine, for trying `compat fuzz` (README, "Fuzzing").

It is the journey engine with one realistic bug: a loop that ran more than once reports its
iterations' results newest first (as a stack-based collector would). Nothing in the bundled
fixtures happens to show it at the top level; the fuzzer finds it in seconds:

    compat fuzz --shadow docs.examples.broken_engine:engine --examples 500 --seed 7
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compat.engines import JourneyAdapter
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry


class ReversedLoops(JourneyAdapter):
    name = "reversed-loops"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
        **options: Any,
    ) -> RunResult:
        result = super().run_case(registry, inputs, conversation, tools=tools, **options)
        outputs = dict(result.node_outputs)
        for node_id, output in outputs.items():
            node = registry.main.workflow.node(node_id)
            if node.type == "loop" and len(output["results"]) > 1:
                outputs[node_id] = {**output, "results": output["results"][::-1]}
        return result.model_copy(update={"node_outputs": outputs})


engine = ReversedLoops()
