"""`compat run`, `compat diff` and `compat export-journey` on the bundled fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import compat
from typer.testing import CliRunner

from compat.cli import app
from engines.result import RunResult

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
FLOWS = FIXTURES / "flows"


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("engine", ["graph", "journey"])
def test_run_prints_the_result_as_json(engine: str) -> None:
    result = invoke("run", FIXTURES / "router_first_match.yaml", "--engine", engine, "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["engine"] == engine and run["status"] == "completed"
    assert run["outputs"] == {"action": "page", "matched": ["urgent"]}
    if engine == "journey":  # the journey's result also holds the conversation it had
        assert run["transcript"] and run["states_visited"] > 0
    else:
        RunResult.model_validate(run)


def test_run_takes_a_case_and_inputs_override_it() -> None:
    fixture = FIXTURES / "router_first_match.yaml"
    second = invoke("run", fixture, "--case", "second-route", "--json")
    assert RunResult.model_validate_json(second.output).outputs["action"] == "queue"
    inline = invoke(
        "run", fixture, "--inputs", '{"priority": 1, "customer": {"vip": false}}', "--json"
    )
    assert inline.exit_code == 0, inline.output
    assert RunResult.model_validate_json(inline.output).outputs["action"] == "ignore"


def test_run_a_workflow_file_with_inputs_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"qty": 3, "unit": 2.5}))
    result = invoke("run", FLOWS / "price_quote.json", "--inputs", f"@{tmp_path / 'in.json'}")
    assert result.exit_code == 0, result.output
    assert "price_quote on graph: completed" in result.output
    assert "trace" in result.output


def test_run_answers_a_conversation() -> None:
    fixture = FIXTURES / "conversation_sequence.yaml"
    paused = invoke("run", fixture, "--conversation", "[]", "--json")
    assert RunResult.model_validate_json(paused.output).status.value == "paused"
    result = invoke("run", fixture, "--engine", "journey")
    assert "completed" in result.output.splitlines()[0]


def test_run_exits_1_when_the_run_fails() -> None:
    result = invoke("run", FIXTURES / "fail_node.yaml", "--case", "unrouted", "--json")
    assert result.exit_code == 1
    assert RunResult.model_validate_json(result.output).status.value == "failed"


def test_run_exits_1_when_the_engine_crashes() -> None:
    result = invoke("run", FIXTURES / "fail_node.yaml", "--engine", "harness_engines:crashing")
    assert result.exit_code == 1
    assert "crashed" in result.output and "engine bug" in result.output


# --------------------------------------------------------------------------- diff


def test_diff_of_agreeing_engines_shows_both_sides_and_exits_0() -> None:
    result = invoke("diff", FIXTURES / "router_first_match.yaml")
    assert result.exit_code == 0, result.output
    assert "graph (primary)" in result.output and "journey (shadow)" in result.output
    [verdict] = [line for line in result.output.splitlines() if "first-match-wins:" in line]
    assert verdict.endswith("compatible (equivalence), score 1.000, 0 differences")


def test_diff_shows_each_difference_side_by_side_and_exits_1() -> None:
    result = invoke(
        "diff",
        FLOWS / "price_quote.json",
        "--inputs",
        '{"qty": 3, "unit": 2.5}',
        "--shadow",
        "harness_engines:off_by_one_percent",
    )
    assert result.exit_code == 1, result.output
    rows = [line for line in result.output.splitlines() if "outputs.total" in line]
    side_by_side, difference = rows  # the two runs' values, then the difference found
    assert "7.5" in side_by_side and "7.575" in side_by_side
    assert "outputs" in difference and "7.575" in difference and "critical" in difference
    assert "incompatible" in result.output


# --------------------------------------------------------------------------- export


def test_export_mermaid_draws_every_state() -> None:
    result = invoke("export-journey", FIXTURES / "router_first_match.yaml")
    assert result.exit_code == 0
    assert result.output.startswith("stateDiagram-v2")
    assert "[*] --> start" in result.output


def test_export_parlant_writes_a_script() -> None:
    result = invoke("export-journey", FLOWS / "support_ticket.json", "--format", "parlant")
    assert result.exit_code == 0
    compile(result.output, "<export>", "exec")  # a script that parses
    assert "import parlant.sdk as p" in result.output


def test_export_picks_a_fixtures_workflow() -> None:
    main = invoke("export-journey", FIXTURES / "subworkflow.yaml").output
    child = invoke("export-journey", FIXTURES / "subworkflow.yaml", "--workflow", "price_quote")
    assert child.exit_code == 0 and child.output != main


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope.yaml"], "nope.yaml"),
        (["run", "flow.json", "--inputs", "{bad"], "--inputs: not valid JSON"),
        (["run", "flow.json", "--inputs", "[1]"], "--inputs: must be a JSON object"),
        (["run", "flow.json", "--conversation", "{}"], "--conversation: must be a JSON list"),
        (["run", "flow.json", "--case", "x"], "--case: flow.json is a workflow"),
        (["run", "fixture.yaml", "--case", "nope"], "no case named 'nope'"),
        (["run", "flow.json", "--inputs", "@missing.json"], "--inputs: cannot read missing.json"),
        (["run", "flow.json", "--engine", "warp"], "engine 'warp'"),
        (["diff", "flow.json", "--inputs", "{"], "--inputs: not valid JSON"),
        (["export-journey", "fixture.yaml", "--workflow", "zz"], "--workflow: no workflow 'zz'"),
        (["export-journey", "flow.json", "--format", "svg"], "svg"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "flow.json").write_text((FLOWS / "price_quote.json").read_text())
    (tmp_path / "fixture.yaml").write_text((FIXTURES / "retries.yaml").read_text())
    run = compat(*args, cwd=tmp_path)
    assert run.code == 2, run
    assert message in run.err, run.err
