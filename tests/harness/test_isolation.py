"""Engine runs in killable worker processes (compat/executors): whatever user code does — hang
in Python or in C, `os._exit(0)`, `sys.exit`, segfault, get killed, run out of memory, raise
KeyboardInterrupt — its run is reported `crashed` (with the cause) or `timed_out`, never as
success, the other cases of the run are still reported, and nothing is left running.

Real engines (tests/harness/misbehaving.py, loaded as `misbehaving:Engine` exactly as a user's
`module:attr`), the real `compat` console script in subprocesses, real worker processes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
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
    ("huge-int", "an integer has more than 4,000 digits (limit: MAX_INT_DIGITS)"),
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
    # The healthy case's whole measurement (runs, memory runs, profiles, a comparison, in a
    # fresh worker: about 0.2 s of CPU) must beat the deadline too; on a loaded machine it
    # took 1.7 s, so 30 s: waited once, for the hang.
    fixture = project(tmp_path, "hang", "ok")
    out = tmp_path / "perf.json"
    run = compat(
        "perf",
        fixture,
        "--shadow",
        "misbehaving:Engine",
        "--timeout",
        "30",
        "--repeat",
        "2",
        "--json",
        out,
        cwd=tmp_path,
    )
    assert run.code == 1, run
    assert "not measured: modes.yaml::hang" in run.out
    cases = {c["case"]: c for c in json.loads(out.read_text())["cases"]}
    assert "no result within 30 s" in cases["hang"]["problem"]
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


TOOL_FIXTURE = """\
workflow:
  id: tool_modes
  nodes:
    - {id: start, type: start}
    - id: act
      type: tool
      params: {tool: act, args: {mode: "{{ inputs.mode }}"}}
    - id: finish
      type: end
      params: {outputs: {done: "{{ nodes.act.output }}"}}
  edges:
    - {source: start, target: act}
    - {source: act, target: finish}
cases:
"""


def test_a_misbehaving_tool_is_a_crash_of_both_engines_never_a_pass(tmp_path: Path) -> None:
    """Tool code runs inside the engines' runs: the built-in engines, in worker processes,
    are reported crashed when a tool kills their process — the case fails, others pass."""
    shutil.copy(HERE / "misbehaving.py", tmp_path / "misbehaving.py")
    (tmp_path / "misbehaving_tools.py").write_text(
        "from misbehaving import misbehave\n\n"
        "def register_tools(registry):\n"
        "    def act(args, ctx):\n"
        "        misbehave(args['mode'])\n"
        "        return 'acted'\n"
        "    registry.register('act', act)\n"
    )
    (tmp_path / "compat.toml").write_text('tool_modules = ["misbehaving_tools"]\n')
    modes = ("ok", "exit-zero", "segfault")
    cases = "".join(f"  - name: {mode}\n    inputs: {{mode: {mode}}}\n" for mode in modes)
    (tmp_path / "tools.yaml").write_text(TOOL_FIXTURE + cases)
    out = tmp_path / "report.json"
    run = compat("check", "tools.yaml", "--json", out, cwd=tmp_path)
    assert run.code == 1, run
    cases_found = {c["case"]: c for c in json.loads(out.read_text())["cases"]}
    assert cases_found["ok"]["passed"] is True
    for mode, cause in (("exit-zero", "exited with code 0"), ("segfault", "SIGSEGV")):
        case = cases_found[mode]
        assert case["passed"] is False
        for side in ("primary", "shadow"):
            assert case[side]["status"] == "crashed" and cause in case[side]["problem"]


def test_the_harness_memory_stays_flat_when_an_engine_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's hoard lives and dies in its worker: this process (the harness, via
    CliRunner) does not grow by it."""
    project(tmp_path, "out-of-memory", "out-of-memory-again", "ok")
    text = (tmp_path / "modes.yaml").read_text().replace("out-of-memory-again}", "out-of-memory}")
    (tmp_path / "modes.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    me = psutil.Process()
    before = me.memory_info().rss
    result = CliRunner().invoke(
        app,
        ["check", "modes.yaml", "--shadow", "misbehaving:Engine", "--memory-limit", "512"],
    )
    assert result.exit_code == 1, result.output
    assert result.output.count("crashed") >= 2, result.output
    grown = me.memory_info().rss - before
    assert grown < 256 << 20, f"the harness grew by {grown >> 20} MiB"


def test_the_readme_demonstration(tmp_path: Path) -> None:
    """The README's command, run from tests/harness on modes.yaml, with a longer deadline.

    The README shows `--timeout 2`, which holds on an idle machine; but running out of
    memory must crash before the deadline, and filling 512 MiB (zeroed page by page) takes
    about 0.45 s of CPU: 2-3 s on a loaded two-core machine, where it was reported timed out.
    20 s: waited once per hanging case."""
    out = tmp_path / "report.json"
    run = compat(
        "check", "modes.yaml", "--shadow", "misbehaving:Engine", "--timeout", "20",
        "--memory-limit", "512", "--json", out, cwd=HERE,
    )  # fmt: skip
    assert run.code == 1, run
    assert "6 cases: 1 passed, 5 incompatible, 0 golden answers failed" in run.out
    found = shadows(json.loads(out.read_text()))
    assert {case: status for case, (status, _) in found.items()} == {
        "healthy": "completed",
        "hangs": "timed_out",
        "hangs-in-c": "timed_out",
        "exits-0": "crashed",
        "segfaults": "crashed",
        "runs-out-of-memory": "crashed",
    }


def test_an_interrupted_check_exits_130_with_a_message_and_no_report(tmp_path: Path) -> None:
    """SIGINT sent to the `compat` process alone (as a CI runner cancelling a job may) while
    an engine hangs: the supervisor passes it on, the check stops, kills its workers, says
    so and writes no report."""
    fixture = project(tmp_path, "hang")
    out = tmp_path / "report.json"
    script = Path(sys.executable).with_name("compat")
    command = [str(script), "check", str(fixture), "--shadow", "misbehaving:Engine"]
    process = subprocess.Popen(
        [*command, "--timeout", "60", "--json", str(out)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run in the background (as CI may) inherits SIGINT
        # ignored, which compat, like any program, would keep.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    supervisor = psutil.Process(process.pid)
    deadline = time.monotonic() + 60

    def worker_running() -> bool:
        for proc in supervisor.children(recursive=True):
            try:
                parent = proc.parent()
                if parent is not None and "forkserver" in " ".join(parent.cmdline()):
                    return True  # forked by the fork server: a worker
            except psutil.Error:
                continue
        return False

    while not worker_running():
        assert time.monotonic() < deadline, "no worker started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "compat: interrupted; no verdict (nothing was checked to the end)"
    assert not out.exists()


def test_an_engine_module_ending_the_process_at_import_is_bad_input(tmp_path: Path) -> None:
    """Loading the engine is set-up, for `run` and `diff` as for `check`: exit 2, the cause."""
    project(tmp_path, "ok")
    (tmp_path / "exiting_engine.py").write_text("import os\nos._exit(0)\n")
    for command in (
        ("run", "modes.yaml", "--engine", "exiting_engine:Engine"),
        ("diff", "modes.yaml", "--shadow", "exiting_engine:Engine"),
        ("check", "modes.yaml", "--shadow", "exiting_engine:Engine"),
    ):
        run = compat(*command, cwd=tmp_path)
        assert run.code == 2, (command, run)
        assert "exited with code 0" in run.err and len(run.err_lines) == 1, (command, run)
