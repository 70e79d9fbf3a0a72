"""Loading a workflow from a file or from data, whatever its format (native or ReactFlow)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any

from engines.documents.dialects import (
    Dialect,
    DialectImport,
    DialectOptions,
    detect_dialect,
    resolve_dialect,
)
from engines.documents.reactflow import import_reactflow, is_reactflow
from engines.documents.read import read_document
from engines.errors import DocumentError, Problem, WorkflowInvalid
from engines.model.validate import ValidatedWorkflow, validate_workflow

_PLAIN_KEY = re.compile(r"[A-Za-z_][\w.-]{0,39}")


class DocumentKind(StrEnum):
    FIXTURE = "fixture"
    NATIVE = "workflow"
    REACTFLOW = "reactflow"


def document_kind(doc: Any) -> DocumentKind | None:
    """What a parsed document is, from its content alone (never from its file name)."""
    if not isinstance(doc, dict):
        return None
    if "cases" in doc or ("workflow" in doc and "nodes" not in doc):
        return DocumentKind.FIXTURE
    if is_reactflow(doc):
        return DocumentKind.REACTFLOW
    if "nodes" in doc:
        return DocumentKind.NATIVE
    return None


def describe_unknown(doc: Any) -> str:
    if doc is None:
        return "the document is empty"
    if not isinstance(doc, dict):
        return f"the document is a {type(doc).__name__}, not a mapping"
    # Plain names only: the file may be anything (a password database parses as YAML), and
    # its content is never echoed (engines/documents/read.py).
    names = sorted(k for k in doc if isinstance(k, str) and _PLAIN_KEY.fullmatch(k))
    keys = ", ".join(names[:8]) or "none"
    hidden = len(doc) - len(names)
    if hidden:
        keys += f" ({hidden} other key{'s' if hidden > 1 else ''} not shown)"
    return (
        "not a workflow, ReactFlow flow or fixture: expected `nodes` (a workflow or flow) or "
        f"`cases` (a fixture) at the top level; found keys: {keys}"
    )


#: The dialect `compat validate --dialect NAME` names for every workflow file it reads (not
#: for fixtures' workflows, which name their own), and its tool bindings.
_CHOSEN: ContextVar[tuple[str | None, Mapping[str, str]]] = ContextVar(
    "compat_dialect", default=(None, {})
)


@contextmanager
def dialect_context(spec: str | None, bindings: Mapping[str, str] | None = None) -> Iterator[None]:
    """Within the block, workflow files are read with the dialect `spec` (a built-in name or
    a mapping file path) instead of the one detected from their content."""
    token = _CHOSEN.set((spec, dict(bindings or {})))
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def dialect_import(
    doc: Any,
    *,
    source: str,
    default_id: str,
    dialect: Dialect | None = None,
    options: DialectOptions | None = None,
    use_context: bool = True,
) -> DialectImport | None:
    """`doc` converted by its dialect (given, chosen by `dialect_context`, or detected from
    the content), or None when no dialect applies. Raises `WorkflowInvalid` naming `source`
    and every node the dialect refused, `DocumentError` for an unknown dialect."""
    kind = document_kind(doc)
    if kind is None or kind is DocumentKind.FIXTURE:
        return None
    if dialect is None and use_context:
        spec, bindings = _CHOSEN.get()
        if spec is not None:
            dialect = resolve_dialect(spec)
            options = options or DialectOptions(bindings)
    if dialect is None and kind is DocumentKind.REACTFLOW:
        dialect = detect_dialect(doc)
    if dialect is None:
        return None
    if options is None:
        options = DialectOptions(_CHOSEN.get()[1] if use_context else {})
    try:
        return dialect.convert(doc, default_id=default_id, options=options)
    except WorkflowInvalid as exc:
        raise exc.with_source(source) from None


def workflow_from_data(
    doc: Any,
    *,
    source: str,
    default_id: str,
    dialect: Dialect | None = None,
    options: DialectOptions | None = None,
    use_context: bool = True,
) -> ValidatedWorkflow:
    """Validate a native, ReactFlow or dialect workflow held in memory (a dialect: given,
    chosen by `dialect_context`, or detected). Raises `WorkflowInvalid`."""
    imported = dialect_import(
        doc,
        source=source,
        default_id=default_id,
        dialect=dialect,
        options=options,
        use_context=use_context,
    )
    if imported is not None:
        return validate_workflow(imported.document, source=source, mapper=imported.mapper())
    kind = document_kind(doc)
    if kind is DocumentKind.REACTFLOW:
        try:
            imported = import_reactflow(doc, default_id=default_id)
        except WorkflowInvalid as exc:
            raise exc.with_source(source) from None
        return validate_workflow(imported.document, source=source, mapper=imported.mapper)
    if kind is DocumentKind.NATIVE:
        return validate_workflow(doc, source=source)
    if kind is DocumentKind.FIXTURE:
        raise WorkflowInvalid([Problem("", "this is a fixture, not a workflow")], source)
    raise WorkflowInvalid([Problem("", describe_unknown(doc))], source)


def load_workflow(path: str | Path) -> ValidatedWorkflow:
    """Read and validate a native or ReactFlow workflow file. Raises `DocumentError` or
    `WorkflowInvalid`."""
    doc = read_document(path)
    if document_kind(doc) is None:
        raise DocumentError(str(path), describe_unknown(doc))
    return workflow_from_data(doc, source=str(path), default_id=Path(path).stem)
