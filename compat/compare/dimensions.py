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
    if tol.compare_messages:
        differences += _messages(primary, shadow, primary_routed, shadow_routed, tol)
    score = 1.0 if not compared else matched / compared
    if any(d.kind == "message" for d in differences):
        score = min(score, 1.0 - 0.5 * sum(d.kind == "message" for d in differences) / compared)
    return DimensionResult(
        name="errors", score=max(0.0, score), weight=weight, differences=tuple(differences)
    )


def _messages(
    primary: tuple[NodeError, ...],
    shadow: tuple[NodeError, ...],
    primary_routed: dict[str, NodeError],
    shadow_routed: dict[str, NodeError],
    tol: Tolerances,
) -> list[Difference]:
    out: list[Difference] = []
    pairs: list[tuple[str, Any, Any]] = []
    remaining = list(shadow)
    for error in primary:
        match = next((e for e in remaining if _key(e, tol) == _key(error, tol)), None)
        if match is not None:
            remaining.remove(match)
            pairs.append((f"errors.{error.node}", error, match))
    for node in sorted(set(primary_routed) & set(shadow_routed)):
        pairs.append((f"errors.routed.{node}", primary_routed[node], shadow_routed[node]))
    for path, a, b in pairs:
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
