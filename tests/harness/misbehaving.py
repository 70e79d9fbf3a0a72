"""Engines and tools that misbehave on purpose, as user code can: each case's input `mode`
picks how (`ok` runs the real graph engine). Used as `misbehaving:Engine` from a fixture's
folder, exactly as a user's own `module:attr` engine is."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from compat.engines import GraphAdapter
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry


def misbehave(mode: str) -> None:
    if mode == "hang":
        while True:
            time.sleep(0.01)
    elif mode == "hang-in-c":
        # Catastrophic backtracking: stuck inside the C regex engine, deaf to signals.
        re.match(r"(a+)+$", "a" * 64 + "b")
    elif mode == "exit-zero":
        os._exit(0)
    elif mode == "sys-exit":
        sys.exit(0)
    elif mode == "segfault":
        ctypes.string_at(0)
    elif mode == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "out-of-memory":
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))
    elif mode == "interrupt":
        raise KeyboardInterrupt


class Engine(GraphAdapter):
    name = "misbehaving"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
        **options: Any,
    ) -> RunResult:
        mode = str(inputs.get("mode", "ok"))
        misbehave(mode)
        result = super().run_case(registry, inputs, conversation, tools=tools, **options)
        if mode == "huge-int":  # beyond the contract's limits: no engine of it could say this
            return result.model_copy(update={"outputs": {"mode": 10**5000}})
        return result
