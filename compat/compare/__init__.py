"""Comparing two engine runs of one case, dimension by dimension (docs/harness.md).

Every field of the result contract that docs/semantics.md §9 requires to be equal is
compared by exactly one dimension (`contract.py` is the list, field by field); what the
contract leaves open (event times, metrics, an engine's own additions) is not. The verdict
(`verdict.py`) then follows the tolerances' policy.

Equal results are recognised at about the cost of `==` (`shortcut.py`): each dimension
walks its two sides only where they are not exactly equal, types included.
"""

from __future__ import annotations

from collections.abc import Mapping

from compat.compare.errors import compare_errors
from compat.compare.events import events_of
from compat.compare.model import Comparison, Difference, DimensionResult, Severity
from compat.compare.outcome import compare_outcome
from compat.compare.trace import compare_traces
from compat.compare.values import compare_values
from compat.compare.verdict import assemble
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
    registry: Mapping[str, ValidatedWorkflow] | None = None,
) -> Comparison:
    """Compare two runs of one case. `extra` dimensions (e.g. record/replay) join the score
    and the verdict; `registry` (the workflows sub-workflow nodes call) lets a child run's
    steps be ordered by the child's own topology."""
    weights = tol.weights
    left, right = primary.result, shadow.result
    outcome = compare_outcome(
        primary.status,
        shadow.status,
        left.pause if left else None,
        right.pause if right else None,
        weight=weights["outcome"],
        workflow_ids=(left.workflow_id, right.workflow_id) if left and right else None,
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
                severity=Severity.HIGH,
                weight=weights["context"],
            ),
            compare_traces(
                events_of(left),
                events_of(right),
                workflow,
                weight=weights["trace"],
                tol=tol,
                malformed=None,  # found from the same pass over the events
                registry=registry,
            ),
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


__all__ = ["Comparison", "Difference", "DimensionResult", "Severity", "assemble", "compare_runs"]
