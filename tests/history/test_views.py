"""The terminal views behind `compat history trend` and `diff`: the sparkline and what
counts as a change between two runs."""

from __future__ import annotations

from compat.history_commands import changes, spark
from tests.history.support import case, run, wall


def test_a_sparkline_spans_the_values_from_lowest_to_highest() -> None:
    assert spark([0.0, 0.5, 1.0]) == "▁▅█"
    assert spark([1.0, 0.054, 1.0]) == "█▁█"
    assert spark([0.2, None, 0.9]) == "▁·█"  # a run without the value is a gap
    assert spark([0.7, 0.7]) == "██"  # flat: no span to scale
    assert spark([None, None]) == spark([]) == ""


def test_a_diff_names_each_changed_verdict_score_and_perf_verdict() -> None:
    before = run(
        0,
        case("same"),
        case("broken"),
        case("drop", score=0.9),
        case("perf", perf=wall(1.0, 0.95, 1.05, "parity")),
        case("gone"),
    )
    after = run(
        1,
        case("same"),
        case("broken", status="incompatible", score=0.25),
        case("drop", score=0.8),
        case("perf", perf=wall(1.5, 1.3, 1.7, "slower")),
        case("new"),
    )
    assert changes(before, after) == [
        ("fixtures/x.yaml::broken", "verdict", "passed → incompatible"),
        ("fixtures/x.yaml::broken", "score", "1.000 → 0.250"),
        ("fixtures/x.yaml::drop", "score", "0.900 → 0.800"),
        ("fixtures/x.yaml::gone", "case", "present → absent"),
        ("fixtures/x.yaml::new", "case", "absent → present"),
        ("fixtures/x.yaml::perf", "perf", "parity → slower"),
    ]
    assert changes(before, before) == []
