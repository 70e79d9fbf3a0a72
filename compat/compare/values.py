"""Deep comparison of values (outputs, variables, node outputs) under tolerances.

Both sides are first prepared the same way: ignored paths are dropped, strings normalised,
and lists at order-insensitive paths sorted (by a structural key in which numbers compare by
value, so 2 and 2.0 and numbers within tolerance sort alike, nested in dicts too). Then the
leaves are compared position by position, which is linear and exact (`True` is not `1`;
under `strict_numeric_types` `2` is not `2.0`). When they differ and the values are small
(at most `max_diffs` leaves and differences), deepdiff describes the differences, with a
custom operator for numeric tolerance, so that an item inserted into a list is one
difference rather than a shifted tail; otherwise the positional differences are reported, at
most `max_diffs` of them, and the score still counts every leaf. (deepdiff's own `max_diffs`
caps the nodes it visits and silently drops everything after, so it is never relied on.)
Sorting instead of deepdiff's `ignore_order` is deliberate: deepdiff ignores `math_epsilon`
under `ignore_order` (numbers would have to hash equal), and `ignore_order` is where its cost
explodes. The score is the share of leaves that match.
"""

from __future__ import annotations

import json
import marshal
import sys
from bisect import bisect_left
from typing import Any

from compat.compare import shortcut
from compat.compare.model import Difference, DimensionResult, Severity, agreeing
from compat.safe_text import shown
from compat.tolerances import Tolerances

_MISSING = object()


def child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if text.isidentifier():
        return f"{path}.{text}" if path else text
    return f"{path}[{json.dumps(text)}]"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sort_key(value: Any) -> tuple[int, Any]:
    """A total order in which numbers compare by value at any depth (canonical JSON would
    put 1 and 1.0, or 9.9999999 and 10.0000001, in different places)."""
    if _is_number(value):
        return (0, value)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, (list, tuple)):
        return (3, tuple(_sort_key(item) for item in value))
    if isinstance(value, dict):
        return (4, tuple(sorted((str(k), _sort_key(v)) for k, v in value.items())))
    if value is None:
        return (5, 0)
    return (6, json.dumps(value, sort_keys=True, default=str))


def _transforms(tol: Tolerances) -> bool:
    return bool(
        tol.ignore_paths or tol.unordered_paths or tol.ignore_case or tol.normalize_whitespace
    )


def prepare(value: Any, path: str, tol: Tolerances) -> Any:
    """`value` with ignored paths dropped, strings normalised, unordered lists sorted (the
    value itself when the tolerances transform nothing)."""
    if not _transforms(tol):
        return value
    return _prepare(value, path, tol)


def _prepare(value: Any, path: str, tol: Tolerances) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = child_path(path, key)
            if not tol.ignored(sub):
                out[key] = _prepare(item, sub, tol)
        return out
    if isinstance(value, (list, tuple)):
        items = [
            _prepare(item, child_path(path, i), tol)
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


class NumericTolerance:
    """Numbers within the configured tolerance are equal: a deepdiff custom operator (deepdiff
    calls `match` and `give_up_diffing`; its `BaseOperator` adds nothing used here, and
    subclassing it would import deepdiff, and numpy with it, with this module)."""

    def __init__(self, tol: Tolerances) -> None:
        self.tol = tol

    def match(self, level: Any) -> bool:
        return _is_number(level.t1) and _is_number(level.t2)

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        a, b = level.t1, level.t2
        if self.tol.numbers_equal(a, b):
            return True  # an int/float pair within tolerance is left to `_blind`
        if type(a) is not type(b):
            # Another value, whatever the types: say so (deepdiff would say "type changed").
            diff_instance.custom_report_result("values_changed", level)
            return True
        return False


_KINDS = {
    "values_changed": "value_changed",
    "type_changes": "type_changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "added",
    "iterable_item_removed": "removed",
}


def _leaf_kind(a: Any, b: Any, tol: Tolerances) -> str | None:
    """None when two leaves are equal under `tol`, else `value_changed` or `type_changed`."""
    if _is_number(a) and _is_number(b):
        if not tol.numbers_equal(a, b):
            return "value_changed"
        return "type_changed" if tol.strict_numeric_types and type(a) is not type(b) else None
    if type(a) is not type(b):
        return "type_changed"
    return None if a == b else "value_changed"


def _positional(
    left: dict[str, Any], right: dict[str, Any], tol: Tolerances
) -> list[tuple[str, str, Any, Any]]:
    """Leaves that differ, path by path: (path, kind, primary, shadow), sorted by path."""
    out = []
    for path in sorted(left.keys() | right.keys()):
        a, b = left.get(path, _MISSING), right.get(path, _MISSING)
        if a is _MISSING:
            out.append((path, "added", None, b))
        elif b is _MISSING:
            out.append((path, "removed", a, None))
        else:
            kind = _leaf_kind(a, b, tol)
            if kind is not None:
                out.append((path, kind, a, b))
    return out


#: Agreeing values encoded as JSON when marshal cannot tell: keys sorted, because a dict's
#: order is not part of the value (engines fill `node_outputs` in completion order).
_JSON = json.JSONEncoder(default=repr, sort_keys=True)


def _identical(left: Any, right: Any) -> bool:
    """Equal and of the same types, checked at C speed: `==` alone calls `True` and `1` (and
    `2` and `2.0`) equal. Their marshal bytes (version 2: no back-references, so equal
    structures of exact built-in types give equal bytes) tell them apart at a few times the
    cost of `==`; when marshal refuses a value (a str subclass, an object) or the bytes
    differ (another dict order), their JSON text decides. False only means "walk and see"."""
    if left != right:
        return False
    try:
        if marshal.dumps(left, 2) == marshal.dumps(right, 2):
            return True
    except ValueError:
        pass
    try:
        return _JSON.encode(left) == _JSON.encode(right)
    except (TypeError, ValueError):
        return False


def values_equal(left: Any, right: Any, tol: Tolerances) -> bool:
    """Equal as JSON values under `tol` (types included unless `strict_numeric_types` is
    off; numbers within `abs_tol`/`rel_tol`), without describing how they differ."""
    if shortcut.taken() and _identical(left, right):
        return True
    walk = _Walk("", tol, 0)
    walk.walk(left, right)
    return walk.differing == 0


def _count(value: Any) -> int:
    """How many leaves `value` has (an empty dict or list is one)."""
    if isinstance(value, dict) and value:
        return sum(_count(v) for v in value.values())
    if isinstance(value, (list, tuple)) and value:
        return sum(_count(v) for v in value)
    return 1


class _Walk:
    """Both values walked together once: the union of their leaves counted, differing leaves
    counted, and the differences (at most `limit`) described where they start — linear in
    the size of the values, with paths built only for differences."""

    def __init__(self, root: str, tol: Tolerances, limit: int) -> None:
        self.root, self.tol, self.limit = root, tol, limit
        self.total = 0
        self.differing = 0
        self.found: list[tuple[str, str, Any, Any]] = []
        self._keys: list[Any] = []

    def _path(self) -> str:
        path = self.root
        for key in self._keys:
            path = child_path(path, key)
        return path

    def _report(self, kind: str, a: Any, b: Any, leaves: int) -> None:
        self.total += leaves
        self.differing += leaves
        if len(self.found) < self.limit:
            self.found.append((self._path(), kind, a, b))

    def walk(self, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict) and a and b:
            for key, value in a.items():
                self._keys.append(key)
                if key in b:
                    self.walk(value, b[key])
                else:
                    self._report("removed", value, None, _count(value))
                self._keys.pop()
            for key, value in b.items():
                if key not in a:
                    self._keys.append(key)
                    self._report("added", None, value, _count(value))
                    self._keys.pop()
            return
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and a and b:
            for index, value in enumerate(a):
                self._keys.append(index)
                if index < len(b):
                    self.walk(value, b[index])
                else:
                    self._report("removed", value, None, _count(value))
                self._keys.pop()
            for index in range(len(a), len(b)):
                self._keys.append(index)
                self._report("added", None, b[index], _count(b[index]))
                self._keys.pop()
            return
        left, right = _count(a), _count(b)
        if left == right == 1:
            kind = _leaf_kind(a, b, self.tol)
            if kind is None:
                self.total += 1
            else:
                self._report(kind, a, b, 1)
        else:  # a container against something else: nothing under it matches
            self._report("type_changed", a, b, left + right)


def _blind(a: Any, b: Any, tol: Tolerances) -> bool:
    """A type difference deepdiff cannot see: Python calls the values equal (`True == 1`,
    `2 == 2.0`), or they are numbers within tolerance of different types."""
    if not all(isinstance(v, (int, float)) for v in (a, b)):
        return False
    return a == b or (_is_number(a) and _is_number(b) and tol.numbers_equal(a, b))


def __getattr__(name: str) -> Any:
    """`DeepDiff`, imported on first use: deepdiff imports numpy (~0.2 s of start-up), and
    only differing values need it."""
    if name == "DeepDiff":
        from deepdiff import DeepDiff

        globals()["DeepDiff"] = DeepDiff
        return DeepDiff
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _deepdiff(left: Any, right: Any, tol: Tolerances, root: str) -> list[tuple[str, str, Any, Any]]:
    # The module's attribute, not a name bound here: compat/perf/harness.py times deepdiff
    # by replacing `DeepDiff` on this module.
    deep_diff = getattr(sys.modules[__name__], "DeepDiff")  # noqa: B009
    diff = deep_diff(
        left,
        right,
        view="tree",
        threshold_to_diff_deeper=0,
        max_passes=tol.max_passes,
        custom_operators=[NumericTolerance(tol)],
        # Not `ignore_numeric_type_changes`: it makes deepdiff round every number to 12
        # decimal places, a hidden tolerance. The operator sees every pair of numbers.
        verbose_level=2,
    )
    out = {}
    for report, kind in _KINDS.items():
        for level in diff.tree.get(report, ()):
            path = root
            for key in level.path(output_format="list"):
                path = child_path(path, key)
            t1 = None if _absent(level.t1) else level.t1
            t2 = None if _absent(level.t2) else level.t2
            out.setdefault((path, kind), (path, kind, t1, t2))
    return list(out.values())


def _under(path: str, paths: list[str]) -> list[str]:
    """The paths of sorted `paths` that are `path` or below it."""
    out = []
    for i in range(bisect_left(paths, path), len(paths)):
        p = paths[i]
        if not p.startswith(path):
            break
        if p == path or p.startswith((path + ".", path + "[")):
            out.append(p)
    return out


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
    fast = shortcut.taken()
    if fast and _identical(primary, shadow):  # then so are they prepared
        return agreeing(dimension, weight)
    left, right = prepare(primary, root, tol), prepare(shadow, root, tol)
    if fast and _transforms(tol) and _identical(left, right):
        return agreeing(dimension, weight)
    walk = _Walk(root, tol, tol.max_diffs)
    walk.walk(left, right)
    if not walk.differing:
        return agreeing(dimension, weight)
    found = walk.found
    score = max(0.0, 1.0 - walk.differing / (walk.total or 1))
    if walk.total <= tol.max_diffs and walk.differing <= tol.max_diffs:
        # Small enough for deepdiff to describe: an item inserted into a list is then one
        # difference, not a shifted tail, and the score counts only what it covers.
        left_leaves, right_leaves = leaves(left, root), leaves(right, root)
        paths = sorted(left_leaves.keys() | right_leaves.keys())
        positional = _positional(left_leaves, right_leaves, tol)
        described = _deepdiff(left, right, tol, root)
        covered = {path for path, *_ in described}
        described += [
            (path, kind, a, b)
            for path, kind, a, b in positional
            if kind == "type_changed"
            and _blind(a, b, tol)
            and not any(path == c or path.startswith((c + ".", c + "[")) for c in covered)
        ]
        if described:  # else deepdiff missed what the walk found
            found = described
            differing: set[str] = set()
            for path, *_ in found:
                differing.update(_under(path, paths) or [path])
            # An empty dict or list on one side where the other has content matches nothing.
            for path in left_leaves.keys() ^ right_leaves.keys():
                value = left_leaves.get(path, right_leaves.get(path))
                if value in ({}, []) and len(_under(path, paths)) > 1:
                    differing.add(path)
            score = max(0.0, 1.0 - len(differing) / (len(paths) or 1))
    found.sort(key=lambda item: item[0])
    differences = tuple(
        Difference(
            dimension=dimension,
            path=path,
            primary=a,
            shadow=b,
            kind=kind,
            severity=severity,
            note=_note(kind, path, a, b),
        )
        for path, kind, a, b in found[: tol.max_diffs]
    )
    return DimensionResult(name=dimension, score=score, weight=weight, differences=differences)


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        text = shown(value)  # an integer too long to print, shortened; never a crash
    return text if len(text) <= 60 else text[:57] + "..."


def _note(kind: str, path: str, primary: Any, shadow: Any) -> str:
    if kind == "added":
        return f"{path} only in the shadow: {_short(shadow)}"
    if kind == "removed":
        return f"{path} only in the primary: {_short(primary)}"
    return f"{path}: {_short(primary)} vs {_short(shadow)}"
