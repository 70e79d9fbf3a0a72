"""bench/campaign.py's generated suite: the same seed writes the same files, and every
case of every shape is a valid case on which both engines agree (the benchmark times
passing checks, never errors)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from compat.check import CheckOptions, run_check

BENCH = Path(__file__).resolve().parents[2] / "bench" / "campaign.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_campaign", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_same_seed_writes_the_same_suite(bench: ModuleType, tmp_path: Path) -> None:
    first = bench.suite(tmp_path / "a", 50, seed=7)
    second = bench.suite(tmp_path / "b", 50, seed=7)
    other = bench.suite(tmp_path / "c", 50, seed=8)
    assert [p.name for p in first] == [p.name for p in second] == [p.name for p in other]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in other]


def test_every_shape_checks_and_passes(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "CASES_PER_FIXTURE", 2)
    files = bench.suite(tmp_path, 2 * len(bench.SHAPES))
    assert len(files) == len(bench.SHAPES)
    report = run_check([tmp_path], CheckOptions(in_process=True))
    assert report.summary.cases == 2 * len(bench.SHAPES)
    assert report.ok, [(c.fixture, c.case, c.worst) for c in report.cases if not c.passed]
