"""What both SDKs are asked, the same way: an API surface description and misuse probes.

Imported by the tests (for the fake, in-process) and by `real_sdk.py` (for the installed SDK,
in a subprocess). Standard library only. No `from __future__ import annotations` here: the
probes' tools must carry the SDK's classes as annotations, as an exported script's do.
"""

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

#: A parameter as compared: (name, kind, required).
Parameter = tuple[str, str, bool]


def parameters(obj: Any) -> list[Parameter] | None:
    """The call signature of a function, method or class (its constructor), or None."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        (p.name, p.kind.name, p.default is inspect.Parameter.empty and p.kind not in variadic)
        for p in signature.parameters.values()
    ]


def describe(sdk: ModuleType, dotted: str) -> dict[str, Any]:
    """`Name` or `Class.member` of an SDK module: whether it exists, what it is, its
    signature (callables) and public attributes (classes: members and dataclass fields)."""
    obj: Any = sdk
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return {"exists": False}
        obj = getattr(obj, part)
    if inspect.isclass(obj):
        names = {n for n in dir(obj) if not n.startswith("_")}
        if dataclasses.is_dataclass(obj):
            names |= {f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")}
        return {
            "exists": True,
            "what": "class",
            "parameters": parameters(obj),
            "attributes": sorted(names),
        }
    if callable(obj):
        return {"exists": True, "what": "callable", "parameters": parameters(obj)}
    return {"exists": True, "what": f"instance of {type(obj).__name__}"}


# ---------------------------------------------------------------- misuse probes

Probe = Callable[[ModuleType, Any, Any], Awaitable[None]]
PROBES: dict[str, Probe] = {}


def probe(function: Probe) -> Probe:
    PROBES[function.__name__] = function
    return function


async def make_tool(sdk: ModuleType) -> Any:
    """A tool declared as an exported script declares its stubs."""

    async def a_tool(context: sdk.ToolContext) -> sdk.ToolResult:  # type: ignore[name-defined]
        return sdk.ToolResult(data=None)

    return sdk.tool(a_tool)


# Calls both SDKs accept (so that a probe refusing everything would show).


@probe
async def accepts_fork_from_chat(sdk: ModuleType, journey: Any, other: Any) -> None:
    chat = (await journey.initial_state.transition_to(chat_state="hello")).target
    fork = (await chat.fork()).target
    await fork.transition_to(condition="yes", state=sdk.END_JOURNEY)
    await fork.transition_to(condition="no", state=chat)


@probe
async def accepts_fork_from_tool(sdk: ModuleType, journey: Any, other: Any) -> None:
    tool = (await journey.initial_state.transition_to(tool_state=await make_tool(sdk))).target
    fork = (await tool.fork()).target
    await fork.transition_to(condition="yes", chat_state="done")


@probe
async def accepts_conditional_transitions(sdk: ModuleType, journey: Any, other: Any) -> None:
    initial = journey.initial_state
    await initial.transition_to(condition="a", chat_state="first")
    await initial.transition_to(condition="b", chat_state="second")
    await initial.transition_to(condition="c", state=sdk.END_JOURNEY)


@probe
async def accepts_back_transition(sdk: ModuleType, journey: Any, other: Any) -> None:
    first = (await journey.initial_state.transition_to(chat_state="first")).target
    second = (await first.transition_to(chat_state="second")).target
    await second.transition_to(condition="again", state=first)
    await second.transition_to(condition="done", state=sdk.END_JOURNEY)


# Misuse both SDKs refuse.


@probe
async def refuses_fork_from_initial(sdk: ModuleType, journey: Any, other: Any) -> None:
    await journey.initial_state.fork()


@probe
async def refuses_fork_from_fork(sdk: ModuleType, journey: Any, other: Any) -> None:
    chat = (await journey.initial_state.transition_to(chat_state="hello")).target
    fork = (await chat.fork()).target
    await fork.fork()


@probe
async def refuses_unconditional_from_fork(sdk: ModuleType, journey: Any, other: Any) -> None:
    chat = (await journey.initial_state.transition_to(chat_state="hello")).target
    fork = (await chat.fork()).target
    await fork.transition_to(chat_state="no condition")


@probe
async def refuses_two_targets(sdk: ModuleType, journey: Any, other: Any) -> None:
    await journey.initial_state.transition_to(chat_state="a", state=sdk.END_JOURNEY)


@probe
async def refuses_no_target(sdk: ModuleType, journey: Any, other: Any) -> None:
    await journey.initial_state.transition_to(condition="c")


@probe
async def refuses_two_unconditional(sdk: ModuleType, journey: Any, other: Any) -> None:
    await journey.initial_state.transition_to(chat_state="a")
    await journey.initial_state.transition_to(chat_state="b")


@probe
async def refuses_conditional_after_unconditional(
    sdk: ModuleType, journey: Any, other: Any
) -> None:
    await journey.initial_state.transition_to(chat_state="a")
    await journey.initial_state.transition_to(condition="c", chat_state="b")


@probe
async def refuses_unconditional_after_conditional(
    sdk: ModuleType, journey: Any, other: Any
) -> None:
    await journey.initial_state.transition_to(condition="c", chat_state="a")
    await journey.initial_state.transition_to(chat_state="b")


@probe
async def refuses_transition_from_end(sdk: ModuleType, journey: Any, other: Any) -> None:
    await sdk.END_JOURNEY.transition_to(chat_state="after the end")


@probe
async def refuses_tool_state_without_tool(sdk: ModuleType, journey: Any, other: Any) -> None:
    async def plain(context: sdk.ToolContext) -> sdk.ToolResult:  # type: ignore[name-defined]
        return sdk.ToolResult(data=None)

    await journey.initial_state.transition_to(tool_state=plain)


@probe
async def accepts_sync_tool(sdk: ModuleType, journey: Any, other: Any) -> None:
    def sync(context: sdk.ToolContext) -> sdk.ToolResult:  # type: ignore[name-defined]
        return sdk.ToolResult(data=None)

    await journey.initial_state.transition_to(tool_state=sdk.tool(sync))


@probe
async def refuses_tool_with_string_annotations(sdk: ModuleType, journey: Any, other: Any) -> None:
    async def stringly(context: "ToolContext") -> "ToolResult":  # type: ignore[name-defined]  # noqa: F821
        raise NotImplementedError

    sdk.tool(stringly)


@probe
async def refuses_tool_without_result_annotation(sdk: ModuleType, journey: Any, other: Any) -> None:
    async def untyped(context: sdk.ToolContext):  # type: ignore[name-defined]
        raise NotImplementedError

    sdk.tool(untyped)


@probe
async def refuses_tool_with_misnamed_context(sdk: ModuleType, journey: Any, other: Any) -> None:
    async def misnamed(session: sdk.ToolContext) -> sdk.ToolResult:  # type: ignore[name-defined]
        raise NotImplementedError

    sdk.tool(misnamed)


# Misuse only the fake refuses: the real SDK lets it through (see FAKE_STRICTER).


@probe
async def refuses_state_of_another_journey(sdk: ModuleType, journey: Any, other: Any) -> None:
    await journey.initial_state.transition_to(state=other.initial_state)


@probe
async def refuses_empty_chat_state(sdk: ModuleType, journey: Any, other: Any) -> None:
    await journey.initial_state.transition_to(chat_state="")


#: Probes the fake refuses and the real SDK 3.x accepts, and what the real SDK does instead.
FAKE_STRICTER = {
    "refuses_state_of_another_journey": "records an edge to the other journey's node",
    "refuses_empty_chat_state": "silently makes it a transition to END_JOURNEY",
}


async def run_probe(
    sdk: ModuleType, name: str, new_journey: Callable[[str], Awaitable[Any]]
) -> str:
    """`accepted`, or `refused: <exception>` (the fake's deferred transition rule counts as a
    refusal: the real SDK refuses the offending call itself)."""
    journey, other = await new_journey(f"{name} 1"), await new_journey(f"{name} 2")
    try:
        await PROBES[name](sdk, journey, other)
    except Exception as error:
        return f"refused: {type(error).__name__}: {error}".splitlines()[0][:300]
    violations = getattr(journey, "rule_violations", lambda: [])()
    if violations:
        return f"refused: rule_violations(): {violations[0]}"
    return "accepted"
