"""Engines and tools for the process runner's tests (tests/shadow/).

Everything here is defined at module level, so a shadow's worker process can load it by spec
(`shadow_engines:Modes`) or receive it pickled: the worker gets the test process's
`sys.path`. `Modes` misbehaves as the call's `mode` input says, inside the worker.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from shadow_support import WAIT, fixed

from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult
from engines.tools import ToolContext, ToolRegistry, builtin_registry

#: Set in the test process's environment, it makes `refusing` fail to load in a worker
#: started afterwards (a worker gets the environment it is started with).
REFUSE = "COMPAT_SHADOW_TEST_REFUSE"


class NeedsTwo(Exception):
    """An exception that pickles but cannot be unpickled (its constructor takes two)."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} and {second}")


class Echo:
    """Agrees with itself in any process: the workflow's id and the inputs, as outputs."""

    name = "echo"

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        data = {k: v for k, v in inputs.items() if k != "mode"}
        return fixed(workflow=registry.main.id, **data)


class Modes(Echo):
    """`Echo`, or misbehaving as the `mode` input says (in the worker process)."""

    name = "modes"

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        mode = inputs.get("mode", "ok")
        if mode == "hang":
            time.sleep(20 * WAIT)
        elif mode == "hang-in-c":  # catastrophic backtracking: stuck in C, deaf to signals
            re.match(r"(a+)+$", "a" * 64 + "b")
        elif mode == "sleep":
            time.sleep(inputs["seconds"])
        elif mode == "exit":
            os._exit(0)
        elif mode == "segfault":
            ctypes.string_at(0)
        elif mode == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "raise":
            raise ValueError("boom")
        elif mode == "system-exit":
            raise SystemExit(3)
        elif mode == "unpicklable-error":
            raise NeedsTwo("this", "that")
        elif mode == "unpicklable-value":
            return lambda: None
        elif mode == "pid":
            return fixed(pid=os.getpid())
        return super().run_case(registry, inputs, conversation)


def refusing() -> Modes:
    """A factory (`shadow_engines:refusing`) that fails while `REFUSE` is set."""
    if os.environ.get(REFUSE):
        raise RuntimeError("refusing to load")
    return Modes()


def exits_on_load() -> Any:
    """A factory that ends its process: the worker dies while being set up."""
    os._exit(3)


# --------------------------------------------------------------------------- replay


def _pid(args: Mapping[str, Any], ctx: ToolContext) -> int:
    """A tool whose answer differs from process to process."""
    return os.getpid()


def pid_tools() -> ToolRegistry:
    """The built-ins and `pid` (module-level, so the registry pickles)."""
    tools = builtin_registry()
    tools.register("pid", _pid)
    return tools


def pid_registry(tools: ToolRegistry) -> WorkflowRegistry:
    doc = {
        "id": "pids",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "tool", "params": {"tool": "pid"}},
            {"id": "end", "type": "end", "params": {"outputs": {"pid": "{{ nodes.ask.output }}"}}},
        ],
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "end"}],
    }
    return WorkflowRegistry([validate_workflow(doc)], tools=tools)


class SlowToRead(Mapping[str, Any]):
    """A primary's value that takes `WAIT` seconds to read: validating it stalls the
    worker's comparison stage."""

    def __getitem__(self, key: str) -> Any:
        time.sleep(WAIT)
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


class PickleSpy:
    """A primary's value that notes which thread pickled it."""

    threads: ClassVar[list[str]] = []

    def __reduce__(self) -> Any:
        PickleSpy.threads.append(threading.current_thread().name)
        return dict, ()


#: The test process's id, in the environment its workers inherit: an `Unreadable` value is
#: built in a worker and cannot be read back in the test process.
SERVICE_PID = "COMPAT_SHADOW_TEST_SERVICE_PID"


def _rebuilt(data: dict[str, Any]) -> Unreadable:
    if os.environ.get(SERVICE_PID) == str(os.getpid()):
        raise RuntimeError("an Unreadable result cannot be read in the service")
    return Unreadable.model_validate(data)


class Unreadable(RunResult):
    """A result that travels from a worker but cannot be unpickled in the test process (as
    a value whose class the service cannot import)."""

    def __reduce__(self) -> Any:
        return _rebuilt, (self.model_dump(),)


class UnreadableEcho(Echo):
    """`Echo`, its result an `Unreadable`; with a true `differ` input, an output more."""

    name = "unreadable"

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        data = super().run_case(registry, inputs, conversation).model_dump()
        if inputs.get("differ"):
            data["outputs"]["differs"] = True
        return Unreadable.model_validate(data)
