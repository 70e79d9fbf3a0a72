"""The journey compiler: every fixture workflow compiles into a journey that obeys Parlant's
transition rule, and each workflow construct becomes the states docs/journey-engine.md
describes (start → initial state, input → chat state, condition/router → fork states, joins
→ guard forks, loops and parallels → enter/test/next/finish, error ports → completed/failed
transitions); conditions read as sentences."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from conftest import (
    condition,
    end,
    linear,
    loop_for,
    node,
    parallel_count,
    set_,
    start,
    tool,
    transform,
    workflow,
)

from engines.clock import VirtualClock
from engines.documents import Fixture, load_fixture
from engines.expressions import compile_expression
from engines.journey import Journey, JourneyEngine, State, StateKind, Transition
from engines.journey.compiler import JourneyCompileError, check_transition_rule
from engines.journey.conditions import sentence
from engines.journey.model import END_JOURNEY, Role
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@cache
def _fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


def _workflows() -> list[Any]:
    return [
        pytest.param(path.name, workflow_id, id=f"{path.name}::{workflow_id}")
        for path in sorted(FIXTURES.glob("*.yaml"))
        for workflow_id in _fixture(path.name).registry
    ]


WORKFLOWS = _workflows()
ENGINE = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())


def _fixture_journey(file: str, workflow_id: str) -> Journey:
    fixture = _fixture(file)
    return ENGINE.blueprint(fixture.registry[workflow_id], fixture.registry).journey


def compiled(doc: dict[str, Any]) -> Journey:
    return JourneyEngine(clock=VirtualClock()).compile(doc)


def one(journey: Journey, node_id: str, role: Role = Role.NODE) -> State:
    """The state of `node_id` with `role` (exactly one must exist)."""
    found = [s for s in journey.states.values() if s.node == node_id and s.role is role]
    assert len(found) == 1, (node_id, role, found)
    return found[0]


def tokens(state: State) -> list[str | None]:
    return [t.token for t in state.transitions]


def only_target(state: State) -> str:
    """The target of a state's single unconditional transition."""
    assert len(state.transitions) == 1 and state.transitions[0].token is None, state
    return state.transitions[0].target


def arrives_at(journey: Journey, target: str, node_id: str) -> bool:
    """`target` is the node's state, or a guard fork whose `arrived` leads to it."""
    state = journey.states[target]
    if state.role is Role.GUARD:
        return state.node == node_id and state.target("arrived") == node_id
    return target == node_id


# ---------------------------------------------------------------- every fixture workflow


def test_every_fixture_workflow_is_collected() -> None:
    assert len(WORKFLOWS) >= 35
    assert any(file == "subworkflow.yaml" for file, _ in (p.values for p in WORKFLOWS))
    assert len({p.id for p in WORKFLOWS}) == len(WORKFLOWS)


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_fixture_journey_obeys_the_transition_rule(file: str, workflow_id: str) -> None:
    journey = _fixture_journey(file, workflow_id)
    check_transition_rule(journey.states)
    for state in journey.states.values():
        unconditional = [t for t in state.transitions if t.token is None]
        if state.kind is StateKind.END:
            assert state.transitions == ()
        else:
            assert state.transitions, state.id
            assert len(unconditional) == 0 or len(state.transitions) == 1, state.id
        for transition in state.transitions:
            assert transition.target in journey.states, (state.id, transition.target)
            if transition.token is not None:
                text = transition.condition
                assert text and text.strip() and "{{" not in text and "{%" not in text, state.id
            if state.kind is StateKind.FORK:
                assert transition.token is not None, f"fork {state.id} has an unconditional way"


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_fixture_journey_covers_every_node_and_ends(file: str, workflow_id: str) -> None:
    """Each reachable node has its state, the initial state is the top-level start, each
    level's entries exist, and every state can still reach END_JOURNEY (no trap)."""
    validated = _fixture(file).registry[workflow_id]
    journey = _fixture_journey(file, workflow_id)
    topology = validated.topology
    assert journey.initial == topology.levels[None].start
    assert journey.states[journey.initial].kind is StateKind.INITIAL
    assert [s.id for s in journey.states.values() if s.kind is StateKind.INITIAL] == [
        journey.initial
    ]
    for node_id in topology.iter_nodes():
        node_type = validated.workflow.node(node_id).type
        role = Role.ENTER if node_type in ("loop", "parallel") else Role.NODE
        assert one(journey, node_id, role).id == node_id
    assert set(journey.levels) == set(topology.levels)
    for container, level in journey.levels.items():
        assert level.order == tuple(topology.levels[container].nodes)
        assert all(entry in journey.states for entry in level.entries)
        assert level.after in journey.states
    assert journey.levels[None].after == END_JOURNEY
    predecessors: dict[str, set[str]] = {}
    for state in journey.states.values():
        for transition in state.transitions:
            predecessors.setdefault(transition.target, set()).add(state.id)
    ending, todo = {END_JOURNEY}, [END_JOURNEY]
    while todo:
        for source in predecessors.get(todo.pop(), ()):
            if source not in ending:
                ending.add(source)
                todo.append(source)
    assert set(journey.states) - ending == set()


# ---------------------------------------------------------------- one construct at a time


def test_start_is_the_initial_state() -> None:
    journey = compiled(linear(start(), transform("a"), end()))
    initial = journey.states[journey.initial]
    assert journey.initial == "start"
    assert (initial.kind, initial.role, initial.node) == (StateKind.INITIAL, Role.NODE, "start")
    assert only_target(initial) == "a"


def test_input_is_a_chat_state_that_asks_the_prompt() -> None:
    doc = linear(start(), node("ask", "input", prompt="How much, {{ inputs.name }}?"), end())
    state = one(compiled(doc), "ask")
    assert state.kind is StateKind.CHAT
    assert "How much, {{ inputs.name }}?" in state.label
    assert state.tool is None
    assert only_target(state) == "end"


@pytest.mark.parametrize(
    ("built", "expected_tool"),
    [
        (tool("t", "multiply", a=2, b=3), "multiply"),
        (set_("t", total=1), "set_variables"),
        (transform("t", "{{ inputs.x }}"), "transform"),
        (node("t", "wait", seconds=1), "wait"),
        (node("t", "fail", code="NOPE", message="no"), "fail"),
    ],
    ids=["tool", "set", "transform", "wait", "fail"],
)
def test_work_nodes_are_tool_states(built: dict[str, Any], expected_tool: str) -> None:
    state = one(compiled(linear(start(), built)), "t")
    assert state.kind is StateKind.TOOL
    assert state.tool == expected_tool
    assert only_target(state) == END_JOURNEY


def test_end_is_a_chat_state_and_the_last_state_leads_to_end_journey() -> None:
    journey = compiled(linear(start(), transform("a"), end("done", total=1)))
    done = one(journey, "done")
    assert done.kind is StateKind.CHAT
    assert only_target(done) == END_JOURNEY
    assert journey.levels[None].after == END_JOURNEY
    assert journey.entry(None, len(journey.levels[None].order)) == END_JOURNEY
    assert journey.states[END_JOURNEY].kind is StateKind.END


def test_a_straight_chain_has_no_guard_and_no_fork() -> None:
    journey = compiled(linear(start(), transform("a"), set_("b", x=1), end()))
    assert StateKind.FORK not in {s.kind for s in journey.states.values()}
    targets = [only_target(journey.states[n]) for n in ("start", "a", "b", "end")]
    assert targets == ["a", "b", "end", END_JOURNEY]


def _choice() -> dict[str, Any]:
    nodes = [start(), condition("c", "inputs.amount > 100"), transform("a"), transform("b")]
    return workflow(
        [*nodes, transform("j"), end()],
        ["start -> c", "c[true] -> a", "c[false] -> b", "a -> j", "b -> j", "j -> end"],
    )


def test_condition_is_a_fork_with_true_and_false_sentences() -> None:
    journey = compiled(_choice())
    fork = one(journey, "c")
    assert fork.kind is StateKind.FORK
    assert tokens(fork) == ["true", "false"]
    yes, no = fork.transitions
    assert yes.condition == "the input amount is greater than 100"
    assert no.condition is not None and no.condition != yes.condition
    assert "the input amount is greater than 100" in no.condition
    assert arrives_at(journey, yes.target, "a")
    assert arrives_at(journey, no.target, "b")


def test_a_join_after_a_condition_gets_a_guard_fork() -> None:
    journey = compiled(_choice())
    guard = one(journey, "j", Role.GUARD)
    assert guard.kind is StateKind.FORK
    assert tokens(guard) == ["arrived", "not_arrived"]
    assert guard.target("arrived") == "j"
    assert arrives_at(journey, guard.target("not_arrived"), "end")
    assert journey.levels[None].entries[journey.levels[None].order.index("j")] == guard.id
    # Both branches go through the guard, never straight into the join.
    assert only_target(one(journey, "a")) == guard.id
    assert only_target(one(journey, "b")) == guard.id


def test_router_forks_on_routes_in_declaration_order_then_default() -> None:
    routes = [
        {"name": "zeta", "when": "inputs.n > 10"},
        {"name": "alpha", "when": "inputs.n < 3"},
        {"name": "mid", "when": "inputs.n == 5"},
    ]
    doc = workflow(
        [start(), node("r", "router", routes=routes)]
        + [transform(x) for x in ("z", "a", "m", "d")]
        + [end()],
        ["start -> r", "r[zeta] -> z", "r[alpha] -> a", "r[mid] -> m", "r[default] -> d"]
        + [f"{x} -> end" for x in ("z", "a", "m", "d")],
    )
    journey = compiled(doc)
    fork = one(journey, "r")
    assert fork.kind is StateKind.FORK
    assert tokens(fork) == ["route:zeta", "route:alpha", "route:mid", "default"]
    conditions = [t.condition or "" for t in fork.transitions]
    own = ["the input n is greater than 10", "the input n is less than 3", "the input n is 5"]
    assert conditions[0] == own[0]
    for text, reading in zip(conditions[1:3], own[1:], strict=True):
        assert text.startswith(reading)
    assert conditions[3] and conditions[3] not in conditions[:3]
    for transition, target in zip(fork.transitions, ("z", "a", "m", "d"), strict=True):
        assert arrives_at(journey, transition.target, target)


def test_a_first_match_route_condition_says_the_earlier_routes_did_not_match() -> None:
    """Without `all_matching` the first matching route wins (§7.3): with priority 9 the
    `normal` route ("at least 3") is not taken, because `urgent` ("at least 8") matched
    first. The sentence a later route's transition carries (what Parlant would judge, and
    what the export writes) must say so, or two conditions of the fork hold at once."""
    routes = [
        {"name": "urgent", "when": "inputs.priority >= 8"},
        {"name": "normal", "when": "inputs.priority >= 3"},
    ]
    doc = workflow(
        [start(), node("r", "router", routes=routes), transform("u"), transform("n"), end()],
        ["start -> r", "r[urgent] -> u", "r[normal] -> n", "u -> end", "n -> end"],
    )
    fork = one(compiled(doc), "r")
    urgent = next(t for t in fork.transitions if t.token == "route:urgent")
    normal = next(t for t in fork.transitions if t.token == "route:normal")
    assert urgent.condition == "the input priority is at least 8"
    assert normal.condition is not None
    assert "the input priority is at least 3" in normal.condition
    assert "the input priority is at least 8" in normal.condition


def test_all_matching_router_forks_on_matched_then_default() -> None:
    routes = [{"name": "email", "when": "inputs.email"}, {"name": "sms", "when": "inputs.n > 2"}]
    doc = workflow(
        [
            start(),
            node("r", "router", all_matching=True, routes=routes),
            *(transform(x) for x in ("x", "y", "d")),
            end(),
        ],
        ["start -> r", "r[email] -> x", "r[sms] -> y", "r[default] -> d"]
        + [f"{x} -> end" for x in ("x", "y", "d")],
    )
    fork = one(compiled(doc), "r")
    assert fork.kind is StateKind.FORK
    assert tokens(fork) == ["matched", "default"]
    matched = fork.transitions[0].condition or ""
    assert "the input email is true" in matched and "the input n is greater than 2" in matched
    assert matched.index("email") < matched.index("the input n")


def test_error_port_gives_completed_and_failed_transitions() -> None:
    doc = workflow(
        [start(), tool("t", "divide", a=1, b=0), transform("ok"), transform("bad"), end()],
        ["start -> t", "t -> ok", "t[error] -> bad", "ok -> end", "bad -> end"],
    )
    journey = compiled(doc)
    state = one(journey, "t")
    assert state.kind is StateKind.TOOL and state.tool == "divide"
    assert tokens(state) == ["completed", "failed"]
    assert arrives_at(journey, state.target("completed"), "ok")
    assert arrives_at(journey, state.target("failed"), "bad")
    assert all(t.condition for t in state.transitions)


def test_retry_is_a_self_transition() -> None:
    retried = tool("t", "flaky", failures=1)
    retried["retry"] = {"max_attempts": 3, "initial_interval": 1}
    state = one(compiled(linear(start(), retried, end())), "t")
    assert state.target("retry") == "t"
    assert state.target("completed") == "end"
    assert state.target("failed") == "end"
    assert None not in tokens(state)


def _container(kind: str) -> Journey:
    make = loop_for if kind == "loop" else parallel_count
    body = [start("cs", parent="C"), transform("ct", parent="C")]
    nodes = [start(), make("C", 2), *body, transform("after"), end()]
    return compiled(workflow(nodes, ["start -> C", "C -> after", "after -> end", "cs -> ct"]))


@pytest.mark.parametrize(
    ("kind", "tools"),
    [
        ("loop", ("enter_loop", "next_iteration", "finish_loop")),
        ("parallel", ("enter_parallel", "next_branch", "finish_parallel")),
    ],
)
def test_container_is_enter_test_body_next_finish(kind: str, tools: tuple[str, ...]) -> None:
    journey = _container(kind)
    enter, test, after_body, finish = (
        one(journey, "C", role) for role in (Role.ENTER, Role.TEST, Role.NEXT, Role.FINISH)
    )
    assert (enter.kind, enter.tool) == (StateKind.TOOL, tools[0])
    assert one(journey, "start").transitions == (Transition(enter.id),)
    assert only_target(enter) == test.id
    assert test.kind is StateKind.FORK
    assert tokens(test) == ["more", "done"]
    assert test.target("more") == "cs"
    assert test.target("done") == finish.id
    assert all("C" in (t.condition or "") for t in test.transitions)
    body_start = one(journey, "cs")
    assert body_start.kind is StateKind.TOOL and body_start.level == "C"
    assert only_target(body_start) == "ct"
    assert only_target(one(journey, "ct")) == after_body.id
    assert journey.levels["C"].after == after_body.id
    assert (after_body.kind, after_body.tool) == (StateKind.TOOL, tools[1])
    assert only_target(after_body) == test.id  # the back-transition
    assert (finish.kind, finish.tool) == (StateKind.TOOL, tools[2])
    assert only_target(finish) == "after"
    assert only_target(one(journey, "end")) == END_JOURNEY


def test_container_with_error_port_finishes_by_completed_or_failed() -> None:
    doc = workflow(
        [start(), loop_for("L", 2), start("ls", parent="L"), transform("ok"), transform("bad")],
        ["start -> L", "L -> ok", "L[error] -> bad"],
    )
    journey = compiled(doc)
    finish = one(journey, "L", Role.FINISH)
    assert tokens(finish) == ["completed", "failed"]
    assert arrives_at(journey, finish.target("completed"), "ok")
    assert arrives_at(journey, finish.target("failed"), "bad")


def test_subworkflow_is_a_tool_state_running_the_sub_journey() -> None:
    journey = _fixture_journey("subworkflow.yaml", "orders")
    state = one(journey, "quote")
    assert (state.kind, state.tool) == (StateKind.TOOL, "run_subjourney")
    assert set(journey.subjourneys) == {"labeler", "price_quote"}


# ---------------------------------------------------------------- the rule checker


def _states(b_transitions: tuple[Transition, ...]) -> dict[str, State]:
    return {
        END_JOURNEY: State(END_JOURNEY, StateKind.END, Role.END, None, None, -1, "END_JOURNEY"),
        "a": State(
            "a", StateKind.INITIAL, Role.NODE, "a", None, 0, "begin", None, (Transition("b"),)
        ),
        "b": State("b", StateKind.TOOL, Role.NODE, "b", None, 1, "call", "echo", b_transitions),
    }


@pytest.mark.parametrize(
    "transitions",
    [
        (Transition(END_JOURNEY),),
        (
            Transition(END_JOURNEY, "completed", "b succeeded"),
            Transition("a", "failed", "b failed"),
        ),
    ],
    ids=["one-unconditional", "only-conditional"],
)
def test_check_transition_rule_accepts_well_formed_states(
    transitions: tuple[Transition, ...],
) -> None:
    check_transition_rule(_states(transitions))
    check_transition_rule(MappingProxyType(_states(transitions)))


@pytest.mark.parametrize(
    ("transitions", "words"),
    [
        ((Transition(END_JOURNEY), Transition("a")), "'b'"),
        ((Transition(END_JOURNEY), Transition("a", "failed", "b failed")), "'b'"),
        ((Transition("nowhere"),), "nowhere"),
        ((Transition("nowhere", "completed", "b succeeded"),), "nowhere"),
        ((), "'b'"),
        ((Transition(END_JOURNEY, "x", "one"), Transition("a", "x", "two")), "'b'"),
    ],
    ids=["two-unconditional", "mix", "dangling", "dangling-conditional", "none", "same-token"],
)
def test_check_transition_rule_refuses_broken_states(
    transitions: tuple[Transition, ...], words: str
) -> None:
    with pytest.raises(JourneyCompileError) as info:
        check_transition_rule(_states(transitions))
    assert words in str(info.value)


def test_check_transition_rule_refuses_transitions_out_of_end_journey() -> None:
    states = _states((Transition(END_JOURNEY),))
    states[END_JOURNEY] = State(
        END_JOURNEY, StateKind.END, Role.END, None, None, -1, "END", None, (Transition("a"),)
    )
    with pytest.raises(JourneyCompileError):
        check_transition_rule(states)


# ---------------------------------------------------------------- conditions as sentences


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("inputs.amount > 100", "the input amount is greater than 100"),
        ("{{ inputs.amount > 100 }}", "the input amount is greater than 100"),
        ("inputs.amount >= 100", "the input amount is at least 100"),
        ("inputs.n < 3", "the input n is less than 3"),
        ("inputs.n <= 0", "the input n is at most 0"),
        ("inputs.mode == 'soft'", "the input mode is 'soft'"),
        ("inputs.a != 1", "the input a is not 1"),
        ('inputs.c in ["a", "b"]', "the input c is one of ['a', 'b']"),
        ("inputs.c not in [1, 2]", "the input c is not one of [1, 2]"),
        ("inputs.extra", "the input extra is true"),
        ('inputs["k"]', "the input k is true"),
        ("inputs.customer.vip", "the input customer.vip is true"),
        ("vars.total >= 5", "the variable total is at least 5"),
        ("loop.index < 3", "the loop's index is less than 3"),
        ("env.MODE == 'prod'", "the setting MODE is 'prod'"),
        ("inputs.x is defined", "the input x is given"),
        ("inputs.tags | length > 2", "the number of the input tags is greater than 2"),
        ("nodes.fetch.output", "the result of fetch is true"),
        ("nodes.fetch.output.ok", "the result of fetch (ok) is true"),
        ("nodes['fetch'].status == 'failed'", "the status of fetch is 'failed'"),
        (
            "inputs.n > 0 and inputs.n < 10",
            "the input n is greater than 0 and the input n is less than 10",
        ),
        ("inputs.a + 1 > 2", "`inputs.a + 1 > 2` holds"),
        ("inputs.n % 2 == 0", "`inputs.n % 2 == 0` holds"),
    ],
)
def test_sentence_reads_expressions(expression: str, expected: str) -> None:
    assert sentence(compile_expression(expression)) == expected


@pytest.mark.parametrize(
    ("expression", "reading"),
    [
        ("inputs.vip or inputs.amount > 100", "the input vip is true"),
        ("inputs.amount > 100 and vars.approved", "the variable approved is true"),
        ("not vars.approved", "the variable approved is true"),
    ],
)
def test_a_bare_reference_inside_and_or_not_reads_as_a_truth_test(
    expression: str, reading: str
) -> None:
    """A bare reference alone reads "… is true"; inside `and`/`or`/`not` it must too, or
    "the input vip or the input amount is greater than 100" says that either value is
    greater than 100."""
    assert reading in sentence(compile_expression(expression))
