"""The outputs and context dimensions (compat/compare/values.py): deep comparison of values
under tolerances, the score as the share of matching leaves, and the guard on huge values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compat.compare import compare_runs
from compat.compare.model import DimensionResult, Severity
from compat.compare.values import compare_values
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.tolerances import Tolerances
from engines.documents import load_fixture
from engines.result import RunResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def outputs(primary: Any, shadow: Any, **tolerances: Any) -> DimensionResult:
    """The outputs dimension of two output mappings under these tolerances."""
    return compare_values(
        "outputs",
        primary,
        shadow,
        Tolerances(**tolerances),
        root="outputs",
        severity=Severity.HIGH,
        weight=0.25,
    )


def by_path(result: DimensionResult) -> dict[str, Any]:
    return {d.path: d for d in result.differences}


def engine_run(**fields: Any) -> EngineRun:
    result = RunResult(engine="hand", workflow_id="wf", status="completed", **fields)
    return EngineRun(engine="hand", status="completed", result=result)


# --------------------------------------------------------------------------- basics


def test_equal_values_score_one_without_differences() -> None:
    value = {"total": 12.5, "items": [{"id": 1, "tags": ["a", "b"]}], "meta": {}, "none": None}
    result = outputs(value, {**value})
    assert result.score == 1.0
    assert result.differences == ()
    assert result.name == "outputs" and result.weight == 0.25


def test_a_changed_leaf_names_its_path_values_and_severity() -> None:
    result = outputs({"total": 10, "n": 1}, {"total": 11, "n": 1})
    [diff] = result.differences
    assert diff.path == "outputs.total"
    assert (diff.primary, diff.shadow) == (10, 11)
    assert diff.kind == "value_changed"
    assert diff.severity is Severity.HIGH
    assert diff.dimension == "outputs"
    assert "10" in diff.note and "11" in diff.note
    assert result.score == pytest.approx(0.5)


def test_nested_paths_use_dots_for_keys_and_brackets_for_indexes_and_odd_keys() -> None:
    result = outputs(
        {"rows": [{"v": 1}, {"v": 2}], "odd key": 1}, {"rows": [{"v": 1}, {"v": 3}], "odd key": 2}
    )
    assert set(by_path(result)) == {"outputs.rows[1].v", 'outputs["odd key"]'}


def test_added_and_removed_keys() -> None:
    result = outputs({"a": 1, "gone": 2}, {"a": 1, "new": {"x": 1}})
    diffs = by_path(result)
    assert diffs["outputs.gone"].kind == "removed"
    assert (diffs["outputs.gone"].primary, diffs["outputs.gone"].shadow) == (2, None)
    assert diffs["outputs.new"].kind == "added"
    assert (diffs["outputs.new"].primary, diffs["outputs.new"].shadow) == (None, {"x": 1})
    assert "only in the shadow" in diffs["outputs.new"].note
    assert "only in the primary" in diffs["outputs.gone"].note


def test_type_change_int_versus_str() -> None:
    [diff] = outputs({"n": 2}, {"n": "2"}).differences
    assert (diff.path, diff.kind, diff.primary, diff.shadow) == (
        "outputs.n",
        "type_changed",
        2,
        "2",
    )


def test_int_and_float_differ_unless_strict_numeric_types_is_off() -> None:
    """JSON types are part of the result: a shared-code regression that turns an integer
    into a float must show. A tolerance relaxes it for engines that do not care."""
    primary, shadow = {"n": 2, "xs": [1, 2, 3]}, {"n": 2.0, "xs": [1.0, 2, 3]}
    strict = outputs(primary, shadow)
    assert {d.path: d.kind for d in strict.differences} == {
        "outputs.n": "type_changed",
        "outputs.xs[0]": "type_changed",
    }
    assert strict.score == pytest.approx(1 - 2 / 4)
    assert outputs(primary, shadow, strict_numeric_types=False).differences == ()


def test_strict_numeric_types_also_sees_type_changes_within_tolerance() -> None:
    result = outputs({"n": 2}, {"n": 2.0000001}, abs_tol=1e-3)
    assert [d.kind for d in result.differences] == ["type_changed"]
    loose = outputs({"n": 2}, {"n": 2.0000001}, abs_tol=1e-3, strict_numeric_types=False)
    assert loose.differences == ()
    # A value out of tolerance is a changed value, whatever the types.
    assert [d.kind for d in outputs({"n": 2}, {"n": 2.5}).differences] == ["value_changed"]


def test_booleans_are_not_numbers() -> None:
    """Python says True == 1; JSON does not."""
    result = outputs({"ok": True, "flags": [False, 1]}, {"ok": 1, "flags": [0, True]})
    assert {d.path: d.kind for d in result.differences} == {
        "outputs.ok": "type_changed",
        "outputs.flags[0]": "type_changed",
        "outputs.flags[1]": "type_changed",
    }
    assert result.score == 0.0
    assert outputs({"ok": True}, {"ok": True}).differences == ()


def test_empty_dict_versus_empty_list_differs() -> None:
    [diff] = outputs({"x": {}}, {"x": []}).differences
    assert diff.kind == "type_changed"


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("primary", "shadow", "equal"),
    [
        (1.0, 1.5, True),  # exactly abs_tol apart
        (1.0, 1.5000001, False),
        (-1.0, -0.5, True),
        (0.0, -0.5, True),
        (0.0, 0.5000001, False),
    ],
)
def test_abs_tol_boundary(primary: float, shadow: float, equal: bool) -> None:
    result = outputs({"x": primary}, {"x": shadow}, abs_tol=0.5)
    assert (result.differences == ()) is equal


@pytest.mark.parametrize(
    ("primary", "shadow", "equal"),
    [
        (4.0, 3.0, True),  # |4 - 3| = 1 = 0.25 * max(|4|, |3|)
        (3.0, 4.0, True),  # symmetric: the larger magnitude decides
        (4.0, 2.9, False),
        (-4.0, -3.0, True),
        (400.0, 300.0, True),
        (400.0, 299.0, False),
    ],
)
def test_rel_tol_boundary(primary: float, shadow: float, equal: bool) -> None:
    result = outputs({"x": primary}, {"x": shadow}, rel_tol=0.25)
    assert (result.differences == ()) is equal


def test_without_tolerance_a_tiny_difference_counts() -> None:
    [diff] = outputs({"x": 0.1 + 0.2}, {"x": 0.3}).differences
    assert diff.kind == "value_changed"
    assert outputs({"x": 0.1 + 0.2}, {"x": 0.3}, abs_tol=1e-9).differences == ()


def test_there_is_no_hidden_tolerance() -> None:
    """deepdiff rounds numbers to 12 decimals under ignore_numeric_type_changes; compat does
    not, also when another leaf differs."""
    result = outputs({"p": 1e-13, "q": 1.0, "n": 1}, {"p": 5e-13, "q": 1.0000000000001, "n": 2})
    assert {d.path for d in result.differences} == {"outputs.p", "outputs.q", "outputs.n"}
    assert outputs({"xs": [1, 2]}, {"xs": [1.5, 2]}).differences[0].kind == "value_changed"


def test_tolerance_applies_to_numbers_nested_in_lists_and_dicts() -> None:
    primary = {"m": [[1.0, {"y": 2.0}], [3.0]]}
    assert outputs(primary, {"m": [[1.4, {"y": 2.5}], [2.5]]}, abs_tol=0.5).differences == ()
    result = outputs(primary, {"m": [[1.4, {"y": 2.6}], [2.5]]}, abs_tol=0.5)
    [diff] = result.differences
    assert diff.path == "outputs.m[0][1].y"
    assert (diff.primary, diff.shadow) == (2.0, 2.6)


def test_tolerance_inside_unordered_list_the_deepdiff_ignore_order_trap() -> None:
    """deepdiff ignores math_epsilon under ignore_order; compat sorts instead."""
    primary, shadow = {"xs": [1.0, 2.0]}, {"xs": [2.0000001, 1.0]}
    assert outputs(primary, shadow, abs_tol=1e-6, unordered_paths=["outputs.xs"]).score == 1.0
    assert outputs(primary, shadow, abs_tol=1e-6).differences != ()  # order matters by default
    assert outputs(primary, shadow, unordered_paths=["outputs.xs"]).differences != ()


def test_unordered_lists_of_dicts_sort_numbers_by_value() -> None:
    """1 and 1.0 (or 9.9999999 and 10.0000001) must sort to the same place."""
    assert (
        outputs(
            {"r": [{"v": 1}, {"v": 1.5}]},
            {"r": [{"v": 1.5}, {"v": 1.0}]},
            unordered_paths=["outputs.r"],
            strict_numeric_types=False,
        ).differences
        == ()
    )
    assert (
        outputs(
            {"r": [{"v": 9.9999999}, {"v": 10.5}]},
            {"r": [{"v": 10.5}, {"v": 10.0000001}]},
            abs_tol=1e-6,
            unordered_paths=["outputs.r"],
        ).differences
        == ()
    )


def test_unordered_lists_are_multisets_not_sets() -> None:
    assert outputs({"xs": [3, 1, 2]}, {"xs": [1, 2, 3]}, unordered_paths=["outputs.xs"]).score == 1
    result = outputs({"xs": [1, 2, 2]}, {"xs": [2, 1, 1]}, unordered_paths=["outputs.xs"])
    assert result.differences != ()
    assert result.score < 1


def test_unordered_lists_of_dicts_and_nested_globs() -> None:
    primary = {"rows": [{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": ["z"]}]}
    shadow = {"rows": [{"id": 2, "tags": ["z"]}, {"id": 1, "tags": ["y", "x"]}]}
    # Only the outer list unordered: the tags of row 1 are still out of order.
    outer = outputs(primary, shadow, unordered_paths=["outputs.rows"])
    assert {d.path for d in outer.differences} == {
        "outputs.rows[0].tags[0]",
        "outputs.rows[0].tags[1]",
    }
    both = outputs(primary, shadow, unordered_paths=["outputs.rows", "outputs.rows[*].tags"])
    assert both.differences == ()
    assert outputs(primary, shadow, unordered_paths=["**.rows", "**.tags"]).differences == ()


# --------------------------------------------------------------------------- paths and strings


def test_ignore_paths_star_is_one_key() -> None:
    primary = {"a": {"at": 1, "deep": {"at": 1}}, "b": {"at": 1}}
    shadow = {"a": {"at": 2, "deep": {"at": 2}}, "b": {"at": 2}}
    result = outputs(primary, shadow, ignore_paths=["outputs.*.at"])
    assert {d.path for d in result.differences} == {"outputs.a.deep.at"}


def test_ignore_paths_double_star_is_any_depth_across_indexes() -> None:
    primary = {"at": 1, "items": [{"at": 1, "v": 1}], "x": {"y": [[{"at": 1}]]}}
    shadow = {"at": 2, "items": [{"at": 2, "v": 1}], "x": {"y": [[{"at": 2}]]}}
    assert outputs(primary, shadow, ignore_paths=["**.at"]).score == 1.0
    assert outputs(primary, shadow, ignore_paths=["outputs.**.at"]).score == 1.0
    # A key that merely ends like the pattern is not ignored.
    [diff] = outputs({"my_at": 1}, {"my_at": 2}, ignore_paths=["**.at"]).differences
    assert diff.path == "outputs.my_at"


def test_ignore_paths_index_wildcard() -> None:
    primary = {"items": [{"id": "a", "v": 1}, {"id": "b", "v": 2}]}
    shadow = {"items": [{"id": "x", "v": 1}, {"id": "y", "v": 3}]}
    result = outputs(primary, shadow, ignore_paths=["outputs.items[*].id"])
    assert [d.path for d in result.differences] == ["outputs.items[1].v"]
    # Ignored leaves leave the score too: 2 leaves remain, one differs.
    assert result.score == pytest.approx(0.5)


def test_ignore_paths_regex() -> None:
    primary = {"id_1": 1, "id_22": 1, "id_x": 1, "created_at": 1}
    shadow = {"id_1": 2, "id_22": 2, "id_x": 2, "created_at": 2}
    result = outputs(primary, shadow, ignore_paths=[r"re:^outputs\.id_\d+$", "re:_at$"])
    assert [d.path for d in result.differences] == ["outputs.id_x"]


def test_an_ignored_subtree_on_one_side_only_is_no_difference() -> None:
    result = outputs({"a": 1, "debug": {"t": 1}}, {"a": 1}, ignore_paths=["outputs.debug"])
    assert result.differences == () and result.score == 1.0


def test_ignore_case_and_normalize_whitespace() -> None:
    primary, shadow = {"s": ["Hello  World\n"]}, {"s": ["hello world"]}
    assert outputs(primary, shadow).differences != ()
    assert outputs(primary, shadow, ignore_case=True).differences != ()
    assert outputs(primary, shadow, normalize_whitespace=True).differences != ()
    both = outputs(primary, shadow, ignore_case=True, normalize_whitespace=True)
    assert both.differences == ()
    assert outputs({"s": "a \t\n b"}, {"s": "a b"}, normalize_whitespace=True).score == 1
    assert outputs({"s": "STRASSE"}, {"s": "straße"}, ignore_case=True).score == 1  # casefold


# --------------------------------------------------------------------------- score


def test_score_is_the_share_of_matching_leaves() -> None:
    primary = {"a": 1, "b": {"c": 2, "d": [3, 4]}, "e": {}}
    shadow = {"a": 1, "b": {"c": 9, "d": [3, 4]}, "e": {}, "f": {"g": 1, "h": 2}}
    # Leaves: a, b.c, b.d[0], b.d[1], e (an empty dict is a leaf), f.g, f.h = 7;
    # differing: b.c and the two leaves of the added f.
    result = outputs(primary, shadow)
    assert result.score == pytest.approx(1 - 3 / 7)
    assert {d.path for d in result.differences} == {"outputs.b.c", "outputs.f"}


def test_a_scalar_turned_list_counts_every_leaf_under_it() -> None:
    result = outputs({"a": 1, "k": 0}, {"a": [1, 2], "k": 0})
    # Leaves: a, a[0], a[1], k; all but k differ.
    assert result.score == pytest.approx(1 / 4)


def test_an_item_inserted_into_a_list_is_one_difference() -> None:
    result = outputs({"xs": [1, 2, 3]}, {"xs": [0, 1, 2, 3]})
    [diff] = result.differences
    assert (diff.path, diff.kind, diff.shadow) == ("outputs.xs[0]", "added", 0)
    assert result.score == pytest.approx(3 / 4)


def test_empty_values_on_both_sides_score_one() -> None:
    assert outputs({}, {}).score == 1.0
    assert outputs({"a": {}, "b": []}, {"a": {}, "b": []}).score == 1.0


def test_an_empty_container_against_content_matches_nothing() -> None:
    assert outputs({}, {"a": 1}).score == 0.0
    assert outputs({"a": {}}, {"a": {"x": 1}}).score == 0.0
    assert outputs({"xs": [1, 2]}, {"xs": []}).score == 0.0
    assert outputs({"xs": [], "k": 1}, {"xs": [1], "k": 1}).score == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- huge values


def test_max_diffs_guards_a_huge_output_that_differs_everywhere() -> None:
    n = 20_000
    primary, shadow = {"xs": list(range(n))}, {"xs": [i + 0.5 for i in range(n)]}
    result = outputs(primary, shadow, max_diffs=100)
    assert len(result.differences) == 100
    assert result.score == 0.0  # every leaf differs, reported or not
    assert all(d.kind == "value_changed" for d in result.differences)
    default = outputs(primary, shadow)
    assert len(default.differences) == Tolerances().max_diffs
    assert default.score == 0.0


def test_huge_unordered_lists_of_strings_are_guarded_too() -> None:
    n = 20_000
    result = outputs(
        {"xs": [str(i) for i in range(n)]},
        {"xs": [f"-{i}" for i in range(n)]},
        max_diffs=50,
        unordered_paths=["outputs.xs"],
    )
    assert len(result.differences) == 50
    assert result.score == 0.0


def test_a_single_difference_deep_in_a_large_output_is_found() -> None:
    """deepdiff's max_diffs caps the nodes it visits and drops the rest silently."""
    primary = {"rows": [{"id": i, "v": i} for i in range(1500)]}
    shadow = {"rows": [{"id": i, "v": i if i < 1499 else -1} for i in range(1500)]}
    result = outputs(primary, shadow)
    [diff] = result.differences
    assert (diff.path, diff.primary, diff.shadow) == ("outputs.rows[1499].v", 1499, -1)
    assert result.score == pytest.approx(1 - 1 / 3000)
    assert outputs(primary, {"rows": [dict(r) for r in primary["rows"]]}).score == 1.0


def test_a_large_mostly_equal_dict_reports_each_difference() -> None:
    primary = {f"k{i:04}": i for i in range(2500)}
    shadow = {**primary, "k0000": -1, "k2499": -1}
    result = outputs(primary, shadow)
    assert {d.path for d in result.differences} == {"outputs.k0000", "outputs.k2499"}
    assert result.score == pytest.approx(1 - 2 / 2500)


def test_the_positional_fallback_scores_like_the_detailed_comparison() -> None:
    primary = {"a": 1, "b": "x", "c": [1, 2, {"d": True}], "e": {"f": 1.0}, "gone": {"g": 1}}
    shadow = {"a": 2, "b": "x", "c": [1, 3, {"d": 1}], "e": {"f": 1}, "new": {"h": 1, "i": 2}}
    detailed = outputs(primary, shadow)
    positional = outputs(primary, shadow, max_diffs=3)  # more differences than that
    assert len(positional.differences) == 3
    assert positional.score == pytest.approx(detailed.score)
    # Leaves: a, b, c[0], c[1], c[2].d, e.f, gone.g, new.h, new.i; differing: a, c[1],
    # c[2].d (true vs 1), e.f (1.0 vs 1: JSON types), gone.g, new.h, new.i.
    assert detailed.score == pytest.approx(1 - 7 / 9)
    loose = outputs(primary, shadow, strict_numeric_types=False)
    assert loose.score == pytest.approx(1 - 6 / 9)


# --------------------------------------------------------------------------- via compare_runs


def test_outputs_are_critical_and_context_high() -> None:
    primary = engine_run(
        outputs={"total": 1}, vars={"count": 1}, node_outputs={"fetch": {"items": [1, 2]}}
    )
    shadow = engine_run(
        outputs={"total": 2}, vars={"count": 2}, node_outputs={"fetch": {"items": [9, 2]}}
    )
    comparison = compare_runs(primary, shadow, None, Tolerances())
    [out] = comparison.dimension("outputs").differences
    assert (out.path, out.severity) == ("outputs.total", Severity.CRITICAL)
    context = comparison.dimension("context")
    assert {d.path for d in context.differences} == {
        "context.vars.count",
        "context.nodes.fetch.items[0]",
    }
    # vars and node outputs are part of the contract (§9): never below high.
    assert {d.severity for d in context.differences} == {Severity.HIGH}
    assert context.score == pytest.approx(1 - 2 / 3)


def test_context_paths_can_be_ignored() -> None:
    primary = engine_run(vars={"stamp": 1, "n": 1}, node_outputs={"clock": {"now": 5}})
    shadow = engine_run(vars={"stamp": 2, "n": 1}, node_outputs={"clock": {"now": 6}})
    tol = Tolerances(ignore_paths=["context.vars.stamp", "context.nodes.*.now"])
    assert compare_runs(primary, shadow, None, tol).dimension("context").score == 1.0


def test_real_runs_of_both_engines_agree_and_a_changed_output_is_seen() -> None:
    fixture = load_fixture(FIXTURES / "parallel_modes.yaml")
    case = fixture.cases[0]
    graph = run_engine(GraphAdapter(), fixture.registry, case.inputs, case.conversation)
    journey = run_engine(JourneyAdapter(), fixture.registry, case.inputs, case.conversation)
    assert graph.result is not None and journey.result is not None
    same = compare_runs(graph, journey, fixture.workflow, Tolerances())
    assert same.dimension("outputs").score == 1.0
    assert same.dimension("context").score == 1.0

    outputs_ = journey.result.outputs
    changed = {**outputs_, "fan": {"results": [0, 1, 5]}}
    tampered = journey.model_copy(
        update={"result": journey.result.model_copy(update={"outputs": changed})}
    )
    comparison = compare_runs(graph, tampered, fixture.workflow, Tolerances())
    [diff] = comparison.dimension("outputs").differences
    assert (diff.path, diff.primary, diff.shadow) == ("outputs.fan.results[2]", 4, 5)
