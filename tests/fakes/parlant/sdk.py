"""A strict fake of `parlant.sdk`: journeys, their states and transitions, tools.

Everything the real SDK would refuse is refused here with `SdkMisuse` (a transition with no
target or two, a fork state's unconditional transition, a transition to a state of another
journey, a tool state whose tool was not declared with `@tool`, `fork()` from anything but a
chat or tool state ...), so a generated script that builds against this fake uses the SDK the
way it is meant to be used. After building, `Journey.rule_violations()` checks Parlant's
transition rule: a state has exactly one unconditional transition, or only conditional ones.
(The real SDK refuses the offending `transition_to` call itself; a build it refuses is
exactly a build this check flags, since a violation, once made, cannot be undone.)

Names, signatures and parameters are those of the real `parlant.sdk` 3.x (a subset of its
parameters); tests/parlant_sdk compares them with the installed SDK, and builds every
bundled workflow's export on both.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any


class SdkMisuse(Exception):
    """A call the Parlant SDK does not allow."""


#: The fake's own names, not the SDK's: everything else public here is the SDK's too.
FAKE_ONLY = frozenset(
    {"SdkMisuse", "FAKE_ONLY", "INITIAL", "CHAT", "TOOL", "FORK", "END", "FORKABLE"}
)


class ToolContext:
    """What a tool receives (unused by the fake beyond annotations)."""

    def __init__(self, agent_id: str, session_id: str, customer_id: str) -> None:
        self.agent_id = agent_id
        self.session_id = session_id
        self.customer_id = customer_id


class ToolResult:
    def __init__(self, data: Any) -> None:
        self.data = data


_ToolFunction = Callable[..., Coroutine[Any, Any, ToolResult] | ToolResult]


@dataclass(frozen=True)
class ToolEntry:
    """What `@tool` returns: the only thing `transition_to(tool_state=...)` accepts."""

    function: _ToolFunction

    @property
    def name(self) -> str:
        return self.function.__name__


def tool(func: _ToolFunction) -> ToolEntry:
    """Declare a tool: a function (async or not: the SDK awaits what it returns, if
    awaitable) whose first parameter is `context: ToolContext` and whose return annotation is
    `ToolResult` (the classes themselves, as the SDK compares them: a string annotation, as
    under `from __future__ import annotations`, is refused)."""
    if isinstance(func, ToolEntry):
        raise SdkMisuse(f"{func.name} is already a tool")
    if not callable(func):
        raise SdkMisuse(f"a tool is a function, not {func!r}")
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name not in ("context", "ctx", "c"):
        raise SdkMisuse(f"tool {func.__name__}'s first parameter must be named context")
    if parameters[0].annotation is not ToolContext:
        raise SdkMisuse(f"tool {func.__name__}'s first parameter must be a ToolContext")
    if signature.return_annotation is not ToolResult:
        raise SdkMisuse(f"tool {func.__name__} must be annotated to return a ToolResult")
    return ToolEntry(func)


INITIAL, CHAT, TOOL, FORK, END = "initial", "chat", "tool", "fork", "end"
#: The states with a `fork()` (the SDK's ChatJourneyState and ToolJourneyState).
FORKABLE = (CHAT, TOOL)


@dataclass(frozen=True)
class JourneyTransition:
    source: JourneyState
    target: JourneyState
    condition: str | None


class JourneyState:
    """A state of one journey. Create states only through the SDK's calls."""

    def __init__(
        self,
        journey: Journey | None,
        kind: str,
        *,
        chat: str | None = None,
        tool: ToolEntry | None = None,
    ) -> None:
        self.journey = journey
        self.kind = kind
        self.chat = chat
        self.tool = tool
        self.transitions: list[JourneyTransition] = []

    def __repr__(self) -> str:
        what = self.chat or (self.tool.name if self.tool else "")
        return f"<{self.kind} state {what!r}>"

    def _check_open(self) -> Journey:
        if self.kind == END or self.journey is None:
            raise SdkMisuse("END_JOURNEY has no transitions")
        return self.journey

    async def transition_to(
        self,
        *,
        condition: str | None = None,
        chat_state: str | None = None,
        tool_state: ToolEntry | None = None,
        state: JourneyState | None = None,
    ) -> JourneyTransition:
        journey = self._check_open()
        given = [x for x in (chat_state, tool_state, state) if x is not None]
        if len(given) != 1:
            raise SdkMisuse(
                "transition_to needs exactly one of chat_state, tool_state, state; "
                f"got {len(given)}"
            )
        if condition is not None and (not isinstance(condition, str) or not condition.strip()):
            raise SdkMisuse(f"a condition is a non-empty sentence, not {condition!r}")
        if self.kind == FORK and condition is None:
            raise SdkMisuse("every transition of a fork state needs a condition")
        if chat_state is not None:
            if not isinstance(chat_state, str) or not chat_state.strip():
                raise SdkMisuse(f"chat_state is a non-empty text, not {chat_state!r}")
            target = journey._new(CHAT, chat=chat_state)
        elif tool_state is not None:
            if not isinstance(tool_state, ToolEntry):
                raise SdkMisuse(f"tool_state must be a @tool, not {tool_state!r}")
            target = journey._new(TOOL, tool=tool_state)
        else:
            assert state is not None
            if not isinstance(state, JourneyState):
                raise SdkMisuse(f"state must be a journey state, not {state!r}")
            if state is not END_JOURNEY and state.journey is not journey:
                raise SdkMisuse(f"{state!r} is not a state of this journey")
            target = state
        return self._add(target, condition)

    async def fork(self) -> JourneyTransition:
        journey = self._check_open()
        if self.kind not in FORKABLE:
            raise SdkMisuse(f"fork() is only available on chat and tool states: {self!r}")
        return self._add(journey._new(FORK), None)

    def _add(self, target: JourneyState, condition: str | None) -> JourneyTransition:
        transition = JourneyTransition(self, target, condition)
        self.transitions.append(transition)
        return transition


END_JOURNEY = JourneyState(None, END)


class Journey:
    def __init__(self, title: str, description: str, conditions: Sequence[str]) -> None:
        self.title = title
        self.description = description
        self.conditions = list(conditions)
        self.states: list[JourneyState] = []
        self.initial_state = self._new(INITIAL)

    def _new(self, kind: str, **what: Any) -> JourneyState:
        state = JourneyState(self, kind, **what)
        self.states.append(state)
        return state

    def rule_violations(self) -> list[str]:
        """Parlant's rule, per state: one unconditional transition, or only conditional
        ones."""
        found = []
        for state in self.states:
            unconditional = [t for t in state.transitions if t.condition is None]
            if unconditional and len(state.transitions) != 1:
                found.append(
                    f"{state!r} has {len(unconditional)} unconditional transitions "
                    f"of {len(state.transitions)}"
                )
        return found

    def dead_ends(self) -> list[JourneyState]:
        """States without any transition (the journey would stop there, short of its end)."""
        return [state for state in self.states if not state.transitions]

    def reaches(self, source: JourneyState, goal: JourneyState) -> bool:
        seen = {id(source)}
        todo = [source]
        while todo:
            state = todo.pop()
            if state is goal:
                return True
            for transition in state.transitions:
                if id(transition.target) not in seen:
                    seen.add(id(transition.target))
                    todo.append(transition.target)
        return False


class Agent:
    def __init__(self, name: str = "agent") -> None:
        self.name = name
        self.journeys: list[Journey] = []

    async def create_journey(
        self, title: str, description: str, conditions: Sequence[str]
    ) -> Journey:
        if not isinstance(title, str) or not title.strip():
            raise SdkMisuse("a journey needs a title")
        if not isinstance(description, str):
            raise SdkMisuse("a journey's description is text")
        if isinstance(conditions, str) or not all(
            isinstance(c, str) and c.strip() for c in conditions
        ):
            raise SdkMisuse("a journey's conditions are a list of sentences")
        journey = Journey(title, description, conditions)
        self.journeys.append(journey)
        return journey
