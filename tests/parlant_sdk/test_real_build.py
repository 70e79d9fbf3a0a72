"""(b) Every bundled workflow's exported journey, built on a real `parlant.sdk.Server` started
offline (a stand-in NLP service, never asked to generate), read back from the server's
stores, equals the journey compat exported: the same states (chat texts, tools), the same
transitions and conditions, up to the SDK's own state ids. The fake builds the same journey
from the same script, and refuses the same misuse as the real SDK.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from types import ModuleType
from typing import Any

import pytest

from engines.journey import Journey, StateKind
from engines.journey.export import _Flattener
from engines.journey.model import END_JOURNEY
from tests.parlant_sdk.sdk_probes import FAKE_STRICTER, PROBES, run_probe
from tests.parlant_sdk.support import bundled_workflows, compiled, exported, key

pytestmark = pytest.mark.needs_parlant

WORKFLOWS = [pytest.param(f, w, id=key(f, w)) for f, w in bundled_workflows()]

#: A journey as compared: states by id as (kind, text), transitions as (source, condition,
#: target), and the initial state's id.
Graph = tuple[dict[str, tuple[str, str]], list[tuple[str, str | None, str]], str]


def expected_graph(journey: Journey) -> Graph:
    """What the export means to declare: compat's journey with the fork states the SDK
    cannot create folded away, from the initial state on."""
    flat = _Flattener(journey)
    states: dict[str, tuple[str, str]] = {}
    for sid, state in journey.states.items():
        if sid == END_JOURNEY:
            states[sid] = ("end", "")
        elif state.kind is StateKind.TOOL and state.tool:
            states[sid] = ("tool", state.tool)
        elif state.kind in (StateKind.CHAT, StateKind.TOOL):
            states[sid] = ("chat", state.label)
        else:
            states[sid] = (state.kind.value, "")
    transitions = [
        (sid, condition, target)
        for sid, state in journey.states.items()
        if sid != END_JOURNEY and flat.kept(state)
        for condition, target in flat.edges(state)
    ]
    return states, transitions, journey.initial


def real_graph(built: dict[str, Any]) -> Graph:
    """A journey as the real server's JourneyStore holds it."""
    states: dict[str, tuple[str, str]] = {}
    for state in built["states"]:
        if state["kind"] == "tool":
            states[state["id"]] = ("tool", "+".join(state["tools"]))
        elif state["kind"] == "chat":
            states[state["id"]] = ("chat", state["action"] or "")
        else:
            states[state["id"]] = (state["kind"], "")
    transitions = [(t["source"], t["condition"], t["target"]) for t in built["transitions"]]
    return states, transitions, built["root"]


def fake_graph(sdk: ModuleType, code: str) -> tuple[Graph, Any]:
    """A journey as the fake builds it from the same script (and the fake journey)."""
    namespace: dict[str, Any] = {"__name__": "parlant_export"}
    exec(compile(code, "<parlant export>", "exec", dont_inherit=True), namespace)

    async def build() -> tuple[Any, dict[int, str]]:
        journey = await namespace["create_journey"](sdk.Agent())
        tools: dict[int, str] = {}
        for state in journey.states:
            if state.kind == sdk.TOOL:
                try:
                    await state.tool.function(sdk.ToolContext("agent", "session", "customer"))
                except NotImplementedError as error:
                    tools[id(state)] = str(error.args[0])
        return journey, tools

    journey, tools = asyncio.run(build())
    ids = {id(s): f"s{n}" for n, s in enumerate([*journey.states, sdk.END_JOURNEY])}
    states = {ids[id(s)]: (s.kind, s.chat or tools.get(id(s), "")) for s in journey.states}
    states[ids[id(sdk.END_JOURNEY)]] = ("end", "")
    transitions = [
        (ids[id(s)], t.condition, ids[id(t.target)]) for s in journey.states for t in s.transitions
    ]
    return (states, transitions, ids[id(journey.initial_state)]), journey


def reachable(graph: Graph) -> Graph:
    """The part of a journey its initial state reaches."""
    states, transitions, initial = graph
    seen, todo = {initial}, [initial]
    while todo:
        source = todo.pop()
        for s, _, target in transitions:
            if s == source and target not in seen:
                seen.add(target)
                todo.append(target)
    return (
        {sid: label for sid, label in states.items() if sid in seen},
        [t for t in transitions if t[0] in seen],
        initial,
    )


def differences(expected: Graph, actual: Graph) -> str:
    """Empty when the two journeys are the same up to state ids; else what differs."""
    import networkx as nx  # a dependency of parlant, so present wherever these tests run

    def as_networkx(graph: Graph) -> Any:
        states, transitions, initial = graph
        g = nx.MultiDiGraph()
        for sid, label in states.items():
            g.add_node(sid, label=(*label, sid == initial))
        for source, condition, target in transitions:
            g.add_edge(source, target, condition=condition)
        return g

    def same_conditions(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
        return Counter(e["condition"] or "" for e in a.values()) == Counter(
            e["condition"] or "" for e in b.values()
        )

    if nx.is_isomorphic(
        as_networkx(expected),
        as_networkx(actual),
        node_match=lambda a, b: a["label"] == b["label"],
        edge_match=same_conditions,
    ):
        return ""

    def labelled(graph: Graph) -> Counter[tuple[Any, ...]]:
        states, transitions, _ = graph
        return Counter((states[s], c, states[t]) for s, c, t in transitions)

    want, got = labelled(expected), labelled(actual)
    lines = [f"missing: {t}" for t in sorted((want - got).elements(), key=repr)]
    lines += [f"extra:   {t}" for t in sorted((got - want).elements(), key=repr)]
    states_want, states_got = Counter(expected[0].values()), Counter(actual[0].values())
    lines += [f"missing state: {s}" for s in (states_want - states_got).elements()]
    lines += [f"extra state:   {s}" for s in (states_got - states_want).elements()]
    return "\n".join(lines or ["same transitions, but not the same shape"])


# ---------------------------------------------------------------- the real server


def test_the_real_server_builds_every_journey_offline(real_build: dict[str, Any]) -> None:
    assert real_build["version"].split(".")[0] == "3"
    calls = Counter(real_build["nlp_calls"])
    # Construction asks the stand-in for generators and an embedder, and never generates.
    assert calls["get_schematic_generator"] > 0
    assert calls["generate"] == 0
    assert calls["get_streaming_text_generator"] == 0
    # Offline: nothing resolved or connected beyond this machine.
    remote = [a for a in real_build["network"] if a[1] not in ("127.0.0.1", "localhost", "::1")]
    assert not remote, remote
    assert set(real_build["journeys"]) == set(exported())
    failed = {k: j["error"] for k, j in real_build["journeys"].items() if "error" in j}
    assert not failed, "the real SDK refused these exports:\n" + "\n\n".join(
        f"{k}:\n{e}" for k, e in failed.items()
    )


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_the_real_sdk_builds_the_exported_journey(
    real_build: dict[str, Any], file: str, workflow_id: str
) -> None:
    built = real_build["journeys"][key(file, workflow_id)]
    assert "error" not in built, built.get("error")
    _, journey = compiled(file, workflow_id)
    assert built["title"] == journey.title
    assert built["description"] == journey.description
    assert built["conditions"] == [f"The customer starts {journey.title}"]
    tools = [t for s in built["states"] for t in s["tools"]]
    assert all(not t.startswith("?") for t in tools), tools  # every tool state's tool is a stub
    assert {s for state in built["states"] for s in state["services"]} <= {"built-in"}
    actual = real_graph(built)
    # Everything the server holds is reachable: the export declares no stray state.
    assert set(reachable(actual)[0]) | {built["end"]} == set(actual[0])
    difference = differences(reachable(expected_graph(journey)), reachable(actual))
    assert not difference, f"the real SDK's journey differs from compat's:\n{difference}"


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_the_fake_builds_what_the_real_sdk_builds(
    real_build: dict[str, Any], fake_sdk: ModuleType, file: str, workflow_id: str
) -> None:
    built = real_build["journeys"][key(file, workflow_id)]
    assert "error" not in built, built.get("error")
    fake, journey = fake_graph(fake_sdk, exported()[key(file, workflow_id)])
    assert journey.rule_violations() == []
    assert journey.title == built["title"]
    assert journey.conditions == built["conditions"]
    difference = differences(reachable(real_graph(built)), reachable(fake))
    assert not difference, f"the fake's journey differs from the real SDK's:\n{difference}"


def test_the_comparison_sees_a_changed_condition_or_target() -> None:
    """The graph comparison itself, on made-up journeys (so that it can fail)."""
    states = {"i": ("initial", ""), "a": ("chat", "hello"), "e": ("end", "")}
    graph: Graph = (states, [("i", None, "a"), ("a", "done", "e"), ("a", "again", "a")], "i")
    renamed: Graph = (
        {"x": ("initial", ""), "y": ("chat", "hello"), "z": ("end", "")},
        [("x", None, "y"), ("y", "done", "z"), ("y", "again", "y")],
        "x",
    )
    assert differences(graph, renamed) == ""
    reworded: Graph = (states, [("i", None, "a"), ("a", "finished", "e"), ("a", "again", "a")], "i")
    assert "missing: (('chat', 'hello'), 'done', ('end', ''))" in differences(graph, reworded)
    retargeted: Graph = (states, [("i", None, "a"), ("a", "done", "a"), ("a", "again", "e")], "i")
    assert differences(graph, retargeted)


# ---------------------------------------------------------------- misuse


def test_the_fake_refuses_what_the_real_sdk_refuses(
    real_build: dict[str, Any], fake_sdk: ModuleType
) -> None:
    agent = fake_sdk.Agent()

    async def new_journey(title: str) -> Any:
        return await agent.create_journey(title, "a probe", [f"the customer asks {title}"])

    async def every() -> dict[str, str]:
        return {name: await run_probe(fake_sdk, name, new_journey) for name in PROBES}

    fake, real = asyncio.run(every()), real_build["probes"]
    assert set(real) == set(PROBES)
    mismatches = []
    for name in PROBES:
        should_refuse = name.startswith("refuses_")
        real_refuses = real[name].startswith("refused")
        fake_refuses = fake[name].startswith("refused")
        if fake_refuses != should_refuse:
            mismatches.append(f"{name}: the fake {fake[name]}")
        if name in FAKE_STRICTER:
            if real_refuses:
                mismatches.append(
                    f"{name}: the real SDK now refuses it; drop it from FAKE_STRICTER"
                )
        elif real_refuses != should_refuse:
            mismatches.append(f"{name}: the real SDK {real[name]}")
    assert not mismatches, "\n".join(mismatches)
