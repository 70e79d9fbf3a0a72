"""docs/semantics.md §7.9, §7.10, §7.12 and §10 on the graph engine: idempotency keys, input,
pause and resume, the end of a run (final outputs), and the shape of the trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from conftest import (
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

from engines.graph.execution import Execution
from engines.result import RunResult, RunStatus
from engines.tools import ToolContext, ToolRegistry

# --------------------------------------------------------------------------- §7.9 idempotency


def _charging() -> tuple[ToolRegistry, list[dict[str, Any]]]:
    """A fresh registry whose `charge` and `charge2` tools count their calls."""
    registry = ToolRegistry()
    calls: list[dict[str, Any]] = []

    async def charge(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        await ctx.clock.sleep(args.get("delay", 0))
        calls.append({"node": ctx.node, "path": ctx.path, **args})
        return {"call": len(calls), "amount": args.get("amount")}

    registry.register("charge", charge)
    registry.register("charge2", charge)
    registry.register("refund", lambda args, ctx: calls.append({"refund": dict(args)}))
    return registry, calls


def _pay(node_id: str, key: str, *, parent: str | None = None, tool_name: str = "charge",
         **args: Any) -> dict[str, Any]:  # fmt: skip
    return node(node_id, "tool", parent=parent, tool=tool_name,
                args={"amount": "{{ loop.index }}" if parent == "L" else 5, **args},
                options={"idempotency_key": key})  # fmt: skip


def _looped(key: str, count: int) -> dict[str, Any]:
    return workflow(
        [start(), node("L", "loop", mode="for", count=count), start("ls", parent="L"),
         _pay("pay", key, parent="L")],
        ["start -> L", "ls -> pay"],
    )  # fmt: skip


def test_a_key_seen_in_an_earlier_iteration_is_deduplicated_without_calling_the_tool() -> None:
    tools, calls = _charging()
    result = run_graph(_looped("order-{{ inputs.id }}", 3), {"id": 7}, tools=tools)
    assert result.status is RunStatus.COMPLETED
    assert [c["amount"] for c in calls] == [0]
    assert result.node_outputs["L"]["results"] == [{"call": 1, "amount": 0}] * 3
    assert kinds(result, "pay", (("L", 0),)) == ["started", "completed"]
    for i in (1, 2):
        (event,) = [e for e in result.trace if e.node == "pay" and e.path == (("L", i),)]
        assert (event.kind, event.attempt, event.detail) == ("deduplicated", 0, {"key": "order-7"})
    assert result.metrics.node_executions == 1 + 1 + 3 + 1  # start, L, ls x3, pay once


def test_different_keys_call_the_tool_again() -> None:
    tools, calls = _charging()
    result = run_graph(_looped("k{{ loop.index // 2 }}", 4), tools=tools)
    assert [c["amount"] for c in calls] == [0, 2]
    first, second = {"call": 1, "amount": 0}, {"call": 2, "amount": 2}
    assert result.node_outputs["L"]["results"] == [first, first, second, second]


def test_same_key_on_another_tool_is_not_deduplicated() -> None:
    tools, calls = _charging()
    doc = linear(start(), _pay("a", "k"), _pay("b", "k"), _pay("c", "k", tool_name="charge2"))
    result = run_graph(doc, tools=tools)
    assert [c["node"] for c in calls] == ["a", "c"]
    assert result.node_outputs["b"] == result.node_outputs["a"] == {"call": 1, "amount": 5}
    assert kinds(result, "b") == ["deduplicated"]


def test_parallel_branches_both_call_and_a_later_node_reuses_branch_zero() -> None:
    tools, calls = _charging()
    doc = workflow(
        [start(), node("P", "parallel", mode="count", count=2), start("ps", parent="P"),
         _pay("pay", "k", parent="P", delay="{{ 2 - parallel.index }}"), _pay("after", "k")],
        ["start -> P", "ps -> pay", "P -> after"],
    )  # fmt: skip
    result = run_graph(doc, tools=tools)
    assert [c["path"] for c in calls] == [(("P", 1),), (("P", 0),)]  # branch 1 finished first
    branch0 = result.node_outputs["P"]["results"][0]
    assert branch0["call"] == 2
    assert result.node_outputs["after"] == branch0
    assert kinds(result, "after") == ["deduplicated"]


def test_a_deduplicated_execution_is_not_compensated() -> None:
    tools, calls = _charging()
    a, b = _pay("a", "k"), _pay("b", "k")
    for step in (a, b):
        step["compensate"] = {"tool": "refund", "args": {"of": step["id"]}}
    doc = linear(start(), a, b, node("boom", "fail", code="X", message="x"))
    result = run_graph(doc, tools=tools)
    assert result.status is RunStatus.FAILED
    assert [c for c in calls if "refund" in c] == [{"refund": {"of": "a"}}]
    assert [e.node for e in result.trace if e.kind == "compensated"] == ["a"]


def test_a_key_that_fails_to_render_fails_the_node_without_calling_the_tool() -> None:
    tools, calls = _charging()
    result = run_graph(linear(start(), _pay("a", "{{ inputs.absent }}")), tools=tools)
    assert result.error_codes() == [("a", "EXPRESSION_ERROR")]
    assert kinds(result, "a") == ["started", "failed"] and calls == []


# --------------------------------------------------------------------------- §7.10 inputs


def _turns(doc: dict[str, Any], inputs: dict[str, Any], *payloads: Any) -> list[RunResult]:
    engine = graph_engine()
    execution: Execution = engine.start(doc, inputs)
    results = [engine.clock.run(execution.run)]
    for payload in payloads:
        results.append(engine.clock.run(lambda p=payload: execution.resume(p)))
    return results


SCHEMA = {"type": "object", "properties": {"qty": {"type": "integer"}}, "required": ["qty"]}


def test_pause_reports_node_prompt_schema_and_path_and_resume_continues() -> None:
    doc = workflow(
        [start(), node("L", "loop", mode="for", count=2), start("ls", parent="L"),
         node("ask", "input", parent="L", prompt="Item {{ loop.index }} for {{ inputs.who }}?",
              schema=SCHEMA)],
        ["start -> L", "ls -> ask"],
    )  # fmt: skip
    first, second, last = _turns(doc, {"who": "ann"}, {"qty": 1}, {"qty": 2})
    for result, index in ((first, 0), (second, 1)):
        assert result.status is RunStatus.PAUSED and result.outputs == {}
        assert result.pause is not None
        assert (result.pause.node, result.pause.path) == ("ask", (("L", index),))
        assert result.pause.prompt == f"Item {index} for ann?"
        assert result.pause.schema_ == SCHEMA
    assert last.status is RunStatus.COMPLETED and last.pause is None
    assert last.node_outputs["L"] == {"results": [{"qty": 1}, {"qty": 2}], "iterations": 2}
    assert kinds(last, "ask", (("L", 0),)) == ["started", "completed"]


def _asking(*, routed: bool) -> dict[str, Any]:
    nodes = [start(), node("ask", "input", prompt="n?", schema={"type": "integer"}),
             transform("got", "{{ nodes.ask.output }}"),
             transform("why", "{{ nodes.ask.error.code }}")]  # fmt: skip
    edges = ["start -> ask", "ask -> got"] + (["ask[error] -> why"] if routed else [])
    return workflow(nodes if routed else nodes[:3], edges)


@pytest.mark.parametrize(
    "payload", ["abc", 1.5, None, object()], ids=["text", "float", "none", "object"]
)
def test_an_invalid_payload_routed_by_the_error_edge(payload: Any) -> None:
    _, result = _turns(_asking(routed=True), {}, payload)
    assert result.status is RunStatus.COMPLETED and result.errors == ()
    assert result.node_outputs["why"] == "INPUT_INVALID"
    assert result.node_errors["ask"].code == "INPUT_INVALID"
    assert kinds(result, "got") == ["skipped"]


def test_an_invalid_payload_without_error_edge_fails_the_run() -> None:
    _, result = _turns(_asking(routed=False), {}, "abc")
    assert result.status is RunStatus.FAILED and result.outputs == {}
    assert result.error_codes() == [("ask", "INPUT_INVALID")]
    assert [e.kind.value for e in result.trace if e.node == "ask"] == ["started", "failed"]


def test_a_valid_payload_is_the_node_output() -> None:
    _, result = _turns(_asking(routed=False), {}, 3)
    assert result.node_outputs["got"] == 3


def test_two_pending_inputs_are_answered_lowest_order_key_first() -> None:
    # qb is declared first, but qa comes first in canonical order.
    doc = workflow(
        [start(), node("qb", "input", prompt="b?"), node("qa", "input", prompt="a?"),
         transform("pre"), end(a="{{ nodes.qa.output }}", b="{{ nodes.qb.output }}")],
        ["start -> pre", "pre -> qb", "start -> qa", "qa -> end", "qb -> end"],
    )  # fmt: skip
    first, second, last = _turns(doc, {}, "A", "B")
    assert first.pause is not None and first.pause.node == "qa"
    assert {e.node for e in first.trace if e.kind == "started"} >= {"qa", "qb"}
    assert second.pause is not None and second.pause.node == "qb"
    assert last.outputs == {"a": "A", "b": "B"}


def test_a_failure_with_a_pending_input_fails_and_abandons_the_input() -> None:
    doc = workflow(
        [start(), node("ask", "input", prompt="?"), node("boom", "fail", code="X", message="x"),
         set_("side", seen=True)],
        ["start -> ask", "start -> boom", "start -> side"],
    )  # fmt: skip
    (result,) = _turns(doc, {})
    assert result.status is RunStatus.FAILED and result.pause is None
    assert result.error_codes() == [("boom", "X")]
    assert [(e.kind.value, e.detail) for e in result.trace if e.node == "ask"] == [
        ("started", {}),
        ("skipped", {"reason": "abandoned"}),
    ]
    assert result.vars == {"seen": True}


# --------------------------------------------------------------------------- §7.12 final outputs


def test_declared_outputs_replace_end_outputs_and_see_the_final_scope() -> None:
    doc = linear(
        start(), set_("s", v=2), end(from_end="ignored"),
        outputs={"sum": "{{ vars.v + inputs.n }}", "end": "{{ nodes.end.output }}"},
    )  # fmt: skip
    result = run_graph(doc, {"n": 1})
    assert result.outputs == {"sum": 3, "end": {"from_end": "ignored"}}


def test_end_outputs_merge_in_canonical_order_not_declaration_or_finish_order() -> None:
    doc = workflow(
        [start(), end("x", k="x", only_x=1), end("y", k="y", only_y=2),
         tool("s", "sleep", seconds=5), transform("t1"), transform("t2"), set_("late", done=True)],
        ["start -> s", "s -> y", "s -> late", "start -> t1", "t1 -> t2", "t2 -> x"],
    )  # fmt: skip
    result = run_graph(doc)
    order = [e.node for e in result.trace if e.kind == "completed" and e.node in "xy"]
    assert order == ["x", "y"]  # x finishes first and is declared first ...
    assert result.outputs == {"k": "x", "only_x": 1, "only_y": 2}  # ... but is later canonically
    assert result.vars == {"done": True}  # an end does not stop the other branches


def test_no_declared_outputs_and_no_end_give_empty_outputs() -> None:
    result = run_graph(linear(start(), set_("s", v=1)))
    assert result.status is RunStatus.COMPLETED
    assert result.outputs == {} and result.vars == {"v": 1}


def test_outputs_that_fail_to_render_fail_the_run_and_compensate() -> None:
    tools, calls = recording_tools("undo")
    step = node("a", "tool", tool="echo", args={}, options={"compensate": {"tool": "undo"}})
    result = run_graph(linear(start(), step, outputs={"x": "{{ inputs.absent }}"}), tools=tools)
    assert result.status is RunStatus.FAILED and result.outputs == {}
    assert result.error_codes() == [("$outputs", "EXPRESSION_ERROR")]
    assert calls == [("undo", {})]


# --------------------------------------------------------------------------- §10 trace


def test_each_node_has_started_then_completed_in_seq_order() -> None:
    result = run_graph(linear(start(), transform("a"), tool("b", "sleep", seconds=2), end()))
    assert [(n, p, a, k) for n, p, a, k in [e.step() for e in result.trace]] == [
        (n, (), 1, k) for n in ("start", "a", "b", "end") for k in ("started", "completed")
    ]
    assert [e.time for e in result.trace] == [0, 0, 0, 0, 0, 2, 2, 2]
    seqs = [e.seq for e in result.trace]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_a_container_frames_its_body_events() -> None:
    doc = workflow(
        [start(), node("L", "loop", mode="for", count=2), start("ls", parent="L"),
         transform("t", parent="L")],
        ["start -> L", "ls -> t"],
    )  # fmt: skip
    result = run_graph(doc)
    own = [e for e in result.trace if e.node == "L"]
    assert [(e.kind.value, e.attempt) for e in own] == [("started", 1), ("completed", 1)]
    body = [e for e in result.trace if e.path]
    assert len(body) == 8 and all(own[0].seq < e.seq < own[1].seq for e in body)


def test_failed_events_carry_code_message_and_handled() -> None:
    doc = workflow(
        [start(), tool("d", "divide", a=1, b=0), transform("h"), tool("c", "crash", message="m")],
        ["start -> d", "d[error] -> h", "start -> c"],
    )
    result = run_graph(doc)
    details = {e.node: e.detail for e in result.trace if e.kind == "failed"}
    assert details["d"] == {"code": "DIVISION_BY_ZERO", "message": "cannot divide 1 by zero",
                            "handled": True}  # fmt: skip
    assert details["c"]["code"] == "TOOL_ERROR" and details["c"]["handled"] is False
    assert "m" in details["c"]["message"]


def test_node_executions_counts_started_events_including_retries_and_children() -> None:
    doc = workflow(
        [start(), node("f", "tool", tool="flaky", args={"failures": 2},
                       options={"retry": {"max_attempts": 3, "initial_interval": 0}}),
         node("L", "loop", mode="for", count=3), start("ls", parent="L"),
         transform("t", parent="L")],
        ["start -> f", "f -> L", "ls -> t"],
    )  # fmt: skip
    result = run_graph(doc)
    started = [e for e in result.trace if e.kind == "started"]
    assert result.metrics.node_executions == len(started) == 1 + 3 + 1 + 3 * 2
