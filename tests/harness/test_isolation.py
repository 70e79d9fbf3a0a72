"""Engine runs in killable worker processes (compat/executors): whatever user code does — hang
in Python or in C, `os._exit(0)`, `sys.exit`, segfault, get killed, run out of memory, raise
KeyboardInterrupt — its run is reported `crashed` (with the cause) or `timed_out`, never as
success, the other cases of the run are still reported, and nothing is left running.

Real engines (tests/harness/misbehaving.py, loaded as `misbehaving:Engine` exactly as a user's
`module:attr`), the real `compat` console script in subprocesses, real worker processes."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import psutil
import pytest
from cli_support import compat
from typer.testing import CliRunner

from compat.cli import app

HERE = Path(__file__).parent
FIXTURE = """\
workflow:
  id: modes
  nodes:
    - {id: start, type: start}
    - id: finish
      type: end
      params: {outputs: {mode: "{{ inputs.mode }}"}}
  edges:
    - {source: start, target: finish}
cases:
"""


def project(tmp_path: Path, *modes: str) -> Path:
    """A folder with the misbehaving engine module and a fixture with one case per mode."""
    shutil.copy(HERE / "misbehaving.py", tmp_path / "misbehaving.py")
    cases = "".join(f"  - name: {mode}\n    inputs: {{mode: {mode}}}\n" for mode in modes)
    (tmp_path / "modes.yaml").write_text(FIXTURE + cases)
    return tmp_path / "modes.yaml"


def check(tmp_path: Path, *modes: str, extra: tuple[str, ...] = ()) -> tuple[int, dict, str]:
    fixture = project(tmp_path, *modes)
    out = tmp_path / "report.json"
    run = compat(
        "check", fixture, "--shadow", "misbehaving:Engine", "--json", out, *extra, cwd=tmp_path
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return run.code, report, run.out + run.err


def shadows(report: dict) -> dict[str, tuple[str, str]]:
    return {
        c["case"]: (c["shadow"]["status"], c["shadow"].get("problem") or "")
        for c in report["cases"]
    }


CRASHES = [
    ("exit-zero", "exited with code 0 before answering"),
    ("sys-exit", "SystemExit: 0"),
    ("segfault", "SIGSEGV"),
    ("killed", "SIGKILL"),
    ("interrupt", "KeyboardInterrupt"),
]


def test_every_way_of_dying_is_a_crash_and_the_other_cases_are_reported(tmp_path: Path) -> None:
    modes = ["ok", *(mode for mode, _ in CRASHES), "ok"]
    modes[-1] = "ok-again"  # two healthy cases, around the dying ones
    code, report, output = check(tmp_path, *modes)
    assert code == 1, output
    assert report["ok"] is False
    found = shadows(report)
    assert list(found) == modes
    for mode, cause in CRASHES:
        status, error = found[mode]
        assert status == "crashed", (mode, found[mode])
        assert cause in error, (mode, error)
    for healthy in ("ok", "ok-again"):
        assert found[healthy][0] == "completed"
        case = next(c for c in report["cases"] if c["case"] == healthy)
        assert case["passed"] is True
    assert report["summary"] == report["summary"] | {"cases": len(modes), "passed": 2}


@pytest.mark.parametrize("mode", ["hang", "hang-in-c"])
def test_a_hang_in_python_or_in_c_times_out_and_is_killed(tmp_path: Path, mode: str) -> None:
    code, report, output = check(tmp_path, mode, "ok", extra=("--timeout", "2"))
    assert code == 1, output
    found = shadows(report)
    assert found[mode][0] == "timed_out"
    assert "no result within 2 s; its worker process was killed" in found[mode][1]
    assert found["ok"][0] == "completed"
    assert "timed_out" in output


def test_out_of_memory_is_a_crash_under_the_memory_limit(tmp_path: Path) -> None:
    code, report, output = check(tmp_path, "out-of-memory", "ok", extra=("--memory-limit", "256"))
    assert code == 1, output
    found = shadows(report)
    assert found["out-of-memory"][0] == "crashed"
    assert "MemoryError" in found["out-of-memory"][1] or "SIGKILL" in found["out-of-memory"][1]
    assert found["ok"][0] == "completed"
    assert report["settings"]["memory_mb"] == 256
    assert report["settings"]["isolation"] == "process"


def test_the_primary_crashing_still_runs_and_reports_the_shadow(tmp_path: Path) -> None:
    fixture = project(tmp_path, "segfault")
    out = tmp_path / "report.json"
    run = compat("check", fixture, "--primary", "misbehaving:Engine", "--json", out, cwd=tmp_path)
    assert run.code == 1, run
    (case,) = json.loads(out.read_text())["cases"]
    assert case["primary"]["status"] == "crashed" and "SIGSEGV" in case["primary"]["problem"]
    assert case["shadow"]["status"] == "completed"
    assert case["compatible"] is False


def test_in_process_a_dying_engine_is_no_verdict_never_success(tmp_path: Path) -> None:
    """Without worker processes (`--in-process`), os._exit(0) takes compat down with it;
    the command's supervisor still reports it and exits 3, never 0."""
    fixture = project(tmp_path, "ok", "exit-zero")
    out = tmp_path / "report.json"
    run = compat(
        "check",
        fixture,
        "--shadow",
        "misbehaving:Engine",
        "--in-process",
        "--json",
        out,
        cwd=tmp_path,
    )
    assert run.code == 3, run
    assert "stopped without a verdict" in run.err
    assert "modes.yaml::exit-zero" in run.err
    assert not out.exists()


def test_a_tool_module_exiting_at_import_fails_validate_and_check(tmp_path: Path) -> None:
    project(tmp_path, "ok")
    (tmp_path / "exiting_tools.py").write_text("import os\nos._exit(0)\n")
    (tmp_path / "compat.toml").write_text('tool_modules = ["exiting_tools"]\n')
    for command in (("validate", "modes.yaml"), ("check", "modes.yaml"), ("run", "modes.yaml")):
        run = compat(*command, cwd=tmp_path)
        assert run.code == 2, (command, run)
        assert "exited with code 0" in run.err, (command, run)
        assert len(run.err_lines) == 1, run.err


def test_a_tool_module_hanging_at_import_is_stopped(tmp_path: Path) -> None:
    project(tmp_path, "ok")
    (tmp_path / "slow_tools.py").write_text("while True:\n    pass\n")
    (tmp_path / "compat.toml").write_text('tool_modules = ["slow_tools"]\n')
    run = compat("check", "modes.yaml", "--timeout", "1", cwd=tmp_path)
    # The setup of a worker may take 2 × --timeout, at least 10 s: long, but never forever.
    assert run.code == 2, run
    assert "took more than 10 s" in run.err


def test_run_and_diff_kill_a_hanging_engine(tmp_path: Path) -> None:
    fixture = project(tmp_path, "hang")
    run = compat("run", fixture, "--engine", "misbehaving:Engine", "--timeout", "1", cwd=tmp_path)
    assert run.code == 1, run
    assert "timed_out" in run.out and "its worker process was killed" in run.out
    diff = compat("diff", fixture, "--shadow", "misbehaving:Engine", "--timeout", "1", cwd=tmp_path)
    assert diff.code == 1, diff
    assert "incompatible" in diff.out


def test_perf_reports_a_case_that_never_finishes(tmp_path: Path) -> None:
    fixture = project(tmp_path, "hang", "ok")
    out = tmp_path / "perf.json"
    run = compat(
        "perf",
        fixture,
        "--shadow",
        "misbehaving:Engine",
        "--timeout",
        "3",
        "--repeat",
        "2",
        "--json",
        out,
        cwd=tmp_path,
    )
    assert run.code == 0, run
    cases = {c["case"]: c for c in json.loads(out.read_text())["cases"]}
    assert "no result within 3 s" in cases["hang"]["problem"]
    assert cases["ok"]["problem"] is None


def test_timed_out_work_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (CliRunner), so this process is the harness: after hanging runs time out,
    it has no more threads than before and no worker process left."""
    project(tmp_path, "hang", "hang-in-c", "ok")
    monkeypatch.chdir(tmp_path)
    me = psutil.Process()
    threads = threading.active_count()
    result = CliRunner().invoke(
        app, ["check", "modes.yaml", "--shadow", "misbehaving:Engine", "--timeout", "1"]
    )
    assert result.exit_code == 1, result.output
    assert threading.active_count() == threads
    servers = [p for p in me.children() if "forkserver" in " ".join(p.cmdline())]
    assert len(servers) == 1  # the fork server stays, for the next run's workers
    workers = servers[0].children(recursive=True)
    assert [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
