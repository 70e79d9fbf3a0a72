"""An engine that kills its own process on a case whose input `mode` is `killed` (otherwise
the real graph engine): a batch with such a case kills every Dask worker that runs it."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from typing import Any

from compat.engines import GraphAdapter
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry


class Engine(GraphAdapter):
    name = "crashing"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
        **options: Any,
    ) -> RunResult:
        if inputs.get("mode") == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        return super().run_case(registry, inputs, conversation, tools=tools, **options)
