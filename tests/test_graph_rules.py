"""docs/semantics.md §7.1-§7.5 on the graph engine, one rule per test, on small workflows:
variables, dead-path elimination, conditions and routers, loops and parallels.
(Sub-workflows and failures: test_graph_rules_failures; idempotency, inputs, outputs and
the trace: test_graph_rules_runs.)
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    chain,
    condition,
    end,
    kinds,
    linear,
    node,
    run_graph,
    set_,
    start,
    tool,
    transform,
    workflow,
)

from engines import failures
from engines.result import RunStatus

# --------------------------------------------------------------------------- §7.1 variables


def test_variables_are_rendered_from_inputs_before_any_node() -> None:
    doc = linear(
        start(), end(v="{{ vars.greeting }}"), variables={"greeting": "hi {{ inputs.who }}"}
    )
    result = run_graph(doc, {"who": "ann"})
    assert result.status is RunStatus.COMPLETED
    assert result.vars == {"greeting": "hi ann"}
    assert result.outputs == {"v": "hi ann"}


def test_a_variable_that_fails_to_render_fails_the_run_before_any_node() -> None:
    doc = linear(start(), end(), variables={"ok": 1, "bad": "{{ inputs.absent }}"})
    result = run_graph(doc, {})
    assert result.status is RunStatus.FAILED
    assert result.error_codes() == [("$variables", "EXPRESSION_ERROR")]
    assert result.vars == {} and result.outputs == {} and result.trace == ()
    assert result.metrics.node_executions == 0


# --------------------------------------------------------------------------- §7.2 dead paths


def _exclusive_choice() -> dict[str, Any]:
    return workflow(
        [
            start(),
            condition("c", "inputs.x"),
            transform("yes", "Y"),
            transform("after_yes", "{{ nodes.yes.output }}!"),
            transform("no", "N"),
            transform("join", "{{ [nodes.yes.status, nodes.no.status] }}"),
            end(joined="{{ nodes.join.output }}"),
        ],
        [
            "start -> c",
            "c[true] -> yes",
            "c[false] -> no",
            "yes -> after_yes",
            "after_yes -> join",
            "no -> join",
            "join -> end",
        ],
    )


@pytest.mark.parametrize(
    ("x", "joined", "dead"),
    [
        (True, ["completed", "skipped"], ["no"]),
        (False, ["skipped", "completed"], ["yes", "after_yes"]),
    ],
)
def test_join_after_an_exclusive_choice_runs_once_with_the_live_branch(
    x: bool, joined: list[str], dead: list[str]
) -> None:
    result = run_graph(_exclusive_choice(), {"x": x})
    assert result.status is RunStatus.COMPLETED
    assert result.outputs == {"joined": joined}
    assert kinds(result, "join") == ["started", "completed"]
    assert result.node_outputs["c"] is x
    for node_id in dead:
        (event,) = [e for e in result.trace if e.node == node_id]
        assert (event.kind, event.attempt, event.detail) == ("skipped", 0, {"reason": "dead_path"})
        assert node_id not in result.node_outputs


def test_a_node_whose_inputs_are_all_dead_is_skipped_and_kills_its_own_edges() -> None:
    doc = workflow(
        [start(), condition("c", "false"), *(transform(n) for n in ("a", "b", "z")), end()],
        ["start -> c", "c[true] -> a", *chain("a", "b", "z"), "c[false] -> end"],
    )
    result = run_graph(doc)
    assert result.status is RunStatus.COMPLETED
    for node_id in ("a", "b", "z"):
        assert kinds(result, node_id) == ["skipped"]
    assert kinds(result, "end") == ["started", "completed"]


def _all_matching() -> dict[str, Any]:
    routes = [{"name": "a", "when": "inputs.a"}, {"name": "b", "when": "inputs.b"}]
    return workflow(
        [
            start(),
            node("r", "router", routes=routes, all_matching=True),
            tool("ta", "sleep", seconds=2, value="A"),
            tool("tb", "sleep", seconds=1, value="B"),
            transform("none", "D"),
            transform("join", "{{ [nodes.ta.output, nodes.tb.output, nodes.r.output.matched] }}"),
        ],
        [
            "start -> r",
            "r[a] -> ta",
            "r[b] -> tb",
            "r[default] -> none",
            "ta -> join",
            "tb -> join",
        ],
    )


@pytest.mark.parametrize(
    ("inputs", "joined", "duration"),
    [
        ({"a": True, "b": True}, ["A", "B", ["a", "b"]], 2.0),
        ({"a": False, "b": 1}, [None, "B", ["b"]], 1.0),
    ],
)
def test_join_after_an_all_matching_router_waits_for_every_route(
    inputs: dict[str, Any], joined: list[Any], duration: float
) -> None:
    result = run_graph(_all_matching(), inputs)
    assert result.node_outputs["join"] == joined
    assert kinds(result, "join") == ["started", "completed"]
    (done,) = [e for e in result.trace if e.node == "join" and e.kind == "completed"]
    assert done.time == duration
    assert kinds(result, "none") == ["skipped"]


def test_all_matching_router_with_nothing_matched_fires_default() -> None:
    result = run_graph(_all_matching(), {"a": 0, "b": ""})
    assert result.node_outputs["r"] == {"matched": []}
    assert result.node_outputs["none"] == "D"
    assert kinds(result, "ta") == kinds(result, "tb") == kinds(result, "join") == ["skipped"]


# --------------------------------------------------------------------------- §7.3 choices


@pytest.mark.parametrize(
    ("value", "branch"),
    [
        ([], "no"),
        ([0], "yes"),
        ("", "no"),
        ("0", "yes"),
        (0, "no"),
        (None, "no"),
        ({"k": 1}, "yes"),
    ],
)
def test_condition_follows_python_truthiness(value: Any, branch: str) -> None:
    result = run_graph(_exclusive_choice(), {"x": value})
    assert result.status is RunStatus.COMPLETED
    assert result.node_outputs["c"] is (branch == "yes")
    assert branch in result.node_outputs


def _router(*, all_matching: bool = False, default: bool = True) -> dict[str, Any]:
    routes = [
        {"name": "big", "when": "inputs.n > 10"},
        {"name": "boom", "when": "inputs.missing.deep"},
        {"name": "any", "when": "true"},
    ]
    edges = ["start -> r", "r[big] -> big", "r[boom] -> boom", "r[any] -> any"]
    nodes = [start(), node("r", "router", routes=routes, all_matching=all_matching)]
    nodes += [transform(n, n) for n in ("big", "boom", "any", "other")]
    return workflow(nodes, [*edges, "r[default] -> other"] if default else edges)


def test_router_stops_at_the_first_match_so_later_failing_routes_are_not_evaluated() -> None:
    result = run_graph(_router(), {"n": 20})
    assert result.status is RunStatus.COMPLETED
    assert result.node_outputs["r"] == {"matched": ["big"]}
    assert [n for n in ("big", "boom", "any", "other") if n in result.node_outputs] == ["big"]


def test_router_reaching_a_failing_route_fails_with_expression_error() -> None:
    result = run_graph(_router(), {"n": 5})
    assert result.status is RunStatus.FAILED
    assert result.error_codes() == [("r", "EXPRESSION_ERROR")]
    for node_id in ("big", "boom", "any", "other"):
        assert [(e.kind, e.detail) for e in result.trace if e.node == node_id] == [
            ("skipped", {"reason": "upstream_failed"})
        ]


def test_all_matching_router_evaluates_every_route_even_after_a_match() -> None:
    result = run_graph(_router(all_matching=True), {"n": 20})
    assert result.status is RunStatus.FAILED
    assert result.error_codes() == [("r", "EXPRESSION_ERROR")]


def test_router_without_match_and_without_default_kills_every_edge() -> None:
    doc = _router(default=False)
    doc["nodes"][1]["params"]["routes"] = [{"name": "big", "when": "inputs.n > 10"}]
    doc["edges"] = [e for e in doc["edges"] if e.get("handle") in (None, "big")]
    doc["nodes"].append(set_("side", seen=True))
    doc["edges"].append({"source": "start", "target": "side"})
    result = run_graph(doc, {"n": 1})
    assert result.status is RunStatus.COMPLETED
    assert result.node_outputs["r"] == {"matched": []}
    assert kinds(result, "big") == ["skipped"]
    assert result.vars == {"seen": True}


def test_set_assigns_all_values_simultaneously() -> None:
    doc = linear(
        start(), set_("swap", a="{{ vars.b }}", b="{{ vars.a }}"), variables={"a": 1, "b": 2}
    )
    result = run_graph(doc)
    assert result.vars == {"a": 2, "b": 1}
    assert result.node_outputs["swap"] == {"a": 2, "b": 1}


def test_start_outputs_the_run_inputs_in_a_body_too_and_wait_outputs_float_seconds() -> None:
    doc = workflow(
        [start(), node("w", "wait", seconds="{{ inputs.n }}"),
         node("L", "loop", mode="for", count=1), start("ls", parent="L"),
         transform("t", "{{ nodes.ls.output }}", parent="L")],
        ["start -> w", "w -> L", "ls -> t"],
    )  # fmt: skip
    result = run_graph(doc, {"n": 2})
    assert result.node_outputs["start"] == {"n": 2}
    assert result.node_outputs["L"]["results"] == [{"n": 2}]
    seconds = result.node_outputs["w"]["seconds"]
    assert seconds == 2.0 and isinstance(seconds, float)
    assert result.metrics.duration == 2.0


# --------------------------------------------------------------------------- §7.4 loops


def _loop(
    params: dict[str, Any], body_value: Any = None, *, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    value = body_value or "{{ [loop.index, loop.iteration, loop.item, loop.items] }}"
    nodes = [
        start(),
        node("L", "loop", **params),
        start("ls", parent="L"),
        transform("t", value, parent="L"),
    ]
    extra = {"variables": variables} if variables else {}
    return workflow(nodes, ["start -> L", "ls -> t"], **extra)


def test_for_loop_runs_count_iterations_with_loop_index() -> None:
    result = run_graph(_loop({"mode": "for", "count": 3}))
    assert result.node_outputs["L"] == {
        "results": [[0, 1, None, None], [1, 2, None, None], [2, 3, None, None]],
        "iterations": 3,
    }
    assert [e.path for e in result.trace if e.node == "t" and e.kind == "started"] == [
        (("L", 0),),
        (("L", 1),),
        (("L", 2),),
    ]


def test_for_each_loop_sees_item_and_items() -> None:
    result = run_graph(_loop({"mode": "forEach", "items": "{{ inputs.xs }}"}), {"xs": ["a", "b"]})
    assert result.node_outputs["L"]["results"] == [[0, 1, "a", ["a", "b"]], [1, 2, "b", ["a", "b"]]]


def test_while_loop_sees_vars_written_by_earlier_iterations() -> None:
    doc = workflow(
        [
            start(),
            node("L", "loop", mode="while", condition="vars.n < 3"),
            start("ls", parent="L"),
            set_("inc", parent="L", n="{{ vars.n + 1 }}"),
        ],
        ["start -> L", "ls -> inc"],
        variables={"n": 0},
    )
    result = run_graph(doc)
    assert result.node_outputs["L"] == {"results": [{"n": 1}, {"n": 2}, {"n": 3}], "iterations": 3}
    assert result.vars == {"n": 3}


@pytest.mark.parametrize(("mode", "iterations"), [("while", 0), ("doWhile", 1)])
def test_false_condition_gives_no_iteration_for_while_and_one_for_do_while(
    mode: str, iterations: int
) -> None:
    result = run_graph(_loop({"mode": mode, "condition": "false"}, "{{ loop.index }}"))
    assert result.node_outputs["L"] == {"results": [0] * iterations, "iterations": iterations}


@pytest.mark.parametrize(
    ("params", "iterations", "over"),
    [
        ({"mode": "for", "count": 3}, 3, False),
        ({"mode": "for", "count": 4}, 0, True),
        ({"mode": "forEach", "items": [1, 2, 3]}, 3, False),
        ({"mode": "forEach", "items": [1, 2, 3, 4]}, 0, True),
        ({"mode": "while", "condition": "loop.index < 3"}, 3, False),
        ({"mode": "while", "condition": "loop.index < 4"}, 3, True),
        ({"mode": "doWhile", "condition": "loop.index < 2"}, 3, False),
        ({"mode": "doWhile", "condition": "loop.index < 3"}, 3, True),
    ],
    ids=[
        "for-at",
        "for-over",
        "each-at",
        "each-over",
        "while-at",
        "while-over",
        "do-at",
        "do-over",
    ],
)
def test_loop_limit_at_the_boundaries(params: dict[str, Any], iterations: int, over: bool) -> None:
    result = run_graph(_loop({**params, "max_iterations": 3}, "{{ loop.index }}"))
    ran = [e.path for e in result.trace if e.node == "t" and e.kind == "completed"]
    assert ran == [(("L", i),) for i in range(iterations)]
    if over:
        assert result.status is RunStatus.FAILED
        (error,) = result.errors
        assert (error.node, error.code) == ("L", "LOOP_LIMIT")
        assert error.message == failures.loop_limit("L", 3).message
    else:
        assert result.status is RunStatus.COMPLETED
        assert result.node_outputs["L"] == {"results": list(range(3)), "iterations": 3}


def test_loop_params_are_rendered_in_the_scope_of_the_loop_node() -> None:
    doc = workflow(
        [start(), node("outer", "loop", mode="for", count=3), start("os", parent="outer"),
         node("inner", "loop", parent="outer", mode="for", count="{{ loop.index }}"),
         start("is", parent="inner"), transform("t", "{{ loop.index }}", parent="inner")],
        ["start -> outer", "os -> inner", "is -> t"],
    )  # fmt: skip
    result = run_graph(doc)
    assert result.node_outputs["outer"]["results"] == [
        {"results": [], "iterations": 0},
        {"results": [0], "iterations": 1},
        {"results": [0, 1], "iterations": 2},
    ]


@pytest.mark.parametrize(
    ("count", "iterations"),
    [(3.0, 3), (0, 0), (-1, None), (2.5, None), (True, None), ("3", None)],
    ids=["float3", "zero", "negative", "fraction", "bool", "string"],
)
def test_a_rendered_count_of_the_wrong_kind_is_an_expression_error(
    count: Any, iterations: int | None
) -> None:
    result = run_graph(_loop({"mode": "for", "count": "{{ inputs.c }}"}, 1), {"c": count})
    if iterations is None:
        assert result.error_codes() == [("L", "EXPRESSION_ERROR")]
        assert not [e for e in result.trace if e.path]
    else:
        assert result.node_outputs["L"] == {"results": [1] * iterations, "iterations": iterations}


def test_an_iteration_whose_exit_is_skipped_yields_null() -> None:
    doc = workflow(
        [start(), node("L", "loop", mode="for", count=2), start("ls", parent="L"),
         condition("c", "loop.index == 0", parent="L"), transform("x", "X", parent="L")],
        ["start -> L", "ls -> c", "c[true] -> x"],
    )  # fmt: skip
    result = run_graph(doc)
    assert result.node_outputs["L"] == {"results": ["X", None], "iterations": 2}


def test_a_failing_iteration_finishes_its_independent_nodes_then_stops_the_loop() -> None:
    doc = workflow(
        [
            start(),
            node("L", "loop", mode="for", count=5),
            start("ls", parent="L"),
            tool("div", "divide", parent="L", a=1, b="{{ 2 - loop.index }}"),
            set_("seen", parent="L", last="{{ loop.index }}"),
            transform("exit", "{{ nodes.div.output }}", parent="L"),
            transform("after", "after"),
        ],
        ["start -> L", "ls -> div", "ls -> seen", "div -> exit", "seen -> exit", "L -> after"],
    )
    result = run_graph(doc)
    assert result.status is RunStatus.FAILED
    (error,) = result.errors
    assert (error.node, error.code, error.path) == ("L", "DIVISION_BY_ZERO", ())
    assert error.cause is not None
    assert (error.cause.node, error.cause.path) == ("div", (("L", 2),))
    assert error.message == error.cause.message and not error.recoverable
    assert result.vars == {"last": 2}
    assert kinds(result, "exit", (("L", 2),)) == ["skipped"]
    assert not [e for e in result.trace if e.path and e.path[0] == ("L", 3)]
    assert kinds(result, "L") == ["started", "failed"]
    assert kinds(result, "after") == ["skipped"]


# --------------------------------------------------------------------------- §7.5 parallels


def _parallel(params: dict[str, Any], *body: dict[str, Any], edges: list[str]) -> dict[str, Any]:
    nodes = [start(), node("P", "parallel", **params), start("ps", parent="P"), *body]
    return workflow(nodes, ["start -> P", *edges])


def test_parallel_results_are_in_branch_order_not_finish_order() -> None:
    sleep = tool(
        "s", "sleep", parent="P", seconds="{{ 3 - parallel.index }}", value="{{ parallel.index }}"
    )
    result = run_graph(_parallel({"mode": "count", "count": 3}, sleep, edges=["ps -> s"]))
    assert result.node_outputs["P"] == {"results": [0, 1, 2]}
    finished = [e.path for e in result.trace if e.node == "s" and e.kind == "completed"]
    assert finished == [(("P", 2),), (("P", 1),), (("P", 0),)]
    assert result.metrics.duration == 3.0


def test_parallel_collection_mode_sees_item_and_items() -> None:
    body = transform("t", "{{ [parallel.index, parallel.item, parallel.items] }}", parent="P")
    result = run_graph(
        _parallel({"mode": "collection", "items": "{{ inputs.xs }}"}, body, edges=["ps -> t"]),
        {"xs": ["x", "y"]},
    )
    assert result.node_outputs["P"] == {"results": [[0, "x", ["x", "y"]], [1, "y", ["x", "y"]]]}


def test_parallel_with_zero_branches_completes_at_once() -> None:
    body = transform("t", 1, parent="P")
    result = run_graph(_parallel({"mode": "count", "count": 0}, body, edges=["ps -> t"]))
    assert result.node_outputs["P"] == {"results": []}
    assert kinds(result, "P") == ["started", "completed"]


def test_every_branch_finishes_then_the_lowest_failing_index_decides() -> None:
    body = [
        node("w", "wait", parent="P", seconds="{{ 4 - parallel.index }}"),
        condition("c", "parallel.index in [1, 3]", parent="P"),
        node("f", "fail", parent="P", code="{{ 'BAD' ~ parallel.index }}", message="no"),
        transform("ok", "{{ parallel.index }}", parent="P"),
    ]
    edges = ["ps -> w", "w -> c", "c[true] -> f", "c[false] -> ok"]
    result = run_graph(_parallel({"mode": "count", "count": 4}, *body, edges=edges))
    assert result.status is RunStatus.FAILED
    (error,) = result.errors
    assert (error.node, error.code) == ("P", "BAD1")
    assert error.cause is not None and error.cause.path == (("P", 1),)
    failed_in_time = [e.path for e in result.trace if e.node == "f" and e.kind == "failed"]
    assert failed_in_time == [(("P", 3),), (("P", 1),)]
    parallel_failed = next(e for e in result.trace if e.node == "P" and e.kind == "failed")
    ok_done = [e for e in result.trace if e.node == "ok" and e.kind == "completed"]
    assert {e.path for e in ok_done} == {(("P", 0),), (("P", 2),)}
    assert all(e.seq < parallel_failed.seq for e in ok_done)
    assert parallel_failed.time == 4.0


def test_parallel_max_concurrency_bounds_the_branches_running_at_once() -> None:
    sleep = tool("s", "sleep", parent="P", seconds=1)
    params = {"mode": "count", "count": 6, "max_concurrency": 2}
    result = run_graph(_parallel(params, sleep, edges=["ps -> s"]))
    running = peak = 0
    for event in result.trace:
        if event.node == "s":
            running += {"started": 1, "completed": -1}[event.kind.value]
            peak = max(peak, running)
    assert peak == 2
    assert sorted(e.time for e in result.trace if e.node == "s" and e.kind == "started") == [
        0.0,
        0.0,
        1.0,
        1.0,
        2.0,
        2.0,
    ]
    assert result.metrics.duration == 3.0
    assert result.node_outputs["P"] == {"results": [1] * 6}
