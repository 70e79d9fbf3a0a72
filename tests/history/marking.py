"""A user engine (`tests.history.marking:engine`) that leaves a trace when a case runs: the
graph engine, each run first appending a line to the file `COMPAT_TEST_MARKER` names. A
command refused before any case runs leaves no such file — proof that needs no clock.

With `COMPAT_TEST_RECORD_INTO` naming a history too, the first run also records a green
check run there, as a CI job finishing meanwhile would: the run started before this one's
cases, so a baseline resolved up front is not it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compat.engines import GraphAdapter
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry

MARKER = "COMPAT_TEST_MARKER"
RECORD_INTO = "COMPAT_TEST_RECORD_INTO"
#: The id of the run recorded meanwhile.
MEANWHILE = "meanwhile" + "0" * 23


def _first(marker: Path) -> bool:
    """Whether this is the first run to leave a trace (the only one to create the file)."""
    try:
        os.close(os.open(marker.with_suffix(".first"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


#: The graph engine as compat drives it (one engine, a fresh virtual clock per run).
_GRAPH = GraphAdapter()


class Marking:
    name = "marking"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        marker = Path(os.environ[MARKER])
        with marker.open("a") as trace:
            trace.write("ran\n")
        if os.environ.get(RECORD_INTO) and _first(marker):
            from compat.history import RunRecord, open_history

            with open_history(os.environ[RECORD_INTO]) as store:
                store.record(
                    RunRecord(id=MEANWHILE, kind="check", primary="x", shadow="y", ok=True)
                )
        return _GRAPH.run_case(registry, inputs, conversation, tools=tools)


engine = Marking()
