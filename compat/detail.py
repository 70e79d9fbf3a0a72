"""What a report keeps about a case beyond its verdict, so that it can be shown later: the
workflow's shape (drawn as a graph), and each engine's trace, node outputs and transcript
(drawn as timelines and a conversation).

A check keeps these only when something will read them (`--json`, `--html`): for a
terminal-only run they would cost time and nothing else.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engines.model import ValidatedWorkflow
from engines.result import NodeError, RunResult, TraceEvent

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class NodeView(BaseModel):
    """A node as the graph drawing needs it."""

    model_config = _FROZEN

    id: str
    type: str
    name: str | None = None
    #: The container whose body the node is in.
    parent: str | None = None
    #: Position in its level's canonical order (the validator's), for laying out.
    index: int = 0


class EdgeView(BaseModel):
    model_config = _FROZEN

    source: str
    target: str
    handle: str = "out"


class WorkflowView(BaseModel):
    """The workflow's nodes, containers and edges, from the validator's topology."""

    model_config = _FROZEN

    id: str
    nodes: tuple[NodeView, ...]
    edges: tuple[EdgeView, ...]

    @classmethod
    def of(cls, validated: ValidatedWorkflow) -> WorkflowView:
        workflow, topology = validated.workflow, validated.topology
        return cls(
            id=workflow.id,
            nodes=tuple(
                NodeView(
                    id=node.id,
                    type=node.type,
                    name=node.name,
                    parent=node.parent,
                    index=topology.index.get(node.id, 0),
                )
                for node in workflow.nodes
            ),
            edges=tuple(
                EdgeView(source=e.source, target=e.target, handle=e.handle) for e in workflow.edges
            ),
        )


class Said(BaseModel):
    """One message of a journey's transcript."""

    model_config = _FROZEN

    role: str
    text: str
    node: str | None = None


class RunDetail(BaseModel):
    """One engine's run of a case, in full."""

    model_config = _FROZEN

    trace: tuple[TraceEvent, ...] = ()
    node_outputs: dict[str, Any] = Field(default_factory=dict)
    node_errors: dict[str, NodeError] = Field(default_factory=dict)
    transcript: tuple[Said, ...] = ()

    @classmethod
    def of(cls, result: RunResult | None) -> RunDetail | None:
        if result is None:
            return None
        transcript = getattr(result, "transcript", ())
        return cls(
            trace=tuple(result.trace),
            node_outputs=result.node_outputs,
            node_errors=result.node_errors,
            transcript=tuple(Said(role=m.role, text=m.text, node=m.node) for m in transcript),
        )


class CaseDetail(BaseModel):
    """Everything the HTML report draws for one case."""

    model_config = _FROZEN

    workflow: WorkflowView
    primary: RunDetail | None = None
    shadow: RunDetail | None = None
