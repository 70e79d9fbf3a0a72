"""`compat run`, `diff` and `validate` with the same protection as `compat check`: user
tool modules imported first in a worker process, engine runs made there under a hard
timeout and a memory limit."""

from __future__ import annotations

from pathlib import Path

from compat.engines import EngineRun
from compat.executors import tasks
from compat.executors.campaign import failed_run
from compat.executors.process import Done, Raised, WorkerProcess, cause, setup_timeout
from engines.errors import SetupError


def tool_worker(config: Path | None, memory_mb: int | None, timeout: float) -> WorkerProcess:
    """A started worker holding the configuration and its tools. Raises `SetupError` when a
    tool module fails, hangs or ends the process at import."""
    worker = WorkerProcess(
        tasks.setup_tools,
        (str(config) if config else None,),
        memory_mb=memory_mb,
        setup_timeout=setup_timeout(timeout),
        name="compat-run",
    )
    worker.start()
    return worker


def probe_tools(config: Path | None, memory_mb: int | None) -> None:
    """Import the configuration's tool modules in a worker, to see that they behave before
    compat imports them itself (only when there are any: the built-ins are trusted)."""
    from engines.config import load_config

    settings = load_config(path=config) if config else load_config()
    if settings.tool_modules:
        tool_worker(config, memory_mb, 60.0).close()


def run_in_worker(
    worker: WorkerProcess,
    spec: str,
    target: Path,
    *,
    case: str | None,
    inputs: str | None,
    conversation: str | None,
    timeout: float,
) -> EngineRun:
    """One engine's run of a target in `worker`; a death or a timeout is the run's verdict.
    The engine is loaded first: one that fails, dies or hangs while loading is bad input
    (`SetupError`), as in `compat check`."""
    loaded = worker.call(tasks.adhoc_engine, spec, timeout=setup_timeout(timeout))
    if isinstance(loaded, Raised):
        loaded.reraise_refusal()
        raise SetupError(f"engine {spec!r}: {loaded.error}")
    if not isinstance(loaded, Done):
        raise SetupError(f"engine {spec!r}: loading it: {cause(loaded)}")
    answer = worker.call(
        tasks.adhoc_run, spec, str(target), case, inputs, conversation, timeout=timeout
    )
    if isinstance(answer, Done):
        return answer.value  # type: ignore[no-any-return]
    if isinstance(answer, Raised):
        answer.reraise_refusal()
    return failed_run(spec, answer)
