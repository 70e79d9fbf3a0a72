"""Ad-hoc targets for `compat run` and `compat diff`: a workflow (native or ReactFlow) or a
fixture, with inputs and a conversation given on the command line or taken from a case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat.tolerances import Tolerances, configured
from engines.config import EngineConfig
from engines.documents import (
    Cancel,
    DocumentKind,
    document_kind,
    fixture_from_data,
    read_document,
    workflow_from_data,
)
from engines.documents.files import read_regular
from engines.documents.load import describe_unknown
from engines.documents.read import decode, parse_json
from engines.errors import ConfigError, DocumentError, WorkflowInvalid
from engines.model import WorkflowRegistry
from engines.tools import ToolRegistry


@dataclass(frozen=True)
class Target:
    source: str
    registry: WorkflowRegistry
    inputs: dict[str, Any]
    conversation: tuple[Any, ...]
    #: The fixture's tolerances, when the target is a fixture.
    tolerances: dict[str, Any]
    case: str | None = None
    #: The fixture case's cancel, if it has one (docs/semantics.md §7.11).
    cancel: Cancel | None = None


def parse_json_option(text: str | None, option: str) -> Any:
    """A JSON value given inline, or `@path` to read it from a file. Raises `ConfigError`
    naming the option (and the file)."""
    if text is None:
        return None
    if not text.startswith("@"):
        try:
            return parse_json(text, option)
        except DocumentError as exc:
            raise ConfigError(str(exc)) from None
    name = text[1:]
    try:
        # Only a regular file (a FIFO or a device would block or never end), size-capped.
        raw = read_regular(name, what="a JSON file")
    except DocumentError as exc:
        raise ConfigError(f"{option}: cannot read {name}: {exc.detail}") from None
    try:  # the documents' JSON reader: duplicate keys, huge integers, depth
        return parse_json(decode(raw, name), name)
    except DocumentError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def load_target(
    path: str | Path,
    tools: ToolRegistry,
    *,
    case: str | None = None,
    inputs: str | None = None,
    conversation: str | None = None,
    roots: Sequence[Path] = (),
) -> Target:
    """The workflow to run and what to run it with. Raises a `SetupError` on bad input.
    `roots`: folders a fixture may name workflow files from besides its own folder tree."""
    file = Path(path)
    doc = read_document(file)
    kind = document_kind(doc)
    given_inputs = parse_json_option(inputs, "--inputs")
    given_conversation = parse_json_option(conversation, "--conversation")
    if given_inputs is not None and not isinstance(given_inputs, dict):
        raise ConfigError(f"--inputs: must be a JSON object, not {type(given_inputs).__name__}")
    if given_conversation is not None and not isinstance(given_conversation, list):
        raise ConfigError(
            f"--conversation: must be a JSON list of payloads, not "
            f"{type(given_conversation).__name__}"
        )
    if kind is None:
        raise DocumentError(str(file), describe_unknown(doc))
    if kind is DocumentKind.FIXTURE:
        fixture = fixture_from_data(
            doc, source=str(file), base=file.resolve().parent, tools=tools, roots=roots
        )
        chosen = fixture.case(case) if case else fixture.cases[0]
        return Target(
            str(file),
            fixture.registry,
            given_inputs if given_inputs is not None else dict(chosen.inputs),
            tuple(given_conversation)
            if given_conversation is not None
            else tuple(chosen.conversation),
            dict(fixture.tolerances),
            chosen.name,
            chosen.cancel,
        )
    if case is not None:
        raise ConfigError(f"--case: {file} is a workflow, not a fixture; it has no cases")
    validated = workflow_from_data(doc, source=str(file), default_id=file.stem)
    try:  # a sub-workflow or tool it names that does not exist: named with the file
        registry = WorkflowRegistry([validated], tools=tools)
    except WorkflowInvalid as exc:
        raise exc.with_source(str(file)) from None
    return Target(
        str(file), registry, given_inputs or {}, tuple(given_conversation or ()), {}, None
    )


def target_tolerances(
    config: EngineConfig, target: Target, policy: str | None = None
) -> Tolerances:
    tol = configured(config).override(target.tolerances, f"{target.source}: tolerances")
    return tol if policy is None else tol.override({"policy": policy}, "--policy")
