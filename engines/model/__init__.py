"""The shared workflow model: documents, node types, validation and topology."""

from engines.model.fields import TypedTemplate
from engines.model.nodes import (
    DEFAULT,
    ERROR,
    FALSE,
    NODE_CLASSES,
    NODE_TYPES,
    OUT,
    TRUE,
    Compensation,
    Node,
    NodeBase,
    RetryPolicy,
)
from engines.model.registry import WorkflowRegistry
from engines.model.schema import InputSchema
from engines.model.topology import Level, Topology
from engines.model.validate import ValidatedWorkflow, parse_workflow, validate_workflow
from engines.model.workflow import Edge, Workflow

__all__ = [
    "DEFAULT",
    "ERROR",
    "FALSE",
    "NODE_CLASSES",
    "NODE_TYPES",
    "OUT",
    "TRUE",
    "Compensation",
    "Edge",
    "InputSchema",
    "Level",
    "Node",
    "NodeBase",
    "RetryPolicy",
    "Topology",
    "TypedTemplate",
    "ValidatedWorkflow",
    "Workflow",
    "WorkflowRegistry",
    "parse_workflow",
    "validate_workflow",
]
