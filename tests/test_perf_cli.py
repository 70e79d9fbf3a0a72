"""`compat perf` and `compat check --perf` on the command line.

A test whose verdict rests on measured times runs the command `--in-process` under the work
meter of tests/perf_support.py (counted calls and charged delays, never the machine's
clocks), so a loaded machine cannot change it; the others run it in its worker process, as a
user does, and judge nothing by time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import compat
from perf_support import WorkMeter, work_meter
from typer.testing import CliRunner

from compat.cli import app
from compat.perf import recommend
from compat.perf.report import PerfReport
from compat.perf.scaling import complexity, fit_growth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkMeter]:
    """Measurements made in this process read counted work, not the machine's clocks."""
    with work_meter(monkeypatch) as installed:
        yield installed


@pytest.mark.usefixtures("meter")
def test_perf_prints_a_table_per_case_and_writes_every_sample(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    args = ("perf", FIXTURES / "parallel_modes.yaml", "--repeat", "6", "--in-process")
    result = invoke(*args, "--json", out)
    assert result.exit_code == 0, result.output
    report = PerfReport.model_validate_json(out.read_text())
    assert [c.case for c in report.cases] == [
        "three-and-two",
        "zero-branches",
        "more-items-than-concurrency",
        "count-from-float",
    ]
    first = report.cases[0]
    assert first.runs == 6
    assert {name: len(s.timing) for name, s in first.samples.items()} == {"graph": 6, "journey": 6}
    assert first.metric("clock_seconds").ratio.median == pytest.approx(2.7)
    assert first.metric("clock_seconds").ratio.verdict.value == "slower"
    # Only the clock-time rule: neither engine's work per node is 1.5 × the other's.
    assert [r.rule for r in first.recommendations] == ["sequential_parallel"]
    assert "parallel_modes.yaml::three-and-two — 6 pairs" in result.output
    assert "run the branches of fan at the same time" in result.output


def test_perf_case_measures_only_the_named_case(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    args = ("perf", FIXTURES / "parallel_modes.yaml", "--repeat", "5", "--json", out)
    result = invoke(*args, "--case", "zero-branches")
    assert result.exit_code == 0, result.output
    report = PerfReport.model_validate_json(out.read_text())
    assert [c.case for c in report.cases] == ["zero-branches"]
    assert "three-and-two" not in result.output


def test_perf_with_scaling_fits_every_shape(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    result = invoke(
        "perf", FIXTURES / "sequence_basics.yaml", "--repeat", "3", "--scaling", "--json", out
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert [s["shape"] for s in report["scaling"]] == ["chain", "fan-out", "loop", "output"]
    for shape in report["scaling"]:
        for fit in shape["engines"].values():
            assert len(fit["seconds"]) == len(shape["sizes"])
            assert len(fit["peak_bytes"]) == len(shape["sizes"])
            # How steep the growth is depends on the machine's load, so it is judged in
            # bench/, not here; what is checked is that the report is the fit of its own data.
            fixed, slope = fit_growth(shape["sizes"], fit["seconds"])
            assert fit["fixed_seconds"] == pytest.approx(fixed)
            assert fit["slope"] == pytest.approx(slope)
            assert fit["complexity"] == complexity(slope)
    assert "scaling" in result.output


@pytest.mark.usefixtures("meter")
def test_perf_scaling_finds_both_engines_linear_in_every_shape(tmp_path: Path) -> None:
    """The same fits in-process, their cost counted in calls: both engines' work grows
    linearly with every shape's size, so no fit is superlinear and nothing is recommended
    (an engine doing O(n²) work would fit O(n²) here, whatever the machine's load)."""
    out = tmp_path / "perf.json"
    fixture = FIXTURES / "sequence_basics.yaml"
    args = ("perf", fixture, "--repeat", "2", "--scaling", "--in-process", "--json", out)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    report = PerfReport.model_validate_json(out.read_text())
    assert [s.shape for s in report.scaling] == ["chain", "fan-out", "loop", "output"]
    for shape in report.scaling:
        assert set(shape.engines) == {"graph", "journey"}
        for name, fit in shape.engines.items():
            assert fit.complexity == "O(n)", (shape.shape, name, fit)
            assert fit.slope < recommend.SUPERLINEAR_SLOPE
            assert fit.seconds == sorted(fit.seconds) and fit.seconds[0] > 0
    assert not [r for r in report.recommendations if r.rule == "superlinear"]


def test_check_perf_adds_performance_outside_the_score(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    result = invoke("check", FIXTURES / "retries.yaml", "--perf", "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["settings"]["perf"] is True
    for case in report["cases"]:
        names = [m["name"] for m in case["performance"]["metrics"]]
        assert "wall_seconds" in names and "clock_seconds" in names
        assert case["score"] == 1.0
    assert "wall time shadow / primary" in result.output


@pytest.mark.usefixtures("meter")
def test_max_slowdown_gates_on_a_surely_slower_shadow() -> None:
    # The shadow's 2 ms per node execution is charged to the meter (no real waiting), its
    # baseline is the same engine charging nothing: a slowdown of many times, on any machine.
    fixture = FIXTURES / "sequence_basics.yaml"
    args = ["check", fixture, "--primary", "harness_engines:hooked", "--perf", "--in-process"]
    slow = invoke(*args, "--shadow", "harness_engines:slowed", "--max-slowdown", "1.2")
    assert slow.exit_code == 1, slow.output
    assert "slower" in slow.output and "too slow" in slow.output
    assert "expect failed" not in slow.output
    assert "0 passed, 0 incompatible, 0 golden answers failed, 4 over --max-slowdown 1.2" in (
        slow.output
    )
    roomy = invoke(*args, "--shadow", "harness_engines:slowed", "--max-slowdown", "1000")
    assert roomy.exit_code == 0, roomy.output
    assert "4 passed, 0 incompatible, 0 golden answers failed, 0 over --max-slowdown 1000" in (
        roomy.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["perf", "missing.yaml"], "missing.yaml: no such file or directory"),
        (["perf", "good.yaml", "--repeat", "1"], "--repeat"),
        (["perf", "good.yaml", "--band", "1.5"], "--band"),
        (["perf", "good.yaml", "--shadow", "nowhere:x"], "cannot import 'nowhere'"),
        (["check", "good.yaml", "--max-slowdown", "2"], "--max-slowdown needs --perf"),
        (["perf", "good.yaml", "--case", "nope"], "--case: no case named 'nope' in good.yaml"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "good.yaml").write_text((FIXTURES / "sequence_basics.yaml").read_text())
    run = compat(*args, cwd=tmp_path)
    assert run.code == 2, run
    assert message in run.err
