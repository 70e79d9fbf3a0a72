"""A strict fake of `parlant.sdk`: journeys, their states and transitions, tools.

Everything the real SDK would refuse is refused here with `SdkMisuse` (a transition with no
target or two, a fork state's unconditional transition, a transition to a state of another
journey, a tool state whose tool was not declared with `@tool`, `fork()` from a fork state
...), so a generated script that builds against this fake uses the SDK the way it is meant
to be used. After building, `Journey.rule_violations()` checks Parlant's transition rule: a
state has exactly one unconditional transition, or only conditional ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any


class SdkMisuse(Exception):
    """A call the Parlant SDK does not allow."""


class ToolContext:
    """What a tool receives (unused by the fake beyond annotations)."""

    def __init__(self, agent_id: str = "agent", session_id: str = "session") -> None:
        self.agent_id = agent_id
        self.session_id = session_id


class ToolResult:
    def __init__(self, data: Any = None) -> None:
        self.data = data


ToolFunction = Callable[..., Coroutine[Any, Any, ToolResult]]


@dataclass(frozen=True)
class ToolEntry:
    """What `@tool` returns: the only thing `transition_to(tool_state=...)` accepts."""

    function: ToolFunction

    @property
    def name(self) -> str:
        return self.function.__name__


def tool(function: ToolFunction) -> ToolEntry:
    """Declare a tool: an `async def` whose first parameter is the tool context."""
    if isinstance(function, ToolEntry):
        raise SdkMisuse(f"{function.name} is already a tool")
    if not inspect.iscoroutinefunction(function):
        raise SdkMisuse(f"a tool must be an async function, not {function!r}")
    parameters = list(inspect.signature(function).parameters.values())
    if not parameters or parameters[0].annotation not in (ToolContext, "p.ToolContext"):
        raise SdkMisuse(f"tool {function.__name__}'s first parameter must be a ToolContext")
    return ToolEntry(function)


INITIAL, CHAT, TOOL, FORK, END = "initial", "chat", "tool", "fork", "end"


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
        if self.kind not in (INITIAL, CHAT, TOOL):
            raise SdkMisuse(f"fork() is only available on initial, chat and tool states: {self!r}")
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
