"""The errors dimension: the run's errors as an ordered list of whole records, and the routed
errors node by node (docs/semantics.md §7.7, §9).

Every field of an error record must agree: node, code (foreign codes mapped through
`error_codes`), message (normalised; unless `compare_messages` is off), `recoverable`,
`attempts`, `path`, and the `cause` it reports, field by field at any depth. Unhandled errors
are matched by (node, code, path) — a missing or extra one is a difference, and so is the same
set in another order, because the contract fixes the order (canonical order, then cancelled
attempts, then compensation failures). Routed errors (`node_errors`) are matched by node.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from compat.compare import shortcut
from compat.compare.model import Difference, DimensionResult, Severity, agreeing
from compat.tolerances import Tolerances
from engines.result import IterationPath, NodeError

ErrorKey = tuple[str, str, IterationPath]


def where(path: IterationPath) -> str:
    """An iteration path as text: `[loop#2][fan#0]`."""
    return "".join(f"[{c}#{i}]" for c, i in path)


def _code(code: str, tol: Tolerances) -> str:
    return tol.error_codes.get(code, code)


def _key(error: NodeError, tol: Tolerances) -> ErrorKey:
    return (error.node, _code(error.code, tol), error.path)


def _label(key: ErrorKey) -> str:
    node, code, path = key
    return f"{node}{where(path)}:{code}"


def record(error: NodeError | None, tol: Tolerances) -> dict[str, Any] | None:
    """An error record as the comparison sees it (codes mapped, message normalised)."""
    if error is None:
        return None
    return {
        "node": error.node,
        "code": _code(error.code, tol),
        "message": tol.normalise(error.message),
        "recoverable": error.recoverable,
        "attempts": error.attempts,
        "path": [list(p) for p in error.path],
        "cause": record(error.cause, tol),
    }


def differing_fields(a: NodeError, b: NodeError, tol: Tolerances, prefix: str = "") -> list[str]:
    """The fields of two error records that differ (`cause.attempts`, `message` …)."""
    out: list[str] = []
    if (a.node, _code(a.code, tol)) != (b.node, _code(b.code, tol)):
        out.append(f"{prefix}node/code")
    if tol.compare_messages and tol.normalise(a.message) != tol.normalise(b.message):
        out.append(f"{prefix}message")
    for name in ("recoverable", "attempts", "path"):
        if getattr(a, name) != getattr(b, name):
            out.append(prefix + name)
    if a.cause is None or b.cause is None:
        if (a.cause is None) != (b.cause is None):
            out.append(f"{prefix}cause")
    else:
        out += differing_fields(a.cause, b.cause, tol, f"{prefix}cause.")
    return out


def _field(error: NodeError | None, name: str, tol: Tolerances) -> Any:
    """The value of a dotted field of an error record (`cause.message`)."""
    value: Any = record(error, tol)
    for part in name.replace("node/code", "code").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _detail_differences(path: str, a: NodeError, b: NodeError, tol: Tolerances) -> list[Difference]:
    out = []
    for name in differing_fields(a, b, tol):
        out.append(
            Difference(
                dimension="errors",
                path=f"{path}.{name.replace('node/code', 'code')}",
                primary=_field(a, name, tol),
                shadow=_field(b, name, tol),
                kind="message" if name.endswith("message") else "error_detail",
                severity=Severity.HIGH,
                note=f"{path}: the same error, but its {name} differs",
            )
        )
    return out


def _alike(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
) -> bool:
    """Whether `compare_errors` finds no difference, in one linear pass: the same records
    in the same order (each matched to the one at its own position, as the walk would),
    routed by the same nodes to the same records — judged by the walk's own tests."""
    if len(primary) != len(shadow) or primary_routed.keys() != shadow_routed.keys():
        return False
    for a, b in zip(primary, shadow, strict=True):
        if _key(a, tol) != _key(b, tol) or differing_fields(a, b, tol):
            return False
    for node, a in primary_routed.items():
        b = shadow_routed[node]
        if a is None or b is None or _code(a.code, tol) != _code(b.code, tol):
            return False
        if differing_fields(a, b, tol):
            return False
    return True


def compare_errors(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
    *,
    weight: float,
) -> DimensionResult:
    if shortcut.taken() and _alike(primary, shadow, primary_routed, shadow_routed, tol):
        return agreeing("errors", weight)
    differences: list[Difference] = []
    left = [_key(e, tol) for e in primary]
    right = [_key(e, tol) for e in shadow]
    counts_left, counts_right = Counter(left), Counter(right)
    for key, count in sorted((counts_left - counts_right).items()):
        differences.append(
            Difference(
                dimension="errors",
                path=f"errors.{key[0]}{where(key[2])}",
                primary=key[1],
                shadow=None,
                kind="error_removed",
                severity=Severity.HIGH,
                note=f"only the primary has error {_label(key)} ({count}x)",
            )
        )
    for key, count in sorted((counts_right - counts_left).items()):
        differences.append(
            Difference(
                dimension="errors",
                path=f"errors.{key[0]}{where(key[2])}",
                primary=None,
                shadow=key[1],
                kind="error_added",
                severity=Severity.HIGH,
                note=f"only the shadow has error {_label(key)} ({count}x)",
            )
        )
    if counts_left == counts_right and left != right:
        differences.append(
            Difference(
                dimension="errors",
                path="errors",
                primary=[_label(k) for k in left],
                shadow=[_label(k) for k in right],
                kind="reordered",
                severity=Severity.HIGH,
                note="the same errors in another order (unhandled failures come in canonical "
                "order, then cancelled attempts in order key order, then compensation "
                "failures in the order they ran)",
            )
        )
    compared = max(len(left), len(right))
    matched = 0
    remaining = list(shadow)
    for error in primary:
        key = _key(error, tol)
        match = next((e for e in remaining if _key(e, tol) == key), None)
        if match is None:
            continue
        remaining.remove(match)
        found = _detail_differences(f"errors.{error.node}{where(error.path)}", error, match, tol)
        differences += found
        matched += not found
    for node in sorted(set(primary_routed) | set(shadow_routed)):
        compared += 1
        a, b = primary_routed.get(node), shadow_routed.get(node)
        a_code = a and _code(a.code, tol)
        b_code = b and _code(b.code, tol)
        if a is None or b is None or a_code != b_code:
            differences.append(
                Difference(
                    dimension="errors",
                    path=f"errors.routed.{node}",
                    primary=a_code,
                    shadow=b_code,
                    kind="routed_error",
                    severity=Severity.HIGH,
                    note=f"{node} routed {a_code} vs {b_code}",
                )
            )
            continue
        found = _detail_differences(f"errors.routed.{node}", a, b, tol)
        differences += found
        matched += not found
    differences = [d for d in differences if not tol.ignored(d.path)]
    score = 1.0 if not compared else matched / compared
    if any(d.kind == "reordered" for d in differences):
        score = min(score, 1.0 - 0.5 / max(compared, 1))
    if not differences:
        score = 1.0
    return DimensionResult(
        name="errors", score=max(0.0, score), weight=weight, differences=tuple(differences)
    )
