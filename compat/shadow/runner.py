"""Running one engine for an experiment and turning what it did into an `Observation`.

Not `compat.engines.run_engine`: that one reduces an exception to a string, and an
experiment hands the exception objects themselves to `compare_errors` and publishers. The
guard is the same: a fresh daemon thread joined with a timeout, so a shadow that hangs is
abandoned (Python cannot kill a thread) and the caller of the experiment is told which
thread it left running, to bound how many may pile up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from compat.engines import Engine, EngineRun, verdict
from compat.shadow.model import Call, Observation
from engines.tools import ToolRegistry


@dataclass(frozen=True, slots=True)
class Raw:
    """What an engine did, before anything is made of it (cheap to build in the caller)."""

    value: Any = None
    exception: BaseException | None = None
    timed_out: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float | None = 0.0


def run_guarded(
    engine: Engine,
    call: Call,
    timeout: float,
    *,
    thread_name: str,
    tools: ToolRegistry | None = None,
) -> tuple[Raw, threading.Thread | None]:
    """Run `engine` on `call` in its own thread; never raises for anything the engine does.

    Returns the thread as well when it is still running after `timeout` seconds."""
    box: dict[str, Any] = {}

    def work() -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            if tools is None:
                box["value"] = engine.run_case(call.registry, call.inputs, call.conversation)
            else:
                box["value"] = engine.run_case(
                    call.registry, call.inputs, call.conversation, tools=tools
                )
        except BaseException as exc:  # the shadow's failure is an observation, not ours
            box["exception"] = exc
        finally:
            box["cpu"] = time.thread_time() - cpu
            box["wall"] = time.perf_counter() - started

    started = time.perf_counter()
    thread = threading.Thread(target=work, name=thread_name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        wall = time.perf_counter() - started
        return Raw(timed_out=True, wall_seconds=wall, cpu_seconds=None), thread
    raw = Raw(
        value=box.get("value"),
        exception=box.get("exception"),
        wall_seconds=box["wall"],
        cpu_seconds=box["cpu"],
    )
    return raw, None


def engine_run(name: str, raw: Raw, timeout: float) -> EngineRun:
    """The run as the comparison sees it (the same verdicts as `run_engine`)."""
    return verdict(
        name,
        value=raw.value,
        error=raw.exception,
        timed_out=raw.timed_out,
        timeout=timeout,
        wall_seconds=raw.wall_seconds,
        cpu_seconds=raw.cpu_seconds or 0.0,
    )


def observation(name: str, raw: Raw, timeout: float, cleaned: Any) -> Observation:
    """The observation (the process runner's are `compat.shadow.lazy.LazyObservation`)."""
    return Observation(
        engine=name,
        value=raw.value,
        exception=raw.exception,
        timed_out=raw.timed_out,
        wall_seconds=raw.wall_seconds,
        cpu_seconds=raw.cpu_seconds,
        run=engine_run(name, raw, timeout),
        cleaned=cleaned,
    )
