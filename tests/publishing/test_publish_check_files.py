"""`compat check --html --junit --json`: one run writes all three files; the exit code is the
verdict; the JUnit file is valid and has a testcase per case, failed exactly where the
engines disagreed; the page has a row per case and its Content-Security-Policy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, compat
from publishing_support import (
    DIVERGING,
    REPO,
    ROUTER,
    ROUTER_LAST,
    SEQUENCE,
    case_rows,
    csp,
    load_json,
    parse_html,
    valid_junit,
)


@dataclass
class Published:
    run: Run
    html: Path
    junit: Path
    json: Path

    @property
    def report(self) -> dict[str, Any]:
        return load_json(self.json)


def _check(folder: Path, *extra: str) -> Published:
    html, junit, json_path = folder / "report.html", folder / "report.xml", folder / "report.json"
    run = compat(
        "check",
        ROUTER,
        SEQUENCE,
        *extra,
        "--html",
        html,
        "--junit",
        junit,
        "--json",
        json_path,
        cwd=REPO,
    )
    return Published(run, html, junit, json_path)


@pytest.fixture(scope="module")
def incompatible(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The router_last engine as the shadow, each case in a worker process (the default)."""
    return _check(tmp_path_factory.mktemp("incompatible"), "--shadow", ROUTER_LAST)


@pytest.fixture(scope="module")
def compatible(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return _check(tmp_path_factory.mktemp("compatible"), "--in-process")


@pytest.fixture(params=["compatible", "incompatible"])
def published(request: pytest.FixtureRequest) -> Published:
    return request.getfixturevalue(request.param)


def test_the_exit_code_is_the_verdict(compatible: Published, incompatible: Published) -> None:
    assert compatible.run.code == 0, compatible.run.err
    assert incompatible.run.code == 1, incompatible.run.err
    assert compatible.report["ok"] is True
    assert incompatible.report["ok"] is False


def test_all_three_files_are_written(published: Published) -> None:
    for path in (published.html, published.junit, published.json):
        assert path.is_file() and path.stat().st_size > 0, path
    report = published.report
    assert [c["fixture"] for c in report["cases"]].count(ROUTER) == 7
    assert [c["fixture"] for c in report["cases"]].count(SEQUENCE) == 4
    # No temporary file of the atomic writes is left beside them.
    assert sorted(p.name for p in published.html.parent.iterdir()) == [
        "report.html",
        "report.json",
        "report.xml",
    ]


def test_stdout_names_every_file_written(published: Published) -> None:
    lines = [line.strip() for line in published.run.lines]
    assert f"html report: {published.html}" in lines
    assert f"junit report: {published.junit}" in lines
    assert f"report: {published.json}" in lines


def test_the_incompatible_cases_are_the_router_last_bug(incompatible: Published) -> None:
    cases = incompatible.report["cases"]
    assert {c["case"] for c in cases if not c["compatible"]} == DIVERGING
    assert {c["case"] for c in cases if not c["passed"]} == DIVERGING


def test_junit_is_valid_with_a_testcase_per_case_failed_where_incompatible(
    published: Published,
) -> None:
    root = valid_junit(published.junit)
    cases = published.report["cases"]
    testcases = root.findall("./testsuite/testcase")
    assert [(t.get("classname"), t.get("name")) for t in testcases] == [
        (c["fixture"], c["case"]) for c in cases
    ]
    failed = {t.get("name") for t in testcases if t.find("failure") is not None}
    assert failed == {c["case"] for c in cases if not c["compatible"]}
    assert not root.findall(".//error"), "both engines gave a result for every case"
    assert root.get("tests") == str(len(cases))
    assert root.get("failures") == str(len(failed))
    for testcase in testcases:
        failure = testcase.find("failure")
        if failure is not None:
            assert failure.get("type") == "incompatible"
            assert "incompatible" in (failure.get("message") or "")


def test_junit_fails_exactly_the_three_diverging_cases(incompatible: Published) -> None:
    root = valid_junit(incompatible.junit)
    failed = {
        (t.get("classname"), t.get("name"))
        for t in root.iter("testcase")
        if t.find("failure") is not None
    }
    assert failed == {(ROUTER, name) for name in DIVERGING}


def test_the_page_has_a_row_per_case_and_its_content_security_policy(
    published: Published,
) -> None:
    page = parse_html(published.html.read_text(encoding="utf-8"))
    cases = published.report["cases"]
    rows = case_rows(page)
    assert sorted((r.get("data-fixture"), r.get("data-case")) for r in rows) == sorted(
        (c["fixture"], c["case"]) for c in cases
    )
    assert [int(r["data-order"]) for r in rows] == list(range(len(cases)))
    ranks = [int(r["data-rank"]) for r in rows]
    assert ranks == sorted(ranks), "the table starts with the worst cases"
    statuses = {r["data-case"]: r.get("data-status") for r in rows}
    for c in cases:
        assert statuses[c["case"]] == ("passed" if c["passed"] else "incompatible")
    (policy,) = csp(page)
    directives = {d.strip().split()[0] for d in policy.split(";") if d.strip()}
    assert "default-src 'none'" in policy
    assert {"default-src", "script-src", "style-src"} <= directives
    assert "unsafe-inline" not in policy
    # Every case has its own section (graph, timelines), one per row.
    details = [d.attrs.get("data-case") for d in page.iter("details", "case")]
    assert sorted(details) == sorted(c["case"] for c in cases)


def test_the_text_format_prints_the_table_and_no_annotation(incompatible: Published) -> None:
    out = incompatible.run.out
    assert "┏" in out and "first-match-wins" in out
    assert not any(line.startswith("::") for line in incompatible.run.lines)
