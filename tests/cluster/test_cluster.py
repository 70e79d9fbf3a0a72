"""`compat check --cluster`: the same report on a Dask cluster as in-process, through a local
cluster and through real `dask scheduler` / `dask worker` processes, with a worker killed in
the middle, a batch that kills its workers, and clusters that cannot be reached."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from compat.check import CheckOptions, check_options, run_check
from compat.report import CaseReport, CheckReport
from engines.errors import ConfigError
from tests.cluster.conftest import ROOT, Cluster

COMPAT = str(Path(sys.executable).with_name("compat"))
#: Measured, so never the same twice: left out of the comparison.
TIMES = ("wall_seconds", "cpu_seconds")


def comparable(value: Any) -> Any:
    """A report's content without what is measured (times, performance)."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in TIMES and k != "performance"}
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    return value


def cases(report: CheckReport) -> list[Any]:
    return [comparable(case.model_dump(mode="json")) for case in report.cases]


def serial(*paths: str | Path, details: bool = False) -> CheckReport:
    return run_check([str(p) for p in paths], CheckOptions(in_process=True, details=details))


@pytest.fixture(scope="module")
def bundled() -> CheckReport:
    """The bundled fixtures' report in-process, named `fixtures/...` as the CLI names them."""
    with contextlib.chdir(ROOT):
        return serial("fixtures/")


@pytest.mark.parametrize("executor", [{"cluster": "local:2"}, {"workers": 2}], ids=str)
def test_the_bundled_fixtures_give_the_serial_report(
    bundled: CheckReport, executor: dict[str, Any]
) -> None:
    with contextlib.chdir(ROOT):
        report = run_check(["fixtures/"], CheckOptions(**executor))
    assert len(report.cases) == len(bundled.cases) > 100
    assert cases(report) == cases(bundled)
    assert report.summary == bundled.summary
    assert report.incomplete is None and report.ok == bundled.ok


def test_the_cli_on_a_running_scheduler(cluster: Cluster, tmp_path: Path) -> None:
    with contextlib.chdir(ROOT):
        bundled = serial("fixtures/", details=True)  # as --json keeps them
    out = tmp_path / "report.json"
    done = subprocess.run(
        [COMPAT, "check", "fixtures/", "--cluster", cluster.address, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(out.read_text())["cases"]
    assert [(c["fixture"], c["case"]) for c in got] == [(c.fixture, c.case) for c in bundled.cases]
    assert [comparable(c) for c in got] == cases(bundled)


def test_a_worker_killed_in_the_middle_loses_no_case(cluster: Cluster, tmp_path: Path) -> None:
    for copy in ("a", "b"):
        shutil.copytree(ROOT / "fixtures", tmp_path / copy)
    expected = serial(tmp_path / "a", tmp_path / "b")
    cluster.add_worker()  # a third: the campaign goes on after one is killed
    killed: list[str] = []

    def kill_a_busy_worker(done: int, total: int, report: CaseReport) -> None:
        if killed:
            return
        with cluster.client() as client:
            busy = [address for address, keys in client.processing().items() if keys]
            pids = client.run(os.getpid, workers=busy)
        assert busy, "no worker is running a batch: nothing to kill in the middle"
        address = sorted(busy)[0]
        os.kill(pids[address], signal.SIGKILL)
        killed.append(address)

    report = run_check(
        [str(tmp_path / "a"), str(tmp_path / "b")],
        CheckOptions(cluster=cluster.address),
        kill_a_busy_worker,
    )
    assert killed
    assert sum(w.poll() is not None for w in cluster.workers) == 1
    names = [(c.fixture, c.case) for c in report.cases]
    assert len(set(names)) == len(names) == len(expected.cases)
    assert cases(report) == cases(expected)


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


def test_a_batch_that_keeps_killing_its_worker_is_reported_crashed(tmp_path: Path) -> None:
    """10 cases on 2 workers: the first batches are of 2 (10 // (2 x 2 workers), then
    8 // 4), so `killed` takes `c`, its batch's other case, down with it; every other batch
    passes."""
    fixtures = {"bad": ["a", "b", "c", "killed", "e"], "good": ["f", "g", "h", "i", "j"]}
    for name, modes in fixtures.items():
        text = "".join(f"  - name: {m}\n    inputs: {{mode: {m}}}\n" for m in modes)
        (tmp_path / f"{name}.yaml").write_text(FIXTURE + text)
    options = CheckOptions(shadow="tests.cluster.crashing:Engine", cluster="local:2")
    report = run_check([str(tmp_path)], options)
    found = {(Path(c.fixture).stem, c.case): c for c in report.cases}
    assert list(found) == [(name, m) for name, modes in fixtures.items() for m in modes]
    for case in ("c", "killed"):  # the whole batch: which of its cases did it is not known
        got = found["bad", case]
        assert (got.primary.status, got.shadow.status, got.passed) == ("crashed", "crashed", False)
        assert "KilledWorker" in (got.shadow.problem or "")
    passed = [key for key, case in found.items() if case.passed]
    assert passed == [key for key in found if key[1] not in ("c", "killed")]


@pytest.mark.parametrize("cluster", ["local:0", "local:65", "foo", "tcp://host", "tcp://h:0"])
def test_a_cluster_compat_cannot_name_is_refused(cluster: str) -> None:
    with pytest.raises(ConfigError, match="--cluster"):
        check_options(cluster=cluster)


@pytest.mark.parametrize("cluster", ["local:0", "foo", "tcp://127.0.0.1:1"])
def test_the_cli_refuses_a_bad_or_unreachable_cluster_in_one_line(cluster: str) -> None:
    done = subprocess.run(
        [COMPAT, "check", "fixtures/", "--cluster", cluster],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--cluster" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_scheduler_that_goes_away_keeps_what_came_back(tmp_path: Path) -> None:
    """The scheduler is killed once the first batch is back: the check ends with the cases
    that came back (the serial report's, unchanged) and says it is incomplete."""
    for copy in ("a", "b"):
        shutil.copytree(ROOT / "fixtures", tmp_path / copy)
    expected = {(c.fixture, c.case): c for c in serial(tmp_path / "a", tmp_path / "b").cases}
    running = Cluster(tmp_path / "dask")
    running.folder.mkdir()
    try:
        running.start_scheduler()
        running.add_worker()

        def kill_the_scheduler(done: int, total: int, report: CaseReport) -> None:
            if running.scheduler is not None and running.scheduler.poll() is None:
                os.killpg(running.scheduler.pid, signal.SIGKILL)
                running.scheduler.wait(timeout=30)

        report = run_check(
            [str(tmp_path / "a"), str(tmp_path / "b")],
            CheckOptions(cluster=running.address),
            kill_the_scheduler,
        )
    finally:
        running.stop()
    assert report.incomplete is not None and "lost the Dask scheduler" in report.incomplete
    assert f"of {len(expected)} cases came back" in report.incomplete
    assert not report.ok
    assert 0 < len(report.cases) < len(expected)
    assert report.summary.cases == len(report.cases)
    assert [comparable(c.model_dump(mode="json")) for c in report.cases] == [
        comparable(expected[c.fixture, c.case].model_dump(mode="json")) for c in report.cases
    ]
