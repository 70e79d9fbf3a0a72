"""The shape of a saved journey session, checked before anything is rebuilt from it.

Types are checked strictly where coercion would hide a corrupted session (a boolean is not a
version, a list of pairs is not a mapping); what types cannot say — that every node named
exists where it says, that the values fit together and the integrity digest matches — is
checked by the loader in `persist.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from engines.result import NodeError, TraceEvent

_CLOSED = ConfigDict(extra="forbid", frozen=True)
Path = list[tuple[StrictStr, StrictInt]]
Count = Annotated[StrictInt, Field(ge=0)]


class SettledDoc(BaseModel):
    model_config = _CLOSED
    output: Any
    error: dict[str, Any] | None
    status: Literal["completed", "failed", "skipped"]


class WalkDoc(BaseModel):
    model_config = _CLOSED
    path: Path
    unarrived: dict[str, Count]
    arrived: dict[str, Count]
    settled: dict[str, SettledDoc]
    deferred: list[Count]
    waiting: list[StrictStr]
    errors: list[NodeError]
    routed: dict[str, NodeError]
    counters: list[Annotated[LoopDoc | BranchDoc, Field(discriminator="kind")]]


class LoopDoc(BaseModel):
    model_config = _CLOSED
    kind: Literal["loop"]
    node: StrictStr
    mode: Literal["for", "forEach", "while", "doWhile"]
    max_iterations: Annotated[StrictInt, Field(ge=1)]
    count: Count | None
    items: list[Any] | None
    index: Count
    results: list[Any]
    child: WalkDoc | None


class BranchDoc(BaseModel):
    model_config = _CLOSED
    kind: Literal["parallel"]
    node: StrictStr
    branches: Count
    max_concurrency: Annotated[StrictInt, Field(ge=1)]
    items: list[Any] | None
    opened: Count
    active: dict[str, WalkDoc]
    results: dict[str, Any]
    failures: dict[str, NodeError]


class RecordDoc(BaseModel):
    model_config = _CLOSED
    tool: StrictStr
    key: StrictStr
    order_key: list[StrictInt]
    node: StrictStr
    path: Path
    output: Any


class UndoDoc(BaseModel):
    model_config = _CLOSED
    order_key: list[StrictInt]
    node: StrictStr
    path: Path
    attempt: Annotated[StrictInt, Field(ge=1)]
    tool: StrictStr
    args: dict[str, Any] | None
    problem: StrictStr | None


class QuestionDoc(BaseModel):
    model_config = _CLOSED
    path: Path
    node: StrictStr
    position: Count
    prompt: StrictStr


class MessageDoc(BaseModel):
    model_config = _CLOSED
    role: Literal["agent", "customer"]
    text: StrictStr
    node: StrictStr | None


class VisitDoc(BaseModel):
    model_config = _CLOSED
    state: StrictStr
    token: StrictStr | None
    path: Path


class SessionDoc(BaseModel):
    model_config = _CLOSED
    format: StrictStr
    version: StrictInt
    session_id: Annotated[StrictStr, Field(min_length=1)]
    status: StrictStr
    workflow: dict[str, StrictStr]
    registry: dict[str, StrictStr]
    depth: Count
    elapsed: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] | Count
    inputs: dict[str, Any]
    vars: dict[str, Any]
    journey_vars: dict[str, Any]
    events: list[TraceEvent]
    path: list[VisitDoc]
    transcript: list[MessageDoc]
    records: list[RecordDoc]
    undo: list[UndoDoc]
    extra_errors: list[NodeError]
    walk: WalkDoc
    questions: list[QuestionDoc] = Field(min_length=1)
    #: `{algorithm, digest}` over the rest, checked last by `load`.
    integrity: Any = None


WalkDoc.model_rebuild()
