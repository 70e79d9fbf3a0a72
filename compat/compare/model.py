"""What a comparison says: per dimension a score and the differences found."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Difference(BaseModel):
    """One place where the two runs differ."""

    model_config = _FROZEN

    dimension: str
    #: Where: `outputs.total`, `context.vars.x`, `trace.charge@[["L", 2]]#1`, `status` ...
    path: str
    primary: Any = None
    shadow: Any = None
    #: What kind of difference: value_changed, type_changed, added, removed, missing_step,
    #: extra_step, reordered, status, pause, error_added, error_removed, message ...
    kind: str
    severity: Severity
    #: One readable sentence.
    note: str = ""


class DimensionResult(BaseModel):
    model_config = _FROZEN

    name: str
    score: float = Field(ge=0, le=1)
    weight: float = Field(ge=0)
    differences: tuple[Difference, ...] = ()

    @property
    def worst(self) -> Difference | None:
        if not self.differences:
            return None
        return min(self.differences, key=lambda d: SEVERITY_RANK[d.severity])


@lru_cache(maxsize=256)
def agreeing(name: str, weight: float) -> DimensionResult:
    """A dimension whose two sides agree. Frozen, so one instance serves every comparison
    with this weight: validating a new one costs as much as comparing equal outputs."""
    return DimensionResult(name=name, score=1.0, weight=weight)


class Comparison(BaseModel):
    """Two runs compared, dimension by dimension."""

    model_config = _FROZEN

    compatible: bool
    score: float = Field(ge=0, le=1)
    dimensions: tuple[DimensionResult, ...]
    #: Paths whose values differ between runs of the same engine (Diffy noise): left out of
    #: the scores; add them to `ignore_paths` to silence them for good.
    noisy_paths: tuple[str, ...] = ()
    #: The policy that decided `compatible` (`equivalence` or `threshold`).
    policy: str = "equivalence"

    def dimension(self, name: str) -> DimensionResult:
        for dimension in self.dimensions:
            if dimension.name == name:
                return dimension
        raise KeyError(name)

    @property
    def differences(self) -> tuple[Difference, ...]:
        return tuple(d for dim in self.dimensions for d in dim.differences)

    @property
    def worst(self) -> Difference | None:
        found = [d.worst for d in self.dimensions if d.worst is not None]
        return min(found, key=lambda d: SEVERITY_RANK[d.severity]) if found else None

    def differing_dimensions(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions if d.differences)
