"""Compiling a workflow into a journey.

Each level (the top level, each container body) becomes a walk over its nodes in canonical
order. A node becomes one state — `start` the initial state, `input` a customer-dependent
chat state, `end` a chat state that states the outputs, `condition` and `router` fork states,
everything else a tool state (non-tool kinds call internal tools) — and a loop or parallel
four: enter, a test fork with a back-transition from its next state, and a finish state.

Joins and dead-path elimination happen here: a node whose arrival is not certain when the
walk reaches it gets a guard fork in front ("a path into it has arrived" / "not"), and a
fork's routes lead straight to the first node their choice leaves alive, skipping the ones
that lie only on the other routes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from engines.errors import CompatError
from engines.journey.conditions import sentence
from engines.journey.model import (
    END_JOURNEY,
    Journey,
    JourneyLevel,
    Role,
    State,
    StateKind,
    Transition,
)
from engines.model import ValidatedWorkflow
from engines.model.nodes import (
    ConditionNode,
    InputNode,
    NodeBase,
    RouterNode,
    ToolNode,
)
from engines.model.races import dominance, handle_groups
from engines.model.topology import Level

INTERNAL_TOOLS = {
    "set": "set_variables",
    "transform": "transform",
    "wait": "wait",
    "fail": "fail",
    "subworkflow": "run_subjourney",
    "end": None,
    "start": "begin_iteration",
}


class JourneyCompileError(CompatError):
    """The compiler produced a journey that breaks Parlant's transition rule (a bug)."""


def guard_id(node: str) -> str:
    return f"$arrive:{node}"


def test_id(container: str) -> str:
    return f"$test:{container}"


def next_id(container: str) -> str:
    return f"$next:{container}"


def finish_id(container: str) -> str:
    return f"$finish:{container}"


class _LevelCompiler:
    def __init__(self, validated: ValidatedWorkflow, level: Level, states: dict[str, State]):
        self.wf = validated.workflow
        self.topology = validated.topology
        self.level = level
        self.container = level.container
        self.order = level.nodes
        self.states = states
        self.dominance = dominance(self.wf, level)
        self.after = END_JOURNEY if level.container is None else next_id(level.container)
        self.guarded = tuple(self._needs_guard(i, n) for i, n in enumerate(self.order))

    def label(self, node_id: str) -> str:
        node = self.wf.node(node_id)
        return node.name or node_id

    # ------------------------------------------------------------------ entries

    def _needs_guard(self, index: int, node_id: str) -> bool:
        """Arrival at a node is certain only when its one incoming edge is the plain `out`
        of the node just before it in the walk."""
        if index == 0:
            return False
        incoming = self.level.incoming[node_id]
        if len(incoming) != 1:
            return True
        edge = incoming[0]
        source = self.wf.node(edge.source)
        return (
            edge.source != self.order[index - 1]
            or edge.handle != "out"
            or isinstance(source, (ConditionNode, RouterNode))
        )

    def entry(self, index: int) -> str:
        if index >= len(self.order):
            return self.after
        node_id = self.order[index]
        return guard_id(node_id) if self.guarded[index] else node_id

    def after_choice(self, index: int, group: int | None) -> str:
        """Entry of the first node after `index` that can still run once the node at `index`
        has settled through its handle group `group`: not on a route that group excludes,
        and not mutually exclusive with the node itself (it ran, so every choice above it
        went its way). When that node's every path comes from this one, through the group,
        its arrival is certain and the transition enters its state directly."""
        choice = self.order[index]
        mine = self.dominance.get(choice, {})
        handles = self._group_handles(choice, group)
        for later in range(index + 1, len(self.order)):
            node_id = self.order[later]
            theirs = self.dominance.get(node_id, {})
            dominated = theirs.get(choice)
            if group is not None and dominated is not None and dominated != group:
                continue
            if any(c in theirs and theirs[c] != g for c, g in mine.items()):
                continue
            incoming = self.level.incoming[node_id]
            if (
                handles
                and incoming
                and all(e.source == choice and e.handle in handles for e in incoming)
            ):
                return node_id
            return self.entry(later)
        return self.after

    def _group_handles(self, node_id: str, group: int | None) -> frozenset[str]:
        if group is None:
            return frozenset()
        node = self.wf.node(node_id)
        groups = handle_groups(node, self.level.outgoing[node_id])
        handles = groups[group]
        if isinstance(node, RouterNode) and node.params.all_matching and "default" not in handles:
            return frozenset()  # which routes fire is only known at run time
        return handles

    def group_of(self, node: NodeBase, handles: frozenset[str]) -> int | None:
        groups = handle_groups(node, self.level.outgoing[node.id])
        for position, group in enumerate(groups):
            if group & handles:
                return position
        return None

    # ------------------------------------------------------------------ states

    def add(self, state: State) -> None:
        if state.id in self.states:
            raise JourneyCompileError(f"state {state.id!r} compiled twice")
        self.states[state.id] = state

    def compile(self) -> JourneyLevel:
        for index, node_id in enumerate(self.order):
            if self.guarded[index]:
                self.add(
                    State(
                        guard_id(node_id),
                        StateKind.FORK,
                        Role.GUARD,
                        node_id,
                        self.container,
                        index,
                        f"wait for every path into {self.label(node_id)}",
                        transitions=(
                            Transition(
                                node_id, "arrived", f"a path into {self.label(node_id)} has arrived"
                            ),
                            Transition(
                                self.entry(index + 1),
                                "not_arrived",
                                f"no path into {self.label(node_id)} can arrive yet",
                            ),
                        ),
                    )
                )
            self._node(index, node_id)
        return JourneyLevel(
            self.container,
            self.order,
            tuple(self.entry(i) for i in range(len(self.order))),
            self.after,
        )

    def _outcomes(
        self, index: int, node: NodeBase, success: list[Transition]
    ) -> tuple[Transition, ...]:
        """Success transitions, plus the error port's when the node has one."""
        error = self.group_of(node, frozenset(("error",)))
        if error is None:
            return tuple(success)
        target = self.after_choice(index, error)
        failed = Transition(target, "failed", f"{self.label(node.id)} failed")
        return (*success, failed)

    def _node(self, index: int, node_id: str) -> None:
        node = self.wf.node(node_id)
        label = self.label(node_id)
        kind = node.type
        builders: dict[str, Callable[[int, NodeBase], None]] = {
            "condition": self._condition,
            "router": self._router,
            "loop": self._container,
            "parallel": self._container,
        }
        if kind in builders:
            builders[kind](index, node)
            return
        has_error = self.group_of(node, frozenset(("error",))) is not None
        following = self.after_choice(index, None)
        if kind == "start":
            state_kind = StateKind.INITIAL if self.container is None else StateKind.TOOL
            self.add(
                State(
                    node_id,
                    state_kind,
                    Role.NODE,
                    node_id,
                    self.container,
                    index,
                    "begin" if self.container is None else f"begin {label}",
                    tool=None if self.container is None else "begin_iteration",
                    transitions=(Transition(following),),
                )
            )
            return
        if isinstance(node, InputNode):
            transitions: tuple[Transition, ...] = (
                self._outcomes(
                    index,
                    node,
                    [
                        Transition(
                            self.after_choice(index, self.group_of(node, frozenset(("out",)))),
                            "completed",
                            f"the customer answered {label}",
                        )
                    ],
                )
                if has_error
                else (Transition(following),)
            )
            self.add(
                State(
                    node_id,
                    StateKind.CHAT,
                    Role.NODE,
                    node_id,
                    self.container,
                    index,
                    f"ask: {node.params.prompt.source}",
                    transitions=transitions,
                )
            )
            return
        if kind == "end":
            self.add(
                State(
                    node_id,
                    StateKind.CHAT,
                    Role.NODE,
                    node_id,
                    self.container,
                    index,
                    f"state the outputs of {label}",
                    transitions=(Transition(following),),
                )
            )
            return
        tool = node.params.tool if isinstance(node, ToolNode) else INTERNAL_TOOLS[kind]
        retries = node.retry is not None and node.retry.max_attempts > 1
        success_target = self.after_choice(index, self.group_of(node, frozenset(("out",))))
        if kind == "fail":
            success: list[Transition] = []
        else:
            success = [Transition(success_target, "completed", f"{label} succeeded")]
        if retries:
            retry = Transition(node_id, "retry", f"{label} failed and will be retried")
            transitions = (retry, *self._outcomes(index, node, success))
            if not has_error:
                transitions = (*transitions, Transition(following, "failed", f"{label} failed"))
        elif has_error:
            transitions = self._outcomes(index, node, success)
        else:
            transitions = (Transition(following),)
        self.add(
            State(
                node_id,
                StateKind.TOOL,
                Role.NODE,
                node_id,
                self.container,
                index,
                _tool_label(node, label),
                tool=tool,
                transitions=transitions,
            )
        )

    def _condition(self, index: int, node: NodeBase) -> None:
        assert isinstance(node, ConditionNode)
        text = sentence(node.params.expression)
        transitions = [
            Transition(
                self.after_choice(index, self.group_of(node, frozenset((h,)))),
                h,
                text if h == "true" else f"it is not the case that {text}",
            )
            for h in ("true", "false")
        ]
        self.add(
            State(
                node.id,
                StateKind.FORK,
                Role.NODE,
                node.id,
                self.container,
                index,
                f"decide {self.label(node.id)}",
                transitions=self._outcomes(index, node, transitions),
            )
        )

    def _router(self, index: int, node: NodeBase) -> None:
        assert isinstance(node, RouterNode)
        routes = node.params.routes
        transitions: list[Transition] = []
        if node.params.all_matching:
            group = self.group_of(node, frozenset(node.params.route_names))
            texts = " or ".join(sentence(r.when) for r in routes)
            transitions.append(Transition(self.after_choice(index, group), "matched", texts))
        else:
            earlier: list[str] = []
            for route in routes:
                group = self.group_of(node, frozenset((route.name,)))
                text = sentence(route.when)
                # The first matching route wins: a later one holds only if none before did.
                condition = ", and ".join(
                    [text, *(f"it is not the case that {e}" for e in earlier)]
                )
                earlier.append(text)
                transitions.append(
                    Transition(self.after_choice(index, group), f"route:{route.name}", condition)
                )
        default = self.group_of(node, frozenset(("default",)))
        transitions.append(
            Transition(self.after_choice(index, default), "default", "no route applies")
        )
        self.add(
            State(
                node.id,
                StateKind.FORK,
                Role.NODE,
                node.id,
                self.container,
                index,
                f"route {self.label(node.id)}",
                transitions=self._outcomes(index, node, transitions),
            )
        )

    def _container(self, index: int, node: NodeBase) -> None:
        label = self.label(node.id)
        kind = node.type
        noun = "iteration" if kind == "loop" else "branch"
        body_start = self.topology.levels[node.id].start
        self.add(
            State(
                node.id,
                StateKind.TOOL,
                Role.ENTER,
                node.id,
                self.container,
                index,
                f"start {kind} {label}",
                tool=f"enter_{kind}",
                transitions=(Transition(test_id(node.id)),),
            )
        )
        self.add(
            State(
                test_id(node.id),
                StateKind.FORK,
                Role.TEST,
                node.id,
                self.container,
                index,
                f"another {noun} of {label}?",
                transitions=(
                    Transition(body_start, "more", f"{label} has another {noun} to run"),
                    Transition(finish_id(node.id), "done", f"{label} has run every {noun}"),
                ),
            )
        )
        self.add(
            State(
                next_id(node.id),
                StateKind.TOOL,
                Role.NEXT,
                node.id,
                self.container,
                index,
                f"record the {noun} result of {label}",
                tool=f"next_{noun}",
                transitions=(Transition(test_id(node.id)),),
            )
        )
        success = [
            Transition(
                self.after_choice(index, self.group_of(node, frozenset(("out",)))),
                "completed",
                f"{label} succeeded",
            )
        ]
        has_error = self.group_of(node, frozenset(("error",))) is not None
        transitions = (
            self._outcomes(index, node, success)
            if has_error
            else (Transition(self.entry(index + 1)),)
        )
        self.add(
            State(
                finish_id(node.id),
                StateKind.TOOL,
                Role.FINISH,
                node.id,
                self.container,
                index,
                f"finish {kind} {label}",
                tool=f"finish_{kind}",
                transitions=transitions,
            )
        )


def _tool_label(node: NodeBase, label: str) -> str:
    """What a tool state does, in words."""
    if isinstance(node, ToolNode):
        return f"call {node.params.tool} ({label})"
    words = {
        "set": "set variables",
        "transform": "compute",
        "wait": "wait",
        "fail": "fail",
        "subworkflow": "run the sub-journey",
    }
    return f"{words.get(node.type, node.type)} ({label})"


def check_transition_rule(states: MappingProxyType[str, State] | dict[str, State]) -> None:
    """Parlant's rule: a state has exactly one unconditional transition, or only conditional
    ones; END_JOURNEY has none. Every target exists."""
    for state in states.values():
        transitions = state.transitions
        if state.kind is StateKind.END:
            if transitions:
                raise JourneyCompileError("END_JOURNEY has transitions")
            continue
        unconditional = [t for t in transitions if t.token is None]
        if not transitions or (unconditional and len(transitions) != 1):
            raise JourneyCompileError(
                f"state {state.id!r} breaks the transition rule: "
                f"{len(unconditional)} unconditional of {len(transitions)} transitions"
            )
        tokens = [t.token for t in transitions]
        if len(set(tokens)) != len(tokens):
            raise JourneyCompileError(f"state {state.id!r} has two transitions for one outcome")
        for transition in transitions:
            if transition.target not in states:
                raise JourneyCompileError(
                    f"state {state.id!r} leads to unknown state {transition.target!r}"
                )


def compile_journey(validated: ValidatedWorkflow) -> Journey:
    """The journey of a validated workflow."""
    states: dict[str, State] = {
        END_JOURNEY: State(END_JOURNEY, StateKind.END, Role.END, None, None, -1, "END_JOURNEY")
    }
    levels = {}
    for container, level in validated.topology.levels.items():
        levels[container] = _LevelCompiler(validated, level, states).compile()
    check_transition_rule(states)
    workflow = validated.workflow
    return Journey(
        id=workflow.id,
        title=workflow.name or workflow.id,
        description=workflow.description or f"Journey compiled from workflow {workflow.id!r}",
        states=MappingProxyType(states),
        levels=MappingProxyType(levels),
        initial=validated.topology.levels[None].start,
        subjourneys=tuple(
            sorted(
                {
                    n.params.workflow  # type: ignore[attr-defined]
                    for n in workflow.nodes
                    if n.type == "subworkflow"
                }
            )
        ),
    )
