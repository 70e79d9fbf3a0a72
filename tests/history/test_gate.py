"""The gate on records of real `compat check` runs (the real engines, and the router_last
mutant as the shadow), and on records built to show each kind of regression."""

from __future__ import annotations

import pytest

from compat.history import HistoryError, HistoryStore, RunRecord, check_record
from compat.history.gate import regressions
from tests.history.checks import BROKEN, FIXTURE, META, buggy_report, real_report
from tests.history.support import case, run, wall


@pytest.fixture(scope="module")
def real() -> RunRecord:
    return check_record(real_report(), META)


@pytest.fixture(scope="module")
def buggy() -> RunRecord:
    return check_record(buggy_report(), {**META, "started_at": "2025-04-01T09:00:00Z"})


def test_the_cases_a_buggy_engine_breaks_are_newly_incompatible(
    real: RunRecord, buggy: RunRecord
) -> None:
    found = regressions(real, buggy)
    assert [(r.key, r.kind) for r in found] == [(key, "newly-incompatible") for key in BROKEN]
    broken = {c.key: c for c in buggy.cases}
    for regression in found:
        score = broken[regression.key].score
        assert regression.message == (
            f"{regression.key}: passed -> incompatible (score 1.000 -> {score:.3f})"
        )
    assert (
        found[1].message
        == f"{FIXTURE}::every-route-matches: passed -> incompatible (score 1.000 -> 0.573)"
    )


def test_the_same_engines_again_is_no_regression(real: RunRecord, buggy: RunRecord) -> None:
    assert regressions(real, check_record(real_report(), META)) == []
    assert regressions(buggy, real) == []  # fixed, not worse


def test_a_case_failing_in_both_runs_is_known_unless_known_failures_are_allowed(
    buggy: RunRecord,
) -> None:
    found = regressions(buggy, buggy)
    assert [(r.key, r.kind) for r in found] == [(key, "known") for key in BROKEN]
    assert "incompatible in the baseline and still incompatible" in found[0].message
    assert regressions(buggy, buggy, allow_known=True) == []


def test_a_score_drop_beyond_the_margin_is_a_regression() -> None:
    before = run(0, case(score=1.0), case("d", score=0.9))
    after = run(1, case(score=0.9), case("d", score=0.85))  # both still compatible
    found = regressions(before, after)
    assert [(r.key, r.kind, r.message) for r in found] == [
        (
            "fixtures/x.yaml::c",
            "score-drop",
            "fixtures/x.yaml::c: score 1.000 -> 0.900 (margin 0.000)",
        ),
        (
            "fixtures/x.yaml::d",
            "score-drop",
            "fixtures/x.yaml::d: score 0.900 -> 0.850 (margin 0.000)",
        ),
    ]
    assert [r.key for r in regressions(before, after, margin=0.07)] == ["fixtures/x.yaml::c"]
    assert regressions(before, after, margin=0.2) == []
    # A known failure that gets worse still is reported as a drop, allowed or not.
    worse = regressions(
        run(0, case(status="incompatible", score=0.5)),
        run(1, case(status="incompatible", score=0.2)),
        allow_known=True,
    )
    assert [r.kind for r in worse] == ["score-drop"]


def test_a_wall_time_that_turned_surely_slower_is_a_regression() -> None:
    def perf_run(minutes: float, *perfs: dict) -> RunRecord:
        cases = [case(f"c{i}", status="measured", score=None, perf=p) for i, p in enumerate(perfs)]
        return run(minutes, *cases, kind="perf")

    before = perf_run(
        0,
        wall(1.0, 0.95, 1.05, "parity"),
        wall(1.0, 0.95, 1.05, "parity"),
        wall(1.5, 1.3, 1.7, "slower"),
        wall(1.0, 0.95, 1.05, "parity"),
    )
    after = perf_run(
        1,
        wall(1.4, 1.25, 1.55, "slower"),  # slower, surely beyond 1 + band
        wall(1.12, 1.06, 1.2, "slower"),  # slower by its own band, not beyond the gate's
        wall(1.8, 1.6, 2.0, "slower"),  # slower already in the baseline
        wall(1.6, 0.9, 2.3, "inconclusive"),
    )
    found = regressions(before, after)
    assert [(r.key, r.kind) for r in found] == [("fixtures/x.yaml::c0", "perf-slower")]
    assert found[0].message == (
        "fixtures/x.yaml::c0: wall time 1.40x the primary's (95 % interval 1.25-1.55, above "
        "1 + band 0.10); baseline parity at 1.00x"
    )
    assert [r.key for r in regressions(before, after, band=0.05)] == [
        "fixtures/x.yaml::c0",
        "fixtures/x.yaml::c1",
    ]
    assert regressions(before, after, band=0.3) == []


def test_a_case_gone_from_the_run_is_missing_and_a_new_one_is_not_a_regression() -> None:
    before = run(0, case("a"), case("gone", status="incompatible"))
    after = run(1, case("a"), case("new", status="incompatible"))
    (missing,) = regressions(before, after)
    assert (missing.key, missing.kind) == ("fixtures/x.yaml::gone", "missing")
    assert missing.message == (
        f"fixtures/x.yaml::gone: in the baseline run {before.id[:12]} (incompatible) but not "
        "in this run"
    )


def test_runs_of_different_kinds_are_not_compared() -> None:
    with pytest.raises(HistoryError, match=r"cannot gate a perf run \(\w+\) on a check run"):
        regressions(run(0), run(1, kind="perf"))
    with pytest.raises(HistoryError, match="margin and band are 0 or more"):
        regressions(run(0), run(1), margin=-0.1)


def test_the_gate_reads_its_runs_back_from_the_history(
    store: HistoryStore, real: RunRecord, buggy: RunRecord
) -> None:
    store.record(real)
    store.record(buggy)
    baseline, current = store.last_green(branch="main"), store.latest(branch="main")
    assert baseline == real and current == buggy
    assert [r.key for r in regressions(baseline, current)] == list(BROKEN)
