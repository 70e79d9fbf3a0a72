"""Mutation testing of the harness: deliberately broken engines (tests/mutants/) must be
reported as incompatible with the real engine they copy, in the dimensions their bug shows
in — and must stay fully compatible on the bundled cases their bug cannot touch, which
proves the comparison does not simply flag everything.

Every bundled case runs once on the graph and once on the journey engine (cached for the
module) and once per mutant; the real graph vs journey comparison of each case is checked
here too (score 1.0).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from compat.compare import Comparison, Difference, compare_runs
from compat.engines import Engine, EngineRun, load_engine, run_engine
from compat.tolerances import Tolerances
from engines.documents import Case, Fixture, load_fixture
from engines.model import ValidatedWorkflow
from engines.model.nodes import LoopNode, RouterNode
from engines.tools import builtin_registry

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted((REPO / "fixtures").glob("*.yaml"))
TIMEOUT = 30.0


@cache
def bundled() -> tuple[tuple[str, Fixture], ...]:
    """Every bundled fixture, loaded once (at collection, for the case ids)."""
    return tuple((p.stem, load_fixture(p, tools=builtin_registry())) for p in FIXTURES)


def all_cases() -> list[tuple[str, Fixture, Case]]:
    return [(name, fixture, case) for name, fixture in bundled() for case in fixture.cases]


def tolerances(name: str, fixture: Fixture) -> Tolerances:
    """What the harness would use: defaults, then the fixture's own `tolerances:`."""
    return Tolerances().override(fixture.tolerances, f"fixtures/{name}.yaml")


# ---------------------------------------------------------------------- the mutants


def _workflows(fixture: Fixture) -> list[ValidatedWorkflow]:
    return list(fixture.registry.values())


def _has_first_match_router(wf: ValidatedWorkflow) -> bool:
    return any(isinstance(n, RouterNode) and not n.params.all_matching for n in wf.workflow.nodes)


def _has_for_loop(wf: ValidatedWorkflow) -> bool:
    return any(isinstance(n, LoopNode) and n.params.mode == "for" for n in wf.workflow.nodes)


def _has_join(wf: ValidatedWorkflow) -> bool:
    levels = wf.topology.levels.values()
    return any(len(level.incoming[n]) > 1 for level in levels for n in level.nodes)


def _has_retry(wf: ValidatedWorkflow) -> bool:
    return any(getattr(n, "retry", None) is not None for n in wf.workflow.nodes)


def _has_compensation(wf: ValidatedWorkflow) -> bool:
    return any(n.compensate is not None for n in wf.workflow.nodes)


_LATER_ATTEMPT = re.compile(r"\.(started|retrying|failed|completed)#([2-9]|\d{2,})$")


@dataclass(frozen=True)
class Mutant:
    module: str
    #: The real engine the mutant copies (the primary of every comparison).
    base: str
    #: Dimensions the bug must show in, among the cases reported incompatible.
    expected: frozenset[str]
    #: A difference that is the bug's own fingerprint; at least one must be reported.
    evidence: Callable[[Difference], bool]
    #: Whether the mutation can act on a workflow at all (else the mutant must agree fully).
    touches: Callable[[ValidatedWorkflow], bool]

    @property
    def spec(self) -> str:
        return f"tests.mutants.{self.module}:engine"


MUTANTS = (
    Mutant(
        "router_last",
        "graph",
        frozenset({"outputs", "context", "trace"}),
        # Another branch ran: steps appear or disappear.
        lambda d: d.dimension == "trace" and d.kind in ("missing_step", "extra_step"),
        _has_first_match_router,
    ),
    Mutant(
        "loop_off_by_one",
        "graph",
        frozenset({"outputs", "context", "trace"}),
        lambda d: d.kind == "value_changed" and d.path.endswith(".iterations"),
        _has_for_loop,
    ),
    Mutant(
        "retries_not_counted",
        "journey",
        frozenset({"trace"}),
        # An attempt beyond the real engine's last one.
        lambda d: d.kind == "extra_step" and _LATER_ATTEMPT.search(d.path) is not None,
        _has_retry,
    ),
    Mutant(
        "early_join",
        "graph",
        frozenset({"trace"}),
        # A join started before one of its parents settled.
        lambda d: d.kind == "reordered" and "(edge)" in d.note,
        _has_join,
    ),
    Mutant(
        "compensation_wrong_order",
        "journey",
        frozenset({"trace"}),
        lambda d: d.kind == "reordered" and d.path == "trace.compensations",
        _has_compensation,
    ),
)
MUTANT_IDS = [m.module for m in MUTANTS]


@dataclass(frozen=True)
class Verdict:
    fixture: str
    case: str
    touched: bool
    comparison: Comparison

    @property
    def label(self) -> str:
        return f"{self.fixture}::{self.case}"


# ---------------------------------------------------------------------- cached runs


def _run(engine: Engine, fixture: Fixture, case: Case) -> EngineRun:
    return run_engine(engine, fixture.registry, case.inputs, case.conversation, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def real_runs() -> dict[tuple[str, str], dict[str, EngineRun]]:
    """(fixture, case) -> engine name -> its run, for both real engines."""
    engines = {name: load_engine(name) for name in ("graph", "journey")}
    return {
        (name, case.name): {e: _run(engine, fixture, case) for e, engine in engines.items()}
        for name, fixture, case in all_cases()
    }


@pytest.fixture(scope="module")
def verdicts(
    real_runs: dict[tuple[str, str], dict[str, EngineRun]],
) -> Callable[[Mutant], list[Verdict]]:
    """Every bundled case, real engine (primary) vs mutant (shadow); run once per mutant."""

    @cache
    def of(mutant: Mutant) -> list[Verdict]:
        engine = load_engine(mutant.spec)
        out = []
        for name, fixture, case in all_cases():
            primary = real_runs[(name, case.name)][mutant.base]
            shadow = _run(engine, fixture, case)
            comparison = compare_runs(primary, shadow, fixture.workflow, tolerances(name, fixture))
            touched = any(mutant.touches(wf) for wf in _workflows(fixture))
            out.append(Verdict(name, case.name, touched, comparison))
        return out

    return of


# ---------------------------------------------------------------------- the real engines


@pytest.mark.parametrize(
    ("name", "case_name"),
    [(name, case.name) for name, _, case in all_cases()],
    ids=[f"{name}::{case.name}" for name, _, case in all_cases()],
)
def test_graph_and_journey_agree_on_every_bundled_case(
    real_runs: dict[tuple[str, str], dict[str, EngineRun]], name: str, case_name: str
) -> None:
    fixture = dict(bundled())[name]
    runs = real_runs[(name, case_name)]
    comparison = compare_runs(
        runs["graph"], runs["journey"], fixture.workflow, tolerances(name, fixture)
    )
    assert comparison.compatible and comparison.score == 1.0, comparison.differences


# ---------------------------------------------------------------------- the mutants


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_mutant_loads_as_a_harness_engine(mutant: Mutant) -> None:
    """What `compat check --shadow tests.mutants.<module>:engine` will load."""
    engine = load_engine(mutant.spec)
    assert isinstance(engine, Engine)
    assert engine.name and engine.name != mutant.base


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_mutant_is_reported_incompatible(
    mutant: Mutant, verdicts: Callable[[Mutant], list[Verdict]]
) -> None:
    incompatible = [v for v in verdicts(mutant) if not v.comparison.compatible]
    assert incompatible, f"{mutant.module} survived every bundled case"


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_mutant_shows_in_the_expected_dimensions(
    mutant: Mutant, verdicts: Callable[[Mutant], list[Verdict]]
) -> None:
    """Among the incompatible cases (or, for a mutant the verdict misses, the cases with any
    difference), the bug shows where it should, with its fingerprint."""
    found = [v for v in verdicts(mutant) if not v.comparison.compatible] or [
        v for v in verdicts(mutant) if v.comparison.differences
    ]
    assert found, f"{mutant.module}: no bundled case shows any difference"
    dimensions = {d for v in found for d in v.comparison.differing_dimensions()}
    assert mutant.expected <= dimensions, (mutant.expected, dimensions)
    for verdict in found:
        shown = set(verdict.comparison.differing_dimensions())
        assert shown & mutant.expected, (verdict.label, shown)
    assert any(mutant.evidence(d) for v in found for d in v.comparison.differences), [
        d.path for v in found for d in v.comparison.differences
    ]


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_mutant_agrees_fully_where_its_bug_cannot_act(
    mutant: Mutant, verdicts: Callable[[Mutant], list[Verdict]]
) -> None:
    """Cases of fixtures without the construct the mutation changes: no difference at all.
    And no case of those fixtures is ever flagged, touched or not."""
    untouched = [v for v in verdicts(mutant) if not v.touched]
    assert len(untouched) >= 10, f"too few untouched cases to mean anything: {len(untouched)}"
    flagged = [
        (v.label, v.comparison.differing_dimensions())
        for v in untouched
        if v.comparison.differences or not v.comparison.compatible
    ]
    assert not flagged
    assert all(v.comparison.score == 1.0 for v in untouched)


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_mutant_never_affects_the_real_engine_running_beside_it(
    mutant: Mutant,
    verdicts: Callable[[Mutant], list[Verdict]],
    real_runs: dict[tuple[str, str], dict[str, EngineRun]],
) -> None:
    """The real engine and the mutant run at the same time in threads (as a harness may):
    the real run is still exactly the cached one."""
    fixtures = dict(bundled())
    differing = [v for v in verdicts(mutant) if v.comparison.differences][:3]
    real, shadow = load_engine(mutant.base), load_engine(mutant.spec)
    for verdict in differing:
        fixture = fixtures[verdict.fixture]
        case = fixture.case(verdict.case)
        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = [pool.submit(_run, e, fixture, case) for e in (shadow, real, shadow, real)]
            results = [job.result() for job in jobs]
        for again in results[1::2]:
            cached = real_runs[(verdict.fixture, verdict.case)][mutant.base]
            comparison = compare_runs(
                cached, again, fixture.workflow, tolerances(verdict.fixture, fixture)
            )
            assert comparison.score == 1.0 and not comparison.differences, verdict.label
