"""The features a generated example may use, and swarm testing over them.

Swarm testing (Groce et al., 2012): rather than enabling every feature in every example, each
example draws a random subset, so a feature that masks a bug (a `fail` node upstream of the
only path into a buggy construct, say) is left out of some examples entirely. Users force
features on or off with `--features +retry,-wait` (or the same names in Python).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engines.errors import ConfigError

#: Node types a workflow may hold (every level has a `start`; it is not optional).
NODE_TYPES = (
    "set",
    "transform",
    "condition",
    "router",
    "tool",
    "input",
    "wait",
    "fail",
    "end",
    "loop",
    "parallel",
    "subworkflow",
)
#: Node options (docs/semantics.md §2, "Node options").
OPTIONS = ("retry", "timeout", "compensate", "idempotency_key")
#: Patterns: ways of combining the constructs that engines get wrong.
PATTERNS = (
    "error_ports",  # edges from the `error` handle (nodes and containers)
    "all_matching",  # routers firing every matching route
    "nesting",  # containers inside containers
    "recursion",  # a sub-workflow naming itself, stopped by a condition or the depth guard
    "cancel",  # cases cancelled at a clock time or while paused
    "outputs",  # the workflow's declared `outputs`
    "expression_errors",  # templates that fail at run time (a division by `inputs.z`)
    "rich_templates",  # text, mappings, filters, `{% for %}` / `{% if %}`, bracket access
    "chain",  # levels drawn as sequences (what a cancel at a clock time needs)
    "bad_payloads",  # answers an input's schema refuses
    "tool_failures",  # tools that fail recoverably or not (flaky, raise, crash, divide, lookup)
    "circuit_breakers",  # `tools.<name>.circuit_breaker` on tools whose calls are ordered
)
#: How the harness runs an example (compat check's modes).
MODES = ("roundtrip", "handoff", "replay")
GROUPS: Mapping[str, tuple[str, ...]] = {
    "node types": NODE_TYPES,
    "options": OPTIONS,
    "patterns": PATTERNS,
    "modes": MODES,
}
ALL = (*NODE_TYPES, *OPTIONS, *PATTERNS, *MODES)


@dataclass(frozen=True)
class FeatureChoice:
    """Which features examples must have (`forced`), must not have (`forbidden`); the rest
    are drawn per example."""

    forced: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> FeatureChoice:
        """`+a,-b,c` (or a list of such names): `+a` or `a` forces `a` on, `-b` forbids
        `b`; a group name (`options`, `modes`, `node types`) stands for all of its
        features."""
        if text is None:
            return cls()
        items = text.split(",") if isinstance(text, str) else list(text)
        forced: set[str] = set()
        forbidden: set[str] = set()
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            sign, name = ("-", item[1:]) if item[0] == "-" else ("+", item.lstrip("+"))
            names = GROUPS.get(name.replace("_", " "), (name,))
            for one in names:
                if one not in ALL:
                    raise ConfigError(
                        f"--features: unknown feature {name!r} (known: {', '.join(ALL)}; "
                        f"groups: {', '.join(GROUPS)})"
                    )
                (forbidden if sign == "-" else forced).add(one)
        both = forced & forbidden
        if both:
            raise ConfigError(f"--features: {sorted(both)[0]!r} is both forced and forbidden")
        return cls(frozenset(forced), frozenset(forbidden))

    def fixed(self, name: str) -> bool | None:
        """True when forced, False when forbidden, None when drawn."""
        if name in self.forced:
            return True
        if name in self.forbidden:
            return False
        return None

    def without(self, name: str) -> FeatureChoice:
        """This choice with `name` forbidden too (unless forced)."""
        if name in self.forced:
            return self
        return FeatureChoice(self.forced, self.forbidden | {name})

    def text(self) -> str:
        return ",".join(
            [f"+{n}" for n in sorted(self.forced)] + [f"-{n}" for n in sorted(self.forbidden)]
        )
