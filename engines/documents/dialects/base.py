"""What every dialect shares: the import result, refusals, and safe literals.

A dialect turns a product's saved flow into compat's native workflow document. It never
drops what it cannot map: each such node becomes a `Refusal` (node id, foreign kind,
reason), and a conversion with any refusal raises `WorkflowInvalid` listing them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engines.errors import Problem, WorkflowInvalid

#: The deterministic tool a foreign model or tool node calls unless the user binds another
#: (engines/tools/stand_in.py).
STAND_IN_TOOL = "stand_in"

_MISSING = object()


@dataclass(frozen=True)
class Refusal:
    """A foreign node (or edge) the dialect cannot map, and why."""

    location: str
    node: str
    kind: str
    reason: str

    def problem(self, dialect: str) -> Problem:
        return Problem(
            self.location, f"node {self.node!r} ({self.kind}): {self.reason} [dialect {dialect}]"
        )


@dataclass(frozen=True)
class Mapped:
    """One foreign node and what compat made of it (for `compat import`'s report)."""

    node: str
    kind: str
    became: str


@dataclass(frozen=True)
class DialectOptions:
    """What a user adds to a dialect: tool bindings (foreign kind → registered tool name)."""

    bindings: Mapping[str, str] = field(default_factory=dict)

    def tool_for(self, *keys: str, default: str = STAND_IN_TOOL) -> str:
        """The first binding found among `keys` (most specific first), else `default`."""
        for key in keys:
            if key in self.bindings:
                return self.bindings[key]
        return default


@dataclass(frozen=True)
class DialectImport:
    """A foreign flow turned into a native workflow document, with what was mapped."""

    dialect: str
    document: dict[str, Any]
    mapped: tuple[Mapped, ...]
    ignored: tuple[Mapped, ...] = ()
    #: Dotted path of the graph inside the file ("" at the top level).
    found_at: str = ""

    def mapper(self) -> Callable[[str], str]:
        """Validation problems name places in the imported document: say so."""
        label = f"(imported by dialect {self.dialect}) "

        def map_location(location: str) -> str:
            return label + location if location else location

        return map_location

    def report_lines(self) -> list[str]:
        lines = [f"mapped {m.node} ({m.kind}) -> {m.became}" for m in self.mapped]
        lines += [f"ignored {m.node} ({m.kind}): {m.became}" for m in self.ignored]
        return lines


class Dialect(Protocol):
    """A product's saved-flow format."""

    name: str
    description: str

    def detect(self, doc: Any) -> bool:
        """Whether `doc` is in this format, from its content alone."""
        ...

    def convert(self, doc: Any, *, default_id: str, options: DialectOptions) -> DialectImport:
        """The native document. Raises `WorkflowInvalid` listing every refusal."""
        ...


def refuse_all(refusals: list[Refusal], dialect: str) -> None:
    """Raise one `WorkflowInvalid` naming every refused node, when there is any."""
    if refusals:
        raise WorkflowInvalid([r.problem(dialect) for r in refusals])


def dotted(value: Any, path: str, default: Any = _MISSING) -> Any:
    """`value` at a dotted path of mapping keys (and list indexes); `default` (or a
    `KeyError`) when a step is missing."""
    current = value
    for step in filter(None, path.split(".")):
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            if default is _MISSING:
                raise KeyError(path)
            return default
    return current


def has_jinja(text: str) -> bool:
    return any(mark in text for mark in ("{{", "{%", "{#", "}}", "%}", "#}"))


def literal(value: Any) -> Any:
    """A foreign value as a compat template that renders to exactly that value: a string
    holding Jinja syntax is wrapped in a raw block, so text saved by another product never
    becomes an expression compat evaluates."""
    if isinstance(value, str):
        return literal_text(value)
    if isinstance(value, list):
        return [literal(item) for item in value]
    if isinstance(value, dict):
        return {key: literal(item) for key, item in value.items()}
    return value


def literal_text(text: str) -> str:
    """Text as a template fragment that renders to itself."""
    if not has_jinja(text):
        return text
    if "endraw" in text:  # cannot sit in a raw block: spell it out as string expressions
        return "".join("{{ " + quote(chunk) + " }}" for chunk in _chunks(text))
    return "{% raw %}" + text + "{% endraw %}"


def _chunks(text: str, size: int = 200) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def quote(text: str) -> str:
    """A Jinja string literal for `text` (single-quoted, backslash escapes)."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    )
    return "'" + escaped.replace("\t", "\\t") + "'"


def node_ref(node_id: str) -> str:
    """The expression reading a node's output: `nodes['id'].output`."""
    return f"nodes[{quote(node_id)}].output"


def unique_id(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted_2`, `wanted_3` … when a foreign node already has that id."""
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}_{n}"
    taken.add(candidate)
    return candidate
