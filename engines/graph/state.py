"""Runtime state of one execution: frames (level executions), container progress, variables,
idempotency records and compensations — changed only through the named operations here.

A **frame** is one execution of a level: the top level, one loop iteration or one parallel
branch. It counts the unresolved incoming edges of each of its nodes, keeps the state of
every node it resolved (`view`, which is also what templates see as `nodes`), and knows the
container run that owns it. Nothing about nodes or edges is copied here: the plan has it.
"""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any

from engines.graph.breakers import BreakerState
from engines.graph.plan import LevelPlan, NodePlan
from engines.result import IterationPath, NodeError

COMPLETED = "completed"
FAILED = "failed"
SKIPPED = "skipped"

OrderKey = tuple[int, ...]


class Frame:
    """One execution of a level."""

    __slots__ = (
        "errors",
        "fired",
        "key",
        "level",
        "open",
        "owner",
        "path",
        "remaining",
        "routed",
        "runs",
        "scope",
        "view",
        "waiting",
    )

    def __init__(
        self,
        level: LevelPlan,
        path: IterationPath,
        key: OrderKey,
        scope: dict[str, Any],
        owner: ContainerRun | None,
    ) -> None:
        self.level = level
        self.path = path
        #: Order-key prefix of this frame's nodes (empty at top level).
        self.key = key
        self.owner = owner
        self.remaining: dict[str, int] = dict(level.incoming)
        self.fired: dict[str, int] = dict.fromkeys(level.order, 0)
        #: node -> {"output", "error", "status"} for every resolved node.
        self.view: dict[str, dict[str, Any]] = {}
        self.scope = scope
        #: Nodes not yet completed, failed or skipped.
        self.open = len(level.order)
        #: Unhandled failures, in the order they happened (sorted when read).
        self.errors: list[NodeError] = []
        #: Routed failures, by node.
        self.routed: dict[str, NodeError] = {}
        #: Input nodes of this frame waiting for a payload.
        self.waiting: set[str] = set()
        #: Loops and parallels of this frame in progress, by node.
        self.runs: dict[str, ContainerRun] = {}

    @classmethod
    def open_top(cls, level: LevelPlan, base_scope: dict[str, Any]) -> Frame:
        frame = cls(level, (), (), base_scope, None)
        base_scope["nodes"] = frame.view
        return frame

    @classmethod
    def open_child(
        cls,
        level: LevelPlan,
        parent: Frame,
        owner: ContainerRun,
        index: int,
        entry_name: str,
        entry: dict[str, Any],
    ) -> Frame:
        """A loop iteration or parallel branch of `owner`, inside `parent`."""
        path = (*parent.path, (owner.node.id, index))
        key = (*parent.key, owner.node.index, index)
        scope = dict(parent.scope)
        scope[entry_name] = entry
        frame = cls(level, path, key, scope, owner)
        parent_nodes = parent.scope["nodes"]
        maps = parent_nodes.maps if isinstance(parent_nodes, ChainMap) else [parent_nodes]
        scope["nodes"] = ChainMap(frame.view, *maps)
        return frame

    def order_key(self, node: NodePlan) -> OrderKey:
        return (*self.key, node.index)

    @property
    def finished(self) -> bool:
        return self.open == 0

    # ------------------------------------------------------------------ named operations

    def complete(self, node_id: str, output: Any) -> None:
        self.view[node_id] = {"output": output, "error": None, "status": COMPLETED}
        self.open -= 1

    def route_failure(self, node_id: str, error: NodeError) -> None:
        self.view[node_id] = {"output": None, "error": error.as_scope(), "status": FAILED}
        self.routed[node_id] = error
        self.open -= 1

    def fail_unhandled(self, node_id: str, error: NodeError) -> None:
        self.view[node_id] = {"output": None, "error": error.as_scope(), "status": FAILED}
        self.errors.append(error)
        self.open -= 1

    def skip(self, node_id: str) -> None:
        self.view[node_id] = {"output": None, "error": None, "status": SKIPPED}
        self.open -= 1

    def is_resolved(self, node_id: str) -> bool:
        return node_id in self.view

    def first_error(self, index: dict[str, int]) -> NodeError:
        """The frame's first unhandled error in canonical order."""
        return min(self.errors, key=lambda e: index[e.node])


@dataclass(eq=False)
class ContainerRun:
    """A loop or parallel node in progress in `frame`."""

    node: NodePlan
    frame: Frame

    @property
    def order_key(self) -> OrderKey:
        return self.frame.order_key(self.node)


@dataclass(eq=False)
class LoopRun(ContainerRun):
    mode: str
    max_iterations: int
    #: forEach items (None in other modes); for count (None in other modes).
    items: list[Any] | None = None
    count: int | None = None
    #: Index of the iteration in progress (or next to start).
    index: int = 0
    results: list[Any] = field(default_factory=list)
    child: Frame | None = None


@dataclass(eq=False)
class ParallelRun(ContainerRun):
    branches: int
    max_concurrency: int
    items: list[Any] | None = None
    next_index: int = 0
    active: dict[int, Frame] = field(default_factory=dict)
    results: dict[int, Any] = field(default_factory=dict)
    failures: dict[int, NodeError] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.next_index >= self.branches and not self.active


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    order_key: OrderKey
    node: str
    path: IterationPath
    output: Any


@dataclass(frozen=True, slots=True)
class CompensationRecord:
    order_key: OrderKey
    node: str
    path: IterationPath
    attempt: int
    tool: str
    args: dict[str, Any] | None
    #: Why the args could not be rendered (the compensation then fails).
    render_error: str | None


@dataclass
class Pending:
    """An input node waiting for its payload."""

    frame: Frame
    node: NodePlan
    prompt: str

    @property
    def order_key(self) -> OrderKey:
        return self.frame.order_key(self.node)


@dataclass
class RunState:
    """Run-level state shared by all frames."""

    inputs: dict[str, Any]
    vars: dict[str, Any]
    env: dict[str, str]
    top: Frame | None = None
    idempotency: dict[tuple[str, str], list[IdempotencyRecord]] = field(default_factory=dict)
    compensations: list[CompensationRecord] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    #: CANCELLED failures with their order keys (listed in order-key order).
    cancelled: list[tuple[OrderKey, NodeError]] = field(default_factory=list)
    #: Errors that are not a top-level node's: `$variables`, `$outputs`, COMPENSATION_FAILED.
    extra_errors: list[NodeError] = field(default_factory=list)
    #: Circuit breakers by tool, created at a tool's first guarded call (§7.7).
    breakers: dict[str, BreakerState] = field(default_factory=dict)

    @property
    def inputs_scope(self) -> dict[str, Any]:
        """What the workflow's initial `variables` may read."""
        return {"inputs": self.inputs, "env": self.env}

    def scope(self) -> dict[str, Any]:
        """The top level's scope; `nodes` is added by the top frame."""
        return {"inputs": self.inputs, "vars": self.vars, "env": self.env}

    def write_vars(self, values: dict[str, Any]) -> None:
        self.vars.update(values)

    def record_idempotent(self, tool: str, key: str, record: IdempotencyRecord) -> None:
        self.idempotency.setdefault((tool, key), []).append(record)

    def record_compensation(self, record: CompensationRecord) -> None:
        self.compensations.append(record)
