"""The common state: an engine-neutral, versioned JSON form of a paused run.

Both engines pause at the same point with the same facts — which nodes of which level
execution are resolved and how, how many edges into each node are still unresolved or have
fired, which loops and parallels are in progress, which inputs wait — but each stores them in
its own words (graph frames, journey walks). This module names those facts once, so a run
paused in one engine can continue in the other, and checks a state against the workflow
before anything is built from it (docs/harness-sync.md).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from compat.sync.breakers import BreakerState, check_breakers
from engines.errors import SnapshotInvalid
from engines.model import ValidatedWorkflow, WorkflowRegistry, validate_workflow
from engines.model.nodes import LoopNode, ParallelNode, ToolNode
from engines.model.problems import problems_from
from engines.result import NodeError, TraceEvent

FORMAT = "compat.common.state"
VERSION = 1

_CLOSED = ConfigDict(extra="forbid", frozen=True)
Count = Annotated[StrictInt, Field(ge=0)]
#: An iteration path: ((container id, iteration or branch index), ...), outermost first.
Path = tuple[tuple[StrictStr, Count], ...]
RegistryLike = WorkflowRegistry | ValidatedWorkflow | Mapping[str, Any]


class NodeState(BaseModel):
    """A resolved node, as templates see it (`nodes.<id>`)."""

    model_config = _CLOSED
    status: Literal["completed", "failed", "skipped"]
    output: Any
    error: dict[str, Any] | None


class LevelState(BaseModel):
    """One execution of a level: the top level, a loop iteration or a parallel branch."""

    model_config = _CLOSED
    path: Path
    #: Resolved nodes (canonical order).
    resolved: dict[str, NodeState]
    #: Per node of the level: incoming edges not resolved yet (graph `remaining`, journey
    #: `unarrived`).
    edges_pending: dict[str, Count]
    #: Per node of the level: incoming edges that fired (graph `fired`, journey `arrived`).
    edges_fired: dict[str, Count]
    #: Input nodes waiting for a payload (canonical order).
    waiting: tuple[StrictStr, ...]
    #: Unhandled failures (canonical order) and routed ones (by node).
    errors: tuple[NodeError, ...]
    routed: dict[str, NodeError]
    #: Loops and parallels of this level in progress (canonical order).
    containers: tuple[Annotated[LoopProgress | ParallelProgress, Field(discriminator="kind")], ...]


class LoopProgress(BaseModel):
    model_config = _CLOSED
    kind: Literal["loop"]
    node: StrictStr
    mode: Literal["for", "forEach", "while", "doWhile"]
    max_iterations: Annotated[StrictInt, Field(ge=1)]
    count: Count | None
    items: list[Any] | None
    #: The iteration in progress; `results` holds the ones before it.
    index: Count
    results: list[Any]
    iteration: LevelState | None


class ParallelProgress(BaseModel):
    model_config = _CLOSED
    kind: Literal["parallel"]
    node: StrictStr
    branches: Count
    max_concurrency: Annotated[StrictInt, Field(ge=1)]
    items: list[Any] | None
    #: Branches opened so far (0 .. opened-1); each is active, has a result or failed.
    opened: Count
    active: dict[StrictStr, LevelState]
    results: dict[StrictStr, Any]
    failures: dict[StrictStr, NodeError]


class Question(BaseModel):
    """A pending input; the run is paused at the one with the lowest order key."""

    model_config = _CLOSED
    node: StrictStr
    path: Path
    order_key: tuple[Count, ...]
    prompt: StrictStr


class IdempotencyRecord(BaseModel):
    model_config = _CLOSED
    tool: StrictStr
    key: StrictStr
    node: StrictStr
    path: Path
    order_key: tuple[Count, ...]
    output: Any


class Compensation(BaseModel):
    model_config = _CLOSED
    node: StrictStr
    path: Path
    order_key: tuple[Count, ...]
    attempt: Annotated[StrictInt, Field(ge=1)]
    tool: StrictStr
    #: The args rendered when the node completed, or None with `problem` saying why not.
    args: dict[str, Any] | None
    problem: StrictStr | None


class WorkflowRef(BaseModel):
    model_config = _CLOSED
    id: StrictStr
    hash: StrictStr


class CommonState(BaseModel):
    """A paused run, engine-neutral (format `compat.common.state`, version 1)."""

    model_config = _CLOSED
    format: Literal["compat.common.state"]
    version: Literal[1]
    run_id: Annotated[StrictStr, Field(min_length=1)]
    #: The engine the state was taken from (informational).
    source: StrictStr
    workflow: WorkflowRef
    registry: dict[StrictStr, StrictStr]
    depth: Count
    #: Clock seconds the run has spent so far.
    elapsed: StrictFloat | StrictInt
    inputs: dict[str, Any]
    vars: dict[str, Any]
    top: LevelState
    questions: tuple[Question, ...] = Field(min_length=1)
    idempotency: tuple[IdempotencyRecord, ...]
    compensations: tuple[Compensation, ...]
    extra_errors: tuple[NodeError, ...]
    #: Node-level trace events so far, in the order they happened (engine `seq` kept).
    trace: tuple[TraceEvent, ...]
    #: Circuit breakers by tool (§7.7): those of the tools the run has called; absent in a
    #: state taken before breakers were carried, which reads as none.
    breakers: dict[StrictStr, BreakerState] = Field(default_factory=dict)
    #: Engine-specific facts, read back only by that engine (a lossless round trip).
    extensions: dict[StrictStr, dict[str, Any]] = Field(default_factory=dict)


LevelState.model_rebuild()


# --------------------------------------------------------------------------- helpers


def resolve_registry(registry: RegistryLike) -> tuple[ValidatedWorkflow, dict[str, str]]:
    """The main workflow and the content hash of every workflow it may call, as the engines
    name them in their snapshots."""
    if isinstance(registry, WorkflowRegistry):
        return registry.main, {wid: w.content_hash for wid, w in registry.items()}
    if isinstance(registry, Mapping):
        registry = validate_workflow(registry)
    if not isinstance(registry, ValidatedWorkflow):
        raise SnapshotInvalid(
            "a state is converted against a workflow registry or a validated workflow, "
            f"not {type(registry).__name__}"
        )
    return registry, {registry.id: registry.content_hash}


def registry_workflows(registry: RegistryLike) -> list[ValidatedWorkflow]:
    if isinstance(registry, WorkflowRegistry):
        return list(registry.values())
    return [resolve_registry(registry)[0]]


def json_copy(data: Any, label: str) -> dict[str, Any]:
    """A private deep copy of a document, so nothing built from it shares its objects."""
    if not isinstance(data, Mapping):
        raise SnapshotInvalid(f"a {label} must be a mapping, not {type(data).__name__}")
    try:
        return copy.deepcopy(dict(data))
    except Exception as exc:  # an object that cannot be copied is not JSON data either
        raise SnapshotInvalid(f"{label} is not JSON data: {exc}") from None


def check_header(
    data: Mapping[str, Any],
    main: ValidatedWorkflow,
    hashes: dict[str, str],
    *,
    label: str,
    fmt: str,
    version: int,
) -> None:
    """What a document is of, checked first so a wrong one gets the precise reason."""
    if data.get("format") != fmt:
        raise SnapshotInvalid(f"not a {label} (format is {data.get('format')!r}, not {fmt!r})")
    found = data.get("version")
    if type(found) is not int or found != version:
        raise SnapshotInvalid(f"{label} version {found!r} is not supported (read: {version})")
    workflow = data.get("workflow")
    if not isinstance(workflow, Mapping) or workflow.get("id") != main.id:
        named = workflow.get("id") if isinstance(workflow, Mapping) else workflow
        raise SnapshotInvalid(f"{label} is of workflow {named!r}, not {main.id!r}")
    if workflow.get("hash") != main.content_hash:
        raise SnapshotInvalid(
            f"{label} is of another version of workflow {main.id!r} (its content hash differs)"
        )
    if data.get("registry") != hashes:
        raise SnapshotInvalid(f"{label} was taken with other sub-workflows than the ones given")
    if data.get("status", "paused") != "paused":
        raise SnapshotInvalid(
            f"{label} status is {data.get('status')!r}; only paused runs can be converted"
        )


def validated(model: type[BaseModel], data: Any, label: str) -> Any:
    """`model.model_validate(data)`, with pydantic's errors as one located SnapshotInvalid."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc)
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise SnapshotInvalid(f"{label} is malformed: {shown}{more}") from None


def parse_state(data: CommonState | Mapping[str, Any]) -> CommonState:
    """A common state from its JSON form (or itself), its shape checked."""
    if isinstance(data, CommonState):
        return data
    if not isinstance(data, Mapping):
        raise SnapshotInvalid(f"a common state must be a mapping, not {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SnapshotInvalid(f"not a common state (format is not {FORMAT!r})")
    if type(data.get("version")) is not int or data.get("version") != VERSION:
        raise SnapshotInvalid(
            f"common state version {data.get('version')!r} is not supported (read: {VERSION})"
        )
    return validated(CommonState, data, "common state")  # type: ignore[no-any-return]


def show_path(path: Path | tuple[tuple[str, int], ...], noun: str = "level") -> str:
    """`top level`, or `level survey[1]` / `level outer[0].inner[2]`."""
    if not path:
        return f"top {noun}"
    return f"{noun} " + ".".join(f"{c}[{i}]" for c, i in path)


#: What each format calls the common state's parts, so a refusal names the place in the
#: document that was given.
COMMON_WORDS: dict[str, str] = {
    "level": "level",
    "resolved": "resolved",
    "edges_pending": "edges_pending",
    "edges_fired": "edges_fired",
    "waiting": "waiting",
    "routed": "routed",
    "errors": "errors",
    "containers": "containers",
    "opened": "opened",
    "iteration": "iteration",
    "question": "question",
    "idempotency": "idempotency record",
    "compensation": "compensation",
    "trace": "trace event",
    "breaker": "breakers.{tool}",
}


# --------------------------------------------------------------------------- checks


class _Checker:
    """Checks a state against the workflow: every node it names exists where it says, and
    the state is one a paused run can be in (every open node waits for something)."""

    def __init__(
        self, main: ValidatedWorkflow, registry: RegistryLike, label: str, words: dict[str, str]
    ) -> None:
        self.main = main
        self.topology = main.topology
        self.label = label
        self.w = {**COMMON_WORDS, **words}
        self.known = {n for w in registry_workflows(registry) for n in w.workflow.node_map}
        self.waiting: list[tuple[Path, str]] = []

    def fail(self, where: str, problem: str) -> SnapshotInvalid:
        return SnapshotInvalid(f"{self.label}, {where}: {problem}")

    def where(self, path: Path) -> str:
        return show_path(path, self.w["level"])

    def level(self, state: LevelState, container: str | None, path: Path) -> None:
        w = self.w
        where = self.where(path)
        if tuple(state.path) != path:
            raise self.fail(where, f"is recorded as {self.where(state.path)}")
        level = self.topology.levels[container]
        members = set(level.nodes)
        named = {
            "resolved": set(state.resolved),
            "edges_pending": set(state.edges_pending),
            "edges_fired": set(state.edges_fired),
            "waiting": set(state.waiting),
            "routed": set(state.routed),
            "errors": {e.node for e in state.errors},
            "containers": {c.node for c in state.containers},
        }
        for key, nodes in named.items():
            outside = sorted(nodes - members)
            if outside:
                raise self.fail(
                    where, f"{w[key]} names {', '.join(outside)}, not nodes of that level"
                )
        for key in ("edges_pending", "edges_fired"):
            missing = [n for n in level.nodes if n not in named[key]]
            if missing:
                raise self.fail(where, f"{w[key]} lacks {', '.join(missing)}")
        for node in level.nodes:
            incoming = len(level.incoming[node])
            pending, fired = state.edges_pending[node], state.edges_fired[node]
            if pending + fired > incoming:
                raise self.fail(
                    where,
                    f"{node!r} has {pending} unresolved and {fired} fired incoming edges, "
                    f"but only {incoming} edges",
                )
        running = [*state.waiting, *(c.node for c in state.containers)]
        twice = sorted({n for n in running if running.count(n) > 1})
        both = sorted(set(running) & set(state.resolved))
        if twice or both:
            raise self.fail(
                where,
                f"{', '.join(twice + both)} listed as running twice, or both "
                f"{w['resolved']} and running",
            )
        self._failures(state, where)
        for node in state.waiting:
            if self.main.workflow.node(node).type != "input":
                raise self.fail(where, f"{w['waiting']} names {node!r}, which is not an input")
            self.waiting.append((path, node))
        for node in level.nodes:
            if node not in state.resolved and node not in running and not state.edges_pending[node]:
                raise self.fail(
                    where,
                    f"{node!r} is not resolved, not running and waits for no edge "
                    "(a paused run has run everything it could)",
                )
        if len(state.resolved) == len(level.nodes):
            raise self.fail(where, "every node is resolved, yet it is still open")
        for progress in state.containers:
            if isinstance(progress, LoopProgress):
                self.loop(progress, path)
            else:
                self.parallel(progress, path)

    def _failures(self, state: LevelState, where: str) -> None:
        w = self.w
        failed = {n for n, s in state.resolved.items() if s.status == "failed"}
        for node, error in state.routed.items():
            if error.node != node:
                raise self.fail(where, f"{w['routed']}[{node!r}] is an error of {error.node!r}")
        listed = [*(e.node for e in state.errors), *state.routed]
        if sorted(listed) != sorted(failed):
            raise self.fail(
                where,
                f"failed nodes must be exactly those listed once in {w['errors']} or "
                f"{w['routed']} (failed: {', '.join(sorted(failed))}; listed: "
                f"{', '.join(sorted(listed))})",
            )
        for node, node_state in state.resolved.items():
            if (node_state.status == "failed") != (node_state.error is not None):
                raise self.fail(
                    where, f"{node!r} is {node_state.status} with error {node_state.error}"
                )

    def loop(self, loop: LoopProgress, path: Path) -> None:
        where = f"{self.where(path)}, loop {loop.node!r}"
        node = self.main.workflow.node(loop.node)
        if not isinstance(node, LoopNode) or node.params.mode != loop.mode:
            raise self.fail(where, f"does not match the workflow's {node.type} node")
        counted = loop.mode == "for"
        listed = loop.mode == "forEach"
        if (loop.count is not None) != counted or (loop.items is not None) != listed:
            raise self.fail(where, f"mode {loop.mode} has count {loop.count}, items {loop.items}")
        total = loop.count if counted else len(loop.items) if listed else None
        if (total is not None and not loop.index < total <= loop.max_iterations) or (
            loop.index >= loop.max_iterations
        ):
            raise self.fail(where, f"iteration {loop.index} is out of range")
        if len(loop.results) != loop.index:
            raise self.fail(where, f"has {len(loop.results)} results before iteration {loop.index}")
        if loop.iteration is None:
            raise self.fail(where, f"is in progress without its {self.w['iteration']}")
        self.level(loop.iteration, loop.node, (*path, (loop.node, loop.index)))

    def parallel(self, run: ParallelProgress, path: Path) -> None:
        where = f"{self.where(path)}, parallel {run.node!r}"
        node = self.main.workflow.node(run.node)
        if not isinstance(node, ParallelNode) or (node.params.mode == "collection") != (
            run.items is not None
        ):
            raise self.fail(where, f"does not match the workflow's {node.type} node")
        if run.items is not None and len(run.items) != run.branches:
            raise self.fail(where, f"has {run.branches} branches for {len(run.items)} items")
        groups: dict[str, set[int]] = {}
        for key, mapping in (
            ("active", run.active),
            ("results", run.results),
            ("failures", run.failures),
        ):
            try:
                groups[key] = {int(i) for i in mapping if str(int(i)) == i}
            except ValueError:
                raise self.fail(where, f"{key} has a non-integer branch index") from None
            if len(groups[key]) != len(mapping):
                raise self.fail(where, f"{key} has a malformed branch index")
        every = sorted([*groups["active"], *groups["results"], *groups["failures"]])
        if (
            not run.opened <= run.branches
            or every != list(range(run.opened))
            or not 0 < len(run.active) <= run.max_concurrency
        ):
            raise self.fail(
                where,
                f"{self.w['opened']} = {run.opened} does not fit {run.branches} branches (at "
                f"most {run.max_concurrency} open): active {sorted(groups['active'])}, results "
                f"{sorted(groups['results'])}, failures {sorted(groups['failures'])}",
            )
        for index in sorted(groups["active"]):
            self.level(run.active[str(index)], run.node, (*path, (run.node, index)))

    def placed(self, node: str, path: Path, order_key: tuple[int, ...], what: str) -> None:
        """`node` runs at `path` in the main workflow, and `order_key` is that execution's."""
        where = f"{self.w[what]} of {node!r} in {self.where(path)}"
        if node not in self.topology.level_of:
            raise self.fail(where, "names a node the workflow does not run")
        enclosing = tuple(reversed(self.topology.enclosing(node)))
        if tuple(c for c, _ in path) != enclosing:
            inside = " > ".join(enclosing) or "no container"
            raise self.fail(where, f"{node!r} runs inside {inside}")
        expected = self.topology.order_key(node, path)
        if tuple(order_key) != expected:
            raise self.fail(where, f"order key {list(order_key)} is not {list(expected)}")

    def run(self, state: CommonState) -> None:
        self.level(state.top, None, ())
        asked = []
        for question in state.questions:
            self.placed(question.node, question.path, question.order_key, "question")
            asked.append((tuple(question.path), question.node))
        twice = sorted({n for key in asked if asked.count(key) > 1 for _, n in [key]})
        unasked = sorted(n for _, n in set(self.waiting) - set(asked))
        stray = sorted(n for _, n in set(asked) - set(self.waiting))
        if twice or unasked or stray:
            raise self.fail(
                f"{self.w['question']}s",
                f"do not match the waiting inputs ({', '.join(twice + unasked + stray)}): "
                "each waiting input has exactly one",
            )
        for record in state.idempotency:
            self.placed(record.node, record.path, record.order_key, "idempotency")
            node = self.main.workflow.node(record.node)
            if not isinstance(node, ToolNode) or node.params.tool != record.tool:
                raise self.fail(
                    f"{self.w['idempotency']} of {record.node!r}",
                    f"it does not call {record.tool!r}",
                )
        for undo in state.compensations:
            self.placed(undo.node, undo.path, undo.order_key, "compensation")
            compensate = self.main.workflow.node(undo.node).compensate
            if compensate is None or compensate.tool != undo.tool:
                raise self.fail(
                    f"{self.w['compensation']} of {undo.node!r}",
                    f"it is not compensated by {undo.tool!r}",
                )
        check_breakers(state.breakers, self.main, self.fail, self.w["breaker"])
        for event in state.trace:
            if event.node not in self.known:
                raise self.fail(
                    f"{self.w['trace']} seq {event.seq}",
                    f"names node {event.node!r}, which no workflow of the registry has",
                )


def check_state(
    state: CommonState,
    registry: RegistryLike,
    *,
    label: str = "common state",
    words: dict[str, str] | None = None,
) -> None:
    """Refuse, with SnapshotInvalid naming the place, a state that is not of this workflow or
    not one a paused run of it can be in. `label` and `words` name the document and its
    parts in the vocabulary of the format the state was read from."""
    main, hashes = resolve_registry(registry)
    if state.workflow.id != main.id:
        raise SnapshotInvalid(f"{label} is of workflow {state.workflow.id!r}, not {main.id!r}")
    if state.workflow.hash != main.content_hash:
        raise SnapshotInvalid(
            f"{label} is of another version of workflow {main.id!r} (its content hash differs)"
        )
    if state.registry != hashes:
        raise SnapshotInvalid(f"{label} was taken with other sub-workflows than the ones given")
    _Checker(main, registry, label, words or {}).run(state)


def question_key(main: ValidatedWorkflow, node: str, path: Any, where: str) -> tuple[int, ...]:
    """The order key of a pending input at `path`, or SnapshotInvalid naming `where`."""
    index = main.topology.index
    if node not in index or any(
        type(c) is not str or c not in index or type(i) is not int for c, i in path
    ):
        raise SnapshotInvalid(f"{where} names a node or container the workflow does not run")
    return main.topology.order_key(node, tuple((c, i) for c, i in path))


def key_order(key: Any) -> tuple[tuple[int, Any], ...]:
    """Sorts order keys even when a corrupted one holds a non-number (the checks name it)."""
    return tuple((0, x) if type(x) is int else (1, repr(x)) for x in key)


def sort_key(index: Mapping[str, int]) -> Any:
    """Canonical order of node ids (unknown ones last; the checks name them)."""
    return lambda node: (index.get(node, 1 << 30), node)
