"""The outcome dimension: how each run ended — its status (or the harness's verdict on an
engine that crashed or hung), the workflow it reports, and where a paused run waits."""

from __future__ import annotations

from compat.compare.model import Difference, DimensionResult, Severity, agreeing
from engines.result import PauseInfo

#: Statuses an engine run can end in besides the contract's: the harness's own verdicts.
HARNESS_STATUSES = ("crashed", "timed_out")


def compare_outcome(
    primary_status: str,
    shadow_status: str,
    primary_pause: PauseInfo | None,
    shadow_pause: PauseInfo | None,
    *,
    weight: float,
    workflow_ids: tuple[str, str] | None = None,
) -> DimensionResult:
    differences: list[Difference] = []
    score = 1.0
    if workflow_ids is not None and workflow_ids[0] != workflow_ids[1]:
        differences.append(
            Difference(
                dimension="outcome",
                path="workflow_id",
                primary=workflow_ids[0],
                shadow=workflow_ids[1],
                kind="value_changed",
                severity=Severity.HIGH,
                note=f"the runs report workflows {workflow_ids[0]!r} and {workflow_ids[1]!r}",
            )
        )
        score = 0.5
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
    if not differences:
        return agreeing("outcome", weight)
    return DimensionResult(
        name="outcome", score=score, weight=weight, differences=tuple(differences)
    )
