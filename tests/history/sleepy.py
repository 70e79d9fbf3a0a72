"""User engines (`module:attr`) for the perf side of the regression gate: the graph engine,
each run preceded by a sleep. Their results are the graph engine's, so every case stays
compatible and only the wall time differs — by a sleep, a floor no load can remove:

* `tests.history.sleepy:base` sleeps 20 ms per run (the primary of both runs);
* `tests.history.sleepy:quick` does not sleep (a shadow surely faster than `base`);
* `tests.history.sleepy:slow` sleeps 100 ms per run (a shadow surely slower than `base`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from compat.engines import GraphAdapter
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry

#: The graph engine as compat drives it (one engine, a fresh virtual clock per run).
_GRAPH = GraphAdapter()


class Sleepy:
    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        if self.seconds:
            time.sleep(self.seconds)
        return _GRAPH.run_case(registry, inputs, conversation, tools=tools)


base = Sleepy("graph_20ms", 0.02)
quick = Sleepy("graph_0ms", 0.0)
slow = Sleepy("graph_100ms", 0.1)
