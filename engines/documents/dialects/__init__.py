"""Dialects: flows saved by other products (Flowise, Langflow …) read as compat workflows.

A dialect is a built-in module (`flowise-agentflow-v2`) or a mapping file a user writes for
their own canvas (`GenericDialect`). Built-ins are recognised from a file's content;
a mapping file is named (`--dialect path/to/mapping.yaml`, a fixture's `mapping:`).
See docs/dialects.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engines.documents.dialects.base import (
    STAND_IN_TOOL,
    Dialect,
    DialectImport,
    DialectOptions,
    Mapped,
    Refusal,
)
from engines.documents.dialects.flowise import FlowiseAgentflowV2
from engines.documents.dialects.generic import GenericDialect
from engines.documents.dialects.mapping_file import MappingFile, MappingInvalid, load_mapping
from engines.errors import DocumentError

#: Built-in dialects by name, in detection order.
BUILTIN_DIALECTS: dict[str, Dialect] = {"flowise-agentflow-v2": FlowiseAgentflowV2()}
_MAPPING_SUFFIXES = (".yaml", ".yml", ".json")


def detect_dialect(doc: Any) -> Dialect | None:
    """The built-in dialect whose format `doc` is in, from its content alone."""
    return next((d for d in BUILTIN_DIALECTS.values() if d.detect(doc)), None)


def is_mapping_path(spec: str) -> bool:
    return spec.lower().endswith(_MAPPING_SUFFIXES) or "/" in spec or "\\" in spec


def resolve_dialect(spec: str, *, base: Path | None = None) -> Dialect:
    """A dialect by built-in name, or the mapping file at `spec` (relative to `base`).
    Raises `DocumentError` (unknown name, unreadable file) or `MappingInvalid`."""
    if spec in BUILTIN_DIALECTS:
        return BUILTIN_DIALECTS[spec]
    if not is_mapping_path(spec):
        known = ", ".join(BUILTIN_DIALECTS)
        raise DocumentError(
            spec,
            f"unknown dialect (built-in: {known}; or the path of a mapping file, "
            "see docs/dialects.md)",
        )
    path = Path(spec) if base is None else base / spec
    return GenericDialect(load_mapping(path), spec)


def parse_bindings(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`KIND=TOOL` pairs (`--bind LLM=my_llm`) as a mapping. Raises `DocumentError`."""
    out: dict[str, str] = {}
    for pair in pairs:
        kind, sep, tool = pair.partition("=")
        if not sep or not kind.strip() or not tool.strip():
            raise DocumentError("--bind", f"{pair!r} is not KIND=TOOL (e.g. LLM=my_llm)")
        out[kind.strip()] = tool.strip()
    return out


__all__ = [
    "BUILTIN_DIALECTS",
    "STAND_IN_TOOL",
    "Dialect",
    "DialectImport",
    "DialectOptions",
    "GenericDialect",
    "Mapped",
    "MappingFile",
    "MappingInvalid",
    "Refusal",
    "detect_dialect",
    "parse_bindings",
    "resolve_dialect",
]
