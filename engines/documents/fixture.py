"""Fixtures: a workflow (and the workflows it may call) with named cases and golden answers.

```yaml
workflow: {...}            # inline native workflow, or "path/to/flow.json" (native or ReactFlow)
                           # (a path stays inside the fixture's folder tree, or a
                           # [tool.compat] workflow_roots folder), or a foreign flow:
                           # {file: x.json, dialect: NAME | mapping: m.yaml, bind: {...}, id: x}
                           # (engines/documents/dialects/entry.py)
workflows: [...]           # extra workflows that subworkflow nodes may name
tolerances: {...}          # opaque here; the harness gives it meaning
markers: [slow]            # pytest marks for every case (compat's pytest plugin)
cases:
  - name: happy-path
    inputs: {...}
    conversation: [...]    # payloads answering input nodes, in order
    cancel: {at: 2.5}      # optional: cancel at a clock time, or {when: paused}
    covers: ["7.4", "7.10"]  # the rules of docs/semantics.md this case pins down
    expect:                # optional golden answer
      status: completed
      outputs: {...}       # compared exactly, JSON types included (2 is not 2.0)
      vars: {...}          # compared exactly, likewise
      errors: [{node: charge, code: TOOL_ERROR}]   # exact list, canonical order
```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from engines.documents.dialects import DialectOptions, resolve_dialect
from engines.documents.dialects.entry import DialectEntry, is_dialect_entry
from engines.documents.load import document_kind, workflow_from_data
from engines.documents.read import read_document
from engines.documents.rules import RULES
from engines.errors import (
    DocumentError,
    FixtureInvalid,
    InvalidDocument,
    Problem,
    WorkflowInvalid,
)
from engines.model.fields import JsonData
from engines.model.problems import problems_from
from engines.model.races import timed_concurrency
from engines.model.registry import WorkflowRegistry
from engines.model.validate import ValidatedWorkflow, validate_workflow
from engines.result import PSEUDO_NODES, RunStatus
from engines.tools import ToolRegistry

_STRICT = ConfigDict(frozen=True, extra="forbid")


class ExpectedError(BaseModel):
    model_config = _STRICT
    node: str = Field(min_length=1)
    code: str = Field(min_length=1)


class Expectation(BaseModel):
    """The golden answer. Fields left out are not checked."""

    model_config = _STRICT
    status: RunStatus | None = None
    outputs: dict[str, JsonData] | None = None
    vars: dict[str, JsonData] | None = None
    errors: tuple[ExpectedError, ...] | None = None


class Cancel(BaseModel):
    """When a case's run is cancelled (docs/semantics.md §7.11): at a moment of the run's
    clock, or once the conversation has run out and the run waits for an answer."""

    model_config = _STRICT
    #: Clock seconds since the run started (paused time does not count).
    at: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    when: Literal["paused"] | None = None

    @model_validator(mode="after")
    def _one_moment(self) -> Cancel:
        if (self.at is None) == (self.when is None):
            raise ValueError("give exactly one of `at` (clock seconds) or `when: paused`")
        return self


def _known_rules(rules: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise ValueError(
            f"unknown rule {unknown[0]!r} (docs/semantics.md numbers: {', '.join(RULES)})"
        )
    return rules


_MARK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _mark_names(names: tuple[str, ...]) -> tuple[str, ...]:
    bad = [name for name in names if not _MARK_NAME.match(name)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a pytest mark name (letters, digits, _)")
    return names


class Case(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    description: str | None = None
    inputs: dict[str, JsonData] = Field(default_factory=dict)
    conversation: tuple[JsonData, ...] = ()
    cancel: Cancel | None = None
    #: The rules of docs/semantics.md this case pins down.
    covers: Annotated[tuple[str, ...], AfterValidator(_known_rules)] = ()
    expect: Expectation | None = None


def _workflow_entry(value: Any) -> Any:
    if isinstance(value, (dict, str)) and value:
        return value
    raise ValueError("must be an inline workflow (a mapping) or a path to a workflow file")


#: An inline native workflow (mapping) or a path, relative to the fixture, to a workflow file.
WorkflowEntry = Annotated[Any, AfterValidator(_workflow_entry)]


class FixtureDocument(BaseModel):
    model_config = _STRICT
    description: str | None = None
    workflow: WorkflowEntry
    workflows: tuple[WorkflowEntry, ...] = ()
    tolerances: dict[str, Any] = Field(default_factory=dict)
    #: pytest marks put on every case when compat's pytest plugin collects the fixture
    #: (`pytest -m "not slow"`); compat itself does not read them.
    markers: Annotated[tuple[str, ...], AfterValidator(_mark_names)] = ()
    cases: tuple[Case, ...]

    @field_validator("cases")
    @classmethod
    def _named_once(cls, cases: tuple[Case, ...]) -> tuple[Case, ...]:
        if not cases:
            raise ValueError("a fixture needs at least one case")
        seen: set[str] = set()
        for case in cases:
            if case.name in seen:
                raise ValueError(f"case name {case.name!r} is used twice")
            seen.add(case.name)
        return cases


@dataclass(frozen=True)
class Fixture:
    source: str
    description: str | None
    registry: WorkflowRegistry
    cases: tuple[Case, ...]
    tolerances: dict[str, Any]
    #: Workflow files this fixture read (resolved), so a folder walk need not re-check them.
    files: tuple[Path, ...] = ()
    #: pytest marks for every case (compat's pytest plugin).
    markers: tuple[str, ...] = ()

    @property
    def workflow(self) -> ValidatedWorkflow:
        return self.registry.main

    def case(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        known = ", ".join(case.name for case in self.cases)
        raise FixtureInvalid(
            [Problem("cases", f"no case named {name!r} (cases: {known})")], self.source
        )


def _contained(entry: str, location: str, base: Path, roots: Sequence[Path]) -> Path:
    """The file a `workflow:` path names, resolved (symlinks too), when it lies in the
    fixture's folder tree or under a configured `workflow_roots` folder: a fixture must not
    reach for files elsewhere on the machine (and echo them in its errors)."""
    if "\x00" in entry:  # no file has such a name (and the OS refuses to look one up)
        raise FixtureInvalid([Problem(location, "a workflow path cannot hold a NUL character")])
    folder = base.resolve()
    path = (folder / entry).resolve()
    if any(path.is_relative_to(root) for root in (folder, *roots)):
        return path
    allowed = f"its folder ({folder})" + (
        f" or a workflow_roots folder ({', '.join(map(str, roots))})" if roots else ""
    )
    raise FixtureInvalid(
        [
            Problem(
                location,
                f"{entry}: resolves to {path}, outside {allowed}; a fixture names workflow "
                "files inside its own folder tree only, unless [tool.compat] workflow_roots "
                "allows more",
            )
        ]
    )


def _not_a_workflow(doc: Any) -> str:
    """Why a file a fixture names is no workflow, without a word of what it holds."""
    if doc is None:
        return "the document is empty"
    if not isinstance(doc, dict):
        return f"not a workflow: the document is a {type(doc).__name__}, not a mapping"
    return (
        "not a workflow or ReactFlow flow: no `nodes` at its top level "
        "(the content of a file that is not a workflow is not shown)"
    )


def _load_dialect_entry(
    raw: dict[str, Any], location: str, base: Path, roots: Sequence[Path]
) -> ValidatedWorkflow:
    """A foreign flow read by a dialect (a built-in, detected, or a mapping file)."""
    try:
        entry = DialectEntry.model_validate(raw)
    except ValidationError as exc:
        raise FixtureInvalid(
            [
                Problem(f"{location}.{p.location}".rstrip("."), p.message)
                for p in problems_from(exc, raw)
            ]
        ) from None
    path = _contained(entry.file, f"{location}.file", base, roots)
    try:
        dialect = None
        if entry.mapping is not None:
            mapping = _contained(entry.mapping, f"{location}.mapping", base, roots)
            dialect = resolve_dialect(str(mapping))
        elif entry.dialect is not None:
            dialect = resolve_dialect(entry.dialect)
        doc = read_document(path)
    except DocumentError as exc:
        raise FixtureInvalid([Problem(location, f"{exc.source}: {exc.detail}")]) from None
    except InvalidDocument as exc:
        raise FixtureInvalid([Problem(location, line) for line in exc.lines()]) from None
    if document_kind(doc) is None:
        raise FixtureInvalid([Problem(location, f"{entry.file}: {_not_a_workflow(doc)}")])
    try:
        return workflow_from_data(
            doc,
            source=entry.file,
            default_id=entry.id or path.stem,
            dialect=dialect,
            options=DialectOptions(entry.bind),
            use_context=False,
        )
    except WorkflowInvalid as exc:
        raise FixtureInvalid(
            [
                Problem(f"{location} ({entry.file}) {p.location}".rstrip(), p.message)
                for p in exc.problems
            ]
        ) from None


def _load_entry(
    entry: dict[str, Any] | str, location: str, base: Path, roots: Sequence[Path] = ()
) -> ValidatedWorkflow:
    if is_dialect_entry(entry):
        assert isinstance(entry, dict)
        return _load_dialect_entry(entry, location, base, roots)
    if isinstance(entry, str):
        path = _contained(entry, location, base, roots)
        try:
            doc = read_document(path)
        except DocumentError as exc:
            raise FixtureInvalid([Problem(location, f"{entry}: {exc.detail}")]) from None
        if document_kind(doc) is None:
            raise FixtureInvalid([Problem(location, f"{entry}: {_not_a_workflow(doc)}")])
        try:
            return workflow_from_data(doc, source=entry, default_id=path.stem, use_context=False)
        except WorkflowInvalid as exc:
            raise FixtureInvalid(
                [
                    Problem(f"{location} ({entry}) {p.location}".rstrip(), p.message)
                    for p in exc.problems
                ]
            ) from None
    try:
        return validate_workflow(entry)
    except WorkflowInvalid as exc:
        raise FixtureInvalid(
            [
                Problem(f"{location}.{p.location}" if p.location else location, p.message)
                for p in exc.problems
            ]
        ) from None


def fixture_from_data(
    doc: Any,
    *,
    source: str,
    base: Path,
    tools: ToolRegistry | None = None,
    roots: Sequence[Path] = (),
) -> Fixture:
    """Build a fixture from parsed data. Raises `FixtureInvalid` with every problem found.
    Workflow paths are read relative to `base`, from inside it or one of `roots` (resolved
    folders: `EngineConfig.workflow_root_paths()`)."""
    if not isinstance(doc, dict):
        raise FixtureInvalid(
            [Problem("", f"a fixture must be a mapping, not {type(doc).__name__}")], source
        )
    try:
        parsed = FixtureDocument.model_validate(doc)
    except ValidationError as exc:
        raise FixtureInvalid(problems_from(exc, doc), source) from None
    problems: list[Problem] = []
    workflows: list[ValidatedWorkflow] = []
    entries = [("workflow", parsed.workflow)]
    entries += [(f"workflows[{i}]", w) for i, w in enumerate(parsed.workflows)]
    for location, entry in entries:
        try:
            workflows.append(_load_entry(entry, location, base, roots))
        except FixtureInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise FixtureInvalid(problems, source)
    try:
        registry = WorkflowRegistry(workflows, tools=tools)
    except WorkflowInvalid as exc:
        raise FixtureInvalid(exc.problems, source) from None
    problems.extend(_check_cases(parsed.cases, registry.main))
    problems.extend(_check_cancel(parsed.cases, registry))
    if problems:
        raise FixtureInvalid(problems, source)
    return Fixture(
        source,
        parsed.description,
        registry,
        parsed.cases,
        parsed.tolerances,
        referenced_files(doc, base),
        parsed.markers,
    )


def referenced_files(doc: Any, base: Path) -> tuple[Path, ...]:
    """The workflow files a fixture document names (resolved), whether or not it is valid."""
    if not isinstance(doc, dict):
        return ()
    entries = [doc.get("workflow")]
    if isinstance(doc.get("workflows"), list):
        entries += doc["workflows"]
    named = [e.get("file") if is_dialect_entry(e) else e for e in entries]
    return tuple(
        (base / entry).resolve()
        for entry in named
        if isinstance(entry, str) and "\x00" not in entry
    )


def _check_cancel(cases: tuple[Case, ...], registry: WorkflowRegistry) -> list[Problem]:
    """A cancel at a clock time must find the same attempts in progress in every engine: no
    workflow of the fixture may run clock-spending work concurrently with anything."""
    timed = [
        (index, case)
        for index, case in enumerate(cases)
        if case.cancel and case.cancel.at is not None
    ]
    if not timed:
        return []
    index, case = timed[0]
    problems: list[Problem] = []
    for workflow_id in registry:
        validated = registry[workflow_id]
        for problem in timed_concurrency(validated.workflow, validated.topology):
            problems.append(
                Problem(
                    f"cases[{index}] ({case.name}).cancel.at",
                    f"workflow {workflow_id!r}, {problem.location}: {problem.message}, so "
                    "which attempts a cancel at a clock time finds in progress depends on "
                    "scheduling (docs/semantics.md §7.11); cancel `when: paused` instead",
                )
            )
    return problems


def _check_cases(cases: tuple[Case, ...], main: ValidatedWorkflow) -> list[Problem]:
    """Expected errors name nodes that exist: top-level nodes for run errors, any node for
    compensation failures and cancelled attempts (a body node's may be either)."""
    problems: list[Problem] = []
    known = set(main.topology.iter_nodes()) | set(PSEUDO_NODES)
    for index, case in enumerate(cases):
        if case.expect is None or case.expect.errors is None:
            continue
        for position, error in enumerate(case.expect.errors):
            if error.node not in known:
                problems.append(
                    Problem(
                        f"cases[{index}] ({case.name}).expect.errors[{position}].node",
                        f"{error.node!r} is not a reachable top-level node of workflow "
                        f"{main.id!r} (run errors are reported on top-level nodes)",
                    )
                )
    return problems


def load_fixture(
    path: str | Path, *, tools: ToolRegistry | None = None, roots: Sequence[Path] = ()
) -> Fixture:
    """Read and check a fixture file. Raises `DocumentError` or `FixtureInvalid`."""
    file = Path(path)
    doc = read_document(file)
    return fixture_from_data(
        doc, source=str(path), base=file.resolve().parent, tools=tools, roots=roots
    )
