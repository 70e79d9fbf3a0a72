"""Hostile inputs through the real `compat` console script: each one exits 2 with one
readable line naming the file and the problem — never a hang, never a traceback, never the
content of a file that is not a workflow."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import end, linear, start, transform, write

FLOW = linear(start(), transform("a", "{{ inputs.x }}"), end(), workflow_id="flow")
SECRET = "Hunter2-$6$saltsalt$hash"
FIFO = "is a named pipe (FIFO), not a regular file; only regular files are read"


def compat(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script, with a timeout far above its run time (seconds, even on a loaded
    machine): a FIFO opened for reading would block it for good, failing the test instead
    of passing slowly."""
    script = Path(sys.executable).with_name("compat")
    env = {k: v for k, v in os.environ.items() if k != "COMPAT_DEBUG"}
    done = subprocess.run(
        [str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe.yaml")
    write(tmp_path / "flow.json", FLOW)
    return tmp_path


def test_check_of_a_fifo_exits_2_naming_it(folder: Path) -> None:
    line = one_error_line(compat("check", "pipe.yaml", cwd=folder))
    assert line == f"compat: pipe.yaml: {FIFO}"


def test_a_fixture_whose_workflow_is_a_fifo_exits_2(folder: Path) -> None:
    write(folder / "fx.yaml", {"workflow": "pipe.yaml", "cases": [{"name": "a"}]})
    line = one_error_line(compat("check", "fx.yaml", cwd=folder))
    assert line == f"compat: fx.yaml: workflow: pipe.yaml: {FIFO}"


def test_validate_of_a_fifo_and_a_device_names_both(folder: Path) -> None:
    done = compat("validate", "pipe.yaml", "/dev/zero", cwd=folder)
    assert done.returncode == 2
    assert done.stdout.splitlines() == [
        f"pipe.yaml: {FIFO}",
        "/dev/zero: is a character device, not a regular file; only regular files are read",
    ]


@pytest.mark.parametrize("option", ["--inputs", "--conversation"])
def test_an_at_file_option_naming_a_fifo_exits_2(folder: Path, option: str) -> None:
    line = one_error_line(compat("run", "flow.json", option, "@pipe.yaml", cwd=folder))
    assert line == f"compat: {option}: cannot read pipe.yaml: {FIFO}"


def test_a_config_file_that_is_a_device_exits_2(folder: Path) -> None:
    line = one_error_line(compat("validate", "flow.json", "--config", "/dev/zero", cwd=folder))
    assert line.startswith("compat: /dev/zero: is a character device")


def test_an_alias_bomb_exits_2_at_once(folder: Path) -> None:
    bomb = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in itertools.pairwise("abcdefghi")]
    text = "workflow: flow.json\ncases:\n  - name: a\n    inputs:\n" + "".join(
        f"      {line}\n" for line in bomb
    )
    write(folder / "bomb.yaml", text)
    line = one_error_line(compat("check", "bomb.yaml", cwd=folder))
    assert "bomb.yaml: not valid YAML: YAML aliases" in line and "100,000 nodes" in line


def test_a_workflow_outside_the_fixture_folder_is_refused_and_never_echoed(tmp_path: Path) -> None:
    write(tmp_path / "secret.yaml", f"{SECRET}: 1\npassword: {SECRET}\n")
    (tmp_path / "fixtures").mkdir()
    write(
        tmp_path / "fixtures" / "fx.yaml", {"workflow": "../secret.yaml", "cases": [{"name": "a"}]}
    )
    for command in ("check", "validate"):
        done = compat(command, "fixtures/fx.yaml", cwd=tmp_path)
        assert done.returncode == 2
        output = done.stdout + done.stderr
        assert "../secret.yaml: resolves to" in output and "outside" in output
        assert SECRET not in output and "Hunter2" not in output


def test_a_non_workflow_inside_the_folder_is_named_but_never_echoed(tmp_path: Path) -> None:
    write(tmp_path / "secret.yaml", f"{SECRET}: 1\npassword: {SECRET}\n")
    write(tmp_path / "junk.yaml", f"{SECRET}\n  - *{SECRET[:7]}: [\n")
    for name in ("secret.yaml", "junk.yaml"):
        write(tmp_path / "fx.yaml", {"workflow": name, "cases": [{"name": "a"}]})
        line = one_error_line(compat("check", "fx.yaml", cwd=tmp_path))
        assert f"fx.yaml: workflow: {name}: " in line
        assert "Hunter2" not in line


def test_workflow_roots_in_the_configuration_allow_a_shared_folder(tmp_path: Path) -> None:
    write(tmp_path / "shared" / "flow.json", FLOW)
    write(
        tmp_path / "project" / "fixtures" / "fx.yaml",
        {"workflow": "../../shared/flow.json", "cases": [{"name": "a", "inputs": {"x": 1}}]},
    )
    project = tmp_path / "project"
    assert compat("validate", "fixtures", cwd=project).returncode == 2
    write(project / "compat.toml", 'workflow_roots = ["../shared"]\n')
    done = compat("validate", "fixtures", cwd=project)
    assert done.returncode == 0, done
    assert done.stdout.startswith("fixtures/fx.yaml: ok (fixture")
