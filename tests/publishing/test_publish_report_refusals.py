"""Bad input to `compat report`: exit 2 and one line on stderr naming the file or the option
at fault; never a traceback, never a file written.

Each refusal runs through the console script's entry point in this process
(publishing_support.cli); a few run as the real `compat` command too, to hold the two to the
same answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_support import compat
from publishing_support import REPO, SEQUENCE, cli, tree

from compat.check import CheckOptions, run_check

BAD: dict[str, tuple[list[str], list[str]]] = {
    # id: (arguments after `compat report`, what the line must name)
    "missing-file": (["missing.json", "--html", "out.html"], ["missing.json"]),
    "not-json": (["bad.json", "--html", "out.html"], ["bad.json", "not JSON"]),
    "empty-file": (["empty.json", "--junit", "out.xml"], ["empty.json"]),
    "not-utf8": (["binary.json", "--html", "out.html"], ["binary.json"]),
    "json-list": (["list.json", "--html", "out.html"], ["list.json", "not a compat report"]),
    "no-compat-report": (["other.json", "--junit", "out.xml"], ["other.json", "compat report"]),
    "broken-check-field": (
        ["broken.json", "--html", "out.html", "--junit", "out.xml"],
        ["broken.json", "cases.0.score"],
    ),
    "broken-perf-report": (["perf.json", "--html", "out.html"], ["perf.json", "perf"]),
    "no-target": (["saved.json"], ["--html", "--junit", "--format"]),
    "unknown-format": (["saved.json", "--format", "xml"], ["--format", "xml"]),
    "html-is-a-directory": (["saved.json", "--html", "adir"], ["--html", "adir"]),
    "junit-is-a-directory": (["saved.json", "--junit", "adir"], ["--junit", "adir"]),
    "html-equals-junit": (
        ["saved.json", "--html", "out.html", "--junit", "out.html"],
        ["--html", "--junit", "out.html"],
    ),
    "html-onto-the-saved-report": (["saved.json", "--html", "saved.json"], ["--html"]),
    "junit-onto-the-saved-report": (["saved.json", "--junit", "saved.json"], ["--junit"]),
}
#: Run as the real command as well (a usage error, a bad file, a broken report).
AS_A_COMMAND = ["unknown-format", "missing-file", "broken-check-field"]


@pytest.fixture(scope="module")
def saved_text() -> str:
    """A real check report as `--json` saves it (its cases' detail kept)."""
    report = run_check([REPO / SEQUENCE], CheckOptions(in_process=True, details=True))
    assert report.ok
    return report.to_json()


@pytest.fixture
def folder(tmp_path: Path, saved_text: str) -> Path:
    (tmp_path / "saved.json").write_text(saved_text, encoding="utf-8")
    broken = json.loads(saved_text)
    broken["cases"][0]["score"] = "high"
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00{")
    (tmp_path / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"name": "a package.json?"}', encoding="utf-8")
    (tmp_path / "perf.json").write_text(
        '{"settings": {}, "cases": [], "scaling": []}', encoding="utf-8"
    )
    (tmp_path / "adir").mkdir()
    return tmp_path


@pytest.mark.parametrize("key", list(BAD))
def test_bad_input_is_one_line_and_exit_2(folder: Path, key: str) -> None:
    args, named = BAD[key]
    before = tree(folder)
    run = cli("report", *args, cwd=folder)
    assert run.code == 2, (run.code, run.out, run.err)
    assert len(run.err_lines) == 1, run.err
    (line,) = run.err_lines
    assert line.startswith("compat: "), line
    for word in named:
        assert word in line, (word, line)
    assert "internal error" not in line
    assert run.out == ""
    assert tree(folder) == before, "nothing is written, nothing is changed"


@pytest.mark.parametrize("key", AS_A_COMMAND)
def test_the_real_command_refuses_the_same_way(folder: Path, key: str) -> None:
    args = BAD[key][0]
    before = tree(folder)
    command = compat("report", *args, cwd=folder)  # asserts there is no traceback
    in_process = cli("report", *args, cwd=folder)
    # A usage error names the program as click detects it: under pytest, `python -m pytest`.
    lines = [re.sub(r"\(see '.*compat ", "(see 'compat ", e) for e in in_process.err_lines]
    assert (command.code, command.err_lines) == (2, lines)
    assert tree(folder) == before


def test_the_advice_given_for_a_directory_works(folder: Path) -> None:
    """Refusing `--html adir`, compat advises '- for standard output': if it does, then
    `--html -` must print the page, not write a file named '-'."""
    refused = cli("report", "saved.json", "--html", "adir", cwd=folder)
    assert refused.code == 2
    if "- for standard output" not in refused.err:
        return  # no such advice: nothing to hold it to
    run = cli("report", "saved.json", "--html", "-", cwd=folder)
    assert not (folder / "-").exists(), "`--html -` wrote a file named '-'"
    assert run.code == 0, run.err
    assert run.out.lstrip().lower().startswith("<!doctype html>")
