"""Semantic checks get one clear message naming the place: references to ancestors, scopes,
races on variables, exclusive branches, parallel bodies writing variables
(docs/semantics.md §1-§4)."""

from __future__ import annotations

import re

import pytest
from conftest import (
    assert_words,
    condition,
    linear,
    loop_doc,
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

from engines.errors import Problem

# --------------------------------------------------------------------------- references


def test_reference_to_a_sibling_branch() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("b", "{{ nodes.a.output }}")],
        ["start -> c", "c[true] -> a", "c[false] -> b"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'b').params.value"
    assert_words(problem.message, "nodes.a", "not an ancestor of 'b'")


def test_reference_to_a_node_downstream() -> None:
    doc = linear(start(), transform("a", "{{ nodes['b'].output }}"), transform("b"))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "nodes.b", "not an ancestor of 'a'")


def test_reference_to_itself() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ nodes.a.output }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "not an ancestor")


def test_reference_into_a_body_from_outside() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("after", "{{ nodes.x.output }}"),
        ],
        ["start -> L", "L -> after", "ls -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[4] (id 'after').params.value"
    assert_words(problem.message, "nodes.x", "not an ancestor of 'after'")


def test_reference_to_the_container_from_its_body() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", "{{ nodes.L.output }}", parent="L"),
        ],
        ["start -> L", "ls -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'x').params.value"
    assert_words(problem.message, "nodes.L", "not an ancestor of 'x'")


def test_references_to_outer_ancestors_and_body_ancestors_are_allowed() -> None:
    doc = workflow(
        [
            start(),
            transform("pre"),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", "{{ nodes.pre.output }} {{ nodes['ls'].output }}", parent="L"),
            transform("post", "{{ nodes.L.output }}"),
        ],
        ["start -> pre", "pre -> L", "ls -> x", "L -> post"],
    )
    valid(doc)


def test_compensate_args_may_name_the_node_itself() -> None:
    compensate = {"tool": "echo", "args": {"x": "{{ nodes.t.output }}"}}
    valid(linear(start(), node("t", "tool", tool="echo", options={"compensate": compensate})))


def test_params_may_not_name_the_node_itself_even_with_compensation() -> None:
    compensate = {"tool": "echo", "args": {"x": "{{ nodes.t.output }}"}}
    doc = linear(
        start(),
        node(
            "t",
            "tool",
            tool="echo",
            args={"y": "{{ nodes.t.output }}"},
            options={"compensate": compensate},
        ),
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 't').params.args"


def test_reference_to_an_unknown_node() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ nodes.ghost.output }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "unknown node 'ghost'")


@pytest.mark.parametrize(
    "template", ["{{ nodes[inputs.k].output }}", "{{ nodes | length }}", "{{ nodes }}"]
)
def test_dynamic_nodes_access(template: str) -> None:
    problem = one_problem(linear(start(), transform("a", template)))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "without a literal id", "nodes.<id>")


def test_workflow_outputs_may_name_any_reachable_top_level_node() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("b")],
        ["start -> c", "c[true] -> a", "c[false] -> b"],
        outputs={"a": "{{ nodes.a.output }}", "b": "{{ nodes.b.output }}"},
    )
    valid(doc)


def test_workflow_outputs_may_not_name_body_nodes() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L")],
        ["start -> L", "ls -> x"],
        outputs={"o": "{{ nodes.x.output }}"},
    )
    problem = one_problem(doc)
    assert problem.location == "outputs.o"
    assert_words(problem.message, "'x'", "not a reachable top-level node")


def test_workflow_outputs_unknown_node_and_loop() -> None:
    doc = linear(start(), outputs={"a": "{{ nodes.ghost.output }}", "b": "{{ loop.index }}"})
    found = problems(doc)
    assert [p.location for p in found] == ["outputs.a", "outputs.b"]
    assert_words(found[0].message, "unknown node 'ghost'")
    assert_words(found[1].message, "'loop'")


# --------------------------------------------------------------------------- scopes


def test_loop_used_outside_a_loop() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ loop.index }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "'loop'", "only defined inside a loop body")


def test_parallel_used_outside_a_parallel() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ parallel.index }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "'parallel'", "only defined inside a parallel body")


def test_parallel_used_inside_a_loop_only() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", "{{ parallel.index }}", parent="L"),
        ],
        ["start -> L", "ls -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'x').params.value"
    assert_words(problem.message, "'parallel'")


def test_loop_in_own_count_is_refused_but_in_own_condition_is_allowed() -> None:
    problem = one_problem(loop_doc(mode="for", count="{{ loop.index }}"))
    assert problem.location == "nodes[1] (id 'L').params.count"
    assert_words(problem.message, "'loop'")
    valid(loop_doc(mode="while", condition="loop.index < 3"))


def test_loop_and_parallel_inside_nested_bodies() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P"),
            start("ps", parent="P"),
            loop_for("L", parent="P"),
            start("ls", parent="L"),
            transform("x", "{{ loop.index }}-{{ parallel.index }}", parent="L"),
        ],
        ["start -> P", "ps -> L", "ls -> x"],
    )
    valid(doc)


def test_jinja_for_loop_variable_is_not_the_workflow_loop() -> None:
    valid(linear(start(), transform("a", "{% for i in [1, 2] %}{{ loop.index }}{% endfor %}")))


@pytest.mark.parametrize(
    ("root", "template"), [("vars", "{{ vars.b }}"), ("nodes", "{{ nodes.start.output }}")]
)
def test_variables_may_use_only_inputs_and_env(root: str, template: str) -> None:
    doc = linear(start(), variables={"a": template, "ok": "{{ inputs.x }} {{ env.HOME }}"})
    problem = one_problem(doc)
    assert problem.location == "variables.a"
    assert_words(problem.message, f"'{root}'", "inputs and env")


# --------------------------------------------------------------------------- races


def _race(found: tuple[Problem, ...] | Problem, first: str, second: str, var: str) -> None:
    problem = found if isinstance(found, Problem) else found[0]
    assert_words(problem.message, f"'{first}'", f"'{second}'", f"variable '{var}'", "concurrently")


def test_two_concurrent_set_nodes_race() -> None:
    doc = workflow([start(), set_("a", x=1), set_("b", x=2)], ["start -> a", "start -> b"])
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'a')"
    _race(problem, "a", "b", "x")


def test_set_and_concurrent_reader_race() -> None:
    doc = workflow(
        [start(), set_("a", x=1), transform("b", "{{ vars.x }}")], ["start -> a", "start -> b"]
    )
    _race(one_problem(doc), "a", "b", "x")


def test_set_and_concurrent_bracket_reader_race() -> None:
    doc = workflow(
        [start(), set_("a", x=1), set_("b", y="{{ vars['x'] }}")], ["start -> a", "start -> b"]
    )
    _race(one_problem(doc), "a", "b", "x")


@pytest.mark.parametrize("template", ["{{ vars | length }}", "{{ vars }}", "{{ vars[inputs.k] }}"])
def test_set_and_concurrent_whole_vars_reader_race(template: str) -> None:
    doc = workflow(
        [start(), set_("a", x=1), transform("b", template)], ["start -> a", "start -> b"]
    )
    _race(one_problem(doc), "a", "b", "x")


def test_concurrent_reader_through_idempotency_key_and_tool_args() -> None:
    doc = workflow(
        [
            start(),
            set_("a", x=1),
            node("t", "tool", tool="echo", options={"idempotency_key": "{{ vars.x }}"}),
        ],
        ["start -> a", "start -> t"],
    )
    _race(one_problem(doc), "a", "t", "x")


def test_concurrent_nodes_on_different_variables_do_not_race() -> None:
    valid(
        workflow(
            [start(), set_("a", x=1), transform("b", "{{ vars.y }}")], ["start -> a", "start -> b"]
        )
    )


def test_three_concurrent_writers_give_one_problem_per_pair() -> None:
    doc = workflow(
        [start(), set_("a", x=1), set_("b", x=2), set_("c", x=3)],
        ["start -> a", "start -> b", "start -> c"],
    )
    found = problems(doc)
    pairs = {tuple(re.findall(r"nodes '(\w+)' and '(\w+)'", p.message)[0]) for p in found}
    assert pairs == {("a", "b"), ("a", "c"), ("b", "c")}
    assert len(found) == 3


def test_ancestor_ordered_set_nodes_do_not_race() -> None:
    valid(
        linear(
            start(), set_("a", x=1), set_("b", x="{{ vars.x + 1 }}"), transform("c", "{{ vars.x }}")
        )
    )


def test_condition_branches_are_exclusive() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2), transform("j", "{{ vars.x }}")],
        ["start -> c", "c[true] -> a", "c[false] -> b", "a -> j", "b -> j"],
    )
    valid(doc)


def test_condition_branch_exclusive_deeper_down() -> None:
    doc = workflow(
        [start(), condition("c"), transform("m"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> m", "m -> a", "c[false] -> b"],
    )
    valid(doc)


def test_router_without_all_matching_routes_and_default_are_exclusive() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"]), set_("a", x=1), set_("b", x=2), set_("d", x=3)],
        ["start -> r", "r[p] -> a", "r[q] -> b", "r[default] -> d"],
    )
    valid(doc)


def test_normal_and_error_ports_are_exclusive() -> None:
    doc = workflow(
        [start(), tool("t"), set_("a", x=1), set_("b", x=2)],
        ["start -> t", "t -> a", "t[error] -> b"],
    )
    valid(doc)


def test_condition_true_and_error_ports_are_exclusive() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> a", "c[error] -> b"],
    )
    valid(doc)


def test_router_with_all_matching_routes_race() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"], all_matching=True), set_("a", x=1), set_("b", x=2)],
        ["start -> r", "r[p] -> a", "r[q] -> b"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[2] (id 'a')"
    _race(problem, "a", "b", "x")


def test_router_with_all_matching_routes_vs_default_are_exclusive() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"], all_matching=True), set_("a", x=1), set_("b", x=2)],
        ["start -> r", "r[p] -> a", "r[default] -> b"],
    )
    valid(doc)


def test_exclusive_branch_also_reachable_directly_races() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> a", "c[false] -> b", "start -> b"],
    )
    _race(one_problem(doc), "a", "b", "x")


def test_node_reachable_from_both_branches_is_not_exclusive() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> a", "c[false] -> a", "c[false] -> b"],
    )
    _race(one_problem(doc), "a", "b", "x")


def test_container_touches_what_its_body_touches() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            set_("w", parent="L", x=1),
            transform("b", "{{ vars.x }}"),
        ],
        ["start -> L", "start -> b", "ls -> w"],
    )
    problem = one_problem(doc)
    _race(problem, "L", "b", "x")


def test_race_inside_a_loop_body() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            set_("a", parent="L", x=1),
            set_("b", parent="L", x=2),
            transform("j", parent="L"),
        ],
        ["start -> L", "ls -> a", "ls -> b", "a -> j", "b -> j"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'a')"
    _race(problem, "a", "b", "x")


def test_loop_body_may_write_variables() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            set_("w", parent="L", x="{{ vars.x + 1 }}"),
            transform("after", "{{ vars.x }}"),
        ],
        ["start -> L", "ls -> w", "L -> after"],
        variables={"x": 0},
    )
    valid(doc)


def test_parallel_body_with_a_set_node() -> None:
    doc = workflow(
        [start(), parallel_count("P"), start("ps", parent="P"), set_("w", parent="P", x=1)],
        ["start -> P", "ps -> w"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'w')"
    assert_words(problem.message, "writes variables (x)", "parallel 'P'")


def test_parallel_body_with_a_set_node_at_depth() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P"),
            start("ps", parent="P"),
            loop_for("L", parent="P"),
            start("ls", parent="L"),
            set_("w", parent="L", x=1),
        ],
        ["start -> P", "ps -> L", "ls -> w"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[5] (id 'w')"
    assert_words(problem.message, "writes variables", "parallel 'P'")


def test_parallel_body_may_read_variables() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P"),
            start("ps", parent="P"),
            transform("r", "{{ vars.x }}", parent="P"),
        ],
        ["start -> P", "ps -> r"],
        variables={"x": 1},
    )
    valid(doc)
