"""What a journey session remembers: walks, journey-held counters, variables, records.

A **walk** is one pass of the journey over a level — the top level, one loop iteration, one
parallel branch. It counts, per node, the paths that have not arrived yet and the ones that
have, keeps the state of every node it settled (that map is also what templates see as
`nodes`), and the positions it had to put off because they wait for an answer. Loops and
parallels keep their progress in **counters**: the journey-held numbers their test forks
read. All changes go through the named operations below.
"""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any

from engines.journey.model import JourneyLevel
from engines.result import IterationPath, NodeError

DONE = "completed"
FAILED = "failed"
SKIPPED = "skipped"

OrderKey = tuple[int, ...]


class Walk:
    """One pass over a level."""

    __slots__ = (
        "arrived",
        "counter",
        "deferred",
        "errors",
        "key",
        "level",
        "open",
        "path",
        "routed",
        "runs",
        "scope",
        "settled",
        "unarrived",
        "waiting",
    )

    def __init__(
        self,
        level: JourneyLevel,
        incoming: dict[str, int],
        path: IterationPath,
        key: OrderKey,
        scope: dict[str, Any],
        counter: Counter | None,
    ) -> None:
        self.level = level
        self.path = path
        self.key = key
        self.scope = scope
        self.counter = counter
        #: Paths into each node that have not arrived (fired or closed) yet.
        self.unarrived = dict(incoming)
        #: Paths into each node that arrived open (fired).
        self.arrived = dict.fromkeys(level.order, 0)
        #: node -> {"output", "error", "status"}: what templates see as `nodes`.
        self.settled: dict[str, dict[str, Any]] = {}
        self.open = len(level.order)
        #: Positions put off because a path into them waits for an answer.
        self.deferred: set[int] = set()
        self.waiting: set[str] = set()
        self.errors: list[NodeError] = []
        self.routed: dict[str, NodeError] = {}
        self.runs: dict[str, Counter] = {}

    @classmethod
    def top(cls, level: JourneyLevel, incoming: dict[str, int], scope: dict[str, Any]) -> Walk:
        walk = cls(level, incoming, (), (), scope, None)
        scope["nodes"] = walk.settled
        return walk

    @classmethod
    def child(
        cls,
        level: JourneyLevel,
        incoming: dict[str, int],
        parent: Walk,
        counter: Counter,
        index: int,
        entry: dict[str, Any],
    ) -> Walk:
        scope = dict(parent.scope)
        scope[counter.scope_name] = entry
        walk = cls(
            level,
            incoming,
            (*parent.path, (counter.node, index)),
            (*parent.key, counter.position, index),
            scope,
            counter,
        )
        outer = parent.scope["nodes"]
        maps = outer.maps if isinstance(outer, ChainMap) else [outer]
        scope["nodes"] = ChainMap(walk.settled, *maps)
        return walk

    @property
    def finished(self) -> bool:
        return self.open == 0

    # ------------------------------------------------------------------ named operations

    def settle_done(self, node: str, output: Any) -> None:
        self.settled[node] = {"output": output, "error": None, "status": DONE}
        self.open -= 1

    def settle_routed(self, node: str, error: NodeError) -> None:
        self.settled[node] = {"output": None, "error": error.as_scope(), "status": FAILED}
        self.routed[node] = error
        self.open -= 1

    def settle_failed(self, node: str, error: NodeError) -> None:
        self.settled[node] = {"output": None, "error": error.as_scope(), "status": FAILED}
        self.errors.append(error)
        self.open -= 1

    def settle_skipped(self, node: str) -> None:
        self.settled[node] = {"output": None, "error": None, "status": SKIPPED}
        self.open -= 1

    def path_arrives(self, node: str, fired: bool) -> None:
        self.unarrived[node] -= 1
        if fired:
            self.arrived[node] += 1

    def paths_arrive(self, edges: tuple[tuple[str, str], ...], handles: tuple[str, ...]) -> None:
        """The paths `edges` (handle, target) arrive: open through `handles`, closed otherwise."""
        unarrived, arrived = self.unarrived, self.arrived
        for handle, target in edges:
            unarrived[target] -= 1
            if handle in handles:
                arrived[target] += 1


@dataclass(eq=False)
class Counter:
    """A loop's or parallel's progress: what its test fork decides on."""

    node: str
    position: int
    walk: Walk

    scope_name = "loop"


@dataclass(eq=False)
class LoopCounter(Counter):
    mode: str = "for"
    max_iterations: int = 1000
    count: int | None = None
    items: list[Any] | None = None
    index: int = 0
    results: list[Any] = field(default_factory=list)
    child: Walk | None = None


@dataclass(eq=False)
class BranchCounter(Counter):
    scope_name = "parallel"

    branches: int = 0
    max_concurrency: int = 10
    items: list[Any] | None = None
    opened: int = 0
    active: dict[int, Walk] = field(default_factory=dict)
    results: dict[int, Any] = field(default_factory=dict)
    failures: dict[int, NodeError] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Question:
    """An input node waiting for the customer's answer."""

    walk: Walk
    node: str
    position: int
    prompt: str

    @property
    def order_key(self) -> OrderKey:
        return (*self.walk.key, self.position)


@dataclass(frozen=True, slots=True)
class Record:
    order_key: OrderKey
    node: str
    path: IterationPath
    output: Any


@dataclass(frozen=True, slots=True)
class Undo:
    order_key: OrderKey
    node: str
    path: IterationPath
    attempt: int
    tool: str
    args: dict[str, Any] | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "agent" or "customer"
    text: str
    node: str | None = None
