"""`compat check` as JUnit XML: a suite per fixture, a test per case; what failed and why
is in the failure's type, message and text; an engine with no result is an error; the
counts are the report's own; every document is valid against junit-10.xsd."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from formats_support import case, check_report, counts, difference, metric, valid

from compat.check import CheckOptions, run_check
from compat.formats.junit import check_junit
from compat.report import CheckReport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _cases(root: ET.Element) -> list[ET.Element]:
    return root.findall("./testsuite/testcase")


@pytest.fixture(scope="module")
def passing() -> CheckReport:
    paths = [FIXTURES / "sequence_basics.yaml", FIXTURES / "router_first_match.yaml"]
    return run_check(paths, CheckOptions(in_process=True))


def test_a_passing_report_is_a_suite_per_fixture_with_no_failure(passing: CheckReport) -> None:
    assert passing.ok and passing.summary.cases >= 2
    root = valid(check_junit(passing))
    assert root.tag == "testsuites" and root.get("name") == "compat check"
    assert counts(root) == {"tests": passing.summary.cases, "failures": 0, "errors": 0}
    suites = root.findall("testsuite")
    fixtures = list(dict.fromkeys(c.fixture for c in passing.cases))
    assert [s.get("name") for s in suites] == fixtures and len(fixtures) == 2
    for suite in suites:
        names = [c.case for c in passing.cases if c.fixture == suite.get("name")]
        assert [t.get("name") for t in suite.findall("testcase")] == names
        assert {t.get("classname") for t in suite.findall("testcase")} == {suite.get("name")}
        assert counts(suite) == {"tests": len(names), "failures": 0, "errors": 0}
        assert suite.get("skipped") == "0"
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert properties["primary"] == "graph" and properties["shadow"] == "journey"
        assert properties["policy"] == "equivalence" and properties["isolation"] == "in-process"
    assert not root.findall(".//failure") and not root.findall(".//error")


def test_times_come_from_the_engines_wall_seconds(passing: CheckReport) -> None:
    root = valid(check_junit(passing))
    for element, report in zip(_cases(root), passing.cases, strict=True):
        expected = report.primary.wall_seconds + report.shadow.wall_seconds
        assert element.get("time") == f"{expected:.3f}"
    total = sum(c.primary.wall_seconds + c.shadow.wall_seconds for c in passing.cases)
    assert root.get("time") == f"{total:.3f}"


def test_an_incompatible_case_lists_its_worst_differences_and_how_many_more() -> None:
    many = tuple(difference(f"context.vars.v{i}", i, i + 1, "low") for i in range(24))
    worst = difference("outputs.total", 10, 11, "critical", note="outputs.total: 10 vs 11")
    report = check_report([case("fine"), case("drifted", differences=(*many, worst))])
    root = valid(check_junit(report))
    fine, drifted = _cases(root)
    assert list(fine) == []
    (failure,) = drifted.findall("failure")
    assert failure.get("type") == "incompatible"
    message = failure.get("message") or ""
    assert "\n" not in message and "critical in outputs: outputs.total: 10 vs 11" in message
    lines = (failure.text or "").splitlines()
    header = next(i for i, text in enumerate(lines) if text.startswith("path "))
    assert [c.strip() for c in lines[header].split("|")] == [
        "path",
        "primary",
        "shadow",
        "severity",
        "note",
    ]
    rows = lines[header + 2 : header + 22]
    assert rows[0].split("|")[0].strip() == "outputs.total", "the worst difference comes first"
    assert [r.split("|")[3].strip() for r in rows[1:]] == ["low"] * 19
    assert lines[header + 22] == "... and 5 more (of 25 differences)"
    assert counts(root) == {"tests": 2, "failures": 1, "errors": 0}


def test_long_values_are_cut_in_the_table() -> None:
    long = "x" * 500
    report = check_report([case("long", differences=(difference("outputs.text", long, "y"),))])
    (failure,) = valid(check_junit(report)).iter("failure")
    row = next(r for r in (failure.text or "").splitlines() if r.startswith("outputs.text"))
    primary = row.split("|")[1].strip()
    assert primary.endswith("…") and len(primary) <= 32 and long not in (failure.text or "")


def test_a_failed_golden_answer_is_a_golden_answer_failure() -> None:
    golden = ('outputs.action: expected "nobody", got "page"', "outputs.n: expected 1, got 2")
    report = check_report([case("wrong", golden=golden)])
    (failure,) = valid(check_junit(report)).iter("failure")
    assert failure.get("type") == "golden-answer"
    assert 'golden answer failed: outputs.action: expected "nobody"' in failure.get("message", "")
    assert "(+1 more)" in failure.get("message", "")
    text = failure.text or ""
    assert "golden answers failed:" in text
    assert all(f"  shadow: {g}" in text for g in golden)


def test_a_real_wrong_golden_answer_from_the_harness(tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load((FIXTURES / "router_first_match.yaml").read_text())
    doc["cases"][0]["expect"]["outputs"] = {"action": "nobody"}
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(doc))
    report = run_check([tmp_path / "wrong.yaml"], CheckOptions(in_process=True))
    root = valid(check_junit(report))
    failed = [t for t in _cases(root) if t.find("failure") is not None]
    assert [t.get("name") for t in failed] == [report.cases[0].case]
    failure = failed[0].find("failure")
    assert failure is not None and failure.get("type") == "golden-answer"
    assert report.cases[0].expect.primary[0] in (failure.text or "")


def test_an_engine_that_gave_no_result_is_an_error() -> None:
    report = run_check(
        [FIXTURES / "fail_node.yaml"],
        CheckOptions(shadow="harness_engines:crashing", in_process=True),
    )
    root = valid(check_junit(report))
    assert counts(root) == {"tests": report.summary.cases, "failures": 0, "errors": 6}
    for element in _cases(root):
        assert element.find("failure") is None
        (error,) = element.findall("error")
        assert error.get("type") == "engine-problem"
        assert "the shadow engine (crashing) crashed" in error.get("message", "")
        assert "RuntimeError: engine bug: lost the plan" in (error.text or "")
        assert "status.shadow" in (error.text or ""), "the differences are listed too"


def test_an_incompatible_shadow_from_the_harness_names_its_difference() -> None:
    report = run_check(
        [FIXTURES / "sequence_basics.yaml"],
        CheckOptions(shadow="harness_engines:off_by_one_percent", in_process=True),
    )
    root = valid(check_junit(report))
    bad = {c.case: c for c in report.cases if not c.compatible}
    assert bad, "the off-by-one engine must differ somewhere"
    for element in _cases(root):
        failure = element.find("failure")
        if element.get("name") not in bad:
            assert failure is None or failure.get("type") != "incompatible"
            continue
        worst = bad[element.get("name", "")].worst
        assert failure is not None and failure.get("type") == "incompatible"
        assert worst is not None and worst.note in failure.get("message", "")


def test_a_too_slow_case_gives_the_ratio_and_its_interval() -> None:
    performance = {
        "runs": 8,
        "metrics": [metric("wall_seconds", (2.5, 2.1, 2.9), "slower")],
        "recommendations": [],
    }
    report = check_report([case("slow", too_slow=True, performance=performance)], max_slowdown=1.5)
    (failure,) = valid(check_junit(report)).iter("failure")
    assert failure.get("type") == "too-slow"
    message = failure.get("message", "")
    assert "allowed: 1.5×" in message and "2.500 [95 % CI 2.100–2.900]" in message
    assert "wall_seconds: shadow / primary 2.500" in (failure.text or "")


def test_the_counts_are_the_reports_summary() -> None:
    performance = {
        "runs": 8,
        "metrics": [metric("wall_seconds", (2.5, 2.1, 2.9), "slower")],
        "recommendations": [],
    }
    cases = [
        case("ok", fixture="a.yaml"),
        case("differs", fixture="a.yaml", differences=(difference("outputs.x", 1, 2),)),
        case("golden", fixture="b.yaml", golden=("outputs.x: expected 1, got 2",)),
        case("slow", fixture="b.yaml", too_slow=True, performance=performance),
        case(
            "crashed",
            fixture="c.yaml",
            shadow_problem="RuntimeError: boom",
            differences=(difference("outcome.status", "completed", "crashed", "critical"),),
        ),
    ]
    report = check_report(cases, max_slowdown=1.5)
    root = valid(check_junit(report))
    summary = report.summary
    totals = counts(root)
    assert totals["tests"] == summary.cases == 5
    assert totals["failures"] + totals["errors"] == summary.cases - summary.passed
    assert totals["errors"] == 1
    assert [counts(s) for s in root.findall("testsuite")] == [
        {"tests": 2, "failures": 1, "errors": 0},
        {"tests": 2, "failures": 2, "errors": 0},
        {"tests": 1, "failures": 0, "errors": 1},
    ]
    types = [t.get("type") for t in root.iter() if t.tag in ("failure", "error")]
    assert types == ["incompatible", "golden-answer", "too-slow", "engine-problem"]


def test_an_empty_report_is_a_valid_empty_document() -> None:
    root = valid(check_junit(check_report([])))
    assert counts(root) == {"tests": 0, "failures": 0, "errors": 0}
    assert root.findall("testsuite") == []
