"""Measuring an engine in a fresh subprocess of its own (`compat perf --isolate`).

Each engine gets one spawned worker process that loads the configuration, the fixture and
the engine once, then runs the case whenever the parent asks; the parent still alternates
A B A B between the two workers, so drift hits both alike. In a process of its own an
engine's RSS growth, its garbage and its caches are its own — in-process, one engine's
leftovers are the other's baseline.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

from compat.perf.measure import Breakdown, Runner, Sample
from engines.errors import SetupError


def _serve(conn: Connection, spec: str, fixture: str, case: str, cwd: str) -> None:
    os.chdir(cwd)
    try:
        from compat.engines import load_engine
        from engines.config import load_config
        from engines.documents import load_fixture

        config = load_config()
        tools = config.tool_registry()
        loaded = load_fixture(fixture, tools=tools, roots=config.workflow_root_paths())
        chosen = loaded.case(case)
        engine = load_engine(spec, tools=tools, env=config.environment())
        runner = Runner(engine, loaded.registry, chosen.inputs, chosen.conversation, tools)
        conn.send(("ready", None))
    except Exception as exc:  # reported to the parent as a setup error
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        command, argument = conn.recv()
        try:
            if command == "stop":
                return
            if command == "run":
                conn.send(("ok", runner.run(memory=argument).model_dump()))
            elif command == "profile":
                conn.send(("ok", runner.profile()))
            elif command == "breakdown":
                conn.send(("ok", runner.breakdown(frozenset(argument)).model_dump()))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class Worker:
    """A `Runner` in a subprocess: the same methods, answered over a pipe."""

    def __init__(self, spec: str, fixture: str, case: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, spec, fixture, case, os.getcwd()), daemon=True
        )
        self._process.start()
        child.close()
        self._expect("ready")

    def _expect(self, wanted: str) -> Any:
        try:
            status, payload = self._conn.recv()
        except EOFError:
            raise SetupError("an isolated measuring process ended unexpectedly") from None
        if status == "error":
            raise SetupError(f"isolated measurement: {payload}")
        return payload

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        return self._expect("ok")

    def run(self, *, memory: bool = False) -> Sample:
        return Sample.model_validate(self._ask("run", memory))

    def profile(self) -> dict[str, float]:
        return dict(self._ask("profile"))

    def breakdown(self, parallels: frozenset[str]) -> Breakdown:
        return Breakdown.model_validate(self._ask("breakdown", sorted(parallels)))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(("stop", None))
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
