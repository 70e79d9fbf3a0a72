"""What a newcomer meets first (issue 11, "Newcomer fixes"): `compat --version`, `-h` on every
command, boolean flags shown as flags, a `compat.toml` in either documented form, a loop or
parallel body that cannot run refused, golden-answer failures that name only what differs,
and the tests that need ../shared skipping (or, under CI, failing) with the reason."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_support import compat
from conftest import (
    assert_words,
    end,
    node,
    one_problem,
    start,
    transform,
    valid,
    workflow,
    write,
)
from typer.testing import CliRunner

from compat.check import expect_failures
from compat.cli import app
from compat.engines import EngineRun
from engines.config import load_config
from engines.documents.fixture import Expectation
from engines.errors import ConfigError
from engines.result import NodeError, RunResult

REPO = Path(__file__).resolve().parents[2]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the CLI


def test_version_prints_the_installed_version() -> None:
    run = compat("--version", cwd=REPO)
    assert run.code == 0, run
    assert run.out == f"compat {importlib.metadata.version('compat')}\n"


def test_every_command_is_listed() -> None:
    assert {"validate", "check", "run", "diff", "perf", "export-journey", "schema"} <= set(COMMANDS)


def _help(*args: str) -> str:
    """Help in-process (the console script is run once, below, for `compat check -h`)."""
    result = CliRunner().invoke(app, list(args), prog_name="compat", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_dash_h_is_help_on_every_command(command: str | None) -> None:
    args = [command] if command else []
    short = _help(*args, "-h")
    assert short == _help(*args, "--help")
    assert short.startswith(f"Usage: compat {command or ''}".rstrip() + " ")
    assert "-h, --help" in short


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_no_option_of_any_command_shows_a_bool_value(command: str | None) -> None:
    text = _help(*([command] if command else []), "-h")
    assert "<bool>" not in text, text
    assert "BOOLEAN" not in text, text


def test_check_help_shows_its_boolean_options_as_flags() -> None:
    run = compat("check", "-h", cwd=REPO)
    lines = run.out.splitlines()
    for flag in ("--replay", "--perf", "--roundtrip", "--handoff"):
        (line,) = [x for x in lines if x.strip().startswith(flag + " ")]
        # The option name, then its help: no value placeholder in between.
        assert re.match(rf"^\s+{flag}\s{{2,}}[A-Z]", line), line
    # Options that take a value still show what they take.
    (workers,) = [x for x in lines if x.strip().startswith("--workers")]
    assert "--workers <int>" in workers


def test_a_flag_takes_no_value() -> None:
    """`--json` of `compat run` is a flag: the word after it is the next argument."""
    run = compat("run", "--json", "docs/examples/greet.yaml", "--conversation", '["ada"]', cwd=REPO)
    assert run.code == 0, run
    assert '"status": "completed"' in run.out


# --------------------------------------------------------------------------- compat.toml


def _readme_config_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1]
    match = re.search(r"```toml\n(.*?)```", section, re.S)
    assert match, "README's Configuration section has no toml block"
    return match.group(1)


def test_the_readme_example_works_as_compat_toml_and_as_pyproject(tmp_path: Path) -> None:
    block = _readme_config_block()
    assert "[tool.compat]" in block
    as_compat = tmp_path / "a"
    as_pyproject = tmp_path / "b"
    write(as_compat / "compat.toml", block)
    write(as_pyproject / "pyproject.toml", block)
    from_compat = load_config(as_compat)
    from_pyproject = load_config(as_pyproject)
    expected = tomllib.loads(block)["tool"]["compat"]
    for config in (from_compat, from_pyproject):
        assert config.tool_modules == tuple(expected["tool_modules"])
        assert config.env == tuple(expected["env"])
        assert config.policy == expected["policy"]
        assert config.tolerances == expected["tolerances"]


def test_compat_toml_bare_and_under_tool_compat_are_the_same(tmp_path: Path) -> None:
    bare = 'policy = "threshold"\nenv = ["R"]\n[tolerances]\nrel_tol = 0.5\n'
    nested = '[tool.compat]\npolicy = "threshold"\nenv = ["R"]\n[tool.compat.tolerances]\n'
    nested += "rel_tol = 0.5\n"
    write(tmp_path / "bare" / "compat.toml", bare)
    write(tmp_path / "nested" / "compat.toml", nested)
    a, b = load_config(tmp_path / "bare"), load_config(tmp_path / "nested")
    assert a.policy == b.policy == "threshold"
    assert a.env == b.env == ("R",)
    assert a.tolerances == b.tolerances == {"rel_tol": 0.5}


def test_compat_toml_under_tool_compat_still_overrides_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.compat]\nenv = ["A"]\ntool_modules = ["m"]\n')
    write(tmp_path / "compat.toml", '[tool.compat]\nenv = ["B"]\n')
    config = load_config(tmp_path)
    assert config.env == ("B",)
    assert config.tool_modules == ("m",)


def test_an_explicit_config_file_takes_the_tool_compat_form(tmp_path: Path) -> None:
    path = write(tmp_path / "ci.toml", '[tool.compat]\npolicy = "threshold"\n')
    assert load_config(path=path).policy == "threshold"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('policy = "threshold"\n[tool.compat]\nenv = ["A"]\n', ("mixes", "policy", "one form")),
        ("[tool.black]\nline-length = 3\n", ("[tool.black]", "not compat's", "[tool.compat]")),
        ('[tool.compat]\nenv = ["A"]\n[tool.ruff]\nx = 1\n', ("[tool.ruff]", "not compat's")),
        ("tool = 3\n", ("tool", "not compat's", "bare")),
        ('[tool.compat]\nevn = ["A"]\n', ("evn", "unknown field")),
    ],
)
def test_a_compat_toml_in_neither_form_says_what_to_write(
    tmp_path: Path, text: str, words: tuple[str, ...]
) -> None:
    write(tmp_path / "compat.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert_words(str(info.value), "compat.toml", *words)


def test_compat_validate_reads_a_tool_compat_compat_toml(tmp_path: Path) -> None:
    write(tmp_path / "compat.toml", '[tool.compat]\nenv = ["A"]\n')
    write(tmp_path / "w.yaml", workflow([start(), end()], ["start -> end"]))
    run = compat("validate", "w.yaml", cwd=tmp_path)
    assert run.code == 0, run
    assert run.err == ""


# --------------------------------------------------------------------------- the validator


def _body(kind: str, edges: list[str]) -> dict[str, Any]:
    params = {"mode": "for", "count": 3} if kind == "loop" else {"mode": "count", "count": 2}
    return workflow(
        [
            start(),
            node("C", kind, **params),
            start("cs", parent="C"),
            transform("add", parent="C"),
            end("done", parent="C"),
            end(),
        ],
        ["start -> C", "C -> end", *edges],
    )


@pytest.mark.parametrize(("kind", "unit"), [("loop", "iteration"), ("parallel", "branch")])
def test_a_body_whose_start_leads_nowhere_is_an_error(kind: str, unit: str) -> None:
    problem = one_problem(_body(kind, ["add -> done"]))
    assert problem.location == "nodes[1] (id 'C')"
    assert_words(
        problem.message,
        f"the body of {kind} 'C' cannot run",
        "start 'cs' has no outgoing edge",
        "'add', 'done' would never run",
        f"every {unit}",
    )


def test_a_body_without_any_edge_is_an_error() -> None:
    assert_words(one_problem(_body("loop", [])).message, "cannot run")


def test_a_body_that_runs_is_valid_without_warnings() -> None:
    validated = valid(_body("loop", ["cs -> add", "add -> done"]))
    assert validated.warnings == ()
    assert validated.topology.levels["C"].nodes == ("cs", "add", "done")


def test_a_body_with_a_stray_node_still_runs_and_only_warns() -> None:
    validated = valid(_body("loop", ["cs -> done"]))
    assert [w.location for w in validated.warnings] == ["nodes[3] (id 'add')"]


def test_a_body_that_is_its_start_alone_is_valid() -> None:
    doc = workflow([start(), node("C", "loop", mode="for", count=2), start("cs", parent="C")])
    doc["edges"] = [{"source": "start", "target": "C"}]
    assert valid(doc).topology.levels["C"].nodes == ("cs",)


def test_an_edge_refused_for_another_reason_is_not_reported_twice() -> None:
    doc = _body("loop", ["add -> done"])
    doc["edges"].append({"source": "cs", "target": "add", "handle": "nope"})
    problem = one_problem(doc)
    assert_words(problem.message, "no handle 'nope'")


def test_compat_validate_exits_2_on_a_body_that_cannot_run(tmp_path: Path) -> None:
    write(tmp_path / "w.yaml", _body("loop", []))
    run = compat("validate", "w.yaml", cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.lines
    assert line.startswith("w.yaml: nodes[1] (id 'C'): the body of loop 'C' cannot run")


def test_every_bundled_fixture_still_validates_without_warnings() -> None:
    run = compat("validate", "fixtures/", "docs/examples/greet.yaml", cwd=REPO)
    assert run.code == 0, run
    assert run.lines and all(": ok (" in line for line in run.lines), run.out


# --------------------------------------------------------------------------- golden answers


def _run(**fields: Any) -> EngineRun:
    result = RunResult(engine="graph", workflow_id="w", status="completed", **fields)
    return EngineRun(engine="graph", status=result.status.value, result=result)


def test_a_golden_answer_failure_names_only_the_differing_paths() -> None:
    same = {f"k{i}": "x" * 50 for i in range(20)}
    expect = Expectation(outputs={**same, "total": 3, "nested": {"a": [1, 2]}, "gone": True})
    run = _run(outputs={**same, "total": 4, "nested": {"a": [1, 5]}, "extra": 5})
    (message,) = expect_failures(expect, run)
    assert message.split("; ") == [
        "outputs.extra: unexpected, got 5",
        "outputs.gone: missing, expected true",
        "outputs.nested.a[1]: expected 2, got 5",
        "outputs.total: expected 3, got 4",
    ]
    assert "x" * 50 not in message


def test_a_golden_answer_failure_tells_2_from_2_0_and_true_from_1() -> None:
    (message,) = expect_failures(
        Expectation(vars={"n": 2, "b": True, "s": "same"}),
        _run(vars={"n": 2.0, "b": 1, "s": "same"}),
    )
    assert sorted(message.split("; ")) == [
        "vars.b: expected true, got 1",
        "vars.n: expected 2, got 2.0",
    ]


def test_a_golden_answer_failure_is_bounded() -> None:
    expect = Expectation(outputs={f"k{i:02}": i for i in range(40)} | {"long": "a" * 500})
    run = _run(outputs={f"k{i:02}": i + 1 for i in range(40)} | {"long": "b" * 500})
    (message,) = expect_failures(expect, run)
    assert len(message) < 400, message
    assert message.endswith("and 36 more")
    assert "a" * 100 not in message


def test_a_golden_answer_failure_names_the_differing_errors_by_position() -> None:
    expect = Expectation.model_validate(
        {"status": "failed", "errors": [{"node": "a", "code": "X"}, {"node": "b", "code": "Y"}]}
    )
    result = RunResult(
        engine="graph",
        workflow_id="w",
        status="failed",
        errors=(NodeError(node="a", code="X"), NodeError(node="c", code="Z")),
    )
    (message,) = expect_failures(expect, EngineRun(engine="graph", status="failed", result=result))
    assert message == "errors[1]: expected Y at 'b', got Z at 'c'"


def test_a_golden_answer_that_holds_reports_nothing() -> None:
    assert (
        expect_failures(
            Expectation(outputs={"a": [1, {"b": 2}]}), _run(outputs={"a": [1, {"b": 2}]})
        )
        == ()
    )


# --------------------------------------------------------------------------- ../shared


def _pytest_on_the_real_flows(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real-flows tests in a fresh pytest, with ../shared looked for where `env` says."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COMPAT_", "PYTEST_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_reactflow.py",
            "-k",
            "real_flow",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=300,
    )


def test_without_shared_the_real_flow_tests_skip_and_say_why(tmp_path: Path) -> None:
    done = _pytest_on_the_real_flows({"COMPAT_SHARED": str(tmp_path / "nowhere")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" not in done.stdout.splitlines()[-1]
    skipped = re.search(r"\b(\d+) skipped\b", done.stdout.splitlines()[-1])
    assert skipped and int(skipped.group(1)) >= 5, done.stdout  # every real-flow test
    assert "needs ../shared (the real flows beside the checkout; see README)" in done.stdout
    assert str(tmp_path / "nowhere" / "real-flows") in done.stdout


def test_under_ci_a_missing_shared_fails_the_real_flow_tests(tmp_path: Path) -> None:
    done = _pytest_on_the_real_flows(
        {"COMPAT_SHARED": str(tmp_path / "nowhere"), "COMPAT_REQUIRE_SHARED": "1"}
    )
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    errors = re.search(r"\b(\d+) errors\b", last)
    assert errors and int(errors.group(1)) >= 5 and "skipped" not in last, done.stdout
    assert_words(done.stdout, "needs ../shared", "COMPAT_REQUIRE_SHARED", "may not be skipped")


def test_ci_requires_shared() -> None:
    """CI runs with COMPAT_REQUIRE_SHARED=1: the real-flow tests run there (../shared is
    present) or fail; they are never skipped."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = ci.splitlines()
    assert lines.index("export COMPAT_REQUIRE_SHARED=1") < lines.index("make test"), ci


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("check", "x.yaml", "--timeout", "inf"), ("--timeout", "inf", "at most 604,800")),
        (("run", "x.yaml", "--timeout", "nan"), ("--timeout", "nan")),
        (("diff", "x.yaml", "--timeout", "-1"), ("--timeout", "-1")),
        (("perf", "x.yaml", "--timeout", "0"), ("--timeout", "0")),
        (("check", "x.yaml", "--bogus"), ("No such option", "--bogus", "compat check -h")),
        (("check", "x.yaml", "--memory-limit", "-1"), ("--memory-limit",)),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    """Every wait must end (a timeout is finite and positive), and a usage error is one
    readable line, as every other bad input is."""
    run = compat(*args, cwd=tmp_path)
    assert run.code == 2, run
    assert len(run.err_lines) == 1 and run.out == "", run
    for word in words:
        assert word in run.err, run.err
