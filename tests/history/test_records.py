"""Records from real reports (check, perf, fuzz), where a run ran (`run_meta`), and what
importing the package costs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compat.fuzz.campaign import FoundDivergence, FuzzOptions
from compat.fuzz.drive import Finding, FuzzReport
from compat.history import check_record, fuzz_record, perf_record, run_meta
from compat.history.meta import BRANCH_VARIABLES
from compat.perf.report import CasePerf, MetricReport, PerfReport, PerfSettings
from compat.perf.stats import Ratio, Summary
from tests.history.checks import BROKEN, FIXTURE, META, ROOT, buggy_report, real_report


def test_a_check_record_keeps_statuses_scores_and_the_settings() -> None:
    record = check_record(real_report(), META, seconds=1.5, options={"paths": [FIXTURE]})
    assert (record.kind, record.primary, record.shadow, record.policy) == (
        "check",
        "graph",
        "journey",
        "equivalence",
    )
    assert (record.commit, record.dirty, record.branch, record.machine) == (
        META["commit"],
        False,
        "main",
        META["machine"],
    )
    assert record.started_at == "2025-04-01T08:00:00.000000+00:00"
    assert (record.ok, record.seconds, record.mean_score) == (True, 1.5, 1.0)
    assert record.counts == {
        "cases": 7,
        "passed": 7,
        "incompatible": 0,
        "expect-failed": 0,
        "too-slow": 0,
        "crashed": 0,
    }
    assert record.options["isolation"] == "in-process"
    assert record.options["paths"] == [FIXTURE]
    assert all(c.status == "passed" and c.compatible and c.score == 1.0 for c in record.cases)
    assert {c.key for c in record.cases} >= set(BROKEN)
    assert all(c.perf is None and not c.differences for c in record.cases)


def test_a_check_record_of_an_incompatible_run_keeps_its_worst_differences() -> None:
    report = buggy_report()
    record = check_record(report, META)
    assert record.ok is False
    assert record.counts["incompatible"] == 3 and record.counts["passed"] == 4
    assert record.mean_score == report.summary.mean_score
    broken = [c for c in record.cases if c.status == "incompatible"]
    assert [c.key for c in broken] == list(BROKEN)
    first = broken[0]
    source = report.cases[0]
    assert first.dimensions == {d.name: d.score for d in source.dimensions}
    assert 0 < len(first.differences) <= 20
    assert first.differences[0]["severity"] == "critical"
    assert all(set(d) == {"dimension", "path", "severity", "note"} for d in first.differences)


def _metric(name: str, median: float, low: float, high: float, verdict: str) -> MetricReport:
    summary = Summary(n=5, median=0.01, p95=0.02, min=0.01, max=0.02)
    return MetricReport(
        name=name,
        unit="s",
        primary=summary,
        shadow=summary,
        ratio=Ratio(median=median, low=low, high=high, verdict=verdict),  # type: ignore[arg-type]
    )


def _perf_report(*cases: CasePerf) -> PerfReport:
    settings = PerfSettings(
        primary="graph",
        shadow="journey",
        repeat=5,
        budget=1.0,
        warmup=1,
        memory_runs=1,
        isolate=False,
        band=0.1,
    )
    return PerfReport(settings=settings, cases=list(cases))


def test_a_perf_record_keeps_each_metrics_ratio_and_verdict() -> None:
    slow = CasePerf(
        fixture="f.yaml",
        case="slow",
        isolated=False,
        metrics=[
            _metric("wall_seconds", 1.4, 1.3, 1.5, "slower"),
            _metric("rss_delta", float("nan"), float("nan"), float("nan"), "undefined"),
        ],
    )
    even = CasePerf(
        fixture="f.yaml",
        case="even",
        isolated=False,
        metrics=[_metric("wall_seconds", 1.0, 0.97, 1.04, "parity")],
    )
    broken = CasePerf(fixture="f.yaml", case="broken", isolated=False, problem="it raised")
    record = perf_record(_perf_report(slow, even, broken), META, seconds=9.0)
    assert (record.kind, record.ok, record.mean_score, record.policy) == ("perf", False, None, None)
    assert record.counts == {
        "cases": 3,
        "measured": 2,
        "unmeasured": 1,
        "parity": 1,
        "faster": 0,
        "slower": 1,
        "inconclusive": 0,
        "undefined": 0,
        "problems": 0,
    }
    assert [c.status for c in record.cases] == ["measured", "measured", "unmeasured"]
    assert record.cases[0].perf == {
        "wall_seconds": {"median": 1.4, "low": 1.3, "high": 1.5, "verdict": "slower"},
        "rss_delta": {"median": None, "low": None, "high": None, "verdict": "undefined"},
    }
    assert record.cases[0].compatible is None and record.cases[0].score is None
    assert json.dumps(record.model_dump(mode="json"), allow_nan=False)
    # Gated at a wider band, the slow case is within it: the run is ok once all are measured.
    assert perf_record(_perf_report(slow, even), META).ok is False
    wide = perf_record(_perf_report(slow, even), META, band=0.5)
    assert wide.ok is True and wide.options["gate_band"] == 0.5


def test_a_fuzz_record_has_one_case_per_finding_keyed_by_its_divergence() -> None:
    report = buggy_report().cases[0]
    found = FoundDivergence(
        key=("outcome", "status", "status"),
        round=3,
        fixture={"workflow": {}, "cases": []},
        modes=("roundtrip",),
        report=report.model_dump(mode="json"),
        nodes=4,
    )
    options = FuzzOptions(shadow="tests.mutants.router_last:engine", examples=50, database=None)
    campaign = FuzzReport(options, examples=50, shrinking=7, seconds=2.25, rounds=2)
    campaign.findings.append(Finding(found, path=Path("found/fuzz-x.yaml"), reproduced=True))
    record = fuzz_record(campaign.to_data(), META)
    assert (record.kind, record.ok, record.seconds, record.shadow) == (
        "fuzz",
        False,
        2.25,
        "tests.mutants.router_last:engine",
    )
    assert record.counts == {
        "examples": 50,
        "shrinking_examples": 7,
        "rounds": 2,
        "repeats": 0,
        "findings": 1,
        "reproduced": 1,
    }
    (finding,) = record.cases
    assert finding.key == "fuzz::outcome / status / status"
    assert (finding.status, finding.compatible, finding.score) == ("finding", False, report.score)
    assert finding.finding == {
        "key": ["outcome", "status", "status"],
        "round": 3,
        "modes": ["roundtrip"],
        "nodes": 4,
        "flaky": False,
        "saved": "found/fuzz-x.yaml",
        "reproduced": True,
    }
    assert finding.differences and "primary" not in finding.differences[0]
    clean = fuzz_record(FuzzReport(options, examples=50).to_data(), META)
    assert clean.ok is True and clean.cases == ()


@pytest.fixture
def no_ci_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in BRANCH_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.usefixtures("no_ci_branch")
def test_run_meta_in_this_checkout_names_its_commit() -> None:
    meta = run_meta(ROOT)
    assert re.fullmatch(r"[0-9a-f]{40}", meta["commit"])
    assert isinstance(meta["dirty"], bool)
    assert meta["branch"] is None or isinstance(meta["branch"], str)
    assert meta["machine"]["cpus"] == os.cpu_count()
    assert set(meta["machine"]) == {"hostname", "platform", "python", "cpus"}
    assert meta["started_at"].endswith("+00:00")


@pytest.mark.usefixtures("no_ci_branch")
def test_run_meta_outside_a_repository_or_without_git_says_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    outside = run_meta(tmp_path)
    assert (outside["commit"], outside["dirty"], outside["branch"]) == (None, None, None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on it
    missing = run_meta(ROOT)
    assert (missing["commit"], missing["dirty"], missing["branch"]) == (None, None, None)
    assert missing["machine"]["cpus"] == os.cpu_count()


@pytest.mark.usefixtures("no_ci_branch")
def test_a_ci_branch_variable_names_the_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_HEAD_REF", "")
    monkeypatch.setenv("GITHUB_REF_NAME", "release/2.0")
    monkeypatch.setenv("CI_COMMIT_REF_NAME", "other")
    assert run_meta(ROOT)["branch"] == "release/2.0"
    monkeypatch.setenv("GITHUB_HEAD_REF", "topic")
    assert run_meta(ROOT)["branch"] == "topic"


def test_importing_the_package_imports_neither_sqlalchemy_nor_pydantic() -> None:
    probe = (
        "import json, sys\n"
        "import compat.history\n"
        "first = sorted(m for m in ('sqlalchemy', 'pydantic') if m in sys.modules)\n"
        "from compat.history import RunRecord, run_meta, check_record, open_history\n"
        "print(json.dumps([first, 'sqlalchemy' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [[], False]
