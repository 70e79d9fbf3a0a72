"""Outputs, variables and node outputs side by side, the entries a difference is about
marked: what a reviewer reads first when a case is incompatible.

The page keeps them as data (one compact JSON block per case) and the script lays them out
when the case is opened: a loop's node output can be thousands of items, and as markup,
pretty-printed and escaped, twice (once per engine), it made the page many megabytes.
A value both engines agree on is kept once.
"""

from __future__ import annotations

import json
from typing import Any

from compat.compare.model import Difference

#: Where each side-by-side table's differences live in the comparison's paths.
PREFIXES = {"outputs": ("outputs",), "vars": ("context.vars",), "node outputs": ("context.nodes",)}

#: How an entry's values are kept: one for both engines, both, or only one side's.
SAME, BOTH, PRIMARY_ONLY, SHADOW_ONLY = "=", "2", "p", "s"

#: One entry: `[key, differs (0/1), how, value, (shadow's value when how is BOTH)]`.
Entry = list[Any]


def _plain(value: Any) -> Any:
    """The value as JSON data (what is not JSON becomes its text), keys sorted."""
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _marked(name: str, rows: list[Difference]) -> set[str]:
    marked: set[str] = set()
    for row in rows:
        for prefix in PREFIXES[name]:
            if row.path.startswith(prefix + "."):
                head = row.path[len(prefix) + 1 :]
                marked.add(head.split(".", 1)[0].split("[", 1)[0])
    return marked


def entries(
    name: str, primary: dict[str, Any], shadow: dict[str, Any], rows: list[Difference]
) -> list[Entry]:
    """One side-by-side table as data: every key of either side, in order, marked when a
    difference's path falls on it (or the two values are not the same JSON)."""
    marked = _marked(name, rows)
    out: list[Entry] = []
    for key in dict.fromkeys([*primary, *shadow]):
        if key in primary and key in shadow:
            left, right = _plain(primary[key]), _plain(shadow[key])
            same = json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)
            differs = int(key in marked or not same)
            out.append([key, differs, SAME, left] if same else [key, differs, BOTH, left, right])
        elif key in primary:
            out.append([key, 1, PRIMARY_ONLY, _plain(primary[key])])
        else:
            out.append([key, 1, SHADOW_ONLY, _plain(shadow[key])])
    return out
