"""Node types and their typed parameters.

Every node has an id, a type and type-specific `params`; the cross-cutting options (`retry`,
`timeout`, `compensate`, `idempotency_key`) are accepted only on the node types whose
semantics define them (docs/semantics.md, "Node options"), so a misplaced option is an error
rather than something one engine honours and the other ignores.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from engines.model.fields import (
    CodeTemplate,
    CountTemplate,
    ExpressionField,
    ItemsTemplate,
    PositiveTemplate,
    SecondsTemplate,
    TemplateMap,
    TemplateValue,
    TextTemplate,
)
from engines.model.schema import InputSchema

#: Every model is immutable, closed (unknown fields are errors) and validates its defaults,
#: so a defaulted template param is a compiled template like a given one.
FROZEN = ConfigDict(frozen=True, extra="forbid", validate_default=True)

#: Handles with a fixed meaning on every node.
OUT = "out"
ERROR = "error"
DEFAULT = "default"
TRUE = "true"
FALSE = "false"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID = re.compile(r"^[^\s$][^\s]*$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"node id {value!r} must be non-empty, without spaces, and not start with '$'"
        )
    return value


NodeId = Annotated[str, AfterValidator(_check_id)]


class RetryPolicy(BaseModel):
    """Temporal's retry shape. The delay before retry n (n >= 1) is
    min(initial_interval * backoff_coefficient ** (n - 1), max_interval)."""

    model_config = FROZEN

    max_attempts: int = Field(default=1, ge=1)
    initial_interval: float = Field(default=1.0, ge=0)
    backoff_coefficient: float = Field(default=2.0, ge=1.0)
    max_interval: float | None = Field(default=None, ge=0)
    non_retryable_codes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _interval_order(self) -> RetryPolicy:
        if self.max_interval is not None and self.max_interval < self.initial_interval:
            raise ValueError("max_interval must be >= initial_interval")
        return self

    @property
    def effective_max_interval(self) -> float:
        return self.max_interval if self.max_interval is not None else 100 * self.initial_interval

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 = the second attempt)."""
        raw = self.initial_interval * self.backoff_coefficient ** (retry - 1)
        return min(raw, self.effective_max_interval)

    def retries(self, code: str, recoverable: bool, attempt: int) -> bool:
        """Whether a failure of `attempt` with `code` is retried."""
        return recoverable and attempt < self.max_attempts and code not in self.non_retryable_codes


class Compensation(BaseModel):
    """The saga action that undoes a completed node: a tool call."""

    model_config = FROZEN

    tool: str = Field(min_length=1)
    args: TemplateMap = Field(default_factory=dict)  # type: ignore[assignment]


# --------------------------------------------------------------------------- params


class NoParams(BaseModel):
    model_config = FROZEN


class EndParams(BaseModel):
    model_config = FROZEN
    outputs: dict[str, TemplateValue] = Field(default_factory=dict)


class SetParams(BaseModel):
    model_config = FROZEN
    values: dict[str, TemplateValue] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _names(cls, values: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in values if not _NAME.match(name)]
        if bad:
            raise ValueError(f"variable names must be identifiers, not {bad}")
        return values


class TransformParams(BaseModel):
    model_config = FROZEN
    value: TemplateValue


class ConditionParams(BaseModel):
    model_config = FROZEN
    expression: ExpressionField


class Route(BaseModel):
    model_config = FROZEN
    name: str = Field(min_length=1)
    when: ExpressionField

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in (DEFAULT, ERROR, OUT):
            raise ValueError(f"route name {name!r} is reserved for the {name} handle")
        return name


class RouterParams(BaseModel):
    model_config = FROZEN
    routes: tuple[Route, ...]
    all_matching: bool = False

    @field_validator("routes")
    @classmethod
    def _unique(cls, routes: tuple[Route, ...]) -> tuple[Route, ...]:
        if not routes:
            raise ValueError("a router needs at least one route")
        seen: set[str] = set()
        for route in routes:
            if route.name in seen:
                raise ValueError(f"route name {route.name!r} is used twice")
            seen.add(route.name)
        return routes

    @property
    def route_names(self) -> tuple[str, ...]:
        return tuple(route.name for route in self.routes)


class ToolParams(BaseModel):
    model_config = FROZEN
    tool: str = Field(min_length=1)
    args: TemplateMap = Field(default_factory=dict)  # type: ignore[assignment]


class InputParams(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )
    prompt: TextTemplate = ""  # type: ignore[assignment]
    #: `schema` in documents (the attribute name would shadow pydantic's own).
    schema_: InputSchema | None = Field(default=None, alias="schema")


class WaitParams(BaseModel):
    model_config = FROZEN
    seconds: SecondsTemplate


class LoopParams(BaseModel):
    model_config = FROZEN
    mode: Literal["for", "forEach", "while", "doWhile"]
    count: CountTemplate | None = None
    items: ItemsTemplate | None = None
    condition: ExpressionField | None = None
    max_iterations: PositiveTemplate = 1000  # type: ignore[assignment]

    @model_validator(mode="after")
    def _mode_fields(self) -> LoopParams:
        needs = {"for": "count", "forEach": "items", "while": "condition", "doWhile": "condition"}
        wanted = needs[self.mode]
        if getattr(self, wanted) is None:
            raise ValueError(f"mode {self.mode!r} needs {wanted!r}")
        extra = [
            f
            for f in ("count", "items", "condition")
            if f != wanted and getattr(self, f) is not None
        ]
        if extra:
            raise ValueError(f"mode {self.mode!r} does not use {', '.join(map(repr, extra))}")
        return self


class ParallelParams(BaseModel):
    model_config = FROZEN
    mode: Literal["count", "collection"]
    count: CountTemplate | None = None
    items: ItemsTemplate | None = None
    max_concurrency: PositiveTemplate = 10  # type: ignore[assignment]

    @model_validator(mode="after")
    def _mode_fields(self) -> ParallelParams:
        wanted, other = ("count", "items") if self.mode == "count" else ("items", "count")
        if getattr(self, wanted) is None:
            raise ValueError(f"mode {self.mode!r} needs {wanted!r}")
        if getattr(self, other) is not None:
            raise ValueError(f"mode {self.mode!r} does not use {other!r}")
        return self


class SubworkflowParams(BaseModel):
    model_config = FROZEN
    workflow: str = Field(min_length=1)
    inputs: TemplateMap = Field(default_factory=dict)  # type: ignore[assignment]


class FailParams(BaseModel):
    model_config = FROZEN
    code: CodeTemplate
    message: TextTemplate = ""  # type: ignore[assignment]
    recoverable: bool = False


# --------------------------------------------------------------------------- nodes

_OPTIONS: dict[str, str] = {
    "retry": "tool, wait and fail",
    "timeout": "tool and wait",
    "compensate": "tool and subworkflow",
    "idempotency_key": "tool",
}


class NodeBase(BaseModel):
    model_config = FROZEN

    #: Which cross-cutting options this node type accepts.
    OPTIONS: ClassVar[frozenset[str]] = frozenset()
    #: Whether this node type holds a body of child nodes (`parent` points at it).
    CONTAINER: ClassVar[bool] = False

    id: NodeId
    #: Narrowed to a literal by each node class (the union's discriminator).
    type: str
    #: Narrowed to the type's params model by each node class.
    params: BaseModel
    name: str | None = None
    parent: str | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = Field(default=None, gt=0)
    compensate: Compensation | None = None
    idempotency_key: TextTemplate | None = None

    @field_validator("retry", "timeout", "compensate", "idempotency_key")
    @classmethod
    def _supported(cls, value: Any, info: Any) -> Any:
        if value is not None and info.field_name not in cls.OPTIONS:
            raise ValueError(
                f"{info.field_name} is only supported on {_OPTIONS[info.field_name]} nodes"
            )
        return value

    @property
    def label(self) -> str:
        return self.name or self.id

    def handles(self) -> frozenset[str]:
        """The outgoing handles an edge from this node may use."""
        return frozenset((OUT, ERROR))


class StartNode(NodeBase):
    type: Literal["start"]
    params: NoParams = Field(default_factory=NoParams)

    def handles(self) -> frozenset[str]:
        return frozenset((OUT,))


class EndNode(NodeBase):
    type: Literal["end"]
    params: EndParams = Field(default_factory=EndParams)

    def handles(self) -> frozenset[str]:
        return frozenset()


class SetNode(NodeBase):
    type: Literal["set"]
    params: SetParams


class TransformNode(NodeBase):
    type: Literal["transform"]
    params: TransformParams


class ConditionNode(NodeBase):
    type: Literal["condition"]
    params: ConditionParams

    def handles(self) -> frozenset[str]:
        return frozenset((TRUE, FALSE, ERROR))


class RouterNode(NodeBase):
    type: Literal["router"]
    params: RouterParams

    def handles(self) -> frozenset[str]:
        return frozenset((*self.params.route_names, DEFAULT, ERROR))


class ToolNode(NodeBase):
    OPTIONS = frozenset(_OPTIONS)
    type: Literal["tool"]
    params: ToolParams


class InputNode(NodeBase):
    type: Literal["input"]
    params: InputParams = Field(default_factory=InputParams)


class WaitNode(NodeBase):
    OPTIONS = frozenset(("retry", "timeout"))
    type: Literal["wait"]
    params: WaitParams


class LoopNode(NodeBase):
    CONTAINER = True
    type: Literal["loop"]
    params: LoopParams


class ParallelNode(NodeBase):
    CONTAINER = True
    type: Literal["parallel"]
    params: ParallelParams


class SubworkflowNode(NodeBase):
    OPTIONS = frozenset(("compensate",))
    type: Literal["subworkflow"]
    params: SubworkflowParams


class FailNode(NodeBase):
    OPTIONS = frozenset(("retry",))
    type: Literal["fail"]
    params: FailParams

    def handles(self) -> frozenset[str]:
        return frozenset((ERROR,))


NODE_CLASSES: dict[str, type[NodeBase]] = {
    "start": StartNode,
    "end": EndNode,
    "set": SetNode,
    "transform": TransformNode,
    "condition": ConditionNode,
    "router": RouterNode,
    "tool": ToolNode,
    "input": InputNode,
    "wait": WaitNode,
    "loop": LoopNode,
    "parallel": ParallelNode,
    "subworkflow": SubworkflowNode,
    "fail": FailNode,
}
NODE_TYPES: tuple[str, ...] = tuple(NODE_CLASSES)

Node = Annotated[
    StartNode
    | EndNode
    | SetNode
    | TransformNode
    | ConditionNode
    | RouterNode
    | ToolNode
    | InputNode
    | WaitNode
    | LoopNode
    | ParallelNode
    | SubworkflowNode
    | FailNode,
    Field(discriminator="type"),
]
