"""The shape of a snapshot document, checked before anything is rebuilt from it.

Types are checked strictly where coercion would hide a corrupted snapshot (a boolean is not
a version, a list of pairs is not a mapping); what the types cannot say — that every node a
snapshot names exists where it says — is checked by the decoder in `snapshot.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from engines.result import NodeError, TraceEvent

_CLOSED = ConfigDict(extra="forbid", frozen=True)

Path = list[tuple[StrictStr, StrictInt]]
Count = Annotated[StrictInt, Field(ge=0)]


class NodeStateDoc(BaseModel):
    model_config = _CLOSED
    output: Any
    error: dict[str, Any] | None
    status: Literal["completed", "failed", "skipped"]


class FrameDoc(BaseModel):
    model_config = _CLOSED
    path: Path
    remaining: dict[str, Count]
    fired: dict[str, Count]
    view: dict[str, NodeStateDoc]
    errors: list[NodeError]
    routed: dict[str, NodeError]
    waiting: list[StrictStr]
    runs: list[Annotated[LoopDoc | ParallelDoc, Field(discriminator="kind")]]


class LoopDoc(BaseModel):
    model_config = _CLOSED
    kind: Literal["loop"]
    node: StrictStr
    mode: Literal["for", "forEach", "while", "doWhile"]
    max_iterations: Annotated[StrictInt, Field(ge=1)]
    items: list[Any] | None
    count: Count | None
    index: Count
    results: list[Any]
    child: FrameDoc | None


class ParallelDoc(BaseModel):
    model_config = _CLOSED
    kind: Literal["parallel"]
    node: StrictStr
    branches: Count
    max_concurrency: Annotated[StrictInt, Field(ge=1)]
    items: list[Any] | None
    next_index: Count
    active: dict[str, FrameDoc]
    results: dict[str, Any]
    failures: dict[str, NodeError]


class WorkflowRef(BaseModel):
    model_config = _CLOSED
    id: StrictStr
    hash: StrictStr


class RecordDoc(BaseModel):
    model_config = _CLOSED
    order_key: list[StrictInt]
    node: StrictStr
    path: Path
    output: Any


class IdempotencyDoc(BaseModel):
    model_config = _CLOSED
    tool: StrictStr
    key: StrictStr
    records: list[RecordDoc]


class CompensationDoc(BaseModel):
    model_config = _CLOSED
    order_key: list[StrictInt]
    node: StrictStr
    path: Path
    attempt: Annotated[StrictInt, Field(ge=1)]
    tool: StrictStr
    args: dict[str, Any] | None
    render_error: StrictStr | None


class PendingDoc(BaseModel):
    model_config = _CLOSED
    path: Path
    node: StrictStr
    prompt: StrictStr


class ExecutionEventDoc(BaseModel):
    model_config = _CLOSED
    seq: Count
    kind: Literal[
        "execution.started",
        "execution.paused",
        "execution.resumed",
        "execution.completed",
        "execution.failed",
        "execution.cancelled",
    ]
    time: StrictFloat | StrictInt


Seconds = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] | Count


class BreakerDoc(BaseModel):
    """A tool's circuit breaker (docs/semantics.md §7.7), in breaker time."""

    model_config = _CLOSED
    failures: Count
    opened_at: Seconds | None
    time: Seconds


class SnapshotDoc(BaseModel):
    model_config = _CLOSED
    format: StrictStr
    version: StrictInt
    execution_id: Annotated[StrictStr, Field(min_length=1)]
    status: StrictStr
    workflow: WorkflowRef
    registry: dict[str, StrictStr]
    depth: Count
    elapsed: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] | Count
    inputs: dict[str, Any]
    vars: dict[str, Any]
    events: list[ExecutionEventDoc | TraceEvent]
    idempotency: list[IdempotencyDoc]
    compensations: list[CompensationDoc]
    extra_errors: list[NodeError]
    frame: FrameDoc
    pending: list[PendingDoc] = Field(min_length=1)
    #: Circuit breakers by tool; absent when the run has none.
    breakers: dict[StrictStr, BreakerDoc] = Field(default_factory=dict)
    #: `{algorithm, digest}` over the rest (`engines.integrity`); checked by the decoder,
    #: last, so a snapshot that is wrong in a way it can name gets that reason instead.
    integrity: Any = None


FrameDoc.model_rebuild()
