"""Mapping files: the dialect a user writes for their own canvas (docs/dialects.md).

```yaml
dialect: langflow-basic            # the dialect's name (shown in reports)
description: ...                   # optional
graph: data                        # dotted path of {nodes, edges} (default: found)
kind: [data.type]                  # where a node's real kind lives, first found wins
start: true                        # add a start node before the nodes nothing leads to
ignore: [noteNode]                 # kinds that are display only (listed, never run)
bindings: {llm: stand_in}          # default tools for `$bind` names
edges:
  source_handle: sourceHandle      # dotted path in an edge: the foreign output handle
  target_input: data.targetHandle.fieldName   # dotted path: the target's input name
nodes:
  Prompt:                          # a foreign kind
    type: transform                # the compat node type
    name: data.display_name        # optional: dotted path of the display name
    handles: {prompt: out}         # optional: foreign output handle -> compat handle
    params:                        # compat params; values are templates, where a mapping
      value: {$text: data.node.template.template.value}   # with a `$` key reads the node
```

Value sources (a mapping with one `$` key, anywhere inside `params`):
`{$field: path, default?}` the foreign node's value (literal, escaped);
`{$text: path, placeholders?: single-brace|double-brace|none, unwired?: refuse|inputs}`
foreign text as a template, each placeholder the output of the node wired to that input;
`{$wired: input, path?: dotted, default?}` the output of the node wired to that input;
`{$bind: name}` the tool bound to `name` (`--bind`, then `bindings`, else `stand_in`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engines.documents.read import read_document
from engines.errors import DocumentError, InvalidDocument, Problem
from engines.model.nodes import NODE_TYPES
from engines.model.problems import problems_from

_STRICT = ConfigDict(frozen=True, extra="forbid")
_DOTTED = r"^[^.\s]+(\.[^.\s]+)*$"
_NAME = r"^[a-z0-9][a-z0-9._-]*$"

#: The source forms and the keys each may carry besides its `$` key.
SOURCES: dict[str, frozenset[str]] = {
    "$field": frozenset({"default"}),
    "$text": frozenset({"placeholders", "unwired"}),
    "$wired": frozenset({"path", "default"}),
    "$bind": frozenset(),
}
_PLACEHOLDERS = ("single-brace", "double-brace", "none")
_UNWIRED = ("refuse", "inputs")
_DOTTED_RE = re.compile(_DOTTED)


class MappingInvalid(InvalidDocument):
    """A mapping file is malformed (unknown field, bad source, unknown node type)."""

    kind = "dialect mapping"


def source_problems(value: Any, where: str) -> list[str]:
    """What is wrong with the value sources inside a params value (none: [])."""
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in source_problems(item, f"{where}[{i}]")]
    if not isinstance(value, dict):
        return []
    marks = [k for k in value if isinstance(k, str) and k.startswith("$")]
    if not marks:
        return [p for k, item in value.items() for p in source_problems(item, f"{where}.{k}")]
    if len(marks) > 1 or marks[0] not in SOURCES:
        return [f"{where}: a value source has exactly one of {', '.join(SOURCES)}, not {marks}"]
    mark = marks[0]
    extra = sorted(set(value) - {mark} - SOURCES[mark])
    if extra:
        allowed = ", ".join(sorted(SOURCES[mark])) or "nothing"
        return [f"{where}: {mark} takes {allowed} besides, not {extra}"]
    problems: list[str] = []
    if not isinstance(value[mark], str) or not value[mark]:
        problems.append(f"{where}.{mark}: must be a non-empty string")
    elif mark in ("$field", "$text") and not _DOTTED_RE.match(value[mark]):
        problems.append(f"{where}.{mark}: {value[mark]!r} is not a dotted path")
    if value.get("placeholders", "single-brace") not in _PLACEHOLDERS:
        problems.append(f"{where}.placeholders: one of {', '.join(_PLACEHOLDERS)}")
    if value.get("unwired", "refuse") not in _UNWIRED:
        problems.append(f"{where}.unwired: one of {', '.join(_UNWIRED)}")
    path = value.get("path")
    if path is not None and not (isinstance(path, str) and _DOTTED_RE.match(path)):
        problems.append(f"{where}.path: {path!r} is not a dotted path")
    return problems


class EdgeRule(BaseModel):
    model_config = _STRICT
    source_handle: str = Field(default="sourceHandle", pattern=_DOTTED)
    target_input: str | None = Field(default=None, pattern=_DOTTED)


class NodeRule(BaseModel):
    model_config = _STRICT
    type: Literal[NODE_TYPES]  # type: ignore[valid-type]
    name: str | None = Field(default=None, pattern=_DOTTED)
    handles: dict[str, str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _sources(cls, params: dict[str, Any]) -> dict[str, Any]:
        problems = [p for k, v in params.items() for p in source_problems(v, k)]
        if problems:
            raise ValueError("; ".join(problems))
        return params


class MappingFile(BaseModel):
    model_config = _STRICT
    dialect: str = Field(pattern=_NAME)
    description: str | None = None
    graph: str | None = Field(default=None, pattern=_DOTTED)
    kind: tuple[str, ...] = ("data.type", "data.name", "type")
    start: bool = True
    ignore: tuple[str, ...] = ()
    bindings: dict[str, str] = Field(default_factory=dict)
    edges: EdgeRule = EdgeRule()
    nodes: dict[str, NodeRule] = Field(min_length=1)

    @field_validator("kind")
    @classmethod
    def _paths(cls, kind: tuple[str, ...]) -> tuple[str, ...]:
        bad = [k for k in kind if not _DOTTED_RE.match(k)]
        if not kind or bad:
            raise ValueError(f"a list of dotted paths (e.g. data.type), not {list(kind)}")
        return kind


def mapping_from_data(doc: Any, source: str) -> MappingFile:
    """A mapping file's data, checked. Raises `MappingInvalid` naming the file and place."""
    if not isinstance(doc, dict):
        raise MappingInvalid(
            [Problem("", f"a mapping file is a mapping, not {type(doc).__name__}")], source
        )
    try:
        return MappingFile.model_validate(doc)
    except ValidationError as exc:
        raise MappingInvalid(problems_from(exc, doc), source) from None


def load_mapping(path: str | Path) -> MappingFile:
    """Read and check a mapping file. Raises `DocumentError` or `MappingInvalid`."""
    doc = read_document(path)
    if doc is None:
        raise DocumentError(str(path), "the mapping file is empty")
    return mapping_from_data(doc, str(path))
