"""Turning pydantic's validation errors into located, readable problems.

`('nodes', 3, 'router', 'params', 'routes', 0, 'when')` becomes
`nodes[3] (id 'pick').params.routes[0].when`, and pydantic's wording is replaced where a user
would otherwise have to know pydantic (discriminators, "Value error, ...").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from engines.errors import Problem
from engines.model.nodes import NODE_TYPES

#: Rewrites a native location for the document the user wrote (e.g. ReactFlow's `data`).
LocationMapper = Callable[[str], str]


def format_location(loc: Sequence[str | int], data: Any = None) -> str:
    """Render a pydantic location as a path, naming the node by id where it can."""
    parts: list[str] = []
    previous: str | int | None = None
    skip_tag = False
    for item in loc:
        if skip_tag:
            skip_tag = False
            if item in NODE_TYPES:
                previous = item
                continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
            if previous == "nodes" and len(parts) == 2:
                node_id = _node_id(data, item)
                if node_id is not None:
                    parts.append(f" (id {node_id!r})")
                skip_tag = True
        elif not parts:
            parts.append(str(item))
        else:
            parts.append(f".{item}")
        previous = item
    return "".join(parts)


def _node_id(data: Any, index: int) -> str | None:
    if isinstance(data, dict):
        nodes = data.get("nodes")
        if isinstance(nodes, (list, tuple)) and 0 <= index < len(nodes):
            node = nodes[index]
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                return node["id"]
    return None


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        close = difflib.get_close_matches(str(tag), NODE_TYPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown node type {tag!r} (known: {', '.join(NODE_TYPES)}){hint}"
    if kind == "union_tag_not_found":
        return f"node has no 'type' (one of: {', '.join(NODE_TYPES)})"
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return "unknown field"
    message: str = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def problems_from(
    exc: ValidationError, data: Any = None, mapper: LocationMapper | None = None
) -> list[Problem]:
    """One problem per pydantic error, in document order, without repeats."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors(include_url=False):
        location = format_location(error["loc"], data)
        if mapper is not None:
            location = mapper(location)
        message = _message(error)
        if (location, message) not in seen:
            seen.add((location, message))
            out.append(Problem(location, message))
    return out


def located(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    """Prefix every problem's location (e.g. with `workflow 'child'`)."""
    return [
        Problem(f"{prefix} {p.location}" if p.location else prefix, p.message) for p in problems
    ]
