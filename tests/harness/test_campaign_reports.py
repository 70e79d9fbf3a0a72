"""Where cases run does not change what `compat check` reports: `--in-process`, one worker
process (the default) and `--workers 2` give the same report on the bundled fixtures — the
same cases, in the same order, with the same content — but for wall and CPU times and the
settings that say how the check ran. The real `compat` console script, in subprocesses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_support import compat

ROOT = Path(__file__).resolve().parents[2]
#: Fields that measure time: they differ from run to run.
TIMING = frozenset({"wall_seconds", "cpu_seconds"})
#: Settings that say how the check ran.
MODE = frozenset({"workers", "isolation", "memory_mb"})


def untimed(value: Any) -> Any:
    """`value` without any timing field, at any depth."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [untimed(item) for item in value]
    return value


def report(tmp_path: Path, name: str, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    run = compat("check", "fixtures/", "--json", out, *extra, cwd=ROOT)
    assert run.code == 0, run
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def test_in_process_one_worker_and_two_workers_report_the_same(tmp_path: Path) -> None:
    serial = report(tmp_path, "in-process", "--in-process")
    order = [(case["fixture"], case["case"]) for case in serial["cases"]]
    assert len(order) > 200  # every bundled case, not an empty comparison
    for name, extra in (("default", ()), ("two", ("--workers", "2"))):
        other = report(tmp_path, name, *extra)
        assert [(case["fixture"], case["case"]) for case in other["cases"]] == order, name
        for mine, theirs in zip(other["cases"], serial["cases"], strict=True):
            assert untimed(mine) == untimed(theirs), (name, mine["fixture"], mine["case"])
        assert other["summary"] == serial["summary"], name
        assert other["ok"] is serial["ok"] is True
        settings = {k: v for k, v in other["settings"].items() if k not in MODE}
        assert settings == {k: v for k, v in serial["settings"].items() if k not in MODE}
        assert other["settings"]["isolation"] == "process"
    assert serial["settings"]["isolation"] == "in-process"
