"""`--format github`: an `::error` annotation on the fixture file per failing case, no table,
a closing `::notice` with the counts; none of it when every case passes. A saved report
rendered with `compat report --format github` annotates the same cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Run, compat
from publishing_support import DIVERGING, REPO, ROUTER, ROUTER_LAST, SEQUENCE

TABLE = set("┏┃┡│└━")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("github") / "saved.json"


@pytest.fixture(scope="module")
def failing(saved: Path) -> Run:
    return compat(
        "check",
        ROUTER,
        SEQUENCE,
        "--shadow",
        ROUTER_LAST,
        "--in-process",
        "--format",
        "github",
        "--json",
        saved,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def passing() -> Run:
    return compat("check", ROUTER, SEQUENCE, "--in-process", "--format", "github", cwd=REPO)


def _errors(run: Run) -> list[str]:
    return [line for line in run.lines if line.startswith("::error")]


def test_an_error_annotation_per_failing_case_on_its_fixture_file(failing: Run) -> None:
    assert failing.code == 1, failing.err
    errors = _errors(failing)
    assert len(errors) == len(DIVERGING)
    for line in errors:
        assert line.startswith(f"::error file={ROUTER},"), line
    named = {line.split("::", 2)[2].split(":", 1)[0] for line in errors}
    assert named == DIVERGING


def test_no_table_and_a_closing_notice(failing: Run, passing: Run) -> None:
    for run in (failing, passing):
        assert not TABLE & set(run.out), run.out
        assert run.lines and run.lines[-1].startswith("::notice::compat check: 11 cases")
        assert sum(line.startswith("::notice") for line in run.lines) == 1


def test_all_passing_gives_no_error_annotation(passing: Run) -> None:
    assert passing.code == 0, passing.err
    assert _errors(passing) == []
    assert "::error" not in passing.out + passing.err
    assert "11 passed" in passing.lines[-1]


def test_a_saved_report_gives_the_same_annotations(failing: Run, saved: Path) -> None:
    again = compat("report", saved, "--format", "github", cwd=REPO)
    assert again.code == 1, again.err
    annotations = [line for line in failing.lines if line.startswith("::")]
    assert [line for line in again.lines if line.startswith("::")] == annotations
    assert not TABLE & set(again.out)
