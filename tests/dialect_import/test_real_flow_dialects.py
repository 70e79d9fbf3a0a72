"""The real flows of ../shared/real-flows read by dialects: the two Flowise AgentFlow v2
flows (built-in dialect) and Langflow's Basic Prompting (docs/examples/langflow-mapping.yaml)
validate, import and run on both engines; real-fixtures/ passes `compat check`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import REAL_FLOWS
from typer.testing import CliRunner

from compat.cli_import import register
from engines.documents import load_workflow
from engines.documents.load import dialect_context
from engines.model.validate import validate_workflow

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "real-fixtures" / "compat.toml"
MAPPING = ROOT / "docs" / "examples" / "langflow-mapping.yaml"
#: file → (--dialect, the node types compat made of it).
FLOWS = {
    "flowise-agentflowv2-iterations.json": (None, {"start", "loop", "tool"}),
    "flowise-agentflowv2-human-in-the-loop.json": (
        None,
        {"start", "loop", "tool", "input", "set", "router"},
    ),
    "langflow-basic-prompting.json": (str(MAPPING), {"start", "transform", "tool", "end"}),
}
pytestmark = pytest.mark.needs_shared


def _compat() -> list[str]:
    script = Path(sys.executable).with_name("compat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "compat.cli"]


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """compat (test app)."""

    register(app)
    return app


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_real_flow_validates_with_its_dialect(name: str) -> None:
    dialect, types = FLOWS[name]
    with dialect_context(dialect):
        validated = load_workflow(REAL_FLOWS / name)
    assert {n.type for n in validated.workflow.nodes} == types
    assert validated.warnings == ()


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_real_flow_imports_to_a_native_workflow_that_runs(name: str, tmp_path: Path) -> None:
    dialect, types = FLOWS[name]
    out = tmp_path / f"{Path(name).stem}.yaml"
    args = ["import", str(REAL_FLOWS / name), "-o", str(out)]
    result = CliRunner().invoke(_app(), args + (["--dialect", dialect] if dialect else []))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert "mapped " in result.output
    written = load_workflow(out)  # a native workflow now: no dialect needed
    assert {n.type for n in written.workflow.nodes} == types
    inputs = {
        "flowise-agentflowv2-iterations.json": {"question": "hi"},
        "flowise-agentflowv2-human-in-the-loop.json": {"subject": "S", "body": "B", "from": "f"},
        "langflow-basic-prompting.json": {"message": "Hello"},
    }[name]
    answers = [{"type": "proceed"}] if "human" in name else []
    for engine in ("graph", "journey"):
        command = [*_compat(), "run", str(out), "--engine", engine, "--json"]
        command += ["--config", str(CONFIG), "--inputs", json.dumps(inputs)]
        run = subprocess.run(
            [*command, "--conversation", json.dumps(answers)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert json.loads(run.stdout)["status"] == "completed"


def test_import_refuses_a_flow_no_dialect_reads() -> None:
    path = REAL_FLOWS / "flowise-chatflow-antonym.json"
    result = CliRunner().invoke(_app(), ["import", str(path)])
    assert result.exit_code == 2
    assert "no built-in dialect recognises this flow" in result.output
    forced = CliRunner().invoke(_app(), ["import", str(path), "--dialect", "flowise-agentflow-v2"])
    assert forced.exit_code == 2
    assert "not a Flowise AgentFlow v2 flow" in forced.output


def test_mapping_refuses_kinds_it_has_no_rule_for() -> None:
    """The Langflow mapping applied to ChainForge's file (graph under `flow`, not `data`)."""
    path = REAL_FLOWS / "chainforge-structured-outputs.json"
    result = CliRunner().invoke(_app(), ["import", str(path), "--dialect", str(MAPPING)])
    assert result.exit_code == 2
    assert "no graph (nodes and edges) at 'data'" in result.output


def test_imported_document_is_what_validation_sees() -> None:
    from engines.documents.dialects import DialectOptions, detect_dialect

    doc = json.loads((REAL_FLOWS / "flowise-agentflowv2-human-in-the-loop.json").read_text())
    dialect = detect_dialect(doc)
    assert dialect is not None
    imported = dialect.convert(doc, default_id="hitl", options=DialectOptions())
    loop = next(n for n in imported.document["nodes"] if n["id"] == "loopAgentflow_0")
    assert loop["params"]["mode"] == "doWhile" and loop["params"]["max_iterations"] == 6
    validated = validate_workflow(imported.document)
    assert validated.topology.enclosing("humanInputAgentflow_0") == ("loopAgentflow_0",)


def test_compat_check_runs_every_real_fixture_on_both_engines() -> None:
    run = subprocess.run(
        [*_compat(), "check", "real-fixtures/", "--config", str(CONFIG), "--in-process"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "10 cases: 10 passed, 0 incompatible, 0 golden answers failed" in run.stdout


def test_compat_check_finds_the_config_inside_real_fixtures() -> None:
    run = subprocess.run(
        [*_compat(), "validate", "."],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "real-fixtures",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert len([line for line in run.stdout.splitlines() if ": ok (fixture" in line]) == 3
