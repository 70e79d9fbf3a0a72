"""Levels, canonical order, ancestry, order keys and happens-before (docs/semantics.md §3)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    condition,
    end,
    linear,
    loop_for,
    node,
    parallel_count,
    router,
    start,
    tool,
    transform,
    valid,
    workflow,
)

from engines.model import Topology, ValidatedWorkflow
from engines.model.races import dominance

# --------------------------------------------------------------------------- helpers


def topo(doc: dict[str, Any]) -> Topology:
    return valid(doc).topology


def nested() -> ValidatedWorkflow:
    """pre -> P(parallel) -> post at top; P's body: ps -> L(loop) -> pz;
    L's body: ls -> y -> z. A sibling branch `side` runs beside P."""
    return valid(
        workflow(
            [
                start(),
                transform("pre"),
                parallel_count("P"),
                transform("side"),
                transform("post"),
                start("ps", parent="P"),
                loop_for("L", parent="P"),
                transform("pz", parent="P"),
                start("ls", parent="L"),
                transform("y", parent="L"),
                transform("z", parent="L"),
            ],
            [
                "start -> pre",
                "pre -> P",
                "P -> post",
                "start -> side",
                "ps -> L",
                "L -> pz",
                "ls -> y",
                "y -> z",
            ],
        )
    )


# --------------------------------------------------------------------------- canonical order


def test_canonical_order_breaks_ties_by_declaration_order() -> None:
    doc = workflow(
        [start(), transform("c"), transform("b"), transform("a")],
        ["start -> a", "start -> b", "start -> c"],
    )
    assert topo(doc).levels[None].nodes == ("start", "c", "b", "a")


def test_canonical_order_is_topological_whatever_the_declaration_order() -> None:
    doc = workflow(
        [end(), transform("b"), transform("a"), start()], ["start -> a", "a -> b", "b -> end"]
    )
    assert topo(doc).levels[None].nodes == ("start", "a", "b", "end")


def test_canonical_order_picks_the_earliest_declared_ready_node() -> None:
    # After start, a and b are ready: b is declared first. Once b is done, d (declared
    # before a) is ready too and wins the tie against a.
    doc = workflow(
        [start(), transform("d"), transform("b"), transform("a")],
        ["start -> b", "b -> d", "start -> a"],
    )
    assert topo(doc).levels[None].nodes == ("start", "b", "d", "a")


def test_canonical_order_of_a_diamond() -> None:
    doc = workflow(
        [start(), transform("join"), transform("right"), transform("left")],
        ["start -> left", "start -> right", "left -> join", "right -> join"],
    )
    assert topo(doc).levels[None].nodes == ("start", "right", "left", "join")


def test_canonical_order_with_parallel_edges_through_two_handles() -> None:
    doc = workflow(
        [start(), condition("c"), end()], ["start -> c", "c[true] -> end", "c[false] -> end"]
    )
    assert topo(doc).levels[None].nodes == ("start", "c", "end")


def test_index_is_the_position_in_the_level() -> None:
    t = nested().topology
    for level in t.levels.values():
        assert [t.index[n] for n in level.nodes] == list(range(len(level.nodes)))
    assert t.levels[None].nodes == ("start", "pre", "P", "side", "post")
    assert t.levels["P"].nodes == ("ps", "L", "pz")
    assert t.levels["L"].nodes == ("ls", "y", "z")


def test_level_of_and_enclosing() -> None:
    t = nested().topology
    assert t.level_of["pre"] is None
    assert t.level_of["L"] == "P"
    assert t.level_of["y"] == "L"
    assert t.enclosing("y") == ("L", "P")
    assert t.enclosing("L") == ("P",)
    assert t.enclosing("pre") == ()
    assert t.level("y").container == "L"
    assert t.body("P").start == "ps"


def test_iter_nodes_goes_level_by_level_in_canonical_order() -> None:
    t = nested().topology
    seen = list(t.iter_nodes())
    assert sorted(seen) == sorted(
        ["start", "pre", "P", "side", "post", "ps", "L", "pz", "ls", "y", "z"]
    )
    assert seen[:5] == ["start", "pre", "P", "side", "post"]
    for level in t.levels.values():
        positions = [seen.index(n) for n in level.nodes]
        assert positions == sorted(positions)


def test_levels_hold_only_reachable_nodes_and_edges() -> None:
    doc = workflow(
        [start(), transform("a"), transform("lost"), end()],
        ["start -> a", "a -> end", "lost -> end"],
    )
    level = topo(doc).levels[None]
    assert level.nodes == ("start", "a", "end")
    assert level.unreachable == ("lost",)
    assert [e.source for e in level.incoming["end"]] == ["a"]
    assert "lost" not in level.outgoing
    assert level.start == "start"


# --------------------------------------------------------------------------- exits


def test_top_level_has_no_exit() -> None:
    assert topo(linear(start(), transform("a"))).levels[None].exit is None


def test_body_exit_nodes() -> None:
    t = nested().topology
    assert t.levels["P"].exit == "pz"
    assert t.levels["L"].exit == "z"


def test_body_exit_ignores_fail_nodes() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            tool("t", parent="L"),
            node("f", "fail", code="X", parent="L"),
            transform("ok", parent="L"),
        ],
        ["start -> L", "ls -> t", "t[error] -> f", "t -> ok"],
    )
    assert topo(doc).levels["L"].exit == "ok"


def test_body_made_of_a_start_only_exits_at_the_start() -> None:
    doc = workflow([start(), loop_for("L"), start("ls", parent="L")], ["start -> L"])
    assert topo(doc).levels["L"].exit == "ls"


# --------------------------------------------------------------------------- ancestry


def test_ancestors_in_own_level_in_canonical_order() -> None:
    doc = workflow(
        [start(), transform("b"), transform("a"), transform("c"), transform("d")],
        ["start -> a", "start -> b", "a -> c", "b -> c", "start -> d"],
    )
    t = topo(doc)
    assert t.ancestors("c") == ("start", "b", "a")
    assert t.ancestors("start") == ()
    assert t.ancestors("d") == ("start",)


def test_descendants_in_own_level() -> None:
    doc = workflow(
        [start(), transform("a"), transform("b"), transform("c"), transform("d")],
        ["start -> a", "a -> b", "a -> c", "start -> d"],
    )
    t = topo(doc)
    assert t.descendants("a") == ("b", "c")
    assert t.descendants("start") == ("a", "b", "c", "d")
    assert t.descendants("d") == ()


def test_descendants_stay_in_their_level() -> None:
    t = nested().topology
    assert t.descendants("pre") == ("P", "post")
    assert t.descendants("ps") == ("L", "pz")
    assert t.descendants("ls") == ("y", "z")


def test_is_ancestor_within_a_level() -> None:
    t = nested().topology
    assert t.is_ancestor("start", "post")
    assert t.is_ancestor("pre", "post")
    assert not t.is_ancestor("post", "pre")
    assert not t.is_ancestor("side", "post")
    assert not t.is_ancestor("pre", "pre")
    assert t.is_ancestor("y", "z")
    assert not t.is_ancestor("z", "y")


def test_is_ancestor_across_container_levels() -> None:
    t = nested().topology
    # An ancestor of an enclosing container is an ancestor of every node inside it.
    assert t.is_ancestor("pre", "y")
    assert t.is_ancestor("start", "z")
    assert t.is_ancestor("ps", "y")
    assert t.is_ancestor("ps", "L")
    # Not across branches or downstream.
    assert not t.is_ancestor("side", "y")
    assert not t.is_ancestor("post", "y")
    assert not t.is_ancestor("pz", "y")


def test_container_is_not_an_ancestor_of_its_body() -> None:
    t = nested().topology
    assert not t.is_ancestor("P", "ps")
    assert not t.is_ancestor("P", "y")
    assert not t.is_ancestor("L", "y")


def test_body_nodes_are_not_ancestors_of_outer_nodes() -> None:
    t = nested().topology
    assert not t.is_ancestor("y", "post")
    assert not t.is_ancestor("y", "pz")
    assert not t.is_ancestor("ps", "post")


def test_is_ancestor_of_an_unreachable_node_is_false() -> None:
    doc = workflow([start(), transform("a"), transform("lost")], ["start -> a"])
    assert not topo(doc).is_ancestor("lost", "a")


def test_ancestors_through_exclusive_branches() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("b"), transform("j")],
        ["start -> c", "c[true] -> a", "c[false] -> b", "a -> j", "b -> j"],
    )
    t = topo(doc)
    assert t.ancestors("j") == ("start", "c", "a", "b")
    assert not t.is_ancestor("a", "b")


# --------------------------------------------------------------------------- order keys


def test_order_key_at_top_level() -> None:
    t = nested().topology
    assert t.order_key("start") == (0,)
    assert t.order_key("post") == (4,)


def test_order_key_inside_bodies() -> None:
    t = nested().topology
    # P is index 2 at top; L is index 1 in P's body; y is index 1 in L's body.
    assert t.order_key("y", (("P", 3), ("L", 7))) == (2, 3, 1, 7, 1)
    assert t.order_key("pz", (("P", 0),)) == (2, 0, 2)


def test_order_keys_sort_iterations_before_later_nodes() -> None:
    t = nested().topology
    keys = [
        t.order_key("post"),
        t.order_key("z", (("P", 1), ("L", 0))),
        t.order_key("y", (("P", 0), ("L", 1))),
        t.order_key("y", (("P", 0), ("L", 0))),
        t.order_key("pre"),
        t.order_key("side"),
    ]
    assert sorted(keys) == [
        t.order_key("pre"),
        t.order_key("y", (("P", 0), ("L", 0))),
        t.order_key("y", (("P", 0), ("L", 1))),
        t.order_key("z", (("P", 1), ("L", 0))),
        t.order_key("side"),
        t.order_key("post"),
    ]


# --------------------------------------------------------------------------- happens-before

Path = tuple[tuple[str, int], ...]


def hb(t: Topology, first: tuple[str, Path], second: tuple[str, Path]) -> bool:
    return t.happens_before(first, second)


def test_happens_before_follows_ancestry_at_top_level() -> None:
    t = nested().topology
    assert hb(t, ("pre", ()), ("post", ()))
    assert not hb(t, ("post", ()), ("pre", ()))
    assert not hb(t, ("side", ()), ("post", ()))
    assert not hb(t, ("post", ()), ("side", ()))


def test_an_execution_does_not_happen_before_itself() -> None:
    t = nested().topology
    assert not hb(t, ("pre", ()), ("pre", ()))
    y = ("y", (("P", 0), ("L", 0)))
    assert not hb(t, y, y)


def test_happens_before_into_and_out_of_bodies() -> None:
    t = nested().topology
    y = ("y", (("P", 1), ("L", 2)))
    assert hb(t, ("pre", ()), y)
    assert hb(t, y, ("post", ()))
    assert not hb(t, y, ("pre", ()))
    assert not hb(t, ("side", ()), y)
    assert not hb(t, y, ("side", ()))


def test_happens_before_in_the_same_iteration() -> None:
    t = nested().topology
    path: Path = (("P", 0), ("L", 0))
    assert hb(t, ("y", path), ("z", path))
    assert not hb(t, ("z", path), ("y", path))
    assert hb(t, ("ls", path), ("z", path))


def test_loop_iterations_happen_in_order() -> None:
    t = nested().topology
    early = ("z", (("P", 0), ("L", 0)))
    late = ("y", (("P", 0), ("L", 1)))
    # z precedes y's *next* iteration even though y is z's ancestor inside an iteration.
    assert hb(t, early, late)
    assert not hb(t, late, early)


def test_parallel_branches_never_happen_before_one_another() -> None:
    t = nested().topology
    a = ("y", (("P", 0), ("L", 0)))
    b = ("z", (("P", 1), ("L", 5)))
    assert not hb(t, a, b)
    assert not hb(t, b, a)
    assert not hb(t, ("ps", (("P", 0),)), ("pz", (("P", 1),)))


def test_parallel_branch_orders_its_own_body() -> None:
    t = nested().topology
    assert hb(t, ("ps", (("P", 1),)), ("pz", (("P", 1),)))
    assert hb(t, ("y", (("P", 1), ("L", 0))), ("pz", (("P", 1),)))
    assert not hb(t, ("pz", (("P", 1),)), ("y", (("P", 1), ("L", 0))))


def test_container_and_its_body_are_not_ordered() -> None:
    t = nested().topology
    body = ("ps", (("P", 0),))
    assert not hb(t, ("P", ()), body)
    assert not hb(t, body, ("P", ()))
    assert not hb(t, ("L", (("P", 0),)), ("y", (("P", 0), ("L", 0))))
    assert not hb(t, ("y", (("P", 0), ("L", 0))), ("L", (("P", 0),)))


def test_nested_loop_in_loop_iterations() -> None:
    doc = workflow(
        [
            start(),
            loop_for("O"),
            start("os", parent="O"),
            loop_for("I", parent="O"),
            start("is", parent="I"),
            transform("w", parent="I"),
        ],
        ["start -> O", "os -> I", "is -> w"],
    )
    t = topo(doc)
    assert hb(t, ("w", (("O", 0), ("I", 5))), ("w", (("O", 1), ("I", 0))))
    assert hb(t, ("w", (("O", 1), ("I", 0))), ("w", (("O", 1), ("I", 1))))
    assert not hb(t, ("w", (("O", 1), ("I", 1))), ("w", (("O", 1), ("I", 0))))
    assert hb(t, ("os", (("O", 0),)), ("w", (("O", 0), ("I", 3))))


# --------------------------------------------------------------------------- exclusivity


def _dominance(doc: dict[str, Any], container: str | None = None) -> dict[str, dict[str, int]]:
    validated = valid(doc)
    return dominance(validated.workflow, validated.topology.levels[container])


def test_condition_branches_are_dominated_by_different_groups() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("a2"), transform("b"), transform("j")],
        ["start -> c", "c[true] -> a", "a -> a2", "c[false] -> b", "a2 -> j", "b -> j"],
    )
    dom = _dominance(doc)
    assert dom["a"]["c"] != dom["b"]["c"]
    assert dom["a2"]["c"] == dom["a"]["c"]
    assert "c" not in dom.get("j", {})
    assert "c" not in dom.get("c", {})


def test_node_reachable_around_the_choice_is_not_dominated() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("b")],
        ["start -> c", "c[true] -> a", "c[false] -> b", "start -> b"],
    )
    dom = _dominance(doc)
    assert "c" in dom["a"]
    assert "c" not in dom.get("b", {})


def test_router_routes_dominate_separately_without_all_matching() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"]), transform("a"), transform("b"), transform("d")],
        ["start -> r", "r[p] -> a", "r[q] -> b", "r[default] -> d"],
    )
    dom = _dominance(doc)
    assert len({dom["a"]["r"], dom["b"]["r"], dom["d"]["r"]}) == 3


def test_router_routes_share_a_group_with_all_matching() -> None:
    doc = workflow(
        [
            start(),
            router("r", ["p", "q"], all_matching=True),
            transform("a"),
            transform("b"),
            transform("d"),
        ],
        ["start -> r", "r[p] -> a", "r[q] -> b", "r[default] -> d"],
    )
    dom = _dominance(doc)
    assert dom["a"]["r"] == dom["b"]["r"]
    assert dom["d"]["r"] != dom["a"]["r"]


def test_error_port_is_its_own_group() -> None:
    doc = workflow(
        [start(), tool("t"), transform("ok"), transform("bad")],
        ["start -> t", "t -> ok", "t[error] -> bad"],
    )
    dom = _dominance(doc)
    assert dom["ok"]["t"] != dom["bad"]["t"]


def test_single_group_choice_dominates_nothing() -> None:
    doc = workflow([start(), condition("c"), transform("a")], ["start -> c", "c[true] -> a"])
    dom = _dominance(doc)
    assert "c" not in dom.get("a", {})


def test_dominance_inside_a_body() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            condition("c", parent="L"),
            transform("a", parent="L"),
            transform("b", parent="L"),
            transform("j", parent="L"),
        ],
        ["start -> L", "ls -> c", "c[true] -> a", "c[false] -> b", "a -> j", "b -> j"],
    )
    dom = _dominance(doc, "L")
    assert dom["a"]["c"] != dom["b"]["c"]
    assert "c" not in dom.get("j", {})


def test_nested_choices_dominate_together() -> None:
    doc = workflow(
        [start(), condition("c1"), condition("c2"), transform("a"), transform("b"), transform("d")],
        ["start -> c1", "c1[true] -> c2", "c2[true] -> a", "c2[false] -> b", "c1[false] -> d"],
    )
    dom = _dominance(doc)
    assert set(dom["a"]) == {"c1", "c2"}
    assert dom["a"]["c1"] == dom["b"]["c1"] != dom["d"]["c1"]
    assert dom["a"]["c2"] != dom["b"]["c2"]


@pytest.mark.parametrize("handle", ["true", "false"])
def test_error_branch_excludes_both_condition_outcomes(handle: str) -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("e")],
        ["start -> c", f"c[{handle}] -> a", "c[error] -> e"],
    )
    dom = _dominance(doc)
    assert dom["a"]["c"] != dom["e"]["c"]
