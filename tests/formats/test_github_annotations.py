"""GitHub Actions workflow commands: one `::error` per failed case on its fixture file, then
a `::notice` with the counts; a name with `%`, `,`, `:` or a line break is escaped so that
GitHub reads back exactly it, and cannot end the command or start another."""

from __future__ import annotations

import pytest
from formats_support import case, check_report, difference, perf_case, perf_report

from compat.formats.github import (
    check_annotations,
    command,
    escape_data,
    escape_property,
    fuzz_annotations,
    perf_annotations,
)


def _unescape(text: str, *, prop: bool) -> str:
    """What the Actions runner reads back (its `UnescapeValue`, `%25` last)."""
    tokens = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
    for token, char in [*tokens, ("%25", "%")]:
        text = text.replace(token, char)
    return text


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    """(command, properties, message) as the runner splits a `::` command line."""
    assert line.startswith("::")
    head, message = line[2:].split("::", 1)
    kind, _, given = head.partition(" ")
    properties = {}
    for item in filter(None, given.split(",")):
        name, value = item.split("=", 1)
        properties[name] = _unescape(value, prop=True)
    return kind, properties, _unescape(message, prop=False)


def test_the_escapes_are_githubs() -> None:
    assert escape_data("50% a:b,c\r\nd") == "50%25 a:b,c%0D%0Ad"
    assert escape_property("50% a:b,c\r\nd") == "50%25 a%3Ab%2Cc%0D%0Ad"
    assert escape_data("%0A") == "%250A", "an escape-looking value stays itself"
    assert _unescape(escape_property("%3A:%,\n"), prop=True) == "%3A:%,\n"


def test_a_name_with_percent_comma_colon_and_newline_reads_back_exactly() -> None:
    fixture = "fixtures/odd, name: 100%.yaml"
    name = "50% off, now:\nor never"
    report = check_report(
        [case(name, fixture=fixture, differences=(difference("outputs.x", 1, 2),))]
    )
    text = check_annotations(report)
    lines = text.splitlines()
    assert len(lines) == 2 and text.endswith("\n"), "one command per line, nothing split"
    kind, properties, message = _parse(lines[0])
    assert kind == "error"
    assert properties == {"file": fixture, "title": fixture}
    assert message.startswith(f"{name}: incompatible")
    assert "%25 off, now:%0Aor never" in lines[0]
    assert "odd%2C name%3A 100%25.yaml" in lines[0]


def test_control_characters_cannot_forge_a_command() -> None:
    name = "x\r::warning::forged\x1b[31m"
    text = check_annotations(check_report([case(name, golden=("outputs.x: wrong",))]))
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 2 and not lines[0].startswith("::warning")
    assert _parse(lines[0])[2].startswith("x\\r::warning::forged\\x1b[31m: golden answer failed")


def test_one_error_per_failed_case_then_the_counts() -> None:
    cases = [
        case("fine"),
        case("differs", differences=(difference("outputs.x", 1, 2, "critical"),)),
        case("golden", golden=("outputs.y: expected 1, got 2",)),
        case(
            "crashed",
            shadow_problem="RuntimeError: boom",
            differences=(difference("outcome.status", "completed", "crashed", "critical"),),
        ),
    ]
    lines = check_annotations(check_report(cases)).splitlines()
    parsed = [_parse(line) for line in lines]
    assert [p[0] for p in parsed] == ["error", "error", "error", "notice"]
    assert [p[2].split(":")[0] for p in parsed[:3]] == ["differs", "golden", "crashed"]
    assert "critical in outputs" in parsed[0][2]
    assert "golden answer failed: outputs.y: expected 1, got 2" in parsed[1][2]
    assert "the shadow engine (journey) crashed: RuntimeError: boom" in parsed[2][2]
    assert parsed[3][2] == (
        "compat check: 4 cases: 1 passed, 2 incompatible, 1 golden answers failed, "
        "0 too slow; mean score 0.750"
    )


def test_an_absolute_fixture_path_is_made_relative_to_the_workspace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", "/home/runner/work/repo")
    fixture = "/home/runner/work/repo/fixtures/a.yaml"
    line = command("error", "m", file="/home/runner/work/repo/fixtures/a.yaml", title=None)
    assert line == f"::error file={escape_property(fixture)}::m"
    report = check_report([case("c", fixture=fixture, golden=("g",))])
    assert _parse(check_annotations(report).splitlines()[0])[1]["file"] == "fixtures/a.yaml"


def test_perf_annotates_slower_and_unmeasured_cases() -> None:
    report = perf_report(
        [
            perf_case("same"),
            perf_case("slower", (1.6, 1.45, 1.75), "slower"),
            perf_case("broke", problem="RuntimeError: engine bug"),
        ],
        problems=("shape loops: the worker died",),
    )
    parsed = [_parse(line) for line in perf_annotations(report).splitlines()]
    assert [p[0] for p in parsed] == ["error", "error", "error", "notice"]
    assert parsed[0][2].startswith("slower: shadow wall time 1.600× the primary's [95 % CI")
    assert parsed[1][2] == "broke: not measured: RuntimeError: engine bug"
    assert parsed[2][2] == "not measured: shape loops: the worker died"
    assert parsed[3][2] == (
        "compat perf: 3 cases: 1 surely slower, 1 not measured; 1 scaling problems"
    )


def test_fuzz_annotates_each_divergence_on_its_saved_fixture() -> None:
    finding = {
        "key": ["outputs", "value_changed", "outputs.total"],
        "round": 2,
        "modes": [],
        "nodes": 4,
        "saved": "found/fuzz-outputs.yaml",
        "reproduced": True,
        "report": {},
    }
    data = {"options": {"seed": 9}, "examples": 50, "seconds": 2.0, "rounds": 2}
    parsed = [_parse(x) for x in fuzz_annotations({**data, "findings": [finding]}).splitlines()]
    assert parsed[0][:2] == ("error", {"file": "found/fuzz-outputs.yaml", "title": "compat fuzz"})
    assert parsed[0][2].startswith("the engines differ in outputs: value_changed at outputs.total")
    assert parsed[1][2] == (
        "compat fuzz: 50 examples in 2 rounds, 2.0 s, seed 9: 1 distinct divergence(s)"
    )
    clean = fuzz_annotations({**data, "findings": []}).splitlines()
    assert clean == ["::notice::compat fuzz: 50 examples in 2 rounds, 2.0 s, seed 9: no divergence"]
