"""What every engine accepts: a workflow (validated, as a registry, or a document to validate)
and inputs that are a mapping of JSON data. Checking it here, once, means every engine refuses
the same bad input with the same message — this is input validation, not execution code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.errors import ExpressionError, SetupError
from engines.expressions import as_json
from engines.model import ValidatedWorkflow, WorkflowRegistry, validate_workflow
from engines.tools import ToolRegistry

WorkflowLike = ValidatedWorkflow | WorkflowRegistry | Mapping[str, Any]


def resolve_workflow(
    workflow: WorkflowLike, registry: WorkflowRegistry | None, tools: ToolRegistry, engine: str
) -> tuple[ValidatedWorkflow, WorkflowRegistry]:
    """The workflow to run and the registry its sub-workflow nodes resolve in."""
    if isinstance(workflow, WorkflowRegistry):
        return workflow.main, workflow
    if isinstance(workflow, Mapping):
        workflow = validate_workflow(workflow)
    if not isinstance(workflow, ValidatedWorkflow):
        raise SetupError(
            f"the {engine} engine runs a validated workflow, a workflow registry or a workflow "
            f"document, not {type(workflow).__name__}"
        )
    if registry is None:
        return workflow, WorkflowRegistry([workflow], tools=tools)
    if workflow.id not in registry or registry[workflow.id].content_hash != workflow.content_hash:
        raise SetupError(f"workflow {workflow.id!r} is not the one in the given registry")
    return workflow, registry


def check_inputs(inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's inputs: a mapping of JSON data (None means none)."""
    if inputs is None:
        return {}
    if not isinstance(inputs, Mapping):
        raise SetupError(f"inputs must be a mapping, not {type(inputs).__name__}")
    try:
        return as_json(dict(inputs))
    except ExpressionError as exc:
        raise SetupError(f"inputs are not JSON data: {exc.message}") from None
