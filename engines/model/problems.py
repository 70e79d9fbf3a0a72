"""Turning pydantic's validation errors into located, readable problems.

`('nodes', 3, 'router', 'params', 'routes', 0, 'when')` becomes
`nodes[3] (id 'pick').params.routes[0].when`, and pydantic's wording is replaced where a user
would otherwise have to know pydantic (discriminators, "Value error, ...").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from engines.errors import Problem
from engines.model.nodes import NODE_TYPES

#: Rewrites a native location for the document the user wrote (e.g. ReactFlow's `data`).
LocationMapper = Callable[[str], str]


def _is_union_tag(item: str | int) -> bool:
    """pydantic names the member of a union that failed (`str`, `dict[str,any]` ...)."""
    return isinstance(item, str) and ("[" in item or item in _TYPE_NAMES)


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "dict", "list", "tuple", "none", "any"})


_ABSENT = object()


def _child(value: Any, item: str | int) -> Any:
    """`value[item]` when `item` is a key (or an index) of `value` in the document."""
    if isinstance(value, dict):
        try:
            return value.get(item, _ABSENT)
        except TypeError:  # an unhashable item
            return _ABSENT
    if isinstance(value, list | tuple) and isinstance(item, int) and 0 <= item < len(value):
        return value[item]
    return _ABSENT


def format_location(loc: Sequence[str | int], data: Any = None) -> str:
    """Render a pydantic location as a path, naming the node by id where it can. With the
    document (`data`), a key of the document that looks like one of the union members
    pydantic names (`str`, `a[0]`) is kept as the key it is."""
    parts: list[str] = []
    previous: str | int | None = None
    skip_tag = False
    current = data
    for item in loc:
        child = _child(current, item)
        if child is _ABSENT and _is_union_tag(item):
            continue
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
        elif isinstance(item, str) and (item == "" or item != item.strip()):
            # a key that would vanish from the path (empty, or blank at an end): quoted
            parts.append(repr(item) if not parts else f".{item!r}")
        elif not parts:
            parts.append(str(item))
        else:
            parts.append(f".{item}")
        previous = item
        current = None if child is _ABSENT else child
    return "".join(parts)


def _node_id(data: Any, index: int) -> str | None:
    if isinstance(data, dict):
        nodes = data.get("nodes")
        if isinstance(nodes, (list, tuple)) and 0 <= index < len(nodes):
            node = nodes[index]
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                return node["id"]
    return None


_PLAIN_WORDS: dict[str, str] = {
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "finite_number": "must be a finite number",
}


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    node_union = ctx.get("discriminator") == "'type'"
    if kind == "union_tag_invalid" and node_union:
        tag = ctx.get("tag")
        close = difflib.get_close_matches(str(tag), NODE_TYPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown node type {tag!r} (known: {', '.join(NODE_TYPES)}){hint}"
    if kind == "union_tag_not_found" and node_union:
        return f"node has no 'type' (one of: {', '.join(NODE_TYPES)})"
    if kind == "union_tag_invalid":
        field = str(ctx.get("discriminator", "")).strip("'")
        return f"unknown {field} {ctx.get('tag')!r} (expected {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return f"missing {str(ctx.get('discriminator', '')).strip(chr(39))!r}"
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in _PLAIN_WORDS:
        return _PLAIN_WORDS[kind]
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    message: str = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if message.startswith("Input should be "):
        message = "must be " + message[len("Input should be ") :]
    return message


def _parent(location: str) -> tuple[str, str]:
    head, _, last = location.rpartition(".")
    return head, last


def _merge_typos(problems: list[tuple[str, str, str]]) -> list[Problem]:
    """An unknown field next to a missing one it resembles is one mistake: a typo."""
    missing = {loc for loc, kind, _ in problems if kind == "missing"}
    merged: list[Problem] = []
    consumed: set[str] = set()
    for location, kind, message in problems:
        if kind == "extra_forbidden":
            parent, name = _parent(location)
            candidates = [_parent(m)[1] for m in missing if _parent(m)[0] == parent]
            close = difflib.get_close_matches(name, candidates, n=1)
            if close:
                consumed.add(f"{parent}.{close[0]}")
                message = f"unknown field; did you mean {close[0]!r}?"
        merged.append(Problem(location, message))
    return [p for p in merged if p.location not in consumed or p.message != "missing (required)"]


def problems_from(
    exc: ValidationError, data: Any = None, mapper: LocationMapper | None = None
) -> list[Problem]:
    """One problem per pydantic error, in document order, without repeats."""
    raw: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors(include_url=False):
        location = format_location(error["loc"], data)
        location += (error.get("ctx") or {}).get("path", "")
        message = _message(error)
        if (location, message) not in seen:
            seen.add((location, message))
            raw.append((location, error["type"], message))
    problems = _merge_typos(raw)
    if mapper is not None:
        problems = [Problem(mapper(p.location), p.message) for p in problems]
    return problems
