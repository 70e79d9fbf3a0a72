"""Real `compat check` runs (in-process, the real engines) for the record and gate tests:
`fixtures/router_first_match.yaml` with the graph and journey engines, and with the shadow
replaced by `tests.mutants.router_last` (the last matching route wins), under which three
cases become incompatible."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from compat.check import CheckOptions, run_check
from compat.report import CheckReport

ROOT = Path(__file__).resolve().parents[2]
#: As given to `compat check` (absolute, so the tests run from any folder): a case's key
#: starts with the fixture's path as the check was given it.
FIXTURE = str(ROOT / "fixtures" / "router_first_match.yaml")
ROUTER_LAST = "tests.mutants.router_last:engine"
#: The cases the mutant gets wrong: a route before the last matching one should win.
BROKEN = tuple(
    f"{FIXTURE}::{name}" for name in ("first-match-wins", "every-route-matches", "second-route")
)
META = {
    "started_at": "2025-04-01T08:00:00+00:00",
    "commit": "c" * 40,
    "dirty": False,
    "branch": "main",
    "machine": {"hostname": "ci", "platform": "Linux", "python": "3.11", "cpus": 2},
}


@cache
def real_report() -> CheckReport:
    return run_check([FIXTURE], CheckOptions(in_process=True))


@cache
def buggy_report() -> CheckReport:
    return run_check([FIXTURE], CheckOptions(shadow=ROUTER_LAST, in_process=True))
