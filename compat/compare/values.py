"""Deep comparison of values (outputs, variables, node outputs) under tolerances.

Both sides are first prepared the same way: ignored paths are dropped, strings normalised,
and lists at order-insensitive paths sorted (numbers by value, anything else by its canonical
JSON). Then deepdiff compares them position by position, with a custom operator for numeric
tolerance. Sorting instead of deepdiff's `ignore_order` is deliberate: deepdiff ignores
`math_epsilon` under `ignore_order` (numbers would have to hash equal), and `ignore_order`
is where its cost explodes. The score is the share of leaves that match.
"""

from __future__ import annotations

import json
from typing import Any

from deepdiff import DeepDiff
from deepdiff.operator import BaseOperator

from compat.compare.model import Difference, DimensionResult, Severity
from compat.tolerances import Tolerances

_MISSING = object()


def child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if text.isidentifier():
        return f"{path}.{text}" if path else text
    return f"{path}[{json.dumps(text)}]"


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, json.dumps(value, sort_keys=True, default=str))


def prepare(value: Any, path: str, tol: Tolerances) -> Any:
    """`value` with ignored paths dropped, strings normalised, unordered lists sorted."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = child_path(path, key)
            if not tol.ignored(sub):
                out[key] = prepare(item, sub, tol)
        return out
    if isinstance(value, (list, tuple)):
        items = [
            prepare(item, child_path(path, i), tol)
            for i, item in enumerate(value)
            if not tol.ignored(child_path(path, i))
        ]
        if tol.unordered(path):
            items.sort(key=_sort_key)
        return items
    if isinstance(value, str) and (tol.ignore_case or tol.normalize_whitespace):
        return tol.normalise(value)
    return value


def leaves(value: Any, path: str) -> dict[str, Any]:
    """Every leaf of `value` by path (an empty dict or list is a leaf)."""
    out: dict[str, Any] = {}
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict) and item:
            stack.extend((child_path(where, k), v) for k, v in item.items())
        elif isinstance(item, list) and item:
            stack.extend((child_path(where, i), v) for i, v in enumerate(item))
        else:
            out[where] = item
    return out


class NumericTolerance(BaseOperator):
    """Numbers within the configured tolerance are equal."""

    def __init__(self, tol: Tolerances) -> None:
        super().__init__()
        self.tol = tol

    def match(self, level: Any) -> bool:
        return all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in (level.t1, level.t2)
        )

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return self.tol.numbers_equal(level.t1, level.t2)


_KINDS = {
    "values_changed": "value_changed",
    "type_changes": "type_changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "added",
    "iterable_item_removed": "removed",
}


def compare_values(
    dimension: str,
    primary: Any,
    shadow: Any,
    tol: Tolerances,
    *,
    root: str,
    severity: Severity,
    weight: float,
) -> DimensionResult:
    left, right = prepare(primary, root, tol), prepare(shadow, root, tol)
    left_leaves, right_leaves = leaves(left, root), leaves(right, root)
    total = len(left_leaves.keys() | right_leaves.keys()) or 1
    if left == right and not tol.strict_numeric_types:
        return DimensionResult(name=dimension, score=1.0, weight=weight)
    diff = DeepDiff(
        left,
        right,
        view="tree",
        threshold_to_diff_deeper=0,
        max_diffs=tol.max_diffs,
        max_passes=tol.max_passes,
        custom_operators=[NumericTolerance(tol)],
        ignore_numeric_type_changes=not tol.strict_numeric_types,
        verbose_level=2,
    )
    differences: list[Difference] = []
    differing: set[str] = set()
    for report, kind in _KINDS.items():
        for level in diff.tree.get(report, ()):
            path = root
            for key in level.path(output_format="list"):
                path = child_path(path, key)
            t1 = None if _absent(level.t1) else level.t1
            t2 = None if _absent(level.t2) else level.t2
            under = [
                p
                for p in left_leaves.keys() | right_leaves.keys()
                if p == path or p.startswith((path + ".", path + "["))
            ]
            differing.update(under or [path])
            differences.append(
                Difference(
                    dimension=dimension,
                    path=path,
                    primary=t1,
                    shadow=t2,
                    kind=kind,
                    severity=severity,
                    note=_note(kind, path, t1, t2),
                )
            )
    score = max(0.0, 1.0 - len(differing) / total)
    differences.sort(key=lambda d: d.path)
    return DimensionResult(
        name=dimension, score=score, weight=weight, differences=tuple(differences)
    )


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _note(kind: str, path: str, primary: Any, shadow: Any) -> str:
    if kind == "added":
        return f"{path} only in the shadow: {_short(shadow)}"
    if kind == "removed":
        return f"{path} only in the primary: {_short(primary)}"
    return f"{path}: {_short(primary)} vs {_short(shadow)}"
