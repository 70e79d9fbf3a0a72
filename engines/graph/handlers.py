"""What each node type does, apart from scheduling.

Inline handlers (`start`, `set`, `transform`, `end`, `condition`, `router`, `fail`) are pure:
they read the scope and return an `Outcome` — the output, the handles to fire and the
variables to write — or raise a `NodeFailure`; the scheduler applies the outcome through the
state's named operations. Nodes that spend clock time (`tool`, `wait`, `subworkflow`, and
any node with retries) run as tasks in `engines.graph.execution`.

`compile_inline` turns a node into the handler its plan keeps, with the node's templates
bound in once (for `start`, `set`, `transform`, `end`, `condition`): reading them through the
pydantic node on every execution costs more than rendering a plain path. `router` and `fail`
keep handlers that read their node when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from engines.errors import NodeFailure
from engines.model.nodes import (
    FailNode,
    RouterNode,
    SetNode,
)

OUT = ("out",)
TRUE = ("true",)
FALSE = ("false",)
DEFAULT = ("default",)
ERROR = ("error",)


class Outcome(NamedTuple):
    """The effect of a node execution: its output, the handles it fires, the vars it writes.

    A tuple, so that compiled handlers return a plain `(output, handles, writes)` (one is
    made per node execution) and the scheduler unpacks either kind alike."""

    output: Any
    handles: tuple[str, ...] = OUT
    writes: dict[str, Any] | None = None


Scope = Mapping[str, Any]


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


#: What a handler returns: an `Outcome`, or the plain tuple of the same three values.
Effect = tuple[Any, tuple[str, ...], dict[str, Any] | None]
Handler = Callable[[Any, Scope], Effect]

#: Inline handlers that read their node when called (the others are compiled per node).
INLINE: dict[str, Callable[[Any, Scope], Outcome]] = {
    "router": run_router,
    "fail": run_fail,
}


def compile_inline(node: Any) -> Handler | None:
    """The inline handler of `node`, its templates bound in (None if the node has none: it is
    a container, an input or a task). It ignores the node it is given, which is `node`."""
    kind = node.type
    if kind == "set":
        return _compiled_set(node)
    if kind == "transform":
        render = node.params.value.render

        def transform(_: Any, scope: Scope) -> Effect:
            return (render(scope), OUT, None)

        return transform
    if kind == "start":
        return _start
    if kind == "end":
        outputs = tuple(node.params.outputs.items())

        def end(_: Any, scope: Scope) -> Effect:
            return ({name: t.render(scope) for name, t in outputs}, (), None)

        return end
    if kind == "condition":
        test = node.params.expression.test

        def condition(_: Any, scope: Scope) -> Effect:
            value = test(scope)
            return (value, TRUE if value else FALSE, None)

        return condition
    return INLINE.get(kind)


def _start(_: Any, scope: Scope) -> Effect:
    return (scope["inputs"], OUT, None)


def _compiled_set(node: SetNode) -> Handler:
    items = tuple(node.params.values.items())
    if len(items) == 1:
        ((name, template),) = items
        render = template.render

        def set_one(_: Any, scope: Scope) -> Effect:
            values = {name: render(scope)}
            return (values, OUT, values)

        return set_one

    def set_many(_: Any, scope: Scope) -> Effect:
        values = {name: template.render(scope) for name, template in items}
        return (values, OUT, values)

    return set_many
