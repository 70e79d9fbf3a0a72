"""`--json PATH` never overwrites an input of the run, and a report is written atomically
(compat/outputs.py): refused before anything runs, with exit 2 and one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cli_support import compat
from conftest import end, linear, start, transform, write

from compat.outputs import input_files, refuse_overwrite, write_atomically
from engines.errors import ConfigError

FLOW = linear(start(), transform("a", "{{ inputs.x }}"), end(), workflow_id="flow")
FIXTURE = {"workflow": "flows/flow.json", "cases": [{"name": "one", "inputs": {"x": 1}}]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "compat.toml", "[tolerances]\nrel_tol = 0\n")
    write(tmp_path / "fixtures" / "flows" / "flow.json", FLOW)
    write(tmp_path / "fixtures" / "fx.yaml", FIXTURE)
    return tmp_path


def contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_inputs_are_the_fixtures_their_workflows_and_the_configuration(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    found = {p.resolve() for p in input_files(["fixtures"], None)}
    assert found >= {
        (project / "fixtures" / "fx.yaml").resolve(),
        (project / "fixtures" / "flows" / "flow.json").resolve(),
        (project / "compat.toml").resolve(),
    }


@pytest.mark.parametrize(
    "target", ["fixtures/fx.yaml", "fixtures/flows/flow.json", "compat.toml", "fx-link.yaml"]
)
def test_a_report_onto_an_input_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(project)
    (project / "fx-link.yaml").symlink_to(project / "fixtures" / "fx.yaml")
    with pytest.raises(ConfigError) as info:
        refuse_overwrite(target, ["fixtures"], None)
    assert f"--json: {target} is one of this run's inputs" in str(info.value)


def test_a_hard_link_to_an_input_is_the_same_file(project: Path) -> None:
    os.link(project / "fixtures" / "fx.yaml", project / "hard.json")
    with pytest.raises(ConfigError):
        refuse_overwrite(str(project / "hard.json"), [project / "fixtures" / "fx.yaml"], None)


def test_an_explicit_configuration_file_is_an_input(project: Path) -> None:
    config = write(project / "other.toml", "")
    with pytest.raises(ConfigError):
        refuse_overwrite(str(config), [project / "fixtures"], config)


def test_other_paths_are_allowed(project: Path) -> None:
    refuse_overwrite(str(project / "report.json"), [project / "fixtures"], None)  # new
    write(project / "old.json", "{}")
    refuse_overwrite(str(project / "old.json"), [project / "fixtures"], None)  # not an input
    refuse_overwrite("-", [project / "fixtures"], None)


def test_a_report_onto_a_device_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        refuse_overwrite("/dev/null", [], None)
    assert "character device" in str(info.value)


def test_a_report_is_written_atomically_keeping_the_files_permissions(tmp_path: Path) -> None:
    target = write(tmp_path / "report.json", "old")
    target.chmod(0o640)
    write_atomically(str(target), '{"new": true}\n')
    assert target.read_text() == '{"new": true}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left


def test_a_report_through_a_symlink_replaces_the_file_it_names(tmp_path: Path) -> None:
    real = write(tmp_path / "real.json", "old")
    (tmp_path / "link.json").symlink_to(real)
    write_atomically(str(tmp_path / "link.json"), "new")
    assert (tmp_path / "link.json").is_symlink() and real.read_text() == "new"


def test_a_report_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        write_atomically(str(tmp_path / "missing" / "r.json"), "x")
    assert "--json: cannot write" in str(info.value)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("command", ["check", "perf"])
@pytest.mark.parametrize("target", ["fixtures/fx.yaml", "fixtures/flows/flow.json", "compat.toml"])
def test_the_cli_refuses_before_anything_runs(project: Path, command: str, target: str) -> None:
    before = contents(project)
    run = compat(command, "fixtures", "--json", target, cwd=project)
    assert run.code == 2, run
    assert run.out == ""
    (line,) = run.err_lines
    assert line.startswith(f"compat: --json: {target} is one of this run's inputs")
    assert contents(project) == before


def test_the_cli_writes_a_report_elsewhere(project: Path) -> None:
    run = compat("check", "fixtures", "--json", "report.json", cwd=project)
    assert run.code == 0, run
    assert (project / "report.json").read_text().startswith("{")
    assert not [p for p in project.iterdir() if p.name.startswith(".report.json.")]
