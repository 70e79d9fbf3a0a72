"""Outputs, variables and node outputs side by side, the entries a difference is about
marked: what a reviewer reads first when a case is incompatible."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from compat.compare.model import Difference

#: Where each side-by-side table's differences live in the comparison's paths.
PREFIXES = {"outputs": ("outputs",), "vars": ("context.vars",), "node outputs": ("context.nodes",)}


@dataclass(frozen=True)
class Entry:
    key: str
    primary: str | None
    shadow: str | None
    differs: bool


def pretty(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, default=str)
    except (TypeError, ValueError):
        return repr(value)


def table(
    name: str, primary: dict[str, Any], shadow: dict[str, Any], rows: list[Difference]
) -> list[Entry]:
    """One side-by-side table: every key of either side, in order, marked when a
    difference's path falls on it (or the two values are not the same JSON)."""
    prefixes = PREFIXES[name]
    marked: set[str] = set()
    for row in rows:
        for prefix in prefixes:
            if row.path.startswith(prefix + "."):
                head = row.path[len(prefix) + 1 :]
                marked.add(head.split(".", 1)[0].split("[", 1)[0])
    out = []
    for key in dict.fromkeys([*primary, *shadow]):
        left = pretty(primary[key]) if key in primary else None
        right = pretty(shadow[key]) if key in shadow else None
        out.append(Entry(key, left, right, key in marked or left != right))
    return out
