"""Bad input to `compat report`: exit 2 and one line on stderr naming the file or the option
at fault; never a traceback (cli_support.compat asserts that), never a file written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import compat
from publishing_support import REPO, SEQUENCE

from compat.check import CheckOptions, run_check


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


def _tree(root: Path) -> dict[str, Any]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize(("args", "named"), list(BAD.values()), ids=list(BAD))
def test_bad_input_is_one_line_and_exit_2(folder: Path, args: list[str], named: list[str]) -> None:
    before = _tree(folder)
    run = compat("report", *args, cwd=folder)
    assert run.code == 2, (run.code, run.out, run.err)
    assert len(run.err_lines) == 1, run.err
    (line,) = run.err_lines
    assert line.startswith("compat: "), line
    for word in named:
        assert word in line, (word, line)
    assert "Traceback" not in run.out + run.err
    assert "internal error" not in line
    assert _tree(folder) == before, "nothing is written, nothing is changed"


def test_the_advice_for_a_directory_works(folder: Path) -> None:
    """Refusing `--html adir`, compat advises '- for standard output': if it does, then
    `--html -` must print the page, not write a file named '-'."""
    refused = compat("report", "saved.json", "--html", "adir", cwd=folder)
    assert refused.code == 2
    if "- for standard output" not in refused.err:
        return  # no such advice: nothing to hold it to
    run = compat("report", "saved.json", "--html", "-", cwd=folder)
    assert not (folder / "-").exists(), "`--html -` wrote a file named '-'"
    assert run.code == 0 and run.out.lstrip().lower().startswith("<!doctype html>")
