"""docs/semantics.md §7.6-§7.8 on the graph engine: sub-workflows, retries and backoff,
timeouts, error ports, unhandled failures and compensation (times are virtual seconds)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    condition,
    end,
    graph_engine,
    kinds,
    linear,
    node,
    recording_tools,
    run_graph,
    set_,
    start,
    tool,
    transform,
    workflow,
)

from engines import failures
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunStatus
from engines.tools import builtin_registry

# --------------------------------------------------------------------------- §7.6 sub-workflows


def _registry(*docs: dict[str, Any]) -> WorkflowRegistry:
    return WorkflowRegistry([validate_workflow(d) for d in docs], tools=builtin_registry())


def _child(**extra: Any) -> dict[str, Any]:
    return workflow(
        [
            start(),
            set_("mark", v="child", w="{{ inputs.n * 2 }}"),
            node("L", "loop", mode="for", count=2),
            start("ls", parent="L"),
            transform("t", "{{ loop.index }}", parent="L"),
            end(doubled="{{ vars.w }}", own="{{ vars.v }}"),
        ],
        ["start -> mark", "mark -> L", "ls -> t", "L -> end"],
        workflow_id="child",
        variables={"v": "initial {{ inputs.n }}"},
        **extra,
    )


def _parent(**sub: Any) -> dict[str, Any]:
    return workflow(
        [
            start(),
            node("sub", "subworkflow", workflow="child", inputs={"n": "{{ inputs.n }}"}, **sub),
            end(got="{{ nodes.sub.output }}", v="{{ vars.v }}"),
        ],
        ["start -> sub", "sub -> end"],
        workflow_id="parent",
        variables={"v": "parent"},
    )


def test_subworkflow_output_is_the_child_outputs_and_child_vars_stay_in_the_child() -> None:
    result = graph_engine().run(_registry(_parent(), _child()), {"n": 4})
    assert result.status is RunStatus.COMPLETED
    assert result.outputs == {"got": {"doubled": 8, "own": "child"}, "v": "parent"}
    assert result.vars == {"v": "parent"}


def test_child_trace_events_join_the_parent_trace_under_the_node_prefix() -> None:
    result = graph_engine().run(_registry(_parent(), _child()), {"n": 1})
    prefix = ("sub", 0)
    child = [e for e in result.trace if e.path[:1] == (prefix,)]
    assert ("mark", (prefix,), 1, "completed") in [e.step() for e in child]
    assert ("t", (prefix, ("L", 1)), 1, "completed") in [e.step() for e in child]
    sub = [e.seq for e in result.trace if e.node == "sub" and not e.path]
    assert len(sub) == 2 and all(sub[0] < e.seq < sub[1] for e in child)
    assert result.metrics.node_executions == sum(e.kind == "started" for e in result.trace)


def test_child_failure_fails_the_node_with_the_child_first_error() -> None:
    child = linear(
        start(),
        node("boom", "fail", code="CHILD", message="bad {{ inputs.n }}"),
        workflow_id="child",
    )
    result = graph_engine().run(_registry(_parent(), child), {"n": 3})
    assert result.status is RunStatus.FAILED
    (error,) = result.errors
    assert (error.node, error.code, error.message, error.recoverable) == (
        "sub",
        "CHILD",
        "bad 3",
        False,
    )
    assert error.cause is not None and error.cause.node == "boom"


def _recursive() -> dict[str, Any]:
    return workflow(
        [
            start(),
            condition("c", "inputs.n > 0"),
            node("call", "subworkflow", workflow="rec", inputs={"n": "{{ inputs.n - 1 }}"}),
            end("done", depth="{{ nodes.call.output.depth + 1 }}"),
            end("leaf", depth=0),
        ],
        ["start -> c", "c[true] -> call", "call -> done", "c[false] -> leaf"],
        workflow_id="rec",
    )


def test_depth_ten_is_allowed() -> None:
    result = graph_engine().run(_recursive(), {"n": 10})
    assert result.status is RunStatus.COMPLETED
    assert result.outputs == {"depth": 10}
    assert max(len(e.path) for e in result.trace) == 10
    assert ("leaf", (("call", 0),) * 10, 1, "completed") in [e.step() for e in result.trace]


def test_depth_eleven_fails_with_subworkflow_depth() -> None:
    result = graph_engine().run(_recursive(), {"n": 11})
    assert result.status is RunStatus.FAILED
    (error,) = result.errors
    assert (error.node, error.code) == ("call", "SUBWORKFLOW_DEPTH")
    chain_: list[Any] = []
    while error.cause is not None:
        chain_.append(error)
        error = error.cause
    assert len(chain_) == 10
    assert error.message == failures.subworkflow_depth("rec").message
    deepest = [e for e in result.trace if e.node == "call" and len(e.path) == 10]
    assert [e.kind.value for e in deepest] == ["started", "failed"]
    assert not any(len(e.path) > 10 for e in result.trace)


# --------------------------------------------------------------------------- §7.7 retries


def _retried(tool_name: str, retry: dict[str, Any], **args: Any) -> dict[str, Any]:
    return linear(start(), node("x", "tool", tool=tool_name, args=args, options={"retry": retry}))


def test_retries_wait_the_exponential_backoff_on_the_clock() -> None:
    retry = {"max_attempts": 4, "initial_interval": 1, "backoff_coefficient": 2}
    result = run_graph(_retried("flaky", retry, failures=3))
    assert result.status is RunStatus.COMPLETED
    assert result.node_outputs["x"] == {"attempts": 4}
    assert [(a, k) for _, _, a, k in [e.step() for e in result.trace if e.node == "x"]] == [
        (1, "started"), (1, "retrying"), (2, "started"), (2, "retrying"),
        (3, "started"), (3, "retrying"), (4, "started"), (4, "completed"),
    ]  # fmt: skip
    retrying = [e for e in result.trace if e.kind == "retrying"]
    assert [e.detail["delay"] for e in retrying] == [1, 2, 4]
    assert all(e.detail["code"] == "FLAKY" for e in retrying)
    assert [e.time for e in result.trace if e.node == "x" and e.kind == "started"] == [0, 1, 3, 7]
    assert result.metrics.duration == 7.0
    assert result.metrics.node_executions == 1 + 4  # start + four attempts


def test_exhausted_retries_fail_with_the_last_error_and_its_attempt_count() -> None:
    result = run_graph(_retried("flaky", {"max_attempts": 3}, failures=5))
    assert result.status is RunStatus.FAILED
    (error,) = result.errors
    assert (error.code, error.attempts, error.recoverable) == ("FLAKY", 3, True)
    assert "attempt 3 of 5" in error.message
    assert result.metrics.duration == 1 + 2


@pytest.mark.parametrize(
    ("retry", "delays"),
    [
        ({"initial_interval": 1, "backoff_coefficient": 3, "max_interval": 5}, [1, 3, 5, 5]),
        ({"initial_interval": 0.5, "backoff_coefficient": 10}, [0.5, 5, 50, 50]),
    ],
    ids=["max_interval", "default-cap-100x"],
)
def test_backoff_is_capped_by_max_interval(retry: dict[str, Any], delays: list[float]) -> None:
    result = run_graph(_retried("flaky", {"max_attempts": 5, **retry}, failures=4))
    assert result.node_outputs["x"] == {"attempts": 5}
    assert [e.detail["delay"] for e in result.trace if e.kind == "retrying"] == delays
    assert result.metrics.duration == sum(delays)


@pytest.mark.parametrize(
    ("tool_name", "args", "code"),
    [
        ("flaky", {"failures": 1, "code": "HARD"}, "HARD"),
        ("raise", {"code": "NOPE", "recoverable": False}, "NOPE"),
        ("crash", {}, "TOOL_ERROR"),
        ("echo", {"v": "{{ inputs.absent }}"}, "EXPRESSION_ERROR"),
    ],
    ids=["non-retryable-code", "not-recoverable", "crash", "render-error"],
)
def test_failures_that_are_not_retried(tool_name: str, args: dict[str, Any], code: str) -> None:
    retry = {"max_attempts": 5, "non_retryable_codes": ["HARD"]}
    result = run_graph(_retried(tool_name, retry, **args))
    (error,) = result.errors
    assert (error.node, error.code, error.attempts) == ("x", code, 1)
    assert kinds(result, "x") == ["started", "failed"]
    assert result.metrics.duration == 0


def test_a_recoverable_fail_node_is_retried() -> None:
    doc = linear(
        start(),
        node(
            "f",
            "fail",
            code="SOFT",
            message="m",
            recoverable=True,
            options={"retry": {"max_attempts": 3}},
        ),
    )
    result = run_graph(doc)
    (error,) = result.errors
    assert (error.code, error.attempts, error.recoverable) == ("SOFT", 3, True)
    assert kinds(result, "f").count("started") == 3
    assert result.metrics.duration == 3.0


@pytest.mark.parametrize(
    ("code", "expected"), [("E_{{ inputs.n }}", "E_4"), ("E {{ inputs.n }}", "EXPRESSION_ERROR")]
)
def test_a_fail_node_renders_its_code_and_message(code: str, expected: str) -> None:
    doc = linear(start(), node("f", "fail", code=code, message="{{ inputs.n * 2 }}"))
    result = run_graph(doc, {"n": 4})
    (error,) = result.errors
    assert (error.node, error.code, error.recoverable) == ("f", expected, False)
    if expected == "E_4":
        assert error.message == "8"


# --------------------------------------------------------------------------- §7.7 timeouts


def test_timeout_is_recoverable_and_retried_in_virtual_seconds() -> None:
    doc = linear(start(), tool("s", "sleep", seconds=20))
    doc["nodes"][1].update(timeout=5, retry={"max_attempts": 2, "initial_interval": 1})
    result = run_graph(doc)
    assert result.status is RunStatus.FAILED
    (error,) = result.errors
    assert (error.code, error.attempts, error.recoverable) == ("TIMEOUT", 2, True)
    assert error.message == failures.timeout(5).message
    events = [(e.kind.value, e.attempt, e.time) for e in result.trace if e.node == "s"]
    assert events == [
        ("started", 1, 0.0), ("retrying", 1, 5.0), ("started", 2, 6.0), ("failed", 2, 11.0),
    ]  # fmt: skip
    assert result.metrics.duration == 11.0


def test_an_attempt_that_finishes_within_its_timeout_completes() -> None:
    doc = linear(start(), tool("s", "sleep", seconds=4, value="done"))
    doc["nodes"][1]["timeout"] = 5
    result = run_graph(doc)
    assert result.node_outputs["s"] == "done"
    assert result.metrics.duration == 4.0


def test_a_wait_longer_than_its_timeout_times_out_and_can_be_routed() -> None:
    doc = workflow(
        [
            start(),
            node("w", "wait", seconds=3, options={"timeout": 1}),
            transform("h", "{{ nodes.w.error }}"),
        ],
        ["start -> w", "w[error] -> h"],
    )
    result = run_graph(doc)
    assert result.status is RunStatus.COMPLETED
    assert result.node_outputs["h"] == {
        "code": "TIMEOUT",
        "message": "timed out after 1 s",
        "attempts": 1,
    }
    assert result.metrics.duration == 1.0


def test_timeout_listed_as_non_retryable_is_not_retried() -> None:
    doc = linear(start(), tool("s", "sleep", seconds=20))
    doc["nodes"][1].update(timeout=2, retry={"max_attempts": 4, "non_retryable_codes": ["TIMEOUT"]})
    result = run_graph(doc)
    assert [(e.code, e.attempts) for e in result.errors] == [("TIMEOUT", 1)]
    assert result.metrics.duration == 2.0


# --------------------------------------------------------------------------- §7.7 error routing


def test_a_routed_error_is_visible_downstream_and_in_node_errors_not_in_errors() -> None:
    doc = workflow(
        [
            start(),
            tool("d", "divide", a=1, b=0),
            transform("ok", "{{ nodes.d.output }}"),
            transform("handler", "{{ [nodes.d.error, nodes.d.status, nodes.d.output] }}"),
        ],
        ["start -> d", "d -> ok", "d[error] -> handler"],
    )
    result = run_graph(doc)
    assert result.status is RunStatus.COMPLETED and result.errors == ()
    error = {"code": "DIVISION_BY_ZERO", "message": "cannot divide 1 by zero", "attempts": 1}
    assert result.node_outputs["handler"] == [error, "failed", None]
    assert kinds(result, "ok") == ["skipped"]
    routed = result.node_errors["d"]
    assert (routed.node, routed.code, routed.attempts) == ("d", "DIVISION_BY_ZERO", 1)
    failed = next(e for e in result.trace if e.node == "d" and e.kind == "failed")
    assert failed.detail["handled"] is True and failed.detail["code"] == "DIVISION_BY_ZERO"


def test_an_unhandled_failure_gives_up_descendants_while_independent_work_finishes() -> None:
    # Declared x before y; x fails first in time; but y comes first in canonical order.
    doc = workflow(
        [
            start(),
            tool("x", "crash"),
            node("w", "wait", seconds=5),
            node("y", "fail", code="LATE", message="late"),
            transform("a"),
            transform("b"),
            set_("side", done=True),
            transform("join", "{{ nodes.side.output }}"),
            transform("after_x", 1),
        ],
        ["start -> w", "w -> y", "start -> a", "a -> b", "b -> x", "start -> side",
         "x -> join", "side -> join", "x -> after_x"],
    )  # fmt: skip
    index = validate_workflow(doc).topology.index
    assert index["y"] < index["x"]
    result = run_graph(doc)
    assert result.status is RunStatus.FAILED
    assert result.error_codes() == [("y", "LATE"), ("x", "TOOL_ERROR")]
    assert result.vars == {"done": True}
    for node_id in ("join", "after_x"):
        assert [(e.kind.value, e.detail) for e in result.trace if e.node == node_id] == [
            ("skipped", {"reason": "upstream_failed"})
        ]
    x_failed = next(e for e in result.trace if e.node == "x" and e.kind == "failed")
    assert x_failed.time == 0.0 and x_failed.detail["handled"] is False
    assert result.metrics.duration == 5.0
    assert result.outputs == {}


# --------------------------------------------------------------------------- §7.8 compensation


def _compensated(node_id: str, tool_name: str = "undo", **args: Any) -> dict[str, Any]:
    undo = {"node": node_id, "out": f"{{{{ nodes.{node_id}.output.v }}}}", **args}
    return node(
        node_id, "tool", tool="echo", args={"v": node_id.upper()},
        options={"compensate": {"tool": tool_name, "args": undo}},
    )  # fmt: skip


def _saga(*, fail: bool, b_tool: str = "undo") -> dict[str, Any]:
    nodes = [
        start(),
        _compensated("a"),
        _compensated("b", b_tool, code="NO_UNDO"),
        _compensated("c"),
    ]
    if fail:
        nodes.append(node("boom", "fail", code="BOOM", message="boom"))
    return linear(*nodes)


def test_compensation_runs_in_reverse_order_with_args_seeing_the_node_output() -> None:
    tools, calls = recording_tools("undo")
    result = run_graph(_saga(fail=True), tools=tools)
    assert result.status is RunStatus.FAILED
    assert calls == [
        ("undo", {"node": "c", "out": "C"}),
        ("undo", {"node": "b", "out": "B", "code": "NO_UNDO"}),
        ("undo", {"node": "a", "out": "A"}),
    ]
    compensated = [e for e in result.trace if e.kind == "compensated"]
    assert [(e.node, e.attempt, e.detail) for e in compensated] == [
        (n, 1, {"tool": "undo", "ok": True}) for n in "cba"
    ]
    failed = next(e for e in result.trace if e.node == "boom" and e.kind == "failed")
    assert all(e.seq > failed.seq for e in compensated)
    assert result.error_codes() == [("boom", "BOOM")]


def test_a_failed_compensation_is_appended_and_the_others_still_run() -> None:
    tools, calls = recording_tools("undo")
    result = run_graph(_saga(fail=True, b_tool="raise"), tools=tools)
    assert result.error_codes() == [("boom", "BOOM"), ("b", "COMPENSATION_FAILED")]
    assert result.errors[1].message.startswith("compensation 'raise' failed: NO_UNDO")
    assert [args["node"] for _, args in calls] == ["c", "a"]
    oks = [(e.node, e.detail["ok"]) for e in result.trace if e.kind == "compensated"]
    assert oks == [("c", True), ("b", False), ("a", True)]


def test_nothing_is_compensated_when_the_run_completes() -> None:
    tools, calls = recording_tools("undo")
    result = run_graph(_saga(fail=False), tools=tools)
    assert result.status is RunStatus.COMPLETED
    assert calls == [] and not [e for e in result.trace if e.kind == "compensated"]


def test_compensation_follows_order_keys_across_loop_iterations_not_failed_nodes() -> None:
    tools, calls = recording_tools("undo")
    body = node(
        "step", "tool", parent="L", tool="flaky", args={"failures": "{{ 1 - loop.index }}"},
        options={"retry": {"max_attempts": 2},
                 "compensate": {"tool": "undo", "args": {"i": "{{ loop.index }}"}}},
    )  # fmt: skip
    bad = node("bad", "tool", tool="crash", options={"compensate": {"tool": "undo", "args": {}}})
    doc = workflow(
        [start(), _compensated("pre"), node("L", "loop", mode="for", count=2),
         start("ls", parent="L"), body, bad],
        ["start -> pre", "pre -> L", "ls -> step", "L -> bad"],
    )  # fmt: skip
    result = run_graph(doc, tools=tools)
    assert result.error_codes() == [("bad", "TOOL_ERROR")]
    assert [args for _, args in calls] == [{"i": 1}, {"i": 0}, {"node": "pre", "out": "PRE"}]
    compensated = [(e.node, e.path, e.attempt) for e in result.trace if e.kind == "compensated"]
    assert compensated == [("step", (("L", 1),), 1), ("step", (("L", 0),), 2), ("pre", (), 1)]


def test_a_failing_child_compensates_itself_before_the_parent_sees_the_failure() -> None:
    tools, calls = recording_tools("undo")
    child = linear(start(), _compensated("inner"), node("boom", "fail", code="X", message="x"),
                   workflow_id="child")  # fmt: skip
    sub = node("sub", "subworkflow", workflow="child", inputs={})
    parent = linear(start(), _compensated("outer"), sub, workflow_id="parent")
    registry = WorkflowRegistry([validate_workflow(parent), validate_workflow(child)], tools=tools)
    result = graph_engine(tools).run(registry, {})
    assert result.error_codes() == [("sub", "X")]
    assert [args["node"] for _, args in calls] == ["inner", "outer"]
    inner = next(e for e in result.trace if e.kind == "compensated" and e.node == "inner")
    sub_failed = next(e for e in result.trace if e.node == "sub" and e.kind == "failed")
    assert inner.path == (("sub", 0),) and inner.seq < sub_failed.seq
