"""The mutant suite (tests/mutants/): its catalog, its import hook, its runner — and the
baseline it measures against, the real graph and journey engines agreeing on every case.

The full suite (every mutant, every mode) is `make mutants`; here every patch is checked to
apply exactly once and compile, a sample of mutants from both engines really runs through
the runner and must be caught by comparison, and a mutant's run must leave this process and
the real tree untouched.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from compat.check import CheckOptions, collect, run_check
from compat.engines import Engine, load_engine
from compat.report import CaseReport
from engines.config import load_config
from tests.mutants.catalog import (
    ROOT,
    SHARED,
    CatalogError,
    Mutant,
    apply_patch,
    load_catalog,
    select,
)
from tests.mutants.hook import HookError, PatchedLoader, PatchFinder, install
from tests.mutants.runner import run_all
from tests.mutants.verdict import CAUGHT, Verdict

FIXTURES = str(ROOT / "fixtures")
CATALOG = load_catalog()

#: Sections of docs/semantics.md an engine implements: each must have a mutant.
SECTIONS = {"3", "5", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "7.7", "7.8", "7.9", "7.10"}
SECTIONS |= {"7.11", "7.12", "8", "10"}
PERSISTENCE = {
    "engines.graph.snapshot",
    "engines.graph.snapshot_schema",
    "engines.graph.sqlite_store",
    "engines.journey.persist",
}


# ---------------------------------------------------------------------- the real engines


@cache
def _cases() -> tuple[str, ...]:
    jobs = collect([FIXTURES], load_config(), CheckOptions())
    return tuple(f"{Path(job.path).stem}::{case.name}" for job in jobs for case in job.cases)


@pytest.fixture(scope="module")
def real_report() -> dict[str, CaseReport]:
    """`compat check fixtures/` with the real engines: case label -> its report."""
    report = run_check([FIXTURES], CheckOptions())
    return {f"{Path(c.fixture).stem}::{c.case}": c for c in report.cases}


@pytest.mark.parametrize("label", _cases())
def test_graph_and_journey_agree_on_every_bundled_case(
    real_report: dict[str, CaseReport], label: str
) -> None:
    """The baseline every mutant is measured against: no difference at all."""
    case = real_report[label]
    differences = [d for dim in case.dimensions for d in dim.differences]
    assert case.compatible and case.score == 1.0, differences


# ---------------------------------------------------------------------- the catalog


@pytest.mark.parametrize("mutant", CATALOG, ids=[m.id for m in CATALOG])
def test_patch_applies_exactly_once_and_compiles(mutant: Mutant) -> None:
    source = mutant.path.read_text(encoding="utf-8")
    assert source.count(mutant.find) == 1, f"{mutant.id}: `find` is not in {mutant.module} once"
    patched = mutant.patched_source()
    assert patched != source
    compile(patched, str(mutant.path), "exec", dont_inherit=True)


def test_catalog_is_large_and_spread_over_engines_and_sections() -> None:
    assert len(CATALOG) >= 55
    engines = Counter(m.engine for m in CATALOG)
    assert set(engines) == {"graph", "journey"}
    assert min(engines.values()) >= 0.4 * len(CATALOG), engines
    assert {m.section for m in CATALOG} >= SECTIONS
    assert {m.module for m in CATALOG} >= PERSISTENCE
    assert not [m.id for m in CATALOG if m.module.startswith(SHARED)]
    assert all(m.bug and m.section for m in CATALOG)


def test_a_patch_that_does_not_apply_exactly_once_is_refused() -> None:
    base = CATALOG[0]
    twice = Mutant(**{**base.__dict__, "id": "twice", "find": "\n"})
    missing = Mutant(**{**base.__dict__, "id": "missing", "find": "no such text anywhere"})
    for mutant in (twice, missing):
        with pytest.raises(CatalogError, match="exactly once"):
            apply_patch(mutant.path.read_text(encoding="utf-8"), mutant)
    with pytest.raises(CatalogError, match="unknown mutant"):
        select(["no_such_mutant"])


def test_the_hook_refuses_a_process_that_already_imported_the_engines() -> None:
    """Installed here (engines imported), the hook would leave the real module in use."""
    before = list(sys.meta_path)
    with pytest.raises(HookError):
        install(CATALOG[0])
    assert sys.meta_path == before


# ---------------------------------------------------------------------- running mutants

#: A sample from both engines and several sections, and one persistence mutant (run where
#: it can act: a save and restore at every pause), each with a bundled fixture that pins its
#: rule down: checking only those fixtures keeps the sample fast.
SAMPLE = {
    "graph_early_join": "tools_builtin.yaml",
    "graph_parallel_finish_order": "parallel_modes.yaml",
    "graph_loop_off_by_one": "loop_modes.yaml",
    "journey_retries_not_counted": "retries.yaml",
    "journey_compensation_forward": "saga_compensation.yaml",
    "journey_set_sequential": "sequence_basics.yaml",
    "journey_persist_deferred_dropped": "conversation_sequence.yaml",
}


def _pyc(mutant: Mutant) -> Path:
    return Path(importlib.util.cache_from_source(str(mutant.path)))


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


@dataclass
class SampleRun:
    verdicts: dict[str, Verdict]
    #: This process's engine modules and the files involved, before and after the run.
    modules: dict[str, ModuleType]
    files_before: dict[Path, str | None]
    files_after: dict[Path, str | None]
    offered: set[str]


@pytest.fixture(scope="module")
def sample_run() -> SampleRun:
    """The sample, run through the runner, with this process's state before and after."""
    mutants = select(list(SAMPLE))
    modules = {m.module: importlib.import_module(m.module) for m in mutants}
    files = {p: _digest(p) for m in mutants for p in (m.path, _pyc(m))}
    offered = {m for m in ("plain", "roundtrip") if m == "plain" or m in CheckOptions.model_fields}
    fixtures = sorted({str(ROOT / "fixtures" / name) for name in SAMPLE.values()})
    # One mode each, the cheapest that can show the bug: plain, or a save/restore per pause.
    verdicts = run_all(
        mutants,
        lambda m: [m.modes[0] if m.modes else "plain"],
        jobs=2,
        probe="never",
        fixtures=fixtures,
    )
    return SampleRun(
        {v.mutant.id: v for v in verdicts},
        modules,
        files,
        {p: _digest(p) for p in files},
        offered,
    )


@pytest.mark.parametrize("mutant_id", SAMPLE)
def test_sample_mutant_is_caught_by_comparison(sample_run: SampleRun, mutant_id: str) -> None:
    verdict = sample_run.verdicts[mutant_id]
    if verdict.mutant.modes and not set(verdict.mutant.modes) & sample_run.offered:
        pytest.skip(f"the harness offers none of {verdict.mutant.modes} yet")
    assert verdict.kind == CAUGHT, verdict.line()
    assert verdict.caught_in and all(verdict.caught_in.values())


def test_a_mutant_run_leaves_this_process_and_the_tree_untouched(sample_run: SampleRun) -> None:
    """The hook lived only in the mutants' processes: this one still runs the real modules,
    has no hook, and the sources and their bytecode caches are byte for byte the same."""
    for name, module in sample_run.modules.items():
        assert sys.modules[name] is module
        assert not isinstance(module.__loader__, PatchedLoader)
    assert not [f for f in sys.meta_path if isinstance(f, PatchFinder)]
    assert sample_run.files_after == sample_run.files_before


# ---------------------------------------------------------------------- the README's engine


def test_the_readme_user_engine_loads_and_is_reported_incompatible() -> None:
    """`--shadow tests.mutants.router_last:engine` (README): a `module:attr` engine."""
    assert isinstance(load_engine("tests.mutants.router_last:engine"), Engine)
    report = run_check(
        [str(ROOT / "fixtures" / "router_first_match.yaml")],
        CheckOptions(shadow="tests.mutants.router_last:engine"),
    )
    assert report.summary.incompatible >= 1
