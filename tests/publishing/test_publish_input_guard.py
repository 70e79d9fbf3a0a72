"""`--html` / `--junit` naming one of the run's own inputs (the fixture, or a workflow file
the fixture names) is refused with exit 2 before anything runs: the input is unchanged and
no other report is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import compat
from publishing_support import REPO, SEQUENCE, cli, tree

NATIVE = REPO / "fixtures" / "native_json_workflow.yaml"
SHIPPING = REPO / "fixtures" / "flows" / "shipping.json"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Copies of fixtures (a test that fails must not be able to destroy the real ones)."""
    shutil.copy(REPO / SEQUENCE, tmp_path / "sequence.yaml")
    shutil.copy(NATIVE, tmp_path / "native.yaml")
    (tmp_path / "flows").mkdir()
    shutil.copy(SHIPPING, tmp_path / "flows" / "shipping.json")
    (tmp_path / "alias.yaml").symlink_to(tmp_path / "sequence.yaml")
    return tmp_path


CASES = {
    "check-html-onto-fixture": (["check", "sequence.yaml", "--html", "sequence.yaml"], "--html"),
    "check-junit-onto-fixture": (
        ["check", "sequence.yaml", "--junit", "sequence.yaml"],
        "--junit",
    ),
    "check-junit-onto-its-workflow-file": (
        ["check", "native.yaml", "--junit", "flows/shipping.json"],
        "--junit",
    ),
    "check-html-through-a-symlink": (["check", "sequence.yaml", "--html", "alias.yaml"], "--html"),
    "check-good-html-but-junit-onto-fixture": (
        ["check", "sequence.yaml", "--html", "page.html", "--junit", "sequence.yaml"],
        "--junit",
    ),
    "perf-html-onto-fixture": (
        ["perf", "sequence.yaml", "--repeat", "3", "--html", "sequence.yaml"],
        "--html",
    ),
    "perf-junit-onto-fixture": (
        ["perf", "sequence.yaml", "--repeat", "3", "--junit", "sequence.yaml"],
        "--junit",
    ),
}


@pytest.mark.parametrize(("args", "option"), list(CASES.values()), ids=list(CASES))
def test_a_report_onto_an_input_is_refused_before_anything_runs(
    project: Path, args: list[str], option: str
) -> None:
    before = tree(project)
    run = cli(*args, "--in-process", "--json", "out.json", cwd=project)
    assert run.code == 2, (run.code, run.out, run.err)
    (line,) = run.err_lines
    assert line.startswith(f"compat: {option}: ") and "inputs" in line, line
    assert tree(project) == before, "the inputs are unchanged and nothing was written"
    assert run.out == "", "nothing ran, so nothing was reported"


def test_the_real_command_refuses_too(project: Path) -> None:
    """The `compat` command itself, the default way (cases in worker processes)."""
    before = tree(project)
    run = compat("check", "sequence.yaml", "--html", "sequence.yaml", cwd=project)
    assert run.code == 2 and run.out == ""
    (line,) = run.err_lines
    assert line.startswith("compat: --html: sequence.yaml is one of this run's inputs"), line
    assert tree(project) == before
