"""What each node type does, apart from scheduling.

Inline handlers (`start`, `set`, `transform`, `end`, `condition`, `router`, `fail`) are pure:
they read the scope and return an `Outcome` — the output, the handles to fire and the
variables to write — or raise a `NodeFailure`; the scheduler applies the outcome through the
state's named operations. Nodes that spend clock time (`tool`, `wait`, `subworkflow`, and
any node with retries) run as tasks in `engines.graph.execution`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engines.errors import NodeFailure
from engines.model.nodes import (
    ConditionNode,
    EndNode,
    FailNode,
    RouterNode,
    SetNode,
    TransformNode,
)

OUT = ("out",)
TRUE = ("true",)
FALSE = ("false",)
DEFAULT = ("default",)
ERROR = ("error",)


class Outcome:
    """The effect of a node execution: its output, the handles it fires, the vars it writes."""

    __slots__ = ("handles", "output", "writes")

    def __init__(
        self, output: Any, handles: tuple[str, ...] = OUT, writes: dict[str, Any] | None = None
    ) -> None:
        self.output = output
        self.handles = handles
        self.writes = writes


Scope = Mapping[str, Any]


def run_start(node: Any, scope: Scope) -> Outcome:
    return Outcome(scope["inputs"])


def run_set(node: SetNode, scope: Scope) -> Outcome:
    values = {name: template.render(scope) for name, template in node.params.values.items()}
    return Outcome(values, OUT, values)


def run_transform(node: TransformNode, scope: Scope) -> Outcome:
    return Outcome(node.params.value.render(scope))


def run_end(node: EndNode, scope: Scope) -> Outcome:
    return Outcome({name: t.render(scope) for name, t in node.params.outputs.items()}, ())


def run_condition(node: ConditionNode, scope: Scope) -> Outcome:
    value = node.params.expression.test(scope)
    return Outcome(value, TRUE if value else FALSE)


def run_router(node: RouterNode, scope: Scope) -> Outcome:
    matched: list[str] = []
    for route in node.params.routes:
        if route.when.test(scope):
            matched.append(route.name)
            if not node.params.all_matching:
                break
    return Outcome({"matched": matched}, tuple(matched) if matched else DEFAULT)


def fail_failure(node: FailNode, scope: Scope) -> NodeFailure:
    """The failure a `fail` node raises (its code and message rendered)."""
    return NodeFailure(
        node.params.code.render(scope),
        node.params.message.render(scope),
        recoverable=node.params.recoverable,
    )


def run_fail(node: FailNode, scope: Scope) -> Outcome:
    raise fail_failure(node, scope)


INLINE: dict[str, Callable[[Any, Scope], Outcome]] = {
    "start": run_start,
    "set": run_set,
    "transform": run_transform,
    "end": run_end,
    "condition": run_condition,
    "router": run_router,
    "fail": run_fail,
}
