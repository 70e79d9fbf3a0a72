"""From dimensions to a verdict, under the tolerances' policy.

`equivalence` (the default) is a proof: the pair is compatible only when no dimension reports
a difference — every field the contract requires to be equal is equal, modulo the declared
tolerances, ignore rules and measured noise (those never reach the dimensions). Severity and
the weighted score still rank and explain the differences, but do not decide. `threshold` is
the similarity gate of the seed design, for teams that want one: no critical difference and
a score of at least `threshold`.
"""

from __future__ import annotations

from compat.compare.model import Comparison, DimensionResult, Severity
from compat.tolerances import Tolerances


def assemble(
    dimensions: list[DimensionResult], tol: Tolerances, noisy_paths: tuple[str, ...] = ()
) -> Comparison:
    total_weight = sum(d.weight for d in dimensions) or 1.0
    score = sum(d.score * d.weight for d in dimensions) / total_weight
    if tol.policy == "equivalence":
        compatible = not any(d.differences for d in dimensions)
    else:
        critical = any(
            diff.severity is Severity.CRITICAL for d in dimensions for diff in d.differences
        )
        compatible = not critical and score >= tol.threshold - 1e-12
    return Comparison(
        compatible=compatible,
        score=round(score, 6),
        dimensions=tuple(dimensions),
        noisy_paths=noisy_paths,
        policy=tol.policy,
    )
