"""`compat perf` and `compat fuzz` as JUnit XML: a slower shadow (by the report's own
verdict, or by a given `max_slowdown`) fails with its ratio and interval; an unmeasured case
is an error; each fuzz divergence is a failure, and a clean campaign one passing test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from formats_support import case, counts, difference, perf_case, perf_report, valid

from compat.formats.junit import fuzz_junit, perf_junit
from compat.fuzz.campaign import FoundDivergence, FuzzOptions
from compat.fuzz.drive import Finding, FuzzReport


def _by_name(root: Any) -> dict[str, Any]:
    return {t.get("name"): t for t in root.iter("testcase")}


def test_perf_fails_only_a_shadow_surely_slower_beyond_the_band() -> None:
    report = perf_report(
        [
            perf_case("same", (1.02, 0.98, 1.05), "parity"),
            perf_case("slower", (1.6, 1.45, 1.75), "slower"),
            perf_case("unsure", (1.1, 0.95, 1.3), "inconclusive"),
            perf_case("faster", (0.5, 0.45, 0.55), "faster"),
        ]
    )
    root = valid(perf_junit(report))
    assert root.get("name") == "compat perf"
    assert counts(root) == {"tests": 4, "failures": 1, "errors": 0}
    cases = _by_name(root)
    (failure,) = cases["slower"].findall("failure")
    assert failure.get("type") == "slower"
    message = failure.get("message", "")
    assert "1.600× the primary's [95 % CI 1.450–1.750]" in message
    assert "beyond the parity band 1 ± 0.1" in message
    assert "wall_seconds: shadow / primary 1.600" in (failure.text or "")
    for name in ("same", "unsure", "faster"):
        assert cases[name].find("failure") is None
        # A passing case still says what was measured.
        assert "95 % CI" in (cases[name].findtext("system-out") or "")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["band"] == "0.1" and properties["shadow"] == "journey"


def test_perf_with_max_slowdown_judges_the_interval_against_it() -> None:
    report = perf_report(
        [
            perf_case("a bit slower", (1.6, 1.45, 1.75), "slower"),
            perf_case("much slower", (3.0, 2.6, 3.4), "slower"),
        ]
    )
    root = valid(perf_junit(report, max_slowdown=2.0))
    cases = _by_name(root)
    assert cases["a bit slower"].find("failure") is None
    failure = cases["much slower"].find("failure")
    assert failure is not None and "above the allowed 2×" in failure.get("message", "")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["max_slowdown"] == "2.0"


def test_perf_unmeasured_cases_and_shapes_are_errors() -> None:
    report = perf_report(
        [perf_case("ok"), perf_case("broke", problem="RuntimeError: engine bug")],
        problems=("shape loop_scaling: the worker died",),
    )
    root = valid(perf_junit(report))
    assert counts(root) == {"tests": 3, "failures": 0, "errors": 2}
    error = _by_name(root)["broke"].find("error")
    assert error is not None and error.get("type") == "not-measured"
    assert "RuntimeError: engine bug" in error.get("message", "")
    scaling = root.find("testsuite[@name='scaling']")
    assert scaling is not None and counts(scaling)["errors"] == 1
    assert "the worker died" in (scaling.findtext("testcase/error") or "")
    # Times: the timing samples' wall seconds (one 0.5 s sample per measured case).
    assert _by_name(root)["ok"].get("time") == "0.500"


def _fuzz_data(findings: list[Finding], **fields: Any) -> dict[str, Any]:
    """What `compat fuzz --json` writes: the report's data, through JSON."""
    report = FuzzReport(FuzzOptions(seed=7, examples=300, database=None), **fields)
    report.findings = findings
    return json.loads(json.dumps(report.to_data(), sort_keys=True))


def _finding(key: tuple[str, str, str], *, saved: str | None, reproduced: bool | None) -> Finding:
    diverged = case("found", fixture="<fuzz>", differences=(difference("context.x", 0, 1),))
    found = FoundDivergence(
        key=key,
        round=3,
        fixture={"workflow": {}, "cases": []},
        modes=("roundtrip",),
        report=diverged.model_dump(mode="json"),
        nodes=5,
    )
    return Finding(found, Path(saved) if saved else None, reproduced)


def test_fuzz_each_divergence_is_a_failure() -> None:
    findings = [
        _finding(
            ("context", "value_changed", "context.nodes.loop"), saved="f/a.yaml", reproduced=True
        ),
        _finding(("trace", "missing_step", "trace.end"), saved=None, reproduced=None),
    ]
    data = _fuzz_data(findings, examples=236, shrinking=456, seconds=10.7, rounds=12)
    root = valid(fuzz_junit(data))
    assert root.get("name") == "compat fuzz"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "compat fuzz" and suite.get("time") == "10.700"
    assert counts(root) == {"tests": 2, "failures": 2, "errors": 0}
    names = [t.get("name") for t in suite.iter("testcase")]
    assert names == [
        "context: value_changed at context.nodes.loop",
        "trace: missing_step at trace.end",
    ]
    first = suite.find("testcase/failure")
    assert first is not None and first.get("type") == "divergence"
    message = first.get("message", "")
    assert "round 3" in message and "shrunk to 5 nodes" in message and "roundtrip" in message
    text = first.text or ""
    assert "saved: f/a.yaml (reproduces with compat check)" in text
    assert "context.x" in text and "differences (1):" in text
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["seed"] == "7" and properties["examples_run"] == "236"


def test_fuzz_without_divergence_is_one_passing_test_with_the_tally() -> None:
    data = _fuzz_data([], examples=1000, seconds=4.25, rounds=40)
    root = valid(fuzz_junit(data))
    assert counts(root) == {"tests": 1, "failures": 0, "errors": 0}
    (element,) = root.iter("testcase")
    assert element.get("name") == "no divergence" and [c.tag for c in element] == ["system-out"]
    tally = element.findtext("system-out") or ""
    assert "1000 examples in 40 rounds" in tally and "seed 7" in tally
    assert element.get("time") == "4.250" and root.get("time") == "4.250"
