"""`compat fuzz` and `compat perf` on a Dask cluster: the same campaign as in one process,
divergences found on workers shrunk and saved, each case measured on one worker, and a
module the workers cannot import named at start-up."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from compat.check import CheckOptions, run_check
from compat.fuzz.campaign import FuzzOptions
from compat.fuzz.drive import run_fuzz
from compat.perf.run import PerfOptions, run_perf
from engines.documents import load_fixture
from engines.errors import ConfigError
from tests.cluster.conftest import ROOT, Cluster

BROKEN = "docs.examples.broken_engine:engine"


def test_fuzz_on_a_local_cluster_gives_what_one_process_gives() -> None:
    common = {"examples": 60, "batch": 20, "seed": 3, "database": None}
    one = run_fuzz(FuzzOptions(**common))
    spread = run_fuzz(FuzzOptions(**common, cluster="local:2"))
    assert spread.stopped is None
    assert one.examples == spread.examples == 60
    assert one.rounds == spread.rounds == 3
    assert one.coverage.to_data() == spread.coverage.to_data()
    assert [f.found.key for f in one.findings] == [f.found.key for f in spread.findings] == []


def test_a_divergence_found_on_a_worker_is_shrunk_and_saved(
    cluster: Cluster, tmp_path: Path
) -> None:
    options = FuzzOptions(
        shadow=BROKEN,
        examples=300,
        seed=7,
        database=None,
        features="+loop",
        first=True,
        max_nodes=6,
        cluster=cluster.address,
    )
    with contextlib.chdir(ROOT):
        report = run_fuzz(options, save=str(tmp_path))
    assert report.findings, "the reversed-loop bug was not found on the cluster"
    for finding in report.findings:
        assert finding.reproduced is True
        assert finding.path is not None and finding.path.parent == tmp_path
        assert [c.name for c in load_fixture(finding.path).cases] == ["found"]
        assert finding.found.nodes <= 12, "shrinking left a large workflow"


def test_a_fuzz_campaign_on_a_cluster_stops_at_its_duration(cluster: Cluster) -> None:
    options = FuzzOptions(duration=2.0, batch=5, seed=11, database=None, cluster=cluster.address)
    with contextlib.chdir(ROOT):
        report = run_fuzz(options)
    assert report.stopped is None
    assert report.rounds >= 1 and report.examples == 5 * report.rounds


def test_perf_on_a_cluster_measures_each_case_on_one_worker() -> None:
    fixture = "fixtures/sequence_basics.yaml"
    options = {"repeat": 3, "warmup": 0, "memory_runs": 1}
    with contextlib.chdir(ROOT):
        here = run_perf([fixture], PerfOptions(**options, in_process=True))
        spread = run_perf([fixture], PerfOptions(**options, cluster="local:2"))
    assert spread.settings.cluster == "local:2"
    assert [(c.fixture, c.case) for c in spread.cases] == [(c.fixture, c.case) for c in here.cases]
    assert len(spread.cases) >= 2
    for case in spread.cases:
        assert case.problem is None and case.runs == 3
        assert case.machine is not None and "tcp://" in case.machine
        assert {m.name for m in case.metrics} == {m.name for m in here.cases[0].metrics}
    assert all(case.machine is None for case in here.cases)


def test_an_engine_the_workers_cannot_import_is_named_at_start_up(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine imports here (its folder is on this process's path) but not on the
    workers: the check stops before any case, naming a worker and the module."""
    shutil.copy(ROOT / "docs" / "examples" / "broken_engine.py", tmp_path / "only_here.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    options = CheckOptions(shadow="only_here:engine", cluster=cluster.address)
    with contextlib.chdir(ROOT), pytest.raises(ConfigError) as refused:
        run_check(["fixtures/sequence_basics.yaml"], options)
    message = str(refused.value)
    assert "cannot import 'only_here'" in message
    assert "worker tcp://127.0.0.1:" in message
