"""The journey: a Parlant-style state diagram compiled from a workflow.

Parlant's vocabulary is kept: an initial state, chat states (the agent says or asks
something; customer-dependent when it waits for the reply), tool states (the agent calls a
tool), fork states (routing only) and the terminal `END_JOURNEY`. Transitions may carry a
condition, and every state has either exactly one unconditional transition or only
conditional ones. Where Parlant lets a language model judge a condition, this journey
evaluates it from facts of the session: each conditional transition is taken on an
*outcome token* the state produces (`true`, `route:big`, `arrived` ...), and carries the
readable sentence that describes it for export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class StateKind(StrEnum):
    INITIAL = "initial"
    CHAT = "chat"
    TOOL = "tool"
    FORK = "fork"
    END = "end_journey"


class Role(StrEnum):
    """What a state does for the node it came from."""

    NODE = "node"  # runs the node (start, set, transform, tool, input, end, fail ...)
    GUARD = "guard"  # a join: waits until every live path into the node has arrived
    ENTER = "enter"  # a loop or parallel begins
    TEST = "test"  # another iteration or branch, or done?
    NEXT = "next"  # an iteration or branch ended: record its result
    FINISH = "finish"  # the loop or parallel completes (or fails)
    END = "end"  # END_JOURNEY


END_JOURNEY = "END_JOURNEY"


@dataclass(frozen=True, slots=True)
class Transition:
    target: str
    #: Outcome token that selects this transition; None = unconditional.
    token: str | None = None
    #: The condition as a sentence (Parlant judges conditions written in words).
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class State:
    id: str
    kind: StateKind
    role: Role
    #: The workflow node this state came from (None for END_JOURNEY).
    node: str | None
    #: The level (container id, None at top) whose walk this state belongs to.
    level: str | None
    #: Position of `node` in its level's canonical order (-1 for END_JOURNEY).
    position: int
    #: What the agent says (chat states) or the tool it calls (tool states), in words.
    label: str
    #: The tool a tool state calls: a registered tool, or an internal one
    #: (`set_variables`, `transform`, `wait`, `fail`, `enter_loop` ...).
    tool: str | None = None
    transitions: tuple[Transition, ...] = ()

    def target(self, token: str | None) -> str:
        """The state the outcome `token` leads to."""
        for transition in self.transitions:
            if transition.token is None or transition.token == token:
                return transition.target
        raise KeyError(f"state {self.id!r} has no transition for outcome {token!r}")


@dataclass(frozen=True)
class JourneyLevel:
    """The states of one level (the top level or a container body), in walk order."""

    container: str | None
    #: Canonical order of the level's nodes.
    order: tuple[str, ...]
    #: Entry state of each position (its guard, or the node state itself).
    entries: tuple[str, ...]
    #: Where the walk goes after the last position: END_JOURNEY, or the container's NEXT.
    after: str


@dataclass(frozen=True)
class Journey:
    """A compiled journey. Immutable and shared by every session of the workflow."""

    id: str
    title: str
    description: str
    states: MappingProxyType[str, State]
    levels: MappingProxyType[str | None, JourneyLevel]
    initial: str
    #: Sub-journeys by workflow id, for `subworkflow` nodes (compiled lazily by the engine).
    subjourneys: tuple[str, ...] = field(default=())

    def entry(self, level: str | None, position: int) -> str:
        """The state the walk enters position `position` of `level` by (its end if past)."""
        lvl = self.levels[level]
        return lvl.entries[position] if position < len(lvl.entries) else lvl.after

    def __len__(self) -> int:
        return len(self.states)
