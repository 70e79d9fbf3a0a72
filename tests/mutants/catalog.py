"""The mutant catalog (`catalog.yaml`): what each mutant changes, where, and which rule it breaks.

A mutant is a source patch — one exact snippet of one engine module replaced by another —
because that is what a real bug looks like and how an outside evaluator mutates the engines.
This module only reads and checks the catalog and builds patched sources; it never imports
`engines` (the mutant's process must install its import hook before anything does).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

#: The tree whose engines are mutated: the one this package sits in (`tests/mutants/..`).
ROOT = Path(__file__).resolve().parents[2]
CATALOG = Path(__file__).with_name("catalog.yaml")

ENGINES = ("graph", "journey")
#: How the harness runs a case: plain; roundtrip and handoff (persistence under the gate);
#: replay (the shadow's tool calls answered from the primary's recording).
MODES = ("plain", "roundtrip", "handoff", "replay")
#: Shared code both engines run alike: a bug there is invisible to engine-vs-engine checks.
SHARED = (
    "engines.model",
    "engines.expressions",
    "engines.tools",
    "engines.failures",
    "engines.result",
    "engines.clock",
    "engines.documents",
)
_FIELDS = {"id", "engine", "module", "find", "replace", "section", "bug", "modes", "equivalent"}


class CatalogError(ValueError):
    """A catalog entry that cannot be a mutant (bad field, patch that does not apply once)."""


@dataclass(frozen=True)
class Mutant:
    id: str
    engine: str
    module: str
    find: str
    replace: str
    #: The docs/semantics.md section whose rule the bug breaks ("7.7", "3", "10").
    section: str
    bug: str
    #: Modes the mutant is meant for (its bug acts only there); empty: every mode.
    modes: tuple[str, ...] = ()
    #: Why a survivor is equivalent to the real engine (None: it is a real bug).
    equivalent: str | None = None

    @property
    def path(self) -> Path:
        """The module's source file in ROOT (found without importing anything)."""
        return module_path(self.module)

    def patched_source(self) -> str:
        """The module's source with the patch applied; `CatalogError` unless `find` occurs
        exactly once."""
        return apply_patch(self.path.read_text(encoding="utf-8"), self)


def module_path(module: str, root: Path = ROOT) -> Path:
    parts = module.split(".")
    path = root.joinpath(*parts).with_suffix(".py")
    if not path.is_file():
        raise CatalogError(f"module {module!r} has no source file at {path}")
    return path


def apply_patch(source: str, mutant: Mutant) -> str:
    count = source.count(mutant.find)
    if count != 1:
        raise CatalogError(
            f"mutant {mutant.id!r}: its `find` occurs {count} times in {mutant.module} "
            "(it must occur exactly once)"
        )
    return source.replace(mutant.find, mutant.replace, 1)


def _entry(raw: Any, index: int) -> Mutant:
    if not isinstance(raw, dict):
        raise CatalogError(f"catalog entry {index} is not a mapping")
    unknown = set(raw) - _FIELDS
    missing = {"id", "engine", "module", "find", "replace", "section", "bug"} - set(raw)
    label = raw.get("id", f"#{index}")
    if unknown or missing:
        raise CatalogError(
            f"mutant {label!r}: unknown fields {sorted(unknown)}, missing {sorted(missing)}"
        )
    modes = tuple(raw.get("modes") or ())
    mutant = Mutant(
        id=str(raw["id"]),
        engine=str(raw["engine"]),
        module=str(raw["module"]),
        find=str(raw["find"]),
        replace=str(raw["replace"]),
        section=str(raw["section"]),
        bug=" ".join(str(raw["bug"]).split()),
        modes=modes,
        equivalent=raw.get("equivalent"),
    )
    problems = []
    if mutant.engine not in ENGINES:
        problems.append(f"engine must be one of {ENGINES}")
    if not mutant.module.startswith(f"engines.{mutant.engine}."):
        problems.append(f"module must be in engines/{mutant.engine}/")
    if mutant.module.startswith(SHARED):
        problems.append("shared code cannot be told apart by comparing the engines")
    if mutant.find == mutant.replace or not mutant.find:
        problems.append("`find` must be non-empty and differ from `replace`")
    if set(modes) - set(MODES):
        problems.append(f"modes must be among {MODES}")
    if problems:
        raise CatalogError(f"mutant {mutant.id!r}: " + "; ".join(problems))
    return mutant


@cache
def load_catalog(path: Path = CATALOG) -> tuple[Mutant, ...]:
    """Every mutant of the catalog, in catalog order (ids unique)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = data.get("mutants") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CatalogError(f"{path}: expected a mapping with a `mutants` list")
    mutants = tuple(_entry(raw, i) for i, raw in enumerate(entries))
    ids = [m.id for m in mutants]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CatalogError(f"{path}: mutant ids used twice: {', '.join(twice)}")
    return mutants


def select(ids: list[str] | None, catalog: tuple[Mutant, ...] | None = None) -> list[Mutant]:
    """The mutants named (all of them when `ids` is empty); `CatalogError` for an unknown id."""
    mutants = list(catalog if catalog is not None else load_catalog())
    if not ids:
        return mutants
    by_id = {m.id: m for m in mutants}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise CatalogError(f"unknown mutant ids: {', '.join(unknown)}")
    return [by_id[i] for i in ids]
