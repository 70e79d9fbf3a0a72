"""Documents users write: native workflows, ReactFlow flows and fixtures."""

from engines.documents.fixture import (
    Cancel,
    Case,
    Expectation,
    Fixture,
    fixture_from_data,
    load_fixture,
    referenced_files,
)
from engines.documents.load import DocumentKind, document_kind, load_workflow, workflow_from_data
from engines.documents.reactflow import import_reactflow, is_reactflow
from engines.documents.read import DOCUMENT_SUFFIXES, read_document

__all__ = [
    "DOCUMENT_SUFFIXES",
    "Cancel",
    "Case",
    "DocumentKind",
    "Expectation",
    "Fixture",
    "document_kind",
    "fixture_from_data",
    "import_reactflow",
    "is_reactflow",
    "load_fixture",
    "load_workflow",
    "read_document",
    "referenced_files",
    "workflow_from_data",
]
