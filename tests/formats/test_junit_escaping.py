"""Text from fixtures and engines is data: NUL, ANSI escapes, `]]>`, markup, lone surrogates
and non-ASCII in any name, value or message still give a well-formed document, valid against
junit-10.xsd, that says what the report says (minus what XML cannot hold)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from formats_support import case, check_report, difference, perf_case, perf_report, valid

from compat.formats.junit import check_junit, fuzz_junit, perf_junit, xml_safe

HOSTILE = 'x\x00 \x1b[31mred\x1b[0m ]]> <script>alert("1")</script> & café 日本語 🚀 \x7f\x85'
SURROGATE = "lone \ud800 surrogate"
#: What must never reach the document: characters XML 1.0 cannot hold (and C1 controls).
FORBIDDEN = ("\x00", "\x1b", "\x7f", "\x85", "\ud800")


def _clean(document: str) -> None:
    for char in FORBIDDEN:
        assert char not in document, repr(char)
    assert "<script>" not in document, "markup from a report must be escaped"
    document.encode("utf-8")  # no lone surrogate left


def _readable(text: str | None) -> None:
    """What XML can hold survives: the markup as text, `]]>`, the non-ASCII."""
    assert text is not None
    assert '<script>alert("1")</script>' in text and "]]>" in text
    assert "café 日本語 🚀" in text


def test_xml_safe_removes_only_what_xml_cannot_hold() -> None:
    assert xml_safe(HOSTILE + SURROGATE) == (
        'x [31mred[0m ]]> <script>alert("1")</script> & café 日本語 🚀 lone  surrogate'
    )
    assert xml_safe("tab\tline\nreturn\r") == "tab\tline\nreturn\r"


def test_a_hostile_check_report_is_well_formed_and_valid() -> None:
    hostile = case(
        HOSTILE,
        fixture=f"fixtures/{HOSTILE}.yaml",
        differences=(
            difference(f"outputs.{HOSTILE}", HOSTILE, SURROGATE, "critical", note=HOSTILE),
        ),
        golden=(HOSTILE, SURROGATE),
        shadow_problem=f"RuntimeError: {HOSTILE}",
    )
    report = check_report([hostile, case("plain", fixture=f"fixtures/{HOSTILE}.yaml")])
    report = report.model_copy(
        update={"settings": report.settings.model_copy(update={"shadow": HOSTILE})}
    )
    document = check_junit(report)
    _clean(document)
    root = valid(document)
    (suite,) = root.findall("testsuite")
    _readable(suite.get("name"))
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    _readable(properties["shadow"])
    element = suite.findall("testcase")[0]
    assert element.get("name") == xml_safe(HOSTILE)
    assert element.get("classname") == xml_safe(f"fixtures/{HOSTILE}.yaml")
    (error,) = element.findall("error")
    _readable(error.get("message"))
    assert "\n" not in (error.get("message") or "")
    _readable(error.text)
    # In the details, control characters are shown, not dropped: the reader sees them.
    assert "\\x1b[31mred" in (error.text or "")


def test_a_hostile_perf_report_is_well_formed_and_valid() -> None:
    report = perf_report(
        [
            perf_case(HOSTILE, (1.6, 1.4, 1.8), "slower", fixture=HOSTILE),
            perf_case("broken", fixture=HOSTILE, problem=f"ValueError: {HOSTILE}"),
        ],
        problems=(f"shape {HOSTILE}",),
    )
    document = perf_junit(report)
    _clean(document)
    root = valid(document)
    failure = root.find(".//failure")
    error = root.find(".//error")
    assert failure is not None and error is not None
    _readable(root.findall(".//testcase")[0].get("name"))
    _readable(error.get("message"))
    _readable(error.text)


def test_a_hostile_fuzz_report_is_well_formed_and_valid() -> None:
    report = case("fuzzed", fixture="<fuzz>", differences=(difference("outputs.x", HOSTILE, 1),))
    data = {
        "ok": False,
        "options": {"seed": 5, "features": HOSTILE, "shadow": SURROGATE},
        "examples": 10,
        "seconds": 1.5,
        "rounds": 1,
        "findings": [
            {
                "key": ["outputs", HOSTILE, SURROGATE],
                "round": 0,
                "modes": [HOSTILE],
                "nodes": 3,
                "saved": f"found/{HOSTILE}.yaml",
                "reproduced": True,
                "report": report.model_dump(mode="json"),
            }
        ],
    }
    document = fuzz_junit(data)
    _clean(document)
    root = valid(document)
    (element,) = root.iter("testcase")
    _readable(element.get("name"))
    failure = element.find("failure")
    assert failure is not None
    _readable(failure.text)
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["shadow"] == "lone  surrogate"


def test_the_document_is_utf8_with_a_declaration() -> None:
    document = check_junit(check_report([case("café ☕")]))
    assert document.splitlines()[0] == '<?xml version="1.0" encoding="UTF-8"?>'
    root = ET.fromstring(document.encode("utf-8"))
    assert root.find(".//testcase") is not None
    assert root.find(".//testcase").get("name") == "café ☕"  # type: ignore[union-attr]
