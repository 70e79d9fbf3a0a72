"""Loading a workflow from a file or from data, whatever its format (native or ReactFlow)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

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


def workflow_from_data(doc: Any, *, source: str, default_id: str) -> ValidatedWorkflow:
    """Validate a native or ReactFlow workflow held in memory. Raises `WorkflowInvalid`."""
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
