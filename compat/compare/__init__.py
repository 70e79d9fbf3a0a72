"""Comparing two engine runs of one case, dimension by dimension (docs/harness.md)."""

from __future__ import annotations

from compat.compare.dimensions import compare_errors, compare_outcome
from compat.compare.model import Comparison, Difference, DimensionResult, Severity
from compat.compare.trace import compare_traces
from compat.compare.values import compare_values
from compat.engines import EngineRun
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow


def _empty(name: str, weight: float) -> DimensionResult:
    return DimensionResult(
        name=name,
        score=0.0,
        weight=weight,
        differences=(
            Difference(
                dimension=name,
                path=name,
                kind="no_result",
                severity=Severity.HIGH,
                note="an engine gave no result to compare",
            ),
        ),
    )


def compare_runs(
    primary: EngineRun,
    shadow: EngineRun,
    workflow: ValidatedWorkflow | None,
    tol: Tolerances,
    *,
    extra: tuple[DimensionResult, ...] = (),
) -> Comparison:
    """Compare two runs of one case. `extra` dimensions (e.g. record/replay) join the score."""
    weights = tol.weights
    left, right = primary.result, shadow.result
    outcome = compare_outcome(
        primary.status,
        shadow.status,
        left.pause if left else None,
        right.pause if right else None,
        weight=weights["outcome"],
    )
    if left is None or right is None:
        dimensions = [outcome] + [
            _empty(n, weights[n]) for n in ("outputs", "context", "trace", "errors")
        ]
    else:
        dimensions = [
            outcome,
            compare_values(
                "outputs",
                left.outputs,
                right.outputs,
                tol,
                root="outputs",
                severity=Severity.CRITICAL,
                weight=weights["outputs"],
            ),
            compare_values(
                "context",
                {"vars": left.vars, "nodes": left.node_outputs},
                {"vars": right.vars, "nodes": right.node_outputs},
                tol,
                root="context",
                severity=Severity.MEDIUM,
                weight=weights["context"],
            ),
            compare_traces(left.trace, right.trace, workflow, weight=weights["trace"]),
            compare_errors(
                left.errors,
                right.errors,
                left.node_errors,
                right.node_errors,
                tol,
                weight=weights["errors"],
            ),
        ]
    dimensions += list(extra)
    return assemble(dimensions, tol)


def assemble(
    dimensions: list[DimensionResult], tol: Tolerances, noisy_paths: tuple[str, ...] = ()
) -> Comparison:
    total_weight = sum(d.weight for d in dimensions) or 1.0
    score = sum(d.score * d.weight for d in dimensions) / total_weight
    critical = any(diff.severity is Severity.CRITICAL for d in dimensions for diff in d.differences)
    return Comparison(
        compatible=not critical and score >= tol.threshold - 1e-12,
        score=round(score, 6),
        dimensions=tuple(dimensions),
        noisy_paths=noisy_paths,
    )


__all__ = ["Comparison", "Difference", "DimensionResult", "Severity", "assemble", "compare_runs"]
