"""compat's reports as JUnit XML, the format CI test panels (GitLab, Jenkins, Azure, GitHub
test-report actions) read: a failed case shows up as a failed test, with its differences.

The documents follow the Jenkins xunit plugin's `junit-10.xsd` (vendored in
tests/data/junit-10.xsd). They are built with ElementTree, so every name and value is
escaped; characters XML 1.0 cannot hold (NUL, ESC and the other control characters, lone
surrogates) are removed from every text and attribute first, so a hostile fixture or engine
message cannot make the document unreadable.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from compat.formats import verdicts
from compat.perf.report import CasePerf, PerfReport
from compat.report import CaseReport, CheckReport

#: Characters XML 1.0 forbids (C0 controls but tab, LF, CR; surrogates; U+FFFE, U+FFFF),
#: and the C1 controls, which it allows but many readers reject.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def xml_safe(text: str) -> str:
    """`text` without the characters an XML 1.0 document cannot contain."""
    return _ILLEGAL.sub("", text)


def _time(value: float) -> str:
    # Three decimals: the schema's SUREFIRE_TIME (pytest's copy allows at most three).
    return f"{verdicts.seconds(value):.3f}"


def _sanitise(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = xml_safe(element.text)
        if element.tail:
            element.tail = xml_safe(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_safe(value)


def _document(root: ET.Element) -> str:
    _sanitise(root)
    ET.indent(root)
    return DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _properties(parent: ET.Element, values: Mapping[str, object]) -> None:
    """`<properties>`: how the run was set up, skipping what was not set."""
    shown = {name: value for name, value in values.items() if value is not None}
    if not shown:
        return
    properties = ET.SubElement(parent, "properties")
    for name, value in shown.items():
        ET.SubElement(properties, "property", name=name, value=_value(value))


class _Suites:
    """`<testsuites>` whose totals are the sums of its suites' counts."""

    def __init__(self, name: str) -> None:
        self.root = ET.Element("testsuites", name=name)
        self.totals = {"tests": 0, "failures": 0, "errors": 0}
        self.time = 0.0

    def suite(self, name: str, properties: Mapping[str, object]) -> _Suite:
        element = ET.SubElement(self.root, "testsuite", name=name)
        _properties(element, properties)
        return _Suite(self, element)

    def text(self) -> str:
        for name, count in self.totals.items():
            self.root.set(name, str(count))
        self.root.set("time", _time(self.time))
        return _document(self.root)


class _Suite:
    def __init__(self, parent: _Suites, element: ET.Element) -> None:
        self.parent = parent
        self.element = element
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.time = 0.0
        self.write()

    def case(
        self,
        classname: str,
        name: str,
        time: float,
        *,
        failure: tuple[str, str, str] | None = None,
        error: tuple[str, str, str] | None = None,
        output: str | None = None,
    ) -> ET.Element:
        """One `<testcase>`; `failure` / `error` are (type, one-line message, details). An
        error (the run gave no result) stands alone: JUnit counts a test once."""
        element = ET.SubElement(
            self.element, "testcase", classname=classname, name=name, time=_time(time)
        )
        outcome = ("error", error) if error is not None else ("failure", failure)
        if outcome[1] is not None:
            kind, message, details = outcome[1]
            problem = ET.SubElement(element, outcome[0], message=message, type=kind)
            problem.text = details
            self.counts["errors" if outcome[0] == "error" else "failures"] += 1
        if output:
            ET.SubElement(element, "system-out").text = output
        self.counts["tests"] += 1
        self.time += verdicts.seconds(time)
        self.write()
        return element

    def write(self) -> None:
        for name, count in self.counts.items():
            self.element.set(name, str(count))
        self.element.set("time", _time(self.time))

    def close(self) -> None:
        for name in self.parent.totals:
            self.parent.totals[name] += self.counts[name]
        self.parent.time += self.time


def _by_fixture(cases: Iterable[Any]) -> dict[str, list[Any]]:
    """Cases grouped by fixture, fixtures in the order the report first names them."""
    groups: dict[str, list[Any]] = {}
    for case in cases:
        groups.setdefault(case.fixture, []).append(case)
    return groups


# ------------------------------------------------------------------------------ check


def _check_case(suite: _Suite, case: CaseReport, max_slowdown: float | None) -> None:
    time = verdicts.seconds(case.primary.wall_seconds) + verdicts.seconds(case.shadow.wall_seconds)
    kinds = verdicts.failure_kinds(case)
    details = verdicts.case_details(case, max_slowdown) if kinds else ""
    summary = verdicts.case_summary(case, max_slowdown)
    error = failure = None
    if verdicts.engine_problems(case):
        error = (verdicts.ENGINE, summary, details or summary + "\n")
    elif kinds:
        failure = (kinds[0], summary, details)
    suite.case(case.fixture, case.case, time, failure=failure, error=error)


def check_junit(report: CheckReport) -> str:
    """`compat check`'s report as JUnit XML: a suite per fixture file, a test per case; a
    failed case (incompatible, golden answer failed, too slow) is a `<failure>`, an engine
    that gave no result an `<error>`."""
    suites = _Suites("compat check")
    settings = report.settings.model_dump(mode="json")
    for fixture, cases in _by_fixture(report.cases).items():
        properties = {"report_version": report.version, **settings, "policy": cases[0].policy}
        suite = suites.suite(fixture, properties)
        suite.element.set("file", fixture)
        for case in cases:
            _check_case(suite, case, report.settings.max_slowdown)
        suite.close()
    return suites.text()


# ------------------------------------------------------------------------------- perf


def _perf_time(case: CasePerf) -> float:
    """Seconds of the measured runs (the timing samples of both engines)."""
    return sum(
        verdicts.seconds(sample.wall_seconds)
        for samples in case.samples.values()
        for sample in samples.timing
    )


def perf_junit(report: PerfReport, *, max_slowdown: float | None = None) -> str:
    """`compat perf`'s report as JUnit XML: a test per case, failed when the shadow's wall
    time is surely slower (its 95 % interval beyond the parity band, or with `max_slowdown`
    above that multiple); a case that could not be measured is an `<error>`, as is each
    scaling shape that could not be measured."""
    suites = _Suites("compat perf")
    settings = {"report_version": report.version, **report.settings.model_dump(mode="json")}
    settings["max_slowdown"] = max_slowdown
    band = report.settings.band
    for fixture, cases in _by_fixture(report.cases).items():
        suite = suites.suite(fixture, settings)
        suite.element.set("file", fixture)
        for case in cases:
            summary = verdicts.perf_summary(case, band, max_slowdown)
            details = verdicts.perf_details(case, band, max_slowdown)
            error = failure = None
            if case.problem is not None:
                error = (verdicts.UNMEASURED, summary, details)
            elif verdicts.perf_slower(case, max_slowdown):
                failure = (verdicts.SLOWER, summary, details)
            output = None if failure or error else details
            suite.case(
                case.fixture,
                case.case,
                _perf_time(case),
                failure=failure,
                error=error,
                output=output,
            )
        suite.close()
    if report.problems:
        suite = suites.suite("scaling", settings)
        for index, problem in enumerate(report.problems, 1):
            message = verdicts.line(f"not measured: {problem}")
            error = (verdicts.UNMEASURED, message, problem + "\n")
            suite.case("scaling", f"scaling problem {index}", 0.0, error=error)
        suite.close()
    return suites.text()


# ------------------------------------------------------------------------------- fuzz


def fuzz_junit(data: Mapping[str, Any]) -> str:
    """`compat fuzz`'s JSON report as JUnit XML: one suite, a failed test per distinct
    divergence, or one passing test that says how much was tried."""
    suites = _Suites("compat fuzz")
    options = dict(data.get("options") or {})
    properties = {
        **{k: v for k, v in options.items() if not isinstance(v, dict | list)},
        "examples_run": data.get("examples"),
        "shrinking_examples": data.get("shrinking_examples"),
        "rounds": data.get("rounds"),
        "repeats": data.get("repeats"),
        "stopped": data.get("stopped"),
        "first_divergence_seconds": data.get("first_divergence_seconds"),
    }
    suite = suites.suite("compat fuzz", properties)
    findings = list(data.get("findings") or [])
    for finding in findings:
        failure = (
            verdicts.DIVERGENCE,
            verdicts.finding_summary(finding),
            verdicts.finding_details(finding),
        )
        suite.case("compat fuzz", verdicts.finding_title(finding), 0.0, failure=failure)
    if not findings:
        tally = verdicts.fuzz_tally(data)
        seconds = verdicts.seconds(data.get("seconds"))
        suite.case("compat fuzz", "no divergence", seconds, output=tally + "\n")
    else:
        suite.time = verdicts.seconds(data.get("seconds"))
        suite.write()
    suite.close()
    return suites.text()
