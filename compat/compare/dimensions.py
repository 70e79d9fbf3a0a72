"""The outcome and errors dimensions (outputs and context are deep value comparisons,
`values.py`; the trace is a partial order, `trace.py`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from compat.compare.model import Difference, DimensionResult, Severity
from compat.tolerances import Tolerances
from engines.result import NodeError, PauseInfo

#: Statuses an engine run can end in besides the contract's: the harness's own verdicts.
HARNESS_STATUSES = ("crashed", "timed_out")


def compare_outcome(
    primary_status: str,
    shadow_status: str,
    primary_pause: PauseInfo | None,
    shadow_pause: PauseInfo | None,
    *,
    weight: float,
) -> DimensionResult:
    differences: list[Difference] = []
    score = 1.0
    for side, status in (("primary", primary_status), ("shadow", shadow_status)):
        if status in HARNESS_STATUSES:
            differences.append(
                Difference(
                    dimension="outcome",
                    path=f"status.{side}",
                    primary=primary_status,
                    shadow=shadow_status,
                    kind=status,
                    severity=Severity.CRITICAL,
                    note=f"the {side} engine {status.replace('_', ' ')}",
                )
            )
            score = 0.0
    if primary_status != shadow_status and score:
        differences.append(
            Difference(
                dimension="outcome",
                path="status",
                primary=primary_status,
                shadow=shadow_status,
                kind="status",
                severity=Severity.CRITICAL,
                note=f"status {primary_status} vs {shadow_status}",
            )
        )
        score = 0.0
    elif primary_status == shadow_status == "paused" and primary_pause != shadow_pause:
        left = primary_pause.model_dump(mode="json") if primary_pause else None
        right = shadow_pause.model_dump(mode="json") if shadow_pause else None
        differences.append(
            Difference(
                dimension="outcome",
                path="pause",
                primary=left,
                shadow=right,
                kind="pause",
                severity=Severity.HIGH,
                note=f"paused at {left and left['node']} vs {right and right['node']}",
            )
        )
        score = 0.5
    return DimensionResult(
        name="outcome", score=score, weight=weight, differences=tuple(differences)
    )


def _key(error: NodeError, tol: Tolerances) -> tuple[str, str]:
    return (error.node, tol.error_codes.get(error.code, error.code))


def compare_errors(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
    *,
    weight: float,
) -> DimensionResult:
    """Unhandled errors by (node, code) — codes mapped through `error_codes` — and routed
    errors by node; messages (normalised) only when `compare_messages` is on."""
    differences: list[Difference] = []
    left = Counter(_key(e, tol) for e in primary)
    right = Counter(_key(e, tol) for e in shadow)
    for (node, code), count in sorted((left - right).items()):
        differences.append(
            Difference(
                dimension="errors",
                path=f"errors.{node}",
                primary=code,
                shadow=None,
                kind="error_removed",
                severity=Severity.HIGH,
                note=f"only the primary fails {node} with {code} ({count}x)",
            )
        )
    for (node, code), count in sorted((right - left).items()):
        differences.append(
            Difference(
                dimension="errors",
                path=f"errors.{node}",
                primary=None,
                shadow=code,
                kind="error_added",
                severity=Severity.HIGH,
                note=f"only the shadow fails {node} with {code} ({count}x)",
            )
        )
    matched = sum((left & right).values())
    compared = max(sum(left.values()), sum(right.values()))
    for node in sorted(set(primary_routed) | set(shadow_routed)):
        a, b = primary_routed.get(node), shadow_routed.get(node)
        a_code = a and tol.error_codes.get(a.code, a.code)
        b_code = b and tol.error_codes.get(b.code, b.code)
        compared += 1
        if a_code != b_code:
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
        else:
            matched += 1
    details = _details(primary, shadow, primary_routed, shadow_routed, tol)
    differences += details
    if left == right and [_key(e, tol) for e in primary] != [_key(e, tol) for e in shadow]:
        differences.append(
            Difference(
                dimension="errors",
                path="errors",
                primary=[f"{n}:{c}" for n, c in (_key(e, tol) for e in primary)],
                shadow=[f"{n}:{c}" for n, c in (_key(e, tol) for e in shadow)],
                kind="reordered",
                severity=Severity.HIGH,
                note="the same errors in another order (unhandled failures come in canonical "
                "order, then compensation failures in the order they ran)",
            )
        )
    if tol.compare_messages:
        differences += _messages(primary, shadow, primary_routed, shadow_routed, tol)
    score = 1.0 if not compared else matched / compared
    penalised = sum(d.kind in ("error_detail", "reordered") for d in differences)
    if penalised:
        score = min(score, 1.0 - 0.5 * penalised / max(compared, penalised))
    if any(d.kind == "message" for d in differences):
        score = min(score, 1.0 - 0.5 * sum(d.kind == "message" for d in differences) / compared)
    return DimensionResult(
        name="errors", score=max(0.0, score), weight=weight, differences=tuple(differences)
    )


def _pairs(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
) -> list[tuple[str, NodeError, NodeError]]:
    """Errors matched across the runs: unhandled ones by (node, mapped code) in order, routed
    ones by node."""
    pairs: list[tuple[str, NodeError, NodeError]] = []
    remaining = list(shadow)
    for error in primary:
        match = next((e for e in remaining if _key(e, tol) == _key(error, tol)), None)
        if match is not None:
            remaining.remove(match)
            pairs.append((f"errors.{error.node}", error, match))
    for node in sorted(set(primary_routed) & set(shadow_routed)):
        a, b = primary_routed[node], shadow_routed[node]
        if _key(a, tol) == _key(b, tol):
            pairs.append((f"errors.routed.{node}", a, b))
    return pairs


def _detail(error: NodeError | None, tol: Tolerances) -> Any:
    """What of an error besides its node, code and message must agree: attempts made, where
    it happened, and the inner failure it reports (docs/semantics.md, errors)."""
    if error is None:
        return None
    return {
        "attempts": error.attempts,
        "path": [list(p) for p in error.path],
        "cause": None
        if error.cause is None
        else {
            "node": error.cause.node,
            "code": tol.error_codes.get(error.cause.code, error.cause.code),
            **_detail(error.cause, tol),
        },
    }


def _details(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
) -> list[Difference]:
    out: list[Difference] = []
    for path, a, b in _pairs(primary, shadow, primary_routed, shadow_routed, tol):
        left, right = _detail(a, tol), _detail(b, tol)
        if left != right:
            what = ", ".join(k for k in ("attempts", "path", "cause") if left[k] != right[k])
            out.append(
                Difference(
                    dimension="errors",
                    path=path,
                    primary=left,
                    shadow=right,
                    kind="error_detail",
                    severity=Severity.MEDIUM,
                    note=f"{path}: the same code, but {what} differ",
                )
            )
    return out


def _messages(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
) -> list[Difference]:
    out: list[Difference] = []
    for path, a, b in _pairs(primary, shadow, primary_routed, shadow_routed, tol):
        if tol.normalise(a.message) != tol.normalise(b.message):
            out.append(
                Difference(
                    dimension="errors",
                    path=f"{path}.message",
                    primary=a.message,
                    shadow=b.message,
                    kind="message",
                    severity=Severity.LOW,
                    note=f"{path}: messages differ",
                )
            )
    return out
