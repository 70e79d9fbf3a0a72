"""Graph engine cancellation beyond a plain running attempt (docs/semantics.md §7.11): a
sub-workflow's child is cancelled by the same rules and compensates itself; a paused run is
cancelled with its inputs abandoned and its work compensated, also after a snapshot round
trip; a cancel is refused where there is nothing to cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import cancel_at, graph_engine, kinds, node, recording_tools, start, tool, workflow

from engines.errors import EngineStateError
from engines.model import WorkflowRegistry
from engines.model.validate import validate_workflow
from engines.result import RunStatus


def _registry(child_compensation: str = "undo", child_wait: Any = 10) -> WorkflowRegistry:
    parent = workflow(
        [
            start(),
            node("pay", "tool", tool="echo", args={"v": 1},
                 options={"compensate": {"tool": "undo", "args": {"what": "pay"}}}),
            node("sub", "subworkflow", workflow="child", inputs={}),
        ],
        ["start -> pay", "pay -> sub"],
        workflow_id="parent",
    )  # fmt: skip
    child = workflow(
        [
            start(),
            node("hold", "tool", tool="echo", args={"v": 2},
                 options={"compensate": {"tool": child_compensation, "args": {"what": "hold"}}}),
            node("settle", "wait", seconds=child_wait),
        ],
        ["start -> hold", "hold -> settle"],
        workflow_id="child",
    )  # fmt: skip
    return WorkflowRegistry([validate_workflow(parent), validate_workflow(child)])


def test_a_cancel_cancels_the_child_first_which_compensates_itself() -> None:
    tools, calls = recording_tools("undo")
    engine = graph_engine(tools)
    result = cancel_at(engine, engine.start(_registry(), {}), 3)
    assert result.status is RunStatus.CANCELLED
    inner = (("sub", 0),)
    order = [(e.kind.value, e.node, e.path) for e in result.trace][-4:]
    assert order == [
        ("failed", "settle", inner),
        ("compensated", "hold", inner),
        ("failed", "sub", ()),
        ("compensated", "pay", ()),
    ]
    assert calls == [("undo", {"what": "hold"}), ("undo", {"what": "pay"})]
    (error,) = result.errors
    assert (error.node, error.code, error.message) == ("sub", "CANCELLED", "cancelled")
    assert error.cause is not None
    assert (error.cause.node, error.cause.code, error.cause.path) == ("settle", "CANCELLED", ())
    failed = next(e for e in result.trace if e.kind == "failed" and e.node == "sub")
    assert failed.detail["handled"] is False


def test_a_child_already_failing_when_the_cancel_comes_still_fails_its_node_cancelled() -> None:
    """The child's settle fails at t=0 (negative seconds, rendered at run time, is an
    expression error), then its compensation takes clock time; the parent is cancelled
    meanwhile."""
    tools, _ = recording_tools("undo")

    async def slow_undo(args: Any, ctx: Any) -> Any:
        await ctx.clock.sleep(5)
        return args

    tools.register("slow_undo", slow_undo)
    engine = graph_engine(tools)
    registry = _registry(child_compensation="slow_undo", child_wait="{{ -1 }}")
    result = cancel_at(engine, engine.start(registry, {}), 2)
    (error,) = result.errors
    assert (error.node, error.code) == ("sub", "CANCELLED")
    assert error.cause is not None and error.cause.code == "EXPRESSION_ERROR"
    assert result.node_errors == {}


def _paused_loop() -> dict[str, Any]:
    undo = {"tool": "undo", "args": {"i": "{{ loop.index }}"}}
    return workflow(
        [start(), node("L", "loop", mode="for", count=3), start("ls", parent="L"),
         node("t", "tool", parent="L", tool="echo", args={}, options={"compensate": undo}),
         node("ask", "input", parent="L", prompt="again?")],
        ["start -> L", "ls -> t", "t -> ask"],
    )  # fmt: skip


@pytest.mark.parametrize("roundtrip", [False, True])
def test_cancelling_a_paused_run(roundtrip: bool) -> None:
    tools, calls = recording_tools("undo")
    engine = graph_engine(tools)
    execution = engine.start(_paused_loop(), {})
    engine.clock.run(execution.run)
    engine.clock.run(lambda: execution.resume("yes"))
    if roundtrip:
        snapshot = json.loads(json.dumps(execution.snapshot()))
        engine = graph_engine(tools)
        execution = engine.restore(_paused_loop(), snapshot)
    result = engine.clock.run(execution.cancel_paused)
    assert result.status is RunStatus.CANCELLED and result.outputs == {} and result.errors == ()
    assert kinds(result, "ask", (("L", 1),)) == ["started", "skipped"]
    assert kinds(result, "L") == ["started"]  # no terminal event
    assert calls == [("undo", {"i": 1}), ("undo", {"i": 0})]
    with pytest.raises(EngineStateError, match="not paused"):
        engine.clock.run(execution.cancel_paused)


def test_cancel_paused_is_refused_on_a_run_that_is_not_paused() -> None:
    engine = graph_engine()
    execution = engine.start(workflow([start(), tool("t")], ["start -> t"]), {})
    with pytest.raises(EngineStateError, match="not paused"):
        engine.clock.run(execution.cancel_paused)
    engine.clock.run(execution.run)
    with pytest.raises(EngineStateError, match="completed, not paused"):
        engine.clock.run(execution.cancel_paused)
