"""Merging two runs' contexts (final variables, node outputs) with a conflict strategy.

Mappings always merge key by key, recursively: a key only one side has is kept as it is.
A **conflict** is a path where both sides hold values that are not both mappings and are not
equal as JSON; the strategy decides it:

* `primary_wins` — the primary's value; `shadow_wins` — the shadow's;
* `merge` — two lists become their union (the primary's items, then the shadow's items the
  primary lacks, each distinct item once, equality judged as JSON so unhashable items work);
  any other conflict keeps the primary's value;
* a callable `(path, primary_value, shadow_value) -> value` — its answer is kept (`DROP`
  leaves the key out); `path` is the tuple of keys from the root.

JSON equality: `true` is not `1`, `1` equals `1.0`, mappings compare key by key, lists item
by item. Inputs are never changed, and the result shares no objects with them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from engines.errors import ConfigError
from engines.result import RunResult

STRATEGIES = ("primary_wins", "shadow_wins", "merge")

#: The conflict resolver's signature: (path, primary value, shadow value) -> value to keep.
Resolver = Callable[[tuple[str, ...], Any, Any], Any]
Strategy = str | Resolver


class _Drop:
    """Returned by a callable strategy: leave the conflicting key out of the result."""

    _instance: _Drop | None = None

    def __new__(cls) -> _Drop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


def canonical(value: Any) -> Any:
    """A hashable stand-in for a JSON value: equal stand-ins for JSON-equal values."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    if isinstance(value, Mapping):
        return ("object", frozenset((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(canonical(v) for v in value))
    return ("other", repr(value))


def json_equal(left: Any, right: Any) -> bool:
    return canonical(left) == canonical(right)


def union(primary: list[Any], shadow: list[Any]) -> list[Any]:
    """Every distinct item once, in order of first appearance, the primary's first."""
    seen: set[Any] = set()
    out: list[Any] = []
    for item in (*primary, *shadow):
        key = canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(copy.deepcopy(item))
    return out


def _resolver(strategy: Strategy) -> Resolver:
    if callable(strategy):
        user = strategy

        def call(path: tuple[str, ...], primary: Any, shadow: Any) -> Any:
            kept = user(path, copy.deepcopy(primary), copy.deepcopy(shadow))
            return kept if kept is DROP else copy.deepcopy(kept)

        return call
    if strategy == "primary_wins":
        return lambda path, primary, shadow: copy.deepcopy(primary)
    if strategy == "shadow_wins":
        return lambda path, primary, shadow: copy.deepcopy(shadow)
    if strategy == "merge":

        def merge(path: tuple[str, ...], primary: Any, shadow: Any) -> Any:
            if isinstance(primary, list | tuple) and isinstance(shadow, list | tuple):
                return union(list(primary), list(shadow))
            return copy.deepcopy(primary)

        return merge
    raise ConfigError(
        f"unknown merge strategy {strategy!r} (known: {', '.join(STRATEGIES)}, or a callable "
        "taking (path, primary_value, shadow_value))"
    )


def _merge(
    path: tuple[str, ...], primary: Mapping[str, Any], shadow: Mapping[str, Any], resolve: Resolver
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, mine in primary.items():
        if key not in shadow:
            out[key] = copy.deepcopy(mine)
            continue
        theirs = shadow[key]
        here = (*path, key)
        if isinstance(mine, Mapping) and isinstance(theirs, Mapping):
            value: Any = _merge(here, mine, theirs, resolve)
        elif json_equal(mine, theirs):
            value = copy.deepcopy(mine)
        else:
            value = resolve(here, mine, theirs)
        if value is not DROP:
            out[key] = value
    for key, theirs in shadow.items():
        if key not in primary:
            out[key] = copy.deepcopy(theirs)
    return out


def merge_context(
    primary: Mapping[str, Any], shadow: Mapping[str, Any], strategy: Strategy = "primary_wins"
) -> dict[str, Any]:
    """Merge two contexts (plain JSON data) into a new one; see the module's docstring."""
    resolve = _resolver(strategy)
    for name, value in (("primary", primary), ("shadow", shadow)):
        if not isinstance(value, Mapping):
            raise TypeError(f"the {name} context must be a mapping, not {type(value).__name__}")
    return _merge((), primary, shadow, resolve)


def merge_results(
    primary: RunResult, shadow: RunResult, strategy: Strategy = "primary_wins"
) -> dict[str, Any]:
    """The merged context of two runs: `{"vars": ..., "nodes": ...}` (final variables and
    top-level node outputs); paths given to a callable start with `vars` or `nodes`."""
    for name, value in (("primary", primary), ("shadow", shadow)):
        if not isinstance(value, RunResult):
            raise TypeError(f"the {name} result must be a RunResult, not {type(value).__name__}")
    return merge_context(
        {"vars": primary.vars, "nodes": primary.node_outputs},
        {"vars": shadow.vars, "nodes": shadow.node_outputs},
        strategy,
    )
