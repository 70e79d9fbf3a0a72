"""Context merge (compat.sync.merge_context / merge_results): each strategy, nested values,
lists of dicts, a callable strategy, bad names, and inputs never changed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from compat.engines import GraphAdapter, JourneyAdapter
from compat.sync import DROP, STRATEGIES, merge_context, merge_results
from engines.documents import load_fixture
from engines.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

PRIMARY = {
    "a": 1,
    "flag": True,
    "nested": {"x": 1, "tags": ["p", "q"], "only_p": 0},
    "rows": [{"id": 1}, {"id": 2}],
}
SHADOW = {
    "a": 2,
    "flag": 1,
    "nested": {"x": 1.0, "tags": ["q", "s"], "only_s": 9},
    "rows": [{"id": 2}, {"id": 3}],
    "extra": None,
}


#: Per strategy: the merged `a`, `flag`, `nested.tags` and `rows`.
MERGED: dict[str, tuple[Any, ...]] = {
    "primary_wins": (1, True, ["p", "q"], [{"id": 1}, {"id": 2}]),
    "shadow_wins": (2, 1, ["q", "s"], [{"id": 2}, {"id": 3}]),
    "merge": (1, True, ["p", "q", "s"], [{"id": 1}, {"id": 2}, {"id": 3}]),
}


@pytest.mark.parametrize("strategy", MERGED)
def test_each_merge_strategy(strategy: str) -> None:
    a, flag, tags, rows = MERGED[strategy]
    nested = {"x": 1, "tags": tags, "only_p": 0, "only_s": 9}
    expected = {"a": a, "flag": flag, "nested": nested, "rows": rows, "extra": None}
    before = copy.deepcopy((PRIMARY, SHADOW))
    merged = merge_context(PRIMARY, SHADOW, strategy)
    assert merged == expected
    assert type(merged["flag"]) is type(expected["flag"])  # true is not 1 in JSON
    assert before == (PRIMARY, SHADOW)
    merged["nested"]["tags"].append("mutated")
    merged["rows"][0]["id"] = 99
    assert before == (PRIMARY, SHADOW)  # the result shares nothing with the inputs


def test_a_callable_strategy_decides_each_conflict_by_path() -> None:
    seen: list[tuple[Any, ...]] = []

    def decide(path: tuple[str, ...], mine: Any, theirs: Any) -> Any:
        seen.append((path, mine, theirs))
        if path == ("a",):
            return mine + theirs
        return DROP if path == ("flag",) else theirs

    merged = merge_context(PRIMARY, SHADOW, decide)
    assert sorted(seen, key=repr) == sorted(
        [
            (("a",), 1, 2),
            (("flag",), True, 1),
            (("nested", "tags"), ["p", "q"], ["q", "s"]),
            (("rows",), [{"id": 1}, {"id": 2}], [{"id": 2}, {"id": 3}]),
        ],
        key=repr,
    )
    assert merged["a"] == 3 and "flag" not in merged and merged["rows"] == [{"id": 2}, {"id": 3}]
    assert merge_context({"k": {"x": 1}}, {"k": 5}, lambda p, m, t: [p, m, t]) == {
        "k": [("k",), {"x": 1}, 5]
    }


def test_a_bad_strategy_is_a_config_error_naming_it_and_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        merge_context({}, {}, "newest_wins")
    assert "'newest_wins'" in str(caught.value)
    assert all(name in str(caught.value) for name in STRATEGIES)
    with pytest.raises(TypeError, match="must be a mapping"):
        merge_context([], {})  # type: ignore[arg-type]


def test_merge_results_merges_two_runs_vars_and_node_outputs() -> None:
    fixture = load_fixture(FIXTURES / "conversation_sequence.yaml")
    case = fixture.cases[0]
    graph, journey = (
        adapter().run_case(fixture.registry, case.inputs, case.conversation)
        for adapter in (GraphAdapter, JourneyAdapter)
    )
    merged = merge_results(graph, journey, "merge")
    assert merged == {"vars": graph.vars, "nodes": graph.node_outputs}
    seen: list[tuple[str, ...]] = []
    other = graph.model_copy(update={"vars": {**graph.vars, "extra": [1]}})
    merge_results(graph, other, lambda p, m, t: seen.append(p))
    assert merge_results(graph, other)["vars"]["extra"] == [1] and not seen
