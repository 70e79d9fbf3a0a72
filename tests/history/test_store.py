"""The history store's contract, written once and run against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from compat.history import HistoryError, HistoryStore
from compat.history import sql as history_sql
from compat.history.records import MAX_DIFFERENCES
from tests.history.support import at, case, many_cases, run, wall


def count_cases(store: HistoryStore) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar_one())


def test_an_empty_history_has_nothing(store: HistoryStore) -> None:
    assert store.runs() == []
    assert store.latest() is None
    assert store.last_green() is None
    assert store.trend() == []
    assert store.trend("fixtures/x.yaml::c") == []
    assert store.prune(3) == 0
    with pytest.raises(HistoryError, match="no run 'abc' in the history"):
        store.run("abc")


def test_a_run_reads_back_equal_with_its_cases(store: HistoryStore) -> None:
    recorded = run(
        0,
        case("ünï ✓ 日本", status="incompatible", score=0.25, dimensions={"outputs": 0.5}),
        case(
            "measured",
            status="passed",
            perf=wall(1.2, 1.1, 1.3, "slower"),
            differences=(
                {"dimension": "trace", "path": "trace.a", "severity": "low", "note": "n"},
            ),
        ),
        case("finding", "fuzz", status="finding", compatible=False, finding={"key": ["a", "b"]}),
        seconds=12.5,
        commit="a" * 40,
        dirty=False,
        branch="feature/x",
        policy="threshold",
        options={"timeout": 60.0, "paths": ["fixtures/"], "nested": {"a": [1, None]}},
        machine={"hostname": "h", "cpus": 2},
        ok=False,
        counts={"cases": 3, "passed": 1, "incompatible": 1},
    )
    assert store.record(recorded) == recorded.id
    assert store.run(recorded.id) == recorded
    assert store.runs() == [recorded.model_copy(update={"cases": ()})]
    assert store.run(recorded.id).cases[1].key == "fixtures/x.yaml::measured"


def test_runs_are_newest_first_by_kind_and_limited(store: HistoryStore) -> None:
    recorded = {
        minutes: store.record(run(minutes, kind=kind))
        for minutes, kind in [(3, "check"), (1, "check"), (4, "perf"), (2, "check"), (0, "fuzz")]
    }
    assert [r.id for r in store.runs()] == [recorded[m] for m in (4, 3, 2, 1, 0)]
    assert [r.id for r in store.runs(kind="check")] == [recorded[m] for m in (3, 2, 1)]
    assert [r.id for r in store.runs(kind="check", limit=2)] == [recorded[3], recorded[2]]
    assert store.runs(kind="perf", limit=0) == []
    assert all(r.cases == () for r in store.runs())


def test_runs_started_at_the_same_time_list_the_last_recorded_first(store: HistoryStore) -> None:
    first, second = store.record(run(0)), store.record(run(0))
    assert [r.id for r in store.runs()] == [second, first]


def test_times_are_kept_in_utc_whatever_offset_they_came_with(store: HistoryStore) -> None:
    early = store.record(run(0, started_at="2025-03-01T13:30:00+02:00"))  # 11:30 UTC
    late = store.record(run(0, started_at="2025-03-01T12:00:00Z"))
    assert [r.id for r in store.runs()] == [late, early]
    assert store.run(early).started_at == "2025-03-01T11:30:00.000000+00:00"


def test_a_run_is_found_by_a_unique_prefix_of_its_id(store: HistoryStore) -> None:
    for run_id in ("abc123", "abc456", "abd", "xy", "xyz"):
        store.record(run(0, case(), id=run_id))
    assert store.run("abc1").id == "abc123"
    assert store.run("abd").cases == (case(),)
    assert store.run("xy").id == "xy"  # the exact id, though it starts "xyz" too
    with pytest.raises(HistoryError, match=r"run id 'abc' is ambiguous: it starts abc\w+, abc"):
        store.run("abc")
    with pytest.raises(HistoryError, match="no run 'ABC1' in the history"):
        store.run("ABC1")  # ids are compared exactly, on both databases
    with pytest.raises(HistoryError, match="no run 'a%' in the history"):
        store.run("a%")
    with pytest.raises(HistoryError, match="give a run id"):
        store.run(" ")


def test_an_id_recorded_twice_is_refused_and_the_first_run_kept(store: HistoryStore) -> None:
    store.record(run(0, case("first"), id="same"))
    with pytest.raises(HistoryError, match="a run with id 'same' is already recorded"):
        store.record(run(1, case("second"), id="same"))
    assert [c.case for c in store.run("same").cases] == ["first"]
    assert count_cases(store) == 1


def test_counts_and_scores_are_kept(store: HistoryStore) -> None:
    counts = {"cases": 7, "passed": 4, "incompatible": 2, "expect-failed": 1, "crashed": 0}
    run_id = store.record(run(0, counts=counts, mean_score=0.875))
    (listed,) = store.runs()
    assert listed.counts == counts
    assert listed.mean_score == 0.875
    assert store.run(run_id).counts == counts


def test_a_trend_follows_one_case_oldest_first(store: HistoryStore) -> None:
    scores = [1.0, 0.5, 0.75, 1.0]
    ids = [
        store.record(
            run(i, case("c", score=s, status="passed" if s == 1 else "incompatible"), case("d"))
        )
        for i, s in enumerate(scores)
    ]
    store.record(run(9, case("c", score=0.1), kind="perf"))  # another kind: not in the trend
    points = store.trend("fixtures/x.yaml::c")
    assert [p.run_id for p in points] == ids
    assert [p.score for p in points] == scores
    assert [p.status for p in points] == ["passed", "incompatible", "incompatible", "passed"]
    assert [p.started_at for p in points] == [at(i).replace("+", ".000000+") for i in range(4)]
    assert store.trend("c") == points  # a bare case name found in one fixture
    assert [p.run_id for p in store.trend("c", limit=2)] == ids[2:]
    assert store.trend("fixtures/x.yaml::nope") == []


def test_a_trend_of_a_measured_case_has_its_wall_time_ratio(store: HistoryStore) -> None:
    store.record(run(0, case("c", perf=wall(1.0, 0.95, 1.05, "parity")), kind="perf"))
    store.record(run(1, case("c", perf=wall(1.6, 1.4, 1.8, "slower")), kind="perf"))
    store.record(run(2, case("c", status="unmeasured"), kind="perf"))
    points = store.trend("c", kind="perf")
    assert [(p.ratio, p.low, p.high, p.perf_verdict) for p in points] == [
        (1.0, 0.95, 1.05, "parity"),
        (1.6, 1.4, 1.8, "slower"),
        (None, None, None, None),
    ]
    assert store.trend("c") == []  # no check run has it


def test_a_case_name_in_two_fixtures_must_be_given_with_its_fixture(store: HistoryStore) -> None:
    store.record(run(0, case("same", "a.yaml"), case("same", "b.yaml", score=0.5)))
    with pytest.raises(HistoryError, match=r"several cases \(a\.yaml::same, b\.yaml::same\)"):
        store.trend("same")
    assert [p.score for p in store.trend("b.yaml::same")] == [0.5]


def test_a_case_or_fixture_name_may_contain_the_separator(store: HistoryStore) -> None:
    store.record(run(0, case("x::y", "dir::odd.yaml", score=0.3)))
    assert [p.score for p in store.trend("dir::odd.yaml::x::y")] == [0.3]
    assert [p.score for p in store.trend("x::y")] == [0.3]


def test_the_overall_trend_is_each_runs_mean_score(store: HistoryStore) -> None:
    store.record(run(0, case(score=1.0), case("d", score=0.5), ok=True))
    store.record(run(1, case(score=0.0), ok=False))
    store.record(run(2, kind="fuzz", ok=False))
    points = store.trend()
    assert [(p.score, p.status) for p in points] == [(0.75, "ok"), (0.0, "failed")]
    assert [p.status for p in store.trend(kind="fuzz")] == ["failed"]
    assert len(store.trend(limit=1)) == 1 and store.trend(limit=1)[0].score == 0.0


def test_last_green_and_latest_by_kind_and_branch(store: HistoryStore) -> None:
    green_main = store.record(run(0, case(), branch="main", ok=True))
    green_topic = store.record(run(1, case(), branch="topic", ok=True))
    red_main = store.record(run(2, case(status="incompatible"), branch="main", ok=False))
    store.record(run(3, kind="perf", branch="main", ok=True))
    latest = store.latest()
    assert latest is not None and latest.id == red_main and len(latest.cases) == 1
    green = store.last_green()
    assert green is not None and green.id == green_topic and green.cases == (case(),)
    assert store.last_green(branch="main").id == green_main  # type: ignore[union-attr]
    assert store.latest(branch="topic").id == green_topic  # type: ignore[union-attr]
    assert store.latest(branch="nowhere") is None
    assert store.last_green(kind="fuzz") is None
    assert store.latest(kind="perf").kind == "perf"  # type: ignore[union-attr]


def test_prune_keeps_the_newest_runs_of_each_kind_with_their_cases(store: HistoryStore) -> None:
    checks = [store.record(run(i, case(), case("d"))) for i in range(5)]
    perfs = [store.record(run(i, case(), kind="perf")) for i in range(3)]
    assert count_cases(store) == 13
    assert store.prune(2) == 4
    assert [r.id for r in store.runs(kind="check")] == checks[:2:-1]
    assert [r.id for r in store.runs(kind="perf")] == perfs[:0:-1]
    assert count_cases(store) == 6
    assert store.prune(2) == 0
    assert store.prune(0) == 4
    assert store.runs() == [] and count_cases(store) == 0
    with pytest.raises(HistoryError, match="prune keeps 0 runs or more, not -1"):
        store.prune(-1)


def test_differences_are_bounded_worst_first_and_without_values(store: HistoryStore) -> None:
    severities = ["low", "medium", "critical", "high"] * 15
    differences = tuple(
        {
            "dimension": "outputs",
            "path": f"outputs.x{i}",
            "severity": severity,
            "note": f"note {i}",
            "primary": "secret" * 100,
            "shadow": {"big": list(range(100))},
        }
        for i, severity in enumerate(severities)
    )
    run_id = store.record(run(0, case(status="incompatible", differences=differences)))
    (kept,) = store.run(run_id).cases
    assert len(kept.differences) == MAX_DIFFERENCES
    assert [d["severity"] for d in kept.differences] == ["critical"] * 15 + ["high"] * 5
    assert kept.differences[0] == {
        "dimension": "outputs",
        "path": "outputs.x2",
        "severity": "critical",
        "note": "note 2",
    }


def test_a_record_that_fails_half_way_leaves_nothing(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = store.record(run(0, case()))
    insert = history_sql._insert_cases
    calls: list[int] = []

    def failing(conn: sa.Connection, rows: list[dict[str, object]]) -> None:
        insert(conn, rows)  # the run row and the first chunk of cases are written...
        calls.append(len(rows))
        if len(calls) == 2:  # ...then the database fails
            raise sa.exc.OperationalError("INSERT INTO cases", {}, Exception("disk I/O error"))

    monkeypatch.setattr(history_sql, "_insert_cases", failing)
    doomed = run(1, *many_cases(history_sql.CHUNK * 3), id="doomed")
    with pytest.raises(HistoryError, match=r": cannot record run doomed: disk I/O error$"):
        store.record(doomed)
    assert calls == [history_sql.CHUNK] * 2
    assert [r.id for r in store.runs()] == [kept]
    assert count_cases(store) == 1
    with pytest.raises(HistoryError, match="no run 'doomed'"):
        store.run("doomed")


def test_a_case_the_database_cannot_store_is_refused_and_leaves_nothing(
    store: HistoryStore,
) -> None:
    """The run row goes in, then the driver rejects the second case's name (a lone
    surrogate has no UTF-8 form): the whole run is rolled back."""
    kept = store.record(run(0, case()))
    with pytest.raises(HistoryError, match="cannot record run bad: a value the database cannot"):
        store.record(run(1, case("fine"), case("bad \ud800"), id="bad"))
    assert [r.id for r in store.runs()] == [kept]
    assert count_cases(store) == 1


def test_a_run_that_is_not_json_is_refused_before_anything_is_written(
    store: HistoryStore,
) -> None:
    with pytest.raises(HistoryError, match="run bad: options is not JSON"):
        store.record(run(0, case(), id="bad", options={"x": float("nan")}))
    with pytest.raises(HistoryError, match=r"fixtures/x\.yaml::c: finding is not JSON"):
        store.record(run(0, case(finding={"x": object()}), id="bad"))
    assert store.runs() == []


def test_another_connection_sees_every_recorded_run(
    store: HistoryStore, reopen: Callable[[], HistoryStore]
) -> None:
    recorded = run(0, *many_cases(30))
    store.record(recorded)
    store.close()
    other = reopen()
    assert other.opened == "current"
    assert other.run(recorded.id) == recorded
