"""A report saved with `--json` keeps each case's detail (the workflow's nodes and edges,
both engines' traces), so that `compat report --html` can draw it later; a check whose
report nobody will read keeps none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import Run, compat
from publishing_support import REPO, ROUTER, SEQUENCE, cli, load_json

import compat.check as check_module
from compat.check import CheckOptions, run_check
from compat.report import CheckReport

FIXTURES = {path: yaml.safe_load((REPO / path).read_text()) for path in (ROUTER, SEQUENCE)}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, dict[str, Any]]:
    """`--json` alone (no --html), each case in a worker process (the default): the detail
    crosses the process boundary."""
    out = tmp_path_factory.mktemp("detail") / "saved.json"
    run = compat("check", ROUTER, SEQUENCE, "--json", out, cwd=REPO)
    return run, load_json(out)


def test_every_case_keeps_its_workflow_and_both_traces(saved: tuple[Run, dict[str, Any]]) -> None:
    run, report = saved
    assert run.code == 0, run.err
    assert len(report["cases"]) == 11
    for case in report["cases"]:
        detail = case["detail"]
        assert detail is not None, case["case"]
        workflow = FIXTURES[case["fixture"]]["workflow"]
        assert detail["workflow"]["id"] == workflow["id"]
        assert [n["id"] for n in detail["workflow"]["nodes"]] == [
            n["id"] for n in workflow["nodes"]
        ]
        assert {n["id"]: n["type"] for n in detail["workflow"]["nodes"]} == {
            n["id"]: n["type"] for n in workflow["nodes"]
        }
        assert {(e["source"], e["target"], e["handle"]) for e in detail["workflow"]["edges"]} == {
            (e["source"], e["target"], e.get("handle", "out")) for e in workflow["edges"]
        }
        node_ids = {n["id"] for n in workflow["nodes"]}
        for engine in ("primary", "shadow"):
            trace = detail[engine]["trace"]
            assert trace, (case["case"], engine)
            assert {event["node"] for event in trace if event.get("node")} <= node_ids
            assert trace[0]["node"] == "start"


def test_the_traces_are_each_engines_own_run(saved: tuple[Run, dict[str, Any]]) -> None:
    """The route a case takes shows in both traces: `second-route` goes through `queue`."""
    _, report = saved
    (case,) = [c for c in report["cases"] if c["case"] == "second-route"]
    for engine in ("primary", "shadow"):
        ran = {e["node"] for e in case["detail"][engine]["trace"] if e["kind"] == "completed"}
        assert ran == {"start", "route", "queue", "done"}, engine


def test_the_run_check_api_keeps_no_detail_unless_asked() -> None:
    paths = [REPO / SEQUENCE]
    plain = run_check(paths, CheckOptions(in_process=True))
    assert plain.cases and all(c.detail is None for c in plain.cases)
    kept = run_check(paths, CheckOptions(in_process=True, details=True))
    assert all(c.detail is not None and c.detail.primary for c in kept.cases)


@pytest.mark.parametrize(
    ("options", "kept"),
    [
        ([], False),
        (["--junit", "out.xml"], False),
        (["--format", "github"], False),
        (["--json", "out.json"], True),
        (["--html", "out.html"], True),
        (["--json", "-"], True),
    ],
    ids=["plain", "junit-only", "github", "json", "html", "json-to-stdout"],
)
def test_the_command_keeps_detail_only_for_json_and_html(
    options: list[str], kept: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `compat check` asks `run_check` for, and what the report it got holds."""
    seen: list[tuple[CheckOptions, CheckReport]] = []

    def recording(paths: Any, given: CheckOptions, *rest: Any) -> CheckReport:
        report = run_check(paths, given, *rest)
        seen.append((given, report))
        return report

    monkeypatch.setattr(check_module, "run_check", recording)
    run = cli("check", REPO / SEQUENCE, "--in-process", *options, cwd=tmp_path)
    assert run.code == 0, run.err
    ((given, report),) = seen
    assert given.details is kept
    assert all((c.detail is not None) is kept for c in report.cases)
    if "--json" in options:
        text = run.out if "-" in options else (tmp_path / "out.json").read_text()
        assert all((c["detail"] is not None) is kept for c in json.loads(text)["cases"])
