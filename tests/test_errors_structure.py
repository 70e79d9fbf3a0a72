"""Graph structure gets one clear message naming the place: ids, parents, nesting cycles,
edges and handles, starts, cycles, exits; unreachable nodes are dropped with a warning;
several problems are reported together (docs/semantics.md §1-§4)."""

from __future__ import annotations

import re

import pytest
from conftest import (
    assert_words,
    chain,
    condition,
    end,
    linear,
    loop_for,
    node,
    one_problem,
    parallel_count,
    problems,
    router,
    set_,
    start,
    tool,
    transform,
    valid,
    workflow,
)

from engines.errors import WorkflowInvalid
from engines.model import validate_workflow

# --------------------------------------------------------------------------- structure


def test_missing_start() -> None:
    problem = one_problem(workflow([transform("a")]))
    assert problem.location == "nodes"
    assert_words(problem.message, "top level", "no start")


def test_two_starts() -> None:
    problem = one_problem(workflow([start("s1"), start("s2")]))
    assert problem.location == "nodes"
    assert_words(problem.message, "2 start nodes", "s1", "s2", "exactly one")


def test_two_starts_in_a_body() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("a", parent="L"), start("b", parent="L")], ["start -> L"]
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'L')"
    assert_words(problem.message, "body of loop 'L'", "a, b")


def test_duplicate_node_ids() -> None:
    problem = one_problem(workflow([start(), transform("a"), transform("a")], chain("start", "a")))
    assert problem.location.startswith("nodes[2]")
    assert_words(problem.message, "duplicate node id 'a'", "nodes[1]")


def test_edge_to_a_node_that_does_not_exist() -> None:
    problem = one_problem(workflow([start()], ["start -> ghost"]))
    assert problem.location == "edges[0] (start -> ghost)"
    assert_words(problem.message, "target 'ghost'", "not a node")


def test_edge_from_and_to_nodes_that_do_not_exist() -> None:
    problem = one_problem(workflow([start()], ["g1 -> g2"]))
    assert problem.location == "edges[0] (g1 -> g2)"
    assert_words(problem.message, "source 'g1'", "target 'g2'", "not nodes")


def test_edge_with_true_handle_out_of_a_tool_node() -> None:
    doc = workflow([start(), tool("t"), end()], ["start -> t", "t[true] -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (t [true] -> end)"
    assert_words(problem.message, "tool node 't'", "no handle 'true'", "error, out")


def test_edge_with_route_name_not_in_router() -> None:
    doc = workflow([start(), router("r", ["a", "b"]), end()], ["start -> r", "r[c] -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (r [c] -> end)"
    assert_words(problem.message, "router node 'r'", "no handle 'c'", "a, b, default, error")


def test_edge_with_out_handle_from_condition() -> None:
    doc = workflow([start(), condition("c"), end()], ["start -> c", "c -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (c -> end)"
    assert_words(problem.message, "no handle 'out'", "false, true")


def test_edge_out_of_a_fail_node_other_than_error() -> None:
    doc = workflow([start(), node("f", "fail", code="X"), end()], ["start -> f", "f -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (f -> end)"
    assert_words(problem.message, "fail node 'f'", "no handle 'out'")


def test_edge_crossing_a_container_boundary() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L"), end()],
        ["start -> L", "L -> end", "ls -> x", "start -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "edges[3] (start -> x)"
    assert_words(problem.message, "container boundary", "top level", "body of loop 'L'")


def test_edge_into_start() -> None:
    problem = one_problem(workflow([start(), transform("a")], ["start -> a", "a -> start"]))
    assert problem.location == "edges[1] (a -> start)"
    assert_words(problem.message, "start", "no incoming edges")


def test_edge_out_of_end() -> None:
    doc = workflow([start(), end(), transform("a")], ["start -> end", "end -> a"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (end -> a)"
    assert_words(problem.message, "end", "no outgoing edges")


def test_duplicate_edge() -> None:
    problem = one_problem(workflow([start(), end()], ["start -> end", "start -> end"]))
    assert problem.location == "edges[1] (start -> end)"
    assert_words(problem.message, "duplicates edges[0]")


def test_same_nodes_through_different_handles_is_not_a_duplicate() -> None:
    doc = workflow(
        [start(), condition("c"), end()], ["start -> c", "c[true] -> end", "c[false] -> end"]
    )
    valid(doc)


def test_cycle_outside_a_loop_names_the_cycle() -> None:
    doc = workflow(
        [start(), transform("a"), transform("b"), transform("c"), transform("d")],
        ["start -> a", "a -> b", "b -> c", "c -> a", "c -> d"],
    )
    problem = one_problem(doc)
    assert_words(problem.message, "cycle")
    cycle = re.search(r"cycle[^:]*: ([\w >-]+)", problem.message)
    assert cycle is not None, problem.message
    members = [part.strip() for part in cycle.group(1).split("->")]
    assert set(members) == {"a", "b", "c"}
    assert members[0] == members[-1]
    assert "d" not in members and "start" not in members


def test_self_loop_is_a_cycle() -> None:
    problem = one_problem(workflow([start(), transform("a")], ["start -> a", "a -> a"]))
    assert_words(problem.message, "cycle", "a -> a")


def test_cycle_inside_a_body_names_the_body() -> None:
    """A cycle inside a loop's body must say which level it is in: 'cycle outside a loop'
    at location `edges` is misleading there (it *is* inside a loop)."""
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("y", parent="L"),
        ],
        ["start -> L", "ls -> x", "x -> y", "y -> x"],
    )
    problem = one_problem(doc)
    assert_words(problem.message, "cycle", "x", "y")
    assert "'L'" in str(problem) or "nodes[1]" in problem.location, str(problem)


def test_container_nesting_cycle_is_one_problem() -> None:
    """Two containers that are each other's parent are one mistake: one message."""
    doc = workflow(
        [
            start(),
            node("L1", "loop", parent="L2", mode="for", count=1),
            node("L2", "loop", parent="L1", mode="for", count=1),
        ]
    )
    problem = one_problem(doc)
    assert_words(problem.message, "nest", "cycle", "L1", "L2")


def test_container_nesting_cycle_names_both_containers() -> None:
    doc = workflow(
        [
            start(),
            node("L1", "loop", parent="L2", mode="for", count=1),
            node("L2", "loop", parent="L1", mode="for", count=1),
        ]
    )
    found = problems(doc)
    assert all("cycle" in p.message for p in found)
    assert any("L1 -> L2" in p.message or "L2 -> L1" in p.message for p in found)


def test_parent_that_is_not_a_container() -> None:
    doc = workflow([start(), transform("a"), transform("b", parent="a")], ["start -> a"])
    problem = one_problem(doc)
    assert problem.location == "nodes[2] (id 'b').parent"
    assert_words(problem.message, "'a' is a transform node", "loop and parallel")


def test_parent_that_does_not_exist() -> None:
    problem = one_problem(workflow([start(), transform("b", parent="zz")]))
    assert problem.location == "nodes[1] (id 'b').parent"
    assert_words(problem.message, "unknown node 'zz'")


def test_body_without_start() -> None:
    doc = workflow([start(), loop_for("L"), transform("x", parent="L")], ["start -> L"])
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'L')"
    assert_words(problem.message, "body of loop 'L'", "no start")


def test_container_with_empty_body() -> None:
    problem = one_problem(workflow([start(), parallel_count("P")], ["start -> P"]))
    assert problem.location == "nodes[1] (id 'P')"
    assert_words(problem.message, "empty body", "parent 'P'")


def test_body_with_two_exit_nodes() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("y", parent="L"),
        ],
        ["start -> L", "ls -> x", "ls -> y"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'L')"
    assert_words(problem.message, "exactly one exit node", "x, y")


def test_fail_nodes_are_not_exits() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            node("f", "fail", code="X", parent="L"),
        ],
        ["start -> L", "ls -> x", "ls -> f"],
    )
    assert valid(doc).topology.levels["L"].exit == "x"


# --------------------------------------------------------------------------- warnings


def test_unreachable_nodes_are_dropped_with_a_warning() -> None:
    doc = workflow(
        [start(), transform("a"), transform("orphan"), end()], ["start -> a", "a -> end"]
    )
    validated = valid(doc)
    assert "orphan" not in validated.topology.level_of
    assert validated.topology.levels[None].nodes == ("start", "a", "end")
    assert len(validated.warnings) == 1
    warning = validated.warnings[0]
    assert warning.location == "nodes[2] (id 'orphan')"
    assert_words(warning.message, "cannot be reached", "dropped")


def test_unreachable_container_drops_its_body_with_warnings() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L")],
        ["ls -> x"],
    )
    validated = valid(doc)
    assert set(validated.topology.levels) == {None}
    located = {w.location for w in validated.warnings}
    assert located == {"nodes[1] (id 'L')", "nodes[2] (id 'ls')", "nodes[3] (id 'x')"}
    assert all("dropped" in w.message for w in validated.warnings)


def test_unreachable_nodes_do_not_cause_races_or_cycles() -> None:
    doc = workflow(
        [start(), set_("a", x=1), set_("b", x=2), transform("c"), transform("d")],
        ["start -> a", "b -> a", "c -> d", "d -> c"],
    )
    validated = valid(doc)
    assert {w.location for w in validated.warnings} == {
        "nodes[2] (id 'b')",
        "nodes[3] (id 'c')",
        "nodes[4] (id 'd')",
    }


def test_unreachable_nodes_inside_a_body_are_dropped() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("lost", parent="L"),
        ],
        ["start -> L", "ls -> x"],
    )
    validated = valid(doc)
    assert validated.topology.levels["L"].nodes == ("ls", "x")
    assert validated.topology.levels["L"].unreachable == ("lost",)
    assert_words(validated.warnings[0].message, "body of loop 'L'")


# --------------------------------------------------------------------------- several problems


def test_several_shape_problems_are_reported_together() -> None:
    doc = workflow(
        [
            start(),
            node("a", "transfrom", value=1),
            set_("b", x="{{ }}"),
            node("w", "wait", seconds=-2),
        ]
    )
    found = problems(doc)
    assert [p.location for p in found] == [
        "nodes[1] (id 'a')",
        "nodes[2] (id 'b').params.values.x",
        "nodes[3] (id 'w').params.seconds",
    ]


def test_several_edge_problems_are_reported_together() -> None:
    doc = workflow(
        [start(), transform("a"), end()],
        ["start -> ghost", "a -> start", "end -> a", "start -> a", "start -> a"],
    )
    found = problems(doc)
    assert [p.location.split(" ")[0] for p in found] == [
        "edges[0]",
        "edges[1]",
        "edges[2]",
        "edges[4]",
    ]


def test_several_reference_problems_are_reported_together() -> None:
    doc = linear(
        start(),
        transform("a", "{{ loop.index }}"),
        transform("b", "{{ nodes.zz.output }}"),
        variables={"v": "{{ vars.q }}"},
    )
    found = problems(doc)
    assert [p.location for p in found] == [
        "nodes[1] (id 'a').params.value",
        "nodes[2] (id 'b').params.value",
        "variables.v",
    ]


def test_workflow_invalid_renders_every_problem_with_its_source() -> None:
    doc = workflow([start()], ["start -> g1", "start -> g2"])
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(doc, source="flows/x.yaml")
    error = info.value
    assert len(error.problems) == 2
    assert error.lines() == [f"flows/x.yaml: {p}" for p in error.problems]
    assert str(error).startswith("flows/x.yaml: 2 problems in workflow")
    assert "edges[0]" in str(error) and "edges[1]" in str(error)


def test_single_problem_renders_on_one_line() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(workflow([start()], ["start -> g1"]), source="x.json")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("x.json: edges[0]")
