"""The journey export: `to_parlant` writes a script that builds the journey with the Parlant
SDK, and `to_mermaid` draws it. The script is run against a strict fake of `parlant.sdk`
(tests/fakes/parlant), which refuses every call the SDK would refuse; the journey it builds
must obey Parlant's transition rule, ask every input's prompt, call every tool and reach
END_JOURNEY."""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.documents import Fixture, load_fixture
from engines.journey import Journey, JourneyEngine, StateKind
from engines.journey.export import to_mermaid, to_parlant
from engines.journey.model import END_JOURNEY
from engines.model import ValidatedWorkflow
from engines.model.nodes import InputNode, ToolNode
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FAKES = Path(__file__).resolve().parent / "fakes"


@cache
def _fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


WORKFLOWS = [
    pytest.param(path.name, workflow_id, id=f"{path.name}::{workflow_id}")
    for path in sorted(FIXTURES.glob("*.yaml"))
    for workflow_id in _fixture(path.name).registry
]
ENGINE = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())


def _compiled(file: str, workflow_id: str) -> tuple[ValidatedWorkflow, Journey]:
    registry = _fixture(file).registry
    validated = registry[workflow_id]
    return validated, ENGINE.blueprint(validated, registry).journey


def _forget_parlant() -> None:
    for name in [m for m in sys.modules if m == "parlant" or m.startswith("parlant.")]:
        del sys.modules[name]


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The fake `parlant.sdk`, importable as `parlant.sdk` for the test only."""
    monkeypatch.syspath_prepend(str(FAKES))
    _forget_parlant()
    module = importlib.import_module("parlant.sdk")
    assert Path(module.__file__ or "").resolve().is_relative_to(FAKES)
    yield module
    _forget_parlant()


def build(sdk: ModuleType, code: str, name: str) -> Any:
    """Run an exported script's `create_journey` against the fake; the journey it built."""
    namespace: dict[str, Any] = {"__name__": f"parlant_export_{name}"}
    # dont_inherit: not this module's `from __future__ import annotations`, which would turn
    # the script's annotations into strings (the SDK's @tool compares them with the classes).
    exec(compile(code, f"<parlant export of {name}>", "exec", dont_inherit=True), namespace)
    agent = sdk.Agent()
    journey = asyncio.run(namespace["create_journey"](agent))
    assert agent.journeys == [journey]
    return journey


def stub_tools(sdk: ModuleType, built: Any) -> list[str]:
    """The tool each tool state's stub stands for (each stub raises NotImplementedError with
    its tool's name), one entry per tool state."""

    async def named(entry: Any) -> str:
        with pytest.raises(NotImplementedError) as info:
            await entry.function(sdk.ToolContext("agent", "session", "customer"))
        return str(info.value.args[0])

    async def every() -> list[str]:
        return [await named(s.tool) for s in built.states if s.kind == sdk.TOOL]

    return asyncio.run(every())


def reachable(journey: Journey) -> list[str]:
    """The states some path from the initial state reaches, in the journey's order."""
    seen, todo = {journey.initial}, [journey.initial]
    while todo:
        for transition in journey.states[todo.pop()].transitions:
            if transition.target not in seen:
                seen.add(transition.target)
                todo.append(transition.target)
    return [sid for sid in journey.states if sid in seen]


def _nodes(validated: ValidatedWorkflow) -> list[Any]:
    return [validated.workflow.node(n) for n in validated.topology.iter_nodes()]


# ---------------------------------------------------------------- the fake is strict


def test_the_fake_refuses_what_the_sdk_refuses(sdk: ModuleType) -> None:
    misuse = sdk.SdkMisuse

    async def scenario() -> Any:
        journey = await sdk.Agent().create_journey("T", "d", ["the customer says hi"])
        other = await sdk.Agent().create_journey("U", "d", ["the customer says bye"])
        initial = journey.initial_state
        with pytest.raises(misuse):
            await initial.transition_to(chat_state="a", state=sdk.END_JOURNEY)
        with pytest.raises(misuse):
            await initial.transition_to(condition="c")
        with pytest.raises(misuse):
            await initial.transition_to(tool_state=lambda context: None)
        with pytest.raises(misuse):
            await initial.transition_to(state=other.initial_state)
        with pytest.raises(misuse):
            await sdk.END_JOURNEY.transition_to(chat_state="after the end")
        with pytest.raises(misuse):
            sdk.tool(lambda context: None)  # no `context: ToolContext`, no ToolResult
        with pytest.raises(misuse):
            await initial.fork()  # the SDK's initial state has no fork()
        first = (await initial.transition_to(chat_state="welcome")).target
        fork = (await first.fork()).target
        assert fork.kind == sdk.FORK
        with pytest.raises(misuse):
            await fork.fork()
        with pytest.raises(misuse):
            await fork.transition_to(chat_state="no condition")
        chat = (await fork.transition_to(condition="yes", chat_state="hello")).target
        await fork.transition_to(condition="no", state=sdk.END_JOURNEY)
        await chat.transition_to(state=sdk.END_JOURNEY)
        assert journey.rule_violations() == []
        assert journey.dead_ends() == []
        assert journey.reaches(initial, sdk.END_JOURNEY)
        await chat.transition_to(condition="again", state=fork)
        return journey

    journey = asyncio.run(scenario())
    assert len(journey.rule_violations()) == 1  # chat: one unconditional and one conditional


def test_the_fake_does_not_leak_into_other_tests() -> None:
    assert not any(m == "parlant" or m.startswith("parlant.") for m in sys.modules)
    assert str(FAKES) not in sys.path


# ---------------------------------------------------------------- Parlant SDK script


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_parlant_export_builds_the_journey(sdk: ModuleType, file: str, workflow_id: str) -> None:
    validated, journey = _compiled(file, workflow_id)
    code = to_parlant(journey, workflow_hash=validated.content_hash)
    assert validated.content_hash in code
    built = build(sdk, code, workflow_id)
    assert built.title == journey.title
    assert built.description == journey.description
    assert built.conditions and all(c.strip() for c in built.conditions)
    assert built.initial_state.kind == sdk.INITIAL
    # Parlant's rule, on the states the SDK calls made.
    assert built.rule_violations() == []
    assert built.dead_ends() == []
    # It reaches its end, from everywhere.
    assert built.reaches(built.initial_state, sdk.END_JOURNEY)
    trapped = [s for s in built.states if not built.reaches(s, sdk.END_JOURNEY)]
    assert trapped == []
    # It asks every input's prompt and calls every tool.
    chats = [s.chat for s in built.states if s.kind == sdk.CHAT]
    for node in _nodes(validated):
        if isinstance(node, InputNode):
            prompt = node.params.prompt.source
            assert any(prompt in text for text in chats), (node.id, prompt, chats)
    called = stub_tools(sdk, built)
    for node in _nodes(validated):
        if isinstance(node, ToolNode):
            assert node.params.tool in called, (node.id, called)


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_parlant_export_keeps_every_chat_and_tool_state(
    sdk: ModuleType, file: str, workflow_id: str
) -> None:
    """Only fork states may be folded away: each chat and tool state the walk can reach from
    the initial state is declared once, calling the same tool."""
    _, journey = _compiled(file, workflow_id)
    built = build(sdk, to_parlant(journey), workflow_id)
    shown = [journey.states[sid] for sid in reachable(journey)]
    chat = [s for s in shown if s.kind is StateKind.CHAT]
    tool = [s for s in shown if s.kind is StateKind.TOOL]
    assert Counter(s.chat for s in built.states if s.kind == sdk.CHAT) == Counter(
        s.label for s in chat
    )
    assert Counter(stub_tools(sdk, built)) == Counter(s.tool for s in tool)


def test_parlant_export_of_a_condition_carries_its_sentences(sdk: ModuleType) -> None:
    file, workflow_id = "condition_exclusive_choice.yaml", "exclusive_choice"
    _, journey = _compiled(file, workflow_id)
    built = build(sdk, to_parlant(journey), workflow_id)
    conditions = {t.condition for s in built.states for t in s.transitions if t.condition}
    assert any("the input amount is at least 100" in c for c in conditions), conditions
    assert all("{{" not in c for c in conditions)


# ---------------------------------------------------------------- Mermaid

_DECLARATION = re.compile(r'^    state "(?P<text>[^"]*)" as (?P<id>\S+)$')
_TRANSITION = re.compile(r"^    (?P<source>\S+) --> (?P<target>\S+)(?: : (?P<label>.*))?$")
_KIND = {"initial": "INITIAL", "chat": "CHAT", "tool": "TOOL", "fork": "FORK"}


def _words(text: str) -> str:
    return re.sub(r"\W+", "", text)


@pytest.mark.parametrize(("file", "workflow_id"), WORKFLOWS)
def test_mermaid_draws_every_reachable_state_and_transition(file: str, workflow_id: str) -> None:
    _, journey = _compiled(file, workflow_id)
    diagram = to_mermaid(journey)
    lines = diagram.splitlines()
    assert lines[0] == "stateDiagram-v2"
    declared = [m for m in map(_DECLARATION.match, lines) if m]
    shown = [sid for sid in reachable(journey) if sid != END_JOURNEY]
    assert len(declared) == len(shown)
    ids: dict[str, str] = {END_JOURNEY: "[*]"}
    for sid, match in zip(shown, declared, strict=True):
        state = journey.states[sid]
        assert _words(match["text"]) == _words(f"{_KIND[state.kind]} {state.label}"), sid
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", match["id"]), match["id"]
        ids[sid] = match["id"]
    assert len(set(ids.values())) == len(ids)
    assert f"    [*] --> {ids[journey.initial]}" in lines
    assert any(line.endswith("--> [*]") for line in lines)
    drawn = Counter(
        (m["source"], m["target"], _words(m["label"] or ""))
        for m in map(_TRANSITION.match, lines)
        if m and m["source"] != "[*]"
    )
    expected = Counter(
        (ids[sid], ids[t.target], _words(t.condition or "") if t.token else "")
        for sid in shown
        for t in journey.states[sid].transitions
    )
    assert drawn == expected
    for match in map(_TRANSITION.match, lines):
        if match and match["label"]:
            assert not set(match["label"]) & set(";#\n"), match["label"]
