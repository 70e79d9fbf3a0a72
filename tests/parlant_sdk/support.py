"""Helpers of tests/parlant_sdk: the installed SDK asked in a subprocess, the fake imported
in-process, and every bundled workflow's exported script."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.journey import Journey, JourneyEngine
from engines.journey.export import to_parlant
from engines.model import ValidatedWorkflow
from engines.tools import builtin_registry

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = REPO / "fixtures"
FAKES = REPO / "tests" / "fakes"
REAL_SDK = HERE / "real_sdk.py"
#: The versions the `parlant` extra allows (pyproject.toml).
SUPPORTED = (3,)
NEEDS_PARLANT = "needs the real Parlant SDK 3.x: pip install -e '.[parlant]'"
#: Generous: importing the SDK alone takes seconds, and the machine may be busy.
SUBPROCESS_TIMEOUT = 600


def installed_parlant() -> str | None:
    """The installed `parlant` distribution's version (not the fake, which has none)."""
    try:
        return importlib.metadata.version("parlant")
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------- the real SDK, in a subprocess


def ask_real_sdk(command: str, request: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run real_sdk.py COMMAND in a subprocess with its home and working directory in
    `folder`; its JSON answer."""
    folder.mkdir(parents=True, exist_ok=True)
    request_file, answer_file = folder / "request.json", folder / "answer.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    env = {**os.environ, "PARLANT_HOME": str(folder / "home"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PARLANT_SDK_MODULE", None)
    done = subprocess.run(
        [sys.executable, str(REAL_SDK), command, str(request_file), str(answer_file)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    if done.returncode != 0 or not answer_file.is_file():
        raise AssertionError(
            f"real_sdk.py {command} exited with {done.returncode}:\n{done.stderr[-4000:]}"
        )
    answer: dict[str, Any] = json.loads(answer_file.read_text(encoding="utf-8"))
    return answer


# ---------------------------------------------------------------- the fake, in-process


def forget_parlant() -> None:
    for name in [m for m in sys.modules if m == "parlant" or m.startswith("parlant.")]:
        del sys.modules[name]


# ---------------------------------------------------------------- the bundled workflows


@cache
def _registry(name: str) -> Any:
    return load_fixture(FIXTURES / name, tools=builtin_registry()).registry


def bundled_workflows() -> list[tuple[str, str]]:
    """(fixture file, workflow id) of every workflow of the bundled fixtures, as
    tests/test_journey_export.py picks them."""
    return [
        (path.name, workflow_id)
        for path in sorted(FIXTURES.glob("*.yaml"))
        for workflow_id in _registry(path.name)
    ]


def compiled(file: str, workflow_id: str) -> tuple[ValidatedWorkflow, Journey]:
    registry = _registry(file)
    engine = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())
    validated = registry[workflow_id]
    return validated, engine.blueprint(validated, registry).journey


def key(file: str, workflow_id: str) -> str:
    return f"{file}::{workflow_id}"


@cache
def exported() -> dict[str, str]:
    """Every bundled workflow's `compat export-journey --format parlant` script, by key."""
    return {key(file, wid): to_parlant(compiled(file, wid)[1]) for file, wid in bundled_workflows()}
