"""What counts as "the same" when two runs are compared: one pydantic config.

It is read from `[tool.compat.tolerances]` in pyproject.toml, then a `compat.toml`'s
`[tolerances]`, then a fixture's `tolerances:` — later sources override earlier ones, key by
key (`weights` merge dimension by dimension; lists replace).

Paths name places in a run's result: `outputs.total`, `context.vars.count`,
`context.nodes.fetch.items[0]`, `errors`, with `*` for one key or index and `**` for any
depth (`outputs.items[*].updated_at`, `**.timestamp`); a pattern starting with `re:` is a
regular expression over the same text (`re:^outputs\\.id_\\d+$`).

Every pattern is compiled with RE2 (the `google-re2` package), which matches in time linear
in the text, whatever the pattern: a catastrophic pattern such as `re:(a+)+$` cannot stall a
comparison on a long path. RE2 has no backreferences or lookaround; a pattern using them (or
too large to compile) is a `ConfigError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engines.config import EngineConfig
from engines.errors import ConfigError
from engines.model.problems import problems_from

DIMENSIONS = ("outcome", "outputs", "context", "trace", "errors")

#: How a comparison becomes a verdict: `equivalence` — compatible only when nothing the
#: contract requires to be equal differs (docs/harness.md); `threshold` — the similarity
#: gate: no critical difference and a score of at least `threshold`.
POLICIES = ("equivalence", "threshold")
Policy = Literal["equivalence", "threshold"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "outcome": 0.30,
    "outputs": 0.25,
    "context": 0.15,
    "trace": 0.15,
    "errors": 0.15,
}


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors on stderr itself
    return options


_RE2_OPTIONS = _options()


class PatternRefused(ValueError):
    """A path pattern RE2 cannot compile (bad syntax, an unsupported feature, too large)."""


def _compile(pattern: str, regex: str) -> Any:
    try:
        return re2.compile(regex, options=_RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternRefused(
            f"pattern {pattern!r} is not a valid regex: {detail} (`re:` patterns use RE2 "
            "syntax, matched in linear time: no backreferences or lookaround)"
        ) from None


def _glob_regex(pattern: str) -> Any:
    """`*` one key or index; `**` any number of them; the rest literal. Compiled with RE2."""
    if pattern.startswith("re:"):
        return _compile(pattern, pattern[3:])
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**.", i):
            # Whole segments, each a key or index run ending in a dot: `a.`, `items[0].`.
            out.append(r"(?:[^.\[]*(?:\[[^\]]*\])*\.)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(r".*")
            i += 2
        elif pattern.startswith("[*]", i):
            out.append(r"\[[^\]]*\]")
            i += 3
        elif pattern[i] == "*":
            out.append(r"[^.\[]+")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return _compile(pattern, "^" + "".join(out) + "$")


class Tolerances(BaseModel):
    """How strictly two runs are compared, and how the score is weighed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Numbers are equal when |a - b| <= abs_tol or <= rel_tol * max(|a|, |b|).
    abs_tol: float = Field(default=0.0, ge=0)
    rel_tol: float = Field(default=0.0, ge=0)
    #: Clock seconds two engines may disagree by on the time from a node execution's first
    #: event to a later one (docs/semantics.md §8); raise it for an engine on a real clock.
    time_tol: float = Field(default=1e-9, ge=0)
    #: Report int vs float (2 vs 2.0) as a difference (JSON types are part of the result).
    strict_numeric_types: bool = True
    #: Paths left out of the comparison (globs or `re:` regexes).
    ignore_paths: tuple[str, ...] = ()
    #: Paths whose lists are compared as multisets.
    unordered_paths: tuple[str, ...] = ()
    #: Strings compared without regard to case / runs of whitespace.
    ignore_case: bool = False
    normalize_whitespace: bool = False
    #: Compare error messages (normalised) — in errors, routed errors and `failed` events —
    #: as well as nodes and codes. Off only for an engine whose messages are its own.
    compare_messages: bool = True
    #: Foreign error codes mapped onto the shared taxonomy before comparing.
    error_codes: dict[str, str] = Field(default_factory=dict)
    #: Dimension weights of the overall score (normalised to sum 1).
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    #: Which rule turns the comparison into a verdict (`POLICIES`).
    policy: Policy = "equivalence"
    #: Under the `threshold` policy: a pair is compatible when no difference is critical and
    #: the score is at least this. The `equivalence` policy does not use it.
    threshold: float = Field(default=0.95, ge=0, le=1)
    #: Diffy noise filtering: a field is reported only if its raw differences outnumber its
    #: noise differences and both thresholds pass.
    noise_relative_threshold: float = Field(default=0.2, ge=0, le=1)
    noise_absolute_threshold: float = Field(default=0.03, ge=0, le=1)
    #: At most this many differences are reported per dimension; values with more leaves
    #: (or more differences) are compared position by position, never with deepdiff, whose
    #: cost blows up on huge values (compat/compare/values.py). The score counts every leaf.
    max_diffs: int = Field(default=1000, ge=1)
    max_passes: int = Field(default=10_000, ge=1)

    @field_validator("weights")
    @classmethod
    def _known_dimensions(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(DIMENSIONS) - {"replay"})
        if unknown:
            raise ValueError(f"unknown dimensions {unknown} (known: {', '.join(DIMENSIONS)})")
        merged = {**DEFAULT_WEIGHTS, **weights}
        if any(w < 0 for w in merged.values()) or not any(merged.values()):
            raise ValueError("weights must be >= 0 and not all zero")
        return merged

    @field_validator("ignore_paths", "unordered_paths")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            _glob_regex(pattern)  # PatternRefused (a ValueError) names the pattern
        return patterns

    @cached_property
    def _ignored(self) -> tuple[Any, ...]:
        return tuple(_glob_regex(p) for p in self.ignore_paths)

    @cached_property
    def _unordered(self) -> tuple[Any, ...]:
        return tuple(_glob_regex(p) for p in self.unordered_paths)

    # `search`: a glob is anchored at both ends; a `re:` regex brings its own anchors.
    def ignored(self, path: str) -> bool:
        return any(p.search(path) for p in self._ignored)

    def unordered(self, path: str) -> bool:
        return any(p.search(path) for p in self._unordered)

    def numbers_equal(self, a: float, b: float) -> bool:
        if a == b:
            return True
        try:
            return abs(a - b) <= max(self.abs_tol, self.rel_tol * max(abs(a), abs(b)))
        except OverflowError:  # an integer beyond the float range: the same test, exactly
            fa, fb = Fraction(a), Fraction(b)
            bound = max(Fraction(self.abs_tol), Fraction(self.rel_tol) * max(abs(fa), abs(fb)))
            return abs(fa - fb) <= bound

    def normalise(self, text: str) -> str:
        if self.normalize_whitespace:
            text = " ".join(text.split())
        if self.ignore_case:
            text = text.casefold()
        return text

    def override(self, data: Mapping[str, Any] | None, source: str) -> Tolerances:
        """These tolerances with `data` laid over them. Raises `ConfigError` naming `source`."""
        if not data:
            return self
        merged = self.model_dump()
        for key, value in data.items():
            if key == "weights" and isinstance(value, Mapping):
                merged["weights"] = {**merged["weights"], **value}
            else:
                merged[key] = value
        try:
            return Tolerances.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(
                f"tolerances.{p}" if p.location else p.message for p in problems_from(exc)
            )
            raise ConfigError(f"{source}: {problems}") from None


def configured(config: EngineConfig) -> Tolerances:
    """The defaults with the project's `[tool.compat.tolerances]` / compat.toml laid over."""
    where = f"{config.root}: [tool.compat] / compat.toml" if config.root else "configuration"
    base = Tolerances().override(config.tolerances, where)
    if config.policy is not None:
        base = base.override({"policy": config.policy}, f"{where} (policy)")
    return base
