"""compat's pytest plugin (compat/pytest_plugin.py) as a user meets it: pytest runs in a
scratch project holding two bundled fixtures, `pytest --compat fixtures ...`.

`router_first_match` against the README's user engine `tests.mutants.router_last:engine`
(routes tried from the last, so the last match wins) fails exactly three cases: where all
routes match, and where trying the last route first reads a customer the inputs lack; every
other case passes. Runs with xdist workers, and those that show what a fresh interpreter
does, are subprocesses; the rest run in this process.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import hypothesis  # noqa: F401
import pytest

# Imported here, so in-process runs find them loaded: pytester unloads what a run imports,
# and hypothesis's plugin or the harness would be imported again by every run.
import compat.pytest_items  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ("sequence_basics.yaml", "router_first_match.yaml")
ROUTER_LAST = "tests.mutants.router_last:engine"
ROUTER_CASES = [
    "first-match-wins",
    "every-route-matches",
    "second-route",
    "third-route",
    "no-match-default",
    "truthiness-of-route",
    "reached-route-fails",
]
FAILING = {"first-match-wins", "every-route-matches", "second-route"}
SEQUENCE_CASES = 4


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A scratch project: `fixtures/` with two self-contained bundled fixtures, and the
    repository importable (for `tests.mutants.router_last`) in subprocesses too."""
    folder = pytester.mkdir("fixtures")
    for name in FIXTURES:
        shutil.copy(ROOT / "fixtures" / name, folder / name)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.syspathinsert(ROOT)
    return pytester


def ids(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def failing_run(project: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    run = project.runpytest_subprocess if subprocess else project.runpytest
    return run(
        "--compat", "fixtures/router_first_match.yaml", "--compat-shadow", ROUTER_LAST, *args
    )


def test_every_case_is_an_item_named_file_and_case(project: pytest.Pytester) -> None:
    result = project.runpytest("--compat", "fixtures", "--collect-only", "-q")
    found = ids(result)
    router = [f"fixtures/router_first_match.yaml::{case}" for case in ROUTER_CASES]
    assert found[: len(router)] == router  # files in name order, cases in fixture order
    assert len(found) == len(router) + SEQUENCE_CASES
    assert all(i.startswith("fixtures/sequence_basics.yaml::") for i in found[len(router) :])


def test_the_bundled_pair_passes(project: pytest.Pytester) -> None:
    result = project.runpytest("--compat", "fixtures")
    result.assert_outcomes(passed=len(ROUTER_CASES) + SEQUENCE_CASES)
    header = "compat: fixtures: graph (primary) vs journey (shadow); policy as configured*"
    result.stdout.fnmatch_lines([header])


def test_the_compat_options_reach_the_harness(project: pytest.Pytester) -> None:
    """`--compat-*` are `compat check`'s options: the header says how the cases ran."""
    result = project.runpytest(
        "--compat", "fixtures", "--compat-shadow", "graph", "--compat-min-score", "0.5",
        "--compat-roundtrip", "--compat-replay", "--compat-timeout", "30",
    )  # fmt: skip
    result.assert_outcomes(passed=len(ROUTER_CASES) + SEQUENCE_CASES)
    result.stdout.fnmatch_lines(
        [
            "compat: fixtures: graph (primary) vs graph (shadow); policy threshold, min score "
            "0.5, roundtrip, replay; in-process, timeout 30 s"
        ]
    )
    policy = project.runpytest("--compat", "fixtures", "--compat-policy", "threshold")
    policy.stdout.fnmatch_lines(
        ["compat: fixtures: graph (primary) vs journey (shadow); policy threshold;*"]
    )
    policy.assert_outcomes(passed=len(ROUTER_CASES) + SEQUENCE_CASES)
    bad = project.runpytest("--compat", "fixtures", "--compat-policy", "loose")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    # The verdict of a failing case is the threshold policy's (equivalence by default).
    judged = failing_run(project, "--compat-min-score", "0.5", "-k", "every-route-matches")
    judged.assert_outcomes(failed=1, deselected=len(ROUTER_CASES) - 1)
    judged.stdout.fnmatch_lines(["incompatible (threshold policy), score 0.573; worst: *"])


def test_a_buggy_shadow_fails_its_cases_with_a_plain_differences_table(
    project: pytest.Pytester,
) -> None:
    result = failing_run(project, "--color=yes", "-rf", subprocess=True)
    result.assert_outcomes(failed=3, passed=4)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout.str())
    for case in FAILING:
        assert f"FAILED fixtures/router_first_match.yaml::{case}" in plain
    # The table's rows are indented; the short summary line (coloured by
    # pytest itself, and as long as the terminal is wide) is not.
    table = [line for line in result.outlines if line.startswith("  outputs.action")]
    assert table and not any("\x1b[" in line for line in table)
    result.stdout.fnmatch_lines(
        [
            "*router_first_match.yaml::every-route-matches*",
            "incompatible (equivalence policy), score *; worst: critical outputs.action *",
            "differences, worst first (*):",
            "  path * primary * shadow * severity * note",
            '  outputs.action * "page" * "concierge" * critical * value differs',
            "golden answer (expect) failed:",
            '  shadow router_last_match: outputs.action: expected "page", got "concierge"*',
        ]
    )


def test_k_selects_cases(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--compat", "fixtures", "-k", "third-route or second-route", "--collect-only", "-q"
    )
    assert ids(result) == [
        "fixtures/router_first_match.yaml::second-route",
        "fixtures/router_first_match.yaml::third-route",
    ]


def test_x_stops_at_the_first_failure(project: pytest.Pytester) -> None:
    failing_run(project, "-x").assert_outcomes(failed=1)


def test_last_failed_reruns_only_the_failures(project: pytest.Pytester) -> None:
    failing_run(project).assert_outcomes(failed=3, passed=4)
    again = failing_run(project, "--lf", "-rf")
    again.assert_outcomes(failed=3, deselected=4)
    failed = {line.split("::")[1].split(" ")[0] for line in again.outlines if "FAILED" in line}
    assert failed == FAILING


def test_xdist_gives_the_same_outcomes(project: pytest.Pytester) -> None:
    result = failing_run(project, "-n", "2", "-rf", subprocess=True)
    result.assert_outcomes(failed=3, passed=4)
    failed = {line.split("::")[1].split(" ")[0] for line in result.outlines if "FAILED" in line}
    assert failed == FAILING
    result.stdout.fnmatch_lines(["*value differs*"])  # the table crossed from the workers


def test_junit_xml_has_a_testcase_per_case(project: pytest.Pytester) -> None:
    report = project.path / "junit.xml"
    failing_run(project, f"--junitxml={report}").assert_outcomes(failed=3, passed=4)
    cases = ET.parse(report).getroot().iter("testcase")
    outcome = {case.get("name"): case.find("failure") is not None for case in cases}
    assert outcome == {name: name in FAILING for name in ROUTER_CASES}
    text = report.read_text()
    assert "outputs.action" in text and "\x1b[" not in text


def test_a_fixture_marker_selects_with_m(project: pytest.Pytester) -> None:
    path = project.path / "fixtures" / "sequence_basics.yaml"
    path.write_text("markers: [slow]\n" + path.read_text())
    slow = project.runpytest("--compat", "fixtures", "-m", "slow", "--strict-markers")
    slow.assert_outcomes(passed=SEQUENCE_CASES, deselected=len(ROUTER_CASES))
    quick = project.runpytest("--compat", "fixtures", "-m", "not slow", "--collect-only", "-q")
    assert len(ids(quick)) == len(ROUTER_CASES)
    none = project.runpytest("--compat", "fixtures", "-m", "not compat", "--collect-only", "-q")
    assert ids(none) == []
    path.write_text(path.read_text().replace("markers: [slow]", "markers: [not-a-name]"))
    bad = project.runpytest("--compat", "fixtures")
    assert bad.ret == pytest.ExitCode.INTERRUPTED
    bad.stdout.fnmatch_lines(["*markers*'not-a-name' is not a pytest mark name*"])


def test_globs_and_configured_paths(project: pytest.Pytester) -> None:
    glob = project.runpytest("--compat", "fixtures/router_*.yaml", "--collect-only", "-q")
    assert len(ids(glob)) == len(ROUTER_CASES)
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    project.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["test_plain.py"]\n'
        '[tool.compat]\npytest_paths = ["fixtures/router_first_match.yaml"]\n'
    )
    # A run naming no paths: testpaths and the configured fixtures.
    plain = project.runpytest("--collect-only", "-q")
    assert ids(plain) == [
        "test_plain.py::test_plain",
        *(f"fixtures/router_first_match.yaml::{case}" for case in ROUTER_CASES),
    ]
    # A run naming paths: only those, configured fixtures where it names them.
    named = project.runpytest("test_plain.py", "--collect-only", "-q")
    assert ids(named) == ["test_plain.py::test_plain"]
    one = project.runpytest("fixtures/router_first_match.yaml::third-route")
    one.assert_outcomes(passed=1)
    # --compat replaces them.
    given = project.runpytest("--compat", "fixtures/sequence_basics.yaml", "--collect-only")
    assert "router_first_match" not in given.stdout.str()


def test_bad_input_is_a_usage_or_collection_error(project: pytest.Pytester) -> None:
    missing = project.runpytest("--compat", "nowhere")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["ERROR: --compat nowhere: no such file or directory"])
    engine = project.runpytest("--compat", "fixtures", "--compat-shadow", "no_such_module:x")
    assert engine.ret == pytest.ExitCode.USAGE_ERROR
    engine.stderr.fnmatch_lines(["ERROR: compat: engine 'no_such_module:x': cannot import*"])
    project.makefile(".yaml", workflow="id: w\nnodes: [{id: s, type: start}]\nedges: []\n")
    not_fixture = project.runpytest("--compat", "workflow.yaml")
    assert not_fixture.ret == pytest.ExitCode.INTERRUPTED
    not_fixture.stdout.fnmatch_lines(["workflow.yaml: not a fixture*"])


def test_without_compat_nothing_is_collected_and_nothing_imported(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_plain="""
        import sys

        def test_the_harness_is_not_imported():
            assert "compat.pytest_plugin" in sys.modules
            assert "compat.pytest_items" not in sys.modules
            assert "compat.check" not in sys.modules
        """
    )
    listed = project.runpytest("--collect-only", "-q")
    assert ids(listed) == ["test_plain.py::test_the_harness_is_not_imported"]
    without = project.runpytest("-p", "no:compat", "--collect-only", "-q")
    assert ids(without) == ids(listed)
    project.runpytest_subprocess().assert_outcomes(passed=1)
    # A fixture named without --compat is no test.
    named = project.runpytest("fixtures/router_first_match.yaml")
    assert named.ret == pytest.ExitCode.USAGE_ERROR
    named.stderr.fnmatch_lines(["ERROR: not found: */fixtures/router_first_match.yaml*"])
