"""Safe printing: ids, strings and messages from documents and engines reach the terminal
without control characters or escape sequences, and a huge integer never crashes the printer
(compat/safe_text.py, compat/render.py, compat/validation.py, the CLI's error line)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cli_support import compat
from conftest import end, node, start, workflow, write
from rich.console import Console

from compat import render
from compat.engines import EngineRun
from compat.safe_text import markup, printable, short_int, shown
from engines.result import NodeError, RunResult, RunStatus, TraceEvent

HOSTILE = [
    "\x1b[2J\x1b[H",  # CSI: clear the screen
    "\x1b]0;owned\x07",  # OSC: set the window title
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x9b31m",  # C1 CSI
    "ok\rFAIL",  # carriage return overwrites the line
    "\u202etxt.exe",  # right-to-left override
    "a\u2066b\u2069",  # bidi isolates
    "bell\x07 del\x7f nul\x00",
]
ESCAPE = "\x1b"


def no_controls(text: str) -> bool:
    return not any(
        (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2066\u2069"
        for c in text
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_printable_shows_every_control_as_a_visible_escape(text: str) -> None:
    shown_text = printable(text)
    assert no_controls(shown_text) and "\n" not in shown_text
    assert "\\" in shown_text


def test_printable_names_the_characters_it_replaced() -> None:
    assert printable("a\x1b[31mb\r\n\t\u202ec\x9b") == "a\\x1b[31mb\\r\\n\\t\\u202ec\\x9b"
    assert printable("one\ntwo\x1b", newlines=True) == "one\ntwo\\x1b"


def test_printable_leaves_ordinary_text_alone() -> None:
    text = "fixtures/x.yaml: nodes[1] (id 'pick') — ünïcødé, emoji ✓, tabs shown"
    assert printable(text) is text


def test_markup_escapes_rich_markup_too() -> None:
    assert markup("[bold red]x[/]\x1b") == "\\[bold red]x\\[/]\\x1b"


def test_short_int_shows_huge_integers_without_converting_them() -> None:
    assert short_int(12345) == "12345"
    assert short_int(10**5000) == "100000…000000 (an integer of 5,001 digits)"
    assert short_int(-(10**9000) + 7) == "-999999…999993 (an integer of 9,000 digits)"
    assert "about" in short_int(3**400_000)  # ~190,000 digits: counted from the bit length


def test_shown_never_fails() -> None:
    assert shown({"b": 1, "a": [True, None]}) == '{"a": [true, null], "b": 1}'
    big = shown({"n": [10**5000, "x"]})
    assert big == '{"n": [100000…000000 (an integer of 5,001 digits), "x"]}'
    loop: list[object] = []
    loop.append(loop)
    assert "cannot be shown" in shown(loop)


def hostile_result() -> RunResult:
    evil = "".join(HOSTILE)
    return RunResult(
        engine=f"user{evil}",
        workflow_id=f"wf{evil}",
        status=RunStatus.FAILED,
        outputs={f"k{evil}": evil, "big": 10**5000},
        vars={"n": -(10**6000)},
        errors=(NodeError(node=f"n{evil}", code=f"C{evil}", message=f"[bold]m{evil}"),),
        trace=(TraceEvent(seq=1, kind="started", node=f"n{evil}", path=((f"c{evil}", 0),)),),
    )


def rendered(*things: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, highlight=False)
    for thing in things:
        console.print(thing)
    return out.getvalue()


def test_a_hostile_result_prints_inert_and_huge_integers_shortened() -> None:
    result = hostile_result()
    out = io.StringIO()
    render.print_result(Console(file=out, width=300, color_system=None), result)
    text = out.getvalue()
    assert no_controls(text), repr(text)
    assert "\\x1b[2J" in text and "\\u202e" in text
    assert "[bold]m" in text  # shown as text, not applied as markup
    assert "(an integer of 5,001 digits)" in text and "(an integer of 6,001 digits)" in text


def test_hostile_runs_side_by_side_print_inert() -> None:
    result = hostile_result()
    run = EngineRun(engine=result.engine, status="completed", result=result)
    failed = EngineRun(engine="x", status="crashed\x1b[2J", result=None, error="boom\x1b]0;t\x07")
    text = rendered(render.side_by_side(run, run), render.side_by_side(run, failed))
    assert no_controls(text), repr(text)
    assert "integer of 5,001" in text and "\\x1b]0;t\\x07" in text


# --------------------------------------------------------------------------- the CLI


def test_validate_prints_hostile_ids_as_visible_escapes(tmp_path: Path) -> None:
    bad = "bad\x1b[2Jid\u202e"
    doc = workflow(
        [start(), node(bad, "nosuch"), end()],
        [{"source": "start", "target": bad}, {"source": bad, "target": "end"}],
        workflow_id="w\x1b]0;t\x07",
    )
    write(tmp_path / "evil.json", doc)
    run = compat("validate", "evil.json", cwd=tmp_path)
    assert run.code == 2
    assert ESCAPE not in run.out + run.err and no_controls(run.out + run.err.replace("\n", ""))
    assert "bad\\x1b[2Jid\\u202e" in run.out


def test_the_error_line_of_a_bad_input_is_one_inert_line(tmp_path: Path) -> None:
    run = compat("check", "no\x1b[2Jsuch\u202e.yaml", cwd=tmp_path)
    assert run.code == 2
    assert run.out == ""
    (line,) = run.err_lines
    assert line == "compat: no\\x1b[2Jsuch\\u202e.yaml: no such file or directory"
