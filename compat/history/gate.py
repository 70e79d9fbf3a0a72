"""The gate: what got worse between a baseline run (the last green one, say) and this run.

A case is compared with the same `fixture::case` of the baseline. Cases new in this run are
not regressions (nothing to compare with); cases of the baseline missing from this run are
(`missing`: a gate must not pass because a case stopped running). Per case at most one of
`newly-incompatible`, `score-drop` and `known`, worst first; `perf-slower` is independent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from compat.history.errors import HistoryError
from compat.history.records import CaseRecord, RunRecord

WALL = "wall_seconds"

RegressionKind = Literal["newly-incompatible", "score-drop", "perf-slower", "missing", "known"]


class Regression(BaseModel):
    """One thing that got worse, in a sentence naming the case and the numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    kind: RegressionKind
    message: str


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _incompatible(case: CaseRecord) -> bool:
    return case.compatible is False or case.status in ("incompatible", "crashed")


def _fine(case: CaseRecord) -> bool:
    """Compatible in that run: passed, or compatible even if it failed for another reason."""
    return case.status == "passed" or case.compatible is True


def _wall(case: CaseRecord) -> dict[str, Any] | None:
    """The case's wall-time ratio {median, low, high, verdict}, if it was measured."""
    wall = (case.perf or {}).get(WALL)
    return wall if isinstance(wall, dict) and wall.get("verdict") else None


def _times(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "n/a"


def _slower(key: str, before: CaseRecord, now: CaseRecord, band: float) -> Regression | None:
    """The wall-time ratio turned `slower`, surely beyond the band, from a measured
    baseline that was not slower."""
    then, wall = _wall(before), _wall(now)
    if then is None or wall is None or then["verdict"] == "slower":
        return None
    low = wall.get("low")
    if wall["verdict"] != "slower" or not isinstance(low, int | float) or low <= 1.0 + band:
        return None
    return Regression(
        key=key,
        kind="perf-slower",
        message=(
            f"{key}: wall time {_times(wall.get('median'))}x the primary's (95 % interval "
            f"{_times(low)}-{_times(wall.get('high'))}, above 1 + band {band:.2f}); baseline "
            f"{then['verdict']} at {_times(then.get('median'))}x"
        ),
    )


def _case(
    key: str, before: CaseRecord, now: CaseRecord, *, margin: float, allow_known: bool
) -> Regression | None:
    scores = f"score {_score(before.score)} -> {_score(now.score)}"
    if _incompatible(now) and _fine(before):
        return Regression(
            key=key,
            kind="newly-incompatible",
            message=f"{key}: {before.status} -> {now.status} ({scores})",
        )
    if before.score is not None and now.score is not None and now.score < before.score - margin:
        return Regression(
            key=key, kind="score-drop", message=f"{key}: {scores} (margin {margin:.3f})"
        )
    if _incompatible(now) and not allow_known:
        return Regression(
            key=key,
            kind="known",
            message=f"{key}: incompatible in the baseline and still {now.status} ({scores}); "
            "a known failure (allow known failures to accept it)",
        )
    return None


def regressions(
    baseline: RunRecord,
    current: RunRecord,
    *,
    margin: float = 0.0,
    allow_known: bool = False,
    band: float = 0.10,
) -> list[Regression]:
    """What got worse from `baseline` to `current`, in `current`'s case order, then the
    baseline's cases that are missing. `margin`: how far a score may drop; `band`: how far
    above parity (1 + band) a wall-time interval must lie to count as slower; `allow_known`:
    a case incompatible in both runs is not reported."""
    if baseline.kind != current.kind:
        raise HistoryError(
            f"cannot gate a {current.kind} run ({current.id}) on a {baseline.kind} run "
            f"({baseline.id})"
        )
    if margin < 0 or band < 0:
        raise HistoryError(f"gate: margin and band are 0 or more (margin {margin}, band {band})")
    before = {case.key: case for case in baseline.cases}
    found: list[Regression] = []
    seen: set[str] = set()
    for now in current.cases:
        seen.add(now.key)
        then = before.get(now.key)
        if then is None:
            continue  # new: nothing to regress from
        for regression in (
            _case(now.key, then, now, margin=margin, allow_known=allow_known),
            _slower(now.key, then, now, band),
        ):
            if regression is not None:
                found.append(regression)
    for key, then in before.items():
        if key not in seen:
            found.append(
                Regression(
                    key=key,
                    kind="missing",
                    message=f"{key}: in the baseline run {baseline.id[:12]} ({then.status}) "
                    "but not in this run",
                )
            )
    return found
