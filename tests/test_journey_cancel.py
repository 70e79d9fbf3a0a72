"""Cancelling a journey session (docs/semantics.md §7.11): a turn cancelled at a moment of
its clock, a paused session cancelled (fresh, or saved and loaded back), sub-journeys
cancelled first — each checked against the graph engine field by field through the two
drivers, and against the values the contract gives, so both engines wrong alike fail too.

Every case at a clock time is built as a fixture, so the fixture loader's rule (no
clock-spending node may run concurrently with another) vouches that the cancel finds the
same attempt in progress in every engine. Everything runs on virtual clocks.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import condition, linear, node, start, transform, workflow

from engines.clock import VirtualClock, run_turn
from engines.documents import Case, fixture_from_data
from engines.errors import EngineStateError
from engines.graph import GraphEngine
from engines.graph.driver import run_conversation as graph_conversation
from engines.journey import JourneyEngine, JourneyResult
from engines.journey.driver import run_conversation as journey_conversation
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult, RunStatus
from engines.tools import ToolContext, ToolRegistry, builtin_registry

# --------------------------------------------------------------------------- tools


@dataclass
class Tools:
    """Built-ins plus compensation tools that log their calls: `undo` at once, `slow_undo`
    after 5 clock seconds (so a cancel can arrive while a run compensates)."""

    registry: ToolRegistry = field(default_factory=builtin_registry)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        async def undo(args: Any, ctx: ToolContext) -> Any:
            self.calls.append(("undo", dict(args)))
            return dict(args)

        async def slow_undo(args: Any, ctx: ToolContext) -> Any:
            await ctx.clock.sleep(5)
            self.calls.append(("slow_undo", dict(args)))
            return dict(args)

        self.registry.register("undo", undo)
        self.registry.register("slow_undo", slow_undo)


def undoable(
    node_id: str, value: Any = 1, *, undo: str = "undo", parent: str | None = None
) -> dict:
    """An echo tool node compensated by `undo` with its own output."""
    comp = {"tool": undo, "args": {"v": f"{{{{ nodes['{node_id}'].output.v }}}}"}}
    return node(node_id, "tool", parent=parent, tool="echo", args={"v": value},
                options={"compensate": comp})  # fmt: skip


def sleeper(node_id: str, seconds: float = 10, *, parent: str | None = None, **opts: Any) -> dict:
    return node(node_id, "tool", parent=parent, tool="sleep", args={"seconds": seconds},
                options=opts or None)  # fmt: skip


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Scenario:
    registry: WorkflowRegistry
    case: Case


def scenario(
    doc: dict[str, Any],
    *children: dict[str, Any],
    cancel: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    conversation: tuple[Any, ...] = (),
) -> Scenario:
    """A one-case fixture: the loader checks that a cancel at a clock time is deterministic."""
    data = {
        "workflow": doc,
        "workflows": list(children),
        "cases": [
            {"name": "c", "inputs": inputs or {}, "conversation": list(conversation),
             "cancel": cancel}
        ],
    }  # fmt: skip
    fixture = fixture_from_data(data, source="test_journey_cancel", base=Path("."),
                                tools=Tools().registry)  # fmt: skip
    return Scenario(fixture.registry, fixture.cases[0])


Engine = type[JourneyEngine] | type[GraphEngine]


def _drive(s: Scenario, kind: Engine, roundtrip: bool) -> tuple[Any, Tools]:
    """The case through the engine's own driver; with `roundtrip`, every pause (and the
    pause a `when: paused` cancel ends) goes through JSON to a fresh engine."""
    tools = Tools()

    def make() -> Any:
        return kind(tools=tools.registry, clock=VirtualClock())

    converse = journey_conversation if kind is JourneyEngine else graph_conversation
    c = s.case
    result = converse(
        make(),
        s.registry,
        c.inputs,
        c.conversation,
        roundtrip=roundtrip,
        cancel=c.cancel,
        fresh=make if roundtrip else None,
    )
    return result, tools


def journey(s: Scenario, *, roundtrip: bool = True) -> tuple[JourneyResult, Tools]:
    return _drive(s, JourneyEngine, roundtrip)


def graph(s: Scenario, *, roundtrip: bool = True) -> tuple[RunResult, Tools]:
    return _drive(s, GraphEngine, roundtrip)


#: The detail keys docs/semantics.md §10 lists per event kind; the rest may differ.
DETAIL_KEYS = {
    "retrying": ("code", "delay"),
    "failed": ("code", "message", "handled"),
    "skipped": ("reason",),
    "deduplicated": ("key",),
    "compensated": ("tool", "ok"),
}
FIELDS = ("status", "outputs", "vars", "node_outputs", "node_errors", "errors", "pause")


def steps(result: RunResult) -> Counter[tuple[Any, ...]]:
    """The multiset of trace steps, each with the detail the contract fixes."""
    out: Counter[tuple[Any, ...]] = Counter()
    for e in result.trace:
        detail = {k: e.detail[k] for k in DETAIL_KEYS.get(e.kind.value, ()) if k in e.detail}
        out[(*e.step(), json.dumps(detail, sort_keys=True))] += 1
    return out


def assert_same(expected: RunResult, actual: RunResult) -> None:
    """Field by field (JSON types included), then the trace steps as a multiset."""
    want = expected.model_dump(mode="json", include=set(FIELDS))
    got = actual.model_dump(mode="json", include=set(FIELDS))
    for name in FIELDS:
        assert json.dumps(got[name], sort_keys=True) == json.dumps(want[name], sort_keys=True), (
            f"{name} differs:\n  graph   {want[name]}\n  journey {got[name]}"
        )
    missing, extra = steps(expected) - steps(actual), steps(actual) - steps(expected)
    assert not missing and not extra, (
        f"trace steps differ: graph only {missing}, journey only {extra}"
    )


def same_as_graph(s: Scenario, *, roundtrip: bool = True) -> tuple[JourneyResult, Tools]:
    expected, graph_tools = graph(s, roundtrip=roundtrip)
    actual, tools = journey(s, roundtrip=roundtrip)
    assert_same(expected, actual)
    assert tools.calls == graph_tools.calls
    return actual, tools


def errors(result: RunResult) -> list[tuple[str, str, int, Any]]:
    return [(e.node, e.code, e.attempts, e.path) for e in result.errors]


def events(result: RunResult, node_id: str, path: Any = ()) -> list[tuple[str, int]]:
    return [(e.kind.value, e.attempt) for e in result.trace if e.node == node_id and e.path == path]


def compensated(result: RunResult) -> list[tuple[str, Any, bool]]:
    """Compensations in the order they ran."""
    return [(e.node, e.path, e.detail["ok"]) for e in result.trace if e.kind == "compensated"]


def skipped(result: RunResult) -> set[tuple[str, Any, str]]:
    return {(e.node, e.path, e.detail["reason"]) for e in result.trace if e.kind == "skipped"}


# --------------------------------------------------------------------------- attempts


def test_a_tool_attempt_in_progress_fails_and_what_completed_is_compensated() -> None:
    doc = linear(start(), undoable("a"), sleeper("s"), transform("t"))
    result, tools = same_as_graph(scenario(doc, cancel={"at": 4}))
    assert (result.status, result.outputs, result.pause) == (RunStatus.CANCELLED, {}, None)
    assert errors(result) == [("s", "CANCELLED", 1, ())]
    (error,) = result.errors
    assert (error.message, error.recoverable, error.cause) == ("cancelled", False, None)
    assert events(result, "s") == [("started", 1), ("failed", 1)]
    failed = next(e for e in result.trace if (e.node, e.kind) == ("s", "failed"))
    assert (failed.time, failed.detail) == (4, {"code": "CANCELLED", "message": "cancelled",
                                                "handled": False})  # fmt: skip
    assert events(result, "t") == []
    assert result.node_outputs == {"start": {}, "a": {"v": 1}} and result.node_errors == {}
    assert compensated(result) == [("a", (), True)] and tools.calls == [("undo", {"v": 1})]
    assert result.metrics.duration == 4


def test_a_wait_in_progress_fails() -> None:
    doc = linear(start(), node("w", "wait", seconds=5), transform("t"))
    result, _ = same_as_graph(scenario(doc, cancel={"at": 2}))
    assert errors(result) == [("w", "CANCELLED", 1, ())]
    assert events(result, "w") == [("started", 1), ("failed", 1)] and events(result, "t") == []


def test_a_cancel_during_a_backoff_fails_the_attempt_that_just_failed() -> None:
    retry = {"max_attempts": 4, "initial_interval": 2}  # backoffs 0-2, then 2-6
    flaky = node("f", "tool", tool="flaky", args={"failures": 9}, options={"retry": retry})
    failing = node("x", "fail", code="NOPE", message="no", recoverable=True,
                   options={"retry": retry})  # fmt: skip
    for doc, at, attempts in ((linear(start(), flaky), 3, 2), (linear(start(), failing), 1, 1)):
        result, _ = same_as_graph(scenario(doc, cancel={"at": at}))
        (error,) = result.errors
        assert (error.code, error.attempts) == ("CANCELLED", attempts)
        kinds = [k for k, _ in events(result, error.node)]
        assert kinds[-2:] == ["retrying", "failed"] and kinds.count("started") == attempts


def test_a_cancel_during_attempt_2_of_a_retried_timeout() -> None:
    slow = sleeper("s", timeout=2, retry={"max_attempts": 3, "initial_interval": 1})
    result, _ = same_as_graph(scenario(linear(start(), slow), cancel={"at": 4}))
    assert events(result, "s") == [("started", 1), ("retrying", 1), ("started", 2), ("failed", 2)]
    assert errors(result) == [("s", "CANCELLED", 2, ())]
    assert result.trace[-1].detail == {
        "code": "CANCELLED",
        "message": "cancelled",
        "handled": False,
    }


def test_at_the_cancel_moment_what_ends_then_completes_and_what_starts_then_starts() -> None:
    doc = linear(start(), sleeper("s1", 2), sleeper("s2", 3), transform("t"))
    result, _ = same_as_graph(scenario(doc, cancel={"at": 2}))
    assert events(result, "s1") == [("started", 1), ("completed", 1)]
    assert errors(result) == [("s2", "CANCELLED", 1, ())] and events(result, "t") == []
    # A timeout due at the cancel moment has fired: the cancel lands in the backoff.
    slow = sleeper("s", timeout=2, retry={"max_attempts": 2, "initial_interval": 1})
    result, _ = same_as_graph(scenario(linear(start(), slow), cancel={"at": 2}))
    assert events(result, "s") == [("started", 1), ("retrying", 1), ("failed", 1)]
    assert errors(result) == [("s", "CANCELLED", 1, ())]


def test_an_error_port_does_not_route_a_cancelled_attempt() -> None:
    doc = workflow(
        [start(), sleeper("s"), transform("handler"), transform("after")],
        ["start -> s", "s[error] -> handler", "s -> after"],
    )
    result, _ = same_as_graph(scenario(doc, cancel={"at": 2}))
    assert errors(result) == [("s", "CANCELLED", 1, ())] and result.node_errors == {}
    assert result.trace[-1].detail["handled"] is False
    assert events(result, "handler") == events(result, "after") == []


def test_compensation_runs_in_reverse_order_key_and_a_failing_one_is_reported_last() -> None:
    broken = {"tool": "raise", "args": {"code": "UNDO_DOWN"}}
    doc = linear(start(), undoable("a", 1), node("b", "tool", tool="echo", args={"v": 2},
                 options={"compensate": broken}), undoable("c", 3), sleeper("s"))  # fmt: skip
    result, tools = same_as_graph(scenario(doc, cancel={"at": 1}))
    assert compensated(result) == [("c", (), True), ("b", (), False), ("a", (), True)]
    assert tools.calls == [("undo", {"v": 3}), ("undo", {"v": 1})]
    assert [(e.node, e.code) for e in result.errors] == [("s", "CANCELLED"),
                                                          ("b", "COMPENSATION_FAILED")]  # fmt: skip


def test_errors_are_unhandled_ones_then_cancelled_then_compensation_failures() -> None:
    # `f` can run concurrently with `s`, so the fixture loader would refuse this cancel; it
    # is deterministic all the same: `f` spends no time and comes first in canonical order.
    broken = {"tool": "raise", "args": {"code": "UNDO_DOWN"}}
    doc = workflow(
        [start(), node("f", "fail", code="EARLY", message="first"),
         node("b", "tool", tool="echo", args={}, options={"compensate": broken}), sleeper("s")],
        ["start -> f", "start -> b", "b -> s"],
    )  # fmt: skip
    registry = WorkflowRegistry([validate_workflow(doc)], tools=Tools().registry)
    case = Case(name="c", cancel={"at": 2})
    result, _ = same_as_graph(Scenario(registry, case))
    assert [(e.node, e.code) for e in result.errors] == [
        ("f", "EARLY"),
        ("s", "CANCELLED"),
        ("b", "COMPENSATION_FAILED"),
    ]
    assert result.status is RunStatus.CANCELLED


# --------------------------------------------------------------------------- containers

LOOP = workflow(
    [start(), undoable("a"), node("L", "loop", mode="for", count=3), start("ls", parent="L"),
     node("s", "tool", parent="L", tool="sleep", args={"seconds": 2, "value": {"v": "x"}},
          options={"compensate": {"tool": "undo", "args": {"i": "{{ loop.index }}"}}}),
     transform("e", "{{ loop.index }}", parent="L"), transform("after")],
    ["start -> a", "a -> L", "ls -> s", "s -> e", "L -> after"],
)  # fmt: skip


def test_a_cancel_inside_a_loop_iteration_leaves_the_loop_without_a_terminal_event() -> None:
    result, tools = same_as_graph(scenario(LOOP, cancel={"at": 3}))
    assert errors(result) == [("s", "CANCELLED", 1, (("L", 1),))]
    assert events(result, "L") == [("started", 1)] and events(result, "after") == []
    assert events(result, "e", (("L", 0),)) == [("started", 1), ("completed", 1)]
    assert events(result, "e", (("L", 1),)) == [] and events(result, "ls", (("L", 2),)) == []
    assert compensated(result) == [("s", (("L", 0),), True), ("a", (), True)]
    assert tools.calls == [("undo", {"i": 0}), ("undo", {"v": 1})]
    assert "L" not in result.node_outputs


def test_a_cancel_inside_a_parallel_with_max_concurrency_1_after_a_failed_branch() -> None:
    doc = workflow(
        [start(), node("P", "parallel", mode="count", count=3, max_concurrency=1),
         start("ps", parent="P"), condition("first", "parallel.index == 0", parent="P"),
         node("f", "fail", parent="P", code="BRANCH", message="b0"),
         sleeper("s", 2, parent="P"), transform("after")],
        ["start -> P", "ps -> first", "first[true] -> f", "first[false] -> s", "P -> after"],
    )  # fmt: skip
    result, _ = same_as_graph(scenario(doc, cancel={"at": 1}))
    # Branch 0 failed, branch 1 is cancelled, branch 2 never opened; the parallel is in
    # progress, so branch 0's failure is no run error.
    assert errors(result) == [("s", "CANCELLED", 1, (("P", 1),))]
    assert events(result, "f", (("P", 0),)) == [("started", 1), ("failed", 1)]
    assert events(result, "P") == [("started", 1)] and events(result, "ps", (("P", 2),)) == []
    assert ("f", (("P", 1),), "dead_path") in skipped(result)


def test_dead_paths_already_decided_are_skipped_in_every_open_walk() -> None:
    # Each exclusive choice takes the branch that spends time; the branch it closed comes
    # later in canonical order, so the walk has not passed over it when the cancel lands.
    doc = workflow(
        [start(), condition("c", "inputs.go"),
         node("L", "loop", mode="for", count=2), start("ls", parent="L"),
         condition("c2", "loop.index == 0", parent="L"), sleeper("s", 5, parent="L"),
         transform("b2", parent="L"), transform("j2", parent="L"),
         transform("b"), transform("b_next"), transform("j")],
        ["start -> c", "c[true] -> L", "c[false] -> b", "b -> b_next", "L -> j", "b_next -> j",
         "ls -> c2", "c2[true] -> s", "c2[false] -> b2", "s -> j2", "b2 -> j2"],
    )  # fmt: skip
    result, _ = same_as_graph(scenario(doc, cancel={"at": 1}, inputs={"go": True}))
    body = (("L", 0),)
    assert skipped(result) == {("b", (), "dead_path"), ("b_next", (), "dead_path"),
                               ("b2", body, "dead_path")}  # fmt: skip
    assert events(result, "j") == events(result, "j2", body) == []  # a path is still open
    assert errors(result) == [("s", "CANCELLED", 1, body)]


# --------------------------------------------------------------------------- sub-workflows

CHILD = linear(start(), undoable("c1", 7), sleeper("cs"), node("ce", "end"), workflow_id="kid")
PARENT = workflow(
    [start(), undoable("a"),
     node("sub", "subworkflow", workflow="kid", inputs={},
          options={"compensate": {"tool": "undo", "args": {"sub": True}}}),
     transform("handler"), transform("t")],
    ["start -> a", "a -> sub", "sub[error] -> handler", "sub -> t"],
)  # fmt: skip


def _check_cancelled_child(result: RunResult, tools: Tools) -> None:
    inner = (("sub", 0),)
    assert errors(result) == [("sub", "CANCELLED", 1, ())] and result.node_errors == {}
    (error,) = result.errors
    assert error.message == "cancelled" and error.cause is not None
    assert (error.cause.node, error.cause.code, error.cause.path) == ("cs", "CANCELLED", ())
    assert events(result, "cs", inner) == [("started", 1), ("failed", 1)]
    assert events(result, "ce", inner) == events(result, "handler") == events(result, "t") == []
    # The child compensates itself first; the cancelled subworkflow node is not compensated.
    assert compensated(result) == [("c1", inner, True), ("a", (), True)]
    assert tools.calls == [("undo", {"v": 7}), ("undo", {"v": 1})]


def test_a_sub_journey_in_progress_is_cancelled_first_and_compensates_itself() -> None:
    result, tools = same_as_graph(scenario(PARENT, CHILD, cancel={"at": 3}))
    _check_cancelled_child(result, tools)


RECURSIVE = workflow(
    [start(), condition("more", "inputs.n > 0"),
     node("down", "subworkflow", workflow="rec", inputs={"n": "{{ inputs.n - 1 }}"}),
     sleeper("bottom")],
    ["start -> more", "more[true] -> down", "more[false] -> bottom"],
    workflow_id="rec",
)  # fmt: skip


def _check_recursion(result: RunResult) -> None:
    one, two = (("down", 0),), (("down", 0), ("down", 0))
    (error,) = result.errors
    assert (error.node, error.cause.node, error.cause.cause.node) == ("down", "down", "bottom")
    assert error.cause.cause.code == "CANCELLED" and error.cause.cause.cause is None
    assert events(result, "bottom", two) == [("started", 1), ("failed", 1)]
    # Each level above skips `bottom`, which lies after `down` on the branch not taken.
    assert {("bottom", (), "dead_path"), ("bottom", one, "dead_path")} <= skipped(result)


def test_a_chain_of_sub_journeys_is_cancelled_from_the_bottom_up() -> None:
    result, _ = same_as_graph(scenario(RECURSIVE, cancel={"at": 2}, inputs={"n": 2}))
    _check_recursion(result)


# --------------------------------------------------------------------------- while ending

SLOW_UNDO = linear(start(), undoable("a", undo="slow_undo"), node("f", "fail", code="BAD"))


def test_a_cancel_while_the_run_compensates_changes_nothing() -> None:
    s = scenario(SLOW_UNDO, cancel={"at": 2})  # the run failed at 0 and compensates until 5
    result, tools = same_as_graph(s)
    assert (result.status, errors(result)) == (RunStatus.FAILED, [("f", "BAD", 1, ())])
    assert compensated(result) == [("a", (), True)] and tools.calls == [("slow_undo", {"v": 1})]
    assert result.metrics.duration == 5


ENDING_CHILD = linear(start(), undoable("c1", undo="slow_undo"), node("cf", "fail", code="BAD"),
                      workflow_id="kid")  # fmt: skip
ENDING_PARENT = workflow(
    [start(), node("sub", "subworkflow", workflow="kid", inputs={}), transform("h"),
     transform("t")],
    ["start -> sub", "sub[error] -> h", "sub -> t"],
)  # fmt: skip


def _check_ending_child(result: RunResult, tools: Tools) -> None:
    (error,) = result.errors
    assert (error.node, error.code, error.message) == ("sub", "CANCELLED", "cancelled")
    assert error.cause is not None and (error.cause.node, error.cause.code) == ("cf", "BAD")
    assert result.node_errors == {} and result.trace[-1].detail["handled"] is False
    assert compensated(result) == [("c1", (("sub", 0),), True)] and len(tools.calls) == 1
    assert events(result, "h") == events(result, "t") == [] and result.metrics.duration == 5


def test_a_child_that_is_compensating_ends_as_it_is_and_its_node_is_cancelled() -> None:
    # The child failed at 0 and compensates until 5: it has not returned, so its parent's
    # node is still in progress when the cancel comes at 2 (§7.8: a failing child
    # compensates itself before its parent sees the failure).
    result, tools = same_as_graph(scenario(ENDING_PARENT, ENDING_CHILD, cancel={"at": 2}))
    _check_ending_child(result, tools)


# --------------------------------------------------------------------------- when paused

LOOP_ASKS = workflow(
    [start(), undoable("a"), node("L", "loop", mode="for", count=3), start("ls", parent="L"),
     node("q", "input", parent="L", prompt="item {{ loop.index }}?"),
     node("bt", "tool", parent="L", tool="echo", args={"v": "{{ nodes.q.output }}"},
          options={"compensate": {"tool": "undo", "args": {"v": "{{ nodes.bt.output.v }}"}}}),
     transform("after")],
    ["start -> a", "a -> L", "ls -> q", "q -> bt", "L -> after"],
)  # fmt: skip
FAN_ASKS = workflow(
    [start(), undoable("a"), node("P", "parallel", mode="count", count=3, max_concurrency=2),
     start("ps", parent="P"), node("q", "input", parent="P", prompt="branch {{ parallel.index }}?"),
     undoable("pt", "{{ nodes.q.output }}", parent="P"), transform("after")],
    ["start -> a", "a -> P", "ps -> q", "q -> pt", "P -> after"],
)  # fmt: skip
PAUSED = {
    "loop": (LOOP_ASKS, ("x",)),
    "parallel-fresh": (FAN_ASKS, ()),
    "parallel-answered": (FAN_ASKS, ("y",)),
}


def _check_paused(name: str, result: RunResult, tools: Tools) -> None:
    assert (result.status, result.outputs, result.pause) == (RunStatus.CANCELLED, {}, None)
    assert errors(result) == [] and "after" not in result.node_outputs
    abandoned = [(e.node, e.path) for e in result.trace if e.detail.get("reason") == "abandoned"]
    if name == "loop":
        assert abandoned == [("q", (("L", 1),))]
        assert compensated(result) == [("bt", (("L", 0),), True), ("a", (), True)]
        assert tools.calls == [("undo", {"v": "x"}), ("undo", {"v": 1})]
        assert events(result, "L") == [("started", 1)]
    elif name == "parallel-fresh":
        assert abandoned == [("q", (("P", 0),)), ("q", (("P", 1),))]
        assert compensated(result) == [("a", (), True)]
    else:
        assert abandoned == [("q", (("P", 1),)), ("q", (("P", 2),))]
        assert compensated(result) == [("pt", (("P", 0),), True), ("a", (), True)]


@pytest.mark.parametrize("roundtrip", [False, True], ids=["fresh", "saved-and-loaded"])
@pytest.mark.parametrize("name", list(PAUSED))
def test_a_paused_session_is_cancelled(name: str, roundtrip: bool) -> None:
    doc, answers = PAUSED[name]
    s = scenario(doc, cancel={"when": "paused"}, conversation=answers)
    result, tools = same_as_graph(s, roundtrip=roundtrip)
    _check_paused(name, result, tools)
    assert result.metrics.duration == 0


def test_a_cancel_in_a_later_turn_lands_at_the_run_clock_time() -> None:
    doc = linear(start(), node("q", "input", prompt="?"), node("w", "wait", seconds=1),
                 sleeper("s", 10))  # fmt: skip
    # The first turn takes no time; the answer's turn is cancelled 3 s into the run.
    result, _ = same_as_graph(scenario(doc, cancel={"at": 3}, conversation=("go",)))
    assert errors(result) == [("s", "CANCELLED", 1, ())] and result.metrics.duration == 3


# --------------------------------------------------------------------------- the API


def _session(doc: dict[str, Any], tools: ToolRegistry | None = None) -> Any:
    engine = JourneyEngine(tools=tools or Tools().registry, clock=VirtualClock())
    return engine, engine.start_session(doc, {})


def test_cancel_is_refused_unless_a_turn_runs_and_cancel_paused_unless_paused() -> None:
    engine, session = _session(linear(start(), node("q", "input", prompt="?")))
    with pytest.raises(EngineStateError, match=rf"{session.id!r} is new, not running"):
        session.cancel()
    with pytest.raises(EngineStateError, match=rf"{session.id!r} is new, not paused"):
        engine.clock.run(session.cancel_paused)
    assert engine.clock.run(session.start).status is RunStatus.PAUSED
    with pytest.raises(EngineStateError, match="is paused, not running"):
        session.cancel()
    result = engine.clock.run(session.cancel_paused)
    assert result.status is RunStatus.CANCELLED and session.status is RunStatus.CANCELLED
    for refused in (
        session.cancel,
        session.to_json,
        lambda: engine.clock.run(session.cancel_paused),
    ):
        with pytest.raises(EngineStateError, match="is cancelled"):
            refused()


def _cancel_from_another_task(engine: JourneyEngine, session: Any, at: float) -> Any:
    """The turn in a task of its own, cancelled at `at`; afterwards the same task sleeps on
    the clock again, which only works if the cancel did not leave it cancelled."""

    async def turn() -> Any:
        result = await session.start()
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await engine.clock.sleep(1)
        return result

    return run_turn(engine.clock, turn, cancel_after=at, cancel=session.cancel)


def test_the_turns_task_is_not_left_cancelled() -> None:
    engine, session = _session(linear(start(), undoable("a", undo="slow_undo"), sleeper("s")))
    result = _cancel_from_another_task(engine, session, 2)
    assert result.status is RunStatus.CANCELLED and result.metrics.duration == 2 + 5
    assert engine.clock.now() == 8  # the compensation's 5 s, then the task's own second


def _misbehaving(behaviour: str) -> tuple[ToolRegistry, dict[str, Any]]:
    """A tool that swallows the cancel and returns, or that cancels its own session."""
    tools = Tools().registry
    holder: dict[str, Any] = {}

    async def swallow(args: Any, ctx: ToolContext) -> Any:
        try:
            await ctx.clock.sleep(10)
        except asyncio.CancelledError:
            return "ignored the cancel"
        return "slept"

    def self_cancel(args: Any, ctx: ToolContext) -> Any:
        holder["session"].cancel()
        return "cancelled my own run"

    tools.register("odd", swallow if behaviour == "swallow" else self_cancel)
    return tools, holder


@pytest.mark.parametrize("behaviour", ["swallow", "self-cancel"])
def test_an_attempt_that_outlives_its_cancel_still_fails_with_cancelled(behaviour: str) -> None:
    tools, holder = _misbehaving(behaviour)
    doc = linear(start(), undoable("a"), node("o", "tool", tool="odd", args={}), transform("t"))
    engine, session = _session(doc, tools)
    holder["session"] = session
    if behaviour == "swallow":
        result = _cancel_from_another_task(engine, session, 2)
    else:
        result = engine.clock.run(session.start)
    assert errors(result) == [("o", "CANCELLED", 1, ())] and result.status is RunStatus.CANCELLED
    assert events(result, "t") == [] and compensated(result) == [("a", (), True)]
