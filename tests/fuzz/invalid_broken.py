"""Worker setups for tests/fuzz/test_invalid.py that break an entry point of the invalid
fuzzer, in the worker process only (a module of its own, light to import: each worker the
fuzzer starts after a hang or a crash imports it again)."""

from __future__ import annotations

import os
import time
from typing import Any

from compat.fuzz import invalid_checks
from compat.fuzz.invalid_checks import WorkerState, setup_worker


def _raising(*args: Any, **kwargs: Any) -> Any:
    raise KeyError("boom")


def _hanging(*args: Any, **kwargs: Any) -> Any:
    while True:
        time.sleep(0.05)


def _exiting(*args: Any, **kwargs: Any) -> Any:
    os._exit(7)


def setup_raising(folder: str) -> WorkerState:
    """`validate_workflow` raises KeyError."""
    invalid_checks.validate_workflow = _raising  # type: ignore[assignment]
    return setup_worker(folder)


def setup_hanging(folder: str) -> WorkerState:
    """`fixture_from_data` never returns; `import_reactflow` ends the process."""
    invalid_checks.fixture_from_data = _hanging  # type: ignore[assignment]
    invalid_checks.import_reactflow = _exiting  # type: ignore[assignment]
    return setup_worker(folder)
