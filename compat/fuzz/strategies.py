"""Hypothesis strategies for valid workflows, cases and fixtures — the public fuzzing API.

    from hypothesis import given
    from compat.fuzz import workflows, cases

    @given(workflows(max_nodes=8), st.data())
    def test_my_engine(workflow, data):
        case = data.draw(cases(workflow))
        ...

Every workflow drawn is valid and race-free (compat/fuzz/builder.py says how), so any
difference between two engines on it is a real one. Each example draws a random subset of
the features (swarm testing, compat/fuzz/features.py); `features="+retry,-wait"` forces
some on and others off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from compat.fuzz.builder import FLAGS, Budget, Builder, Child
from compat.fuzz.features import ALL, NODE_TYPES, FeatureChoice
from engines.documents import Cancel, Case
from engines.errors import ConfigError, WorkflowInvalid
from engines.model import ValidatedWorkflow, WorkflowRegistry, validate_workflow
from engines.model.races import timed_concurrency
from engines.tools import ToolRegistry, builtin_registry

MAIN_ID = "fuzzed"
PAYLOADS = st.one_of(
    st.integers(-3, 5),
    st.sampled_from(["yes", "", None, True, {"n": 1}, {"n": "1"}, [1, 2], 2.5]),
)
GOOD_PAYLOADS = st.integers(-3, 5)
CANCEL_TIMES = (0.25, 0.5, 1, 0, 1.5, 2, 3)
INPUTS = st.fixed_dictionaries(
    {
        "flags": st.integers(0, 2**FLAGS - 1).map(
            lambda bits: [bool(bits >> i & 1) for i in range(FLAGS)]
        ),
        "d": st.integers(-3, 9),
        "z": st.sampled_from([1, 0, 1, 1]),
        "items": st.lists(st.integers(0, 5), max_size=3),
    }
)
#: What a case of a generated workflow puts in `inputs`.
INPUT_NAMES = ("flags", "d", "z", "items")


@dataclass(frozen=True)
class GeneratedWorkflow:
    """A drawn workflow: its document, the sub-workflows it may call, and the features it
    was drawn with (cases and the harness read them)."""

    document: dict[str, Any]
    library: tuple[dict[str, Any], ...]
    features: frozenset[str]
    registry: WorkflowRegistry

    @property
    def workflow(self) -> ValidatedWorkflow:
        return self.registry.main

    def documents(self) -> list[dict[str, Any]]:
        return [self.document, *self.library]

    def called(self) -> list[dict[str, Any]]:
        """The sub-workflows the main workflow calls, directly or not (what a fixture of it
        needs; a shrunk example keeps no workflow nothing calls)."""
        by_id = {doc["id"]: doc for doc in self.library}
        wanted: list[str] = []
        todo = [self.document]
        while todo:
            for node in todo.pop()["nodes"]:
                target = (
                    node.get("params", {}).get("workflow")
                    if node["type"] == "subworkflow"
                    else None
                )
                if target in by_id and target not in wanted:
                    wanted.append(target)
                    todo.append(by_id[target])
        return [doc for doc in self.library if doc["id"] in wanted]


def _choice(
    features: str | Iterable[str] | FeatureChoice | None, node_types: Iterable[str] | None
) -> FeatureChoice:
    choice = features if isinstance(features, FeatureChoice) else FeatureChoice.parse(features)
    if node_types is not None:
        wanted = set(node_types)
        unknown = wanted - set(NODE_TYPES) - {"start"}
        if unknown:
            raise ConfigError(
                f"node_types: unknown node type {sorted(unknown)[0]!r} "
                f"(known: {', '.join(NODE_TYPES)})"
            )
        choice = FeatureChoice(
            choice.forced, choice.forbidden | frozenset(set(NODE_TYPES) - wanted)
        )
    return choice


_BYTE = st.integers(0, 255)


@st.composite
def _swarm(draw: Any, choice: FeatureChoice) -> frozenset[str]:
    """The features of one example: each free one on or off at random, drawn eight at a time
    (one draw per byte keeps generation fast; shrinking clears bits, turning features off)."""
    free = [name for name in ALL if choice.fixed(name) is None]
    enabled = {name for name in ALL if choice.fixed(name)}
    for offset in range(0, len(free), 8):
        bits = draw(_BYTE)
        enabled.update(name for i, name in enumerate(free[offset : offset + 8]) if bits >> i & 1)
    if "circuit_breakers" in enabled:  # a breaker needs calls, and retries to fail fast
        enabled.update(name for name in ("tool", "retry") if choice.fixed(name) is None)
    return frozenset(enabled)


def _check_bounds(max_nodes: int, max_depth: int) -> None:
    if not isinstance(max_nodes, int) or not 1 <= max_nodes <= 200:
        raise ConfigError(f"max_nodes: must be a whole number from 1 to 200, not {max_nodes!r}")
    if not isinstance(max_depth, int) or not 1 <= max_depth <= 4:
        raise ConfigError(f"max_depth: must be a whole number from 1 to 4, not {max_depth!r}")


@st.composite
def _workflow(
    draw: Any,
    choice: FeatureChoice,
    max_nodes: int,
    max_depth: int,
    user_tools: dict[str, st.SearchStrategy[dict[str, Any]]],
    known: ToolRegistry,
) -> GeneratedWorkflow:
    enabled = draw(_swarm(choice))
    library: list[dict[str, Any]] = []
    children: list[Child] = []
    if "subworkflow" in enabled:
        if "recursion" in enabled:
            child_id = f"{MAIN_ID}_rec"
            builder = Builder(draw, child_id, enabled, budget=Budget(1), max_depth=1, inputs=False)
            library.append(builder.recursive())
            children.append(Child(child_id, recursive=True))
        for index in range(draw(st.integers(0 if children else 1, 1))):
            child_id = f"{MAIN_ID}_sub{index}"
            builder = Builder(
                draw,
                child_id,
                enabled,
                budget=Budget(max(1, max_nodes // 2)),
                max_depth=max_depth,
                library=children,
                inputs=False,
                user_tools=user_tools,
            )
            library.append(builder.document(draw(st.integers(1, max(1, max_nodes // 2)))))
            children.append(Child(child_id))
    builder = Builder(
        draw,
        MAIN_ID,
        enabled,
        budget=Budget(max_nodes),
        max_depth=max_depth,
        library=children,
        user_tools=user_tools,
    )
    document = builder.document(draw(st.integers(1, max(1, min(max_nodes, 7)))))
    try:
        validated = [validate_workflow(doc) for doc in (document, *library)]
        generated = WorkflowRegistry(validated, tools=known)
    except WorkflowInvalid as exc:  # a generator bug: say which rule it broke
        raise AssertionError(f"compat.fuzz drew an invalid workflow: {exc}") from None
    return GeneratedWorkflow(document, tuple(library), enabled, generated)


def workflows(
    *,
    max_nodes: int = 12,
    max_depth: int = 2,
    node_types: Iterable[str] | None = None,
    features: str | Iterable[str] | FeatureChoice | None = None,
    tools: Mapping[str, st.SearchStrategy[dict[str, Any]]] | None = None,
    registry: ToolRegistry | None = None,
) -> st.SearchStrategy[GeneratedWorkflow]:
    """Valid, race-free workflows (with the sub-workflows they call).

    `max_nodes` bounds the nodes of the main workflow (sub-workflows get half as many each),
    `max_depth` the nesting of containers; `node_types` keeps only those types (start is
    always there); `features` forces or forbids features (compat/fuzz/features.py); `tools`
    adds a user's tools: name -> a strategy for their `args` mapping (its values may be
    templates such as `"{{ inputs.d }}"`), and `registry` is the tool registry they are
    registered in (checked when the workflow is built)."""
    _check_bounds(max_nodes, max_depth)
    choice = _choice(features, node_types)
    user_tools = dict(tools or {})
    for name, strategy in user_tools.items():
        if not isinstance(strategy, st.SearchStrategy):
            raise ConfigError(f"tools[{name!r}]: must be a hypothesis strategy for the tool's args")
    known = registry or builtin_registry()
    missing = [name for name in user_tools if name not in known]
    if missing:
        raise ConfigError(
            f"tools: {missing[0]!r} is not in the tool registry given (pass registry=)"
        )

    return _workflow(choice, max_nodes, max_depth, user_tools, known)


def _has_inputs(workflow: ValidatedWorkflow) -> bool:
    return any(workflow.workflow.node(n).type == "input" for n in workflow.topology.iter_nodes())


def _cancel_at_allowed(registry: WorkflowRegistry) -> bool:
    return all(not timed_concurrency(registry[w].workflow, registry[w].topology) for w in registry)


@st.composite
def _case(
    draw: Any,
    registry: WorkflowRegistry,
    features: frozenset[str],
    name: str,
    inputs: st.SearchStrategy[dict[str, Any]],
    answers: st.SearchStrategy[Any],
    min_answers: int = 0,
) -> Case:
    pausing = _has_inputs(registry.main)
    cancel_at = "cancel" in features and _cancel_at_allowed(registry)
    drawn = draw(inputs)
    conversation = (
        draw(st.lists(answers, min_size=min_answers, max_size=max(6, min_answers)))
        if pausing
        else []
    )
    cancel = None
    if "cancel" in features and draw(st.integers(0, 3)) > 0:
        if cancel_at and (not pausing or draw(st.integers(0, 3)) == 0):
            cancel = Cancel(at=draw(st.sampled_from(CANCEL_TIMES)))
        elif pausing:
            cancel = Cancel(when="paused")
    return Case(name=name, inputs=drawn, conversation=tuple(conversation), cancel=cancel)


def cases(
    workflow: GeneratedWorkflow | ValidatedWorkflow | WorkflowRegistry,
    *,
    inputs: st.SearchStrategy[dict[str, Any]] | None = None,
    payloads: st.SearchStrategy[Any] | None = None,
    name: str = "fuzzed",
    min_answers: int = 0,
) -> st.SearchStrategy[Case]:
    """Cases for `workflow`: inputs (by default the shape generated workflows read:
    `flags`, `d`, `z`, `items`), a conversation of payloads for its inputs (at least
    `min_answers` of them when the workflow has an `input`), and — with the `cancel`
    feature — a cancel while paused or, where the moment is deterministic
    (docs/semantics.md §7.11), at a clock time."""
    if not isinstance(min_answers, int) or not 0 <= min_answers <= 50:
        raise ConfigError(f"min_answers: must be a whole number from 0 to 50, not {min_answers!r}")
    if isinstance(workflow, GeneratedWorkflow):
        registry, features = workflow.registry, workflow.features
    elif isinstance(workflow, WorkflowRegistry):
        registry, features = workflow, frozenset(ALL)
    elif isinstance(workflow, ValidatedWorkflow):
        registry, features = WorkflowRegistry([workflow]), frozenset(ALL)
    else:
        raise ConfigError(
            f"cases(): expected a generated workflow, a ValidatedWorkflow or a WorkflowRegistry, "
            f"not {type(workflow).__name__}"
        )
    answers = payloads or (PAYLOADS if "bad_payloads" in features else GOOD_PAYLOADS)
    return _case(registry, features, name, inputs or INPUTS, answers, min_answers)


def case_document(case: Case) -> dict[str, Any]:
    """A case as a fixture holds it."""
    doc: dict[str, Any] = {"name": case.name, "inputs": dict(case.inputs)}
    doc["conversation"] = list(case.conversation)
    if case.cancel is not None:
        doc["cancel"] = case.cancel.model_dump(exclude_none=True)
    return doc


def fixture_document(
    generated: GeneratedWorkflow, found: Iterable[Case], *, description: str | None = None
) -> dict[str, Any]:
    """An ordinary fixture document (what `compat check` reads) for a workflow and cases."""
    doc: dict[str, Any] = {}
    if description:
        doc["description"] = description
    doc["workflow"] = generated.document
    called = generated.called()
    if called:
        doc["workflows"] = called
    doc["cases"] = [case_document(case) for case in found]
    return doc


@dataclass(frozen=True)
class Example:
    """One generated workflow and one case of it: what the fuzzer runs."""

    generated: GeneratedWorkflow
    case: Case

    @property
    def features(self) -> frozenset[str]:
        return self.generated.features

    def fixture(self, description: str | None = None) -> dict[str, Any]:
        return fixture_document(self.generated, [self.case], description=description)

    def __repr__(self) -> str:  # what a falsifying example shows: the fixture itself
        import json

        return f"Example({json.dumps(self.fixture(), sort_keys=True)})"


@st.composite
def _example(draw: Any, source: st.SearchStrategy[GeneratedWorkflow], min_answers: int) -> Example:
    generated = draw(source)
    return Example(generated, draw(cases(generated, min_answers=min_answers)))


def examples(*, min_answers: int = 0, **options: Any) -> st.SearchStrategy[Example]:
    """A workflow and one case of it (`workflows` options; `min_answers` as in `cases`)."""
    return _example(workflows(**options), min_answers)


@st.composite
def _fixture(draw: Any, source: st.SearchStrategy[GeneratedWorkflow], most: int) -> dict[str, Any]:
    generated = draw(source)
    count = draw(st.integers(1, most))
    drawn = [draw(cases(generated, name=f"case{i}")) for i in range(count)]
    return fixture_document(generated, drawn)


def fixtures(*, cases_per_fixture: int = 3, **options: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Fixture documents (JSON data, as `compat check` reads from a file): a workflow, the
    sub-workflows it calls and up to `cases_per_fixture` cases (`workflows` options)."""
    if not isinstance(cases_per_fixture, int) or not 1 <= cases_per_fixture <= 50:
        raise ConfigError(
            f"cases_per_fixture: must be a whole number from 1 to 50, not {cases_per_fixture!r}"
        )
    return _fixture(workflows(**options), cases_per_fixture)
