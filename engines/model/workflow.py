"""The workflow document: nodes, edges, variables and outputs."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any

from pydantic import BaseModel, Field, field_validator

from engines.model.fields import TemplateValue
from engines.model.nodes import _NAME, FROZEN, OUT, Node, NodeBase
from engines.model.tools import ToolName, ToolSettings


class Edge(BaseModel):
    """A wire from `source` to `target`, leaving through `source`'s `handle`."""

    model_config = FROZEN

    id: str | None = None
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    handle: str = Field(default=OUT, min_length=1)

    def describe(self) -> str:
        via = "" if self.handle == OUT else f" [{self.handle}]"
        return f"{self.source}{via} -> {self.target}"


class Workflow(BaseModel):
    """A validated-by-shape workflow. Rules that span several nodes (one start, no cycles,
    ancestors only, no races ...) are checked by `engines.model.validate`."""

    model_config = FROZEN

    id: str = Field(min_length=1)
    version: int = Field(default=1, ge=1)
    name: str | None = None
    description: str | None = None
    variables: dict[str, TemplateValue] = Field(default_factory=dict)
    outputs: dict[str, TemplateValue] | None = None
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    #: Per-tool settings (a circuit breaker, docs/semantics.md §7.7). None when not given, so
    #: a workflow without them keeps its canonical form and content hash.
    tools: dict[ToolName, ToolSettings] | None = None

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, values: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in values if not _NAME.match(name)]
        if bad:
            raise ValueError(f"variable names must be identifiers, not {bad}")
        return values

    @field_validator("nodes")
    @classmethod
    def _not_empty(cls, nodes: tuple[NodeBase, ...]) -> tuple[NodeBase, ...]:
        if not nodes:
            raise ValueError("a workflow needs at least a start node")
        return nodes

    @cached_property
    def node_map(self) -> dict[str, NodeBase]:
        """Nodes by id (the first one, if a document repeats an id)."""
        out: dict[str, NodeBase] = {}
        for node in self.nodes:
            out.setdefault(node.id, node)
        return out

    @cached_property
    def declaration_index(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for index, node in enumerate(self.nodes):
            out.setdefault(node.id, index)
        return out

    def node(self, node_id: str) -> NodeBase:
        return self.node_map[node_id]

    def to_document(self) -> dict[str, Any]:
        """The native JSON form (templates as their source text)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON form: equal for equal workflows, whatever the
        file format, key order or whitespace they were written in."""
        canonical = json.dumps(
            self.to_document(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
