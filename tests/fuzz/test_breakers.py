"""The `circuit_breakers` fuzz feature (compat/fuzz/breakers.py): with it on, generated
workflows call a breaker-protected tool from ordered nodes, so the breaker opens and fails
fast in a good share of runs; the coverage report counts the feature; and runs with
breakers survive every lifecycle step (save, restore, hand-off between the engines)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from compat.engines import GraphAdapter, run_engine
from compat.fuzz import FEATURES, Example, examples
from compat.fuzz.coverage import Coverage, executed_features, generated_features
from compat.fuzz.lifecycle import check_lifecycle, lifecycle_machine, pausing_workflows
from compat.fuzz.strategies import GeneratedWorkflow
from engines.documents import Case
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult
from engines.tools import builtin_registry

SEEDED = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _draw(count: int, features: str) -> list[Example]:
    drawn: list[Example] = []

    @given(examples(features=features))
    @settings(SEEDED, max_examples=count)
    def collect(example: Example) -> None:
        drawn.append(example)

    collect()
    return drawn


def _primary(example: Example) -> RunResult | None:
    case = example.case
    return run_engine(
        GraphAdapter(), example.generated.registry, case.inputs, case.conversation
    ).result


def _breakers(example: Example) -> dict[str, Any]:
    return {
        tool: settings
        for doc in example.generated.documents()
        for tool, settings in doc.get("tools", {}).items()
    }


def test_most_examples_with_the_feature_open_a_breaker_and_fail_fast() -> None:
    drawn = _draw(100, "+circuit_breakers")
    coverage = Coverage()
    for example in drawn:
        coverage.add(example, _primary(example))
    assert coverage.generated["circuit_breakers"] >= 0.9 * coverage.examples
    # executed: a CIRCUIT_OPEN in the run (a breaker opened, then refused a call)
    assert coverage.executed["circuit_breakers"] >= 0.25 * coverage.examples


def test_the_protected_tool_is_called_by_ordered_nodes_in_chains_and_loops() -> None:
    shapes = {"chain": 0, "loop": 0, "retried": 0, "paused": 0}
    for example in _draw(60, "+circuit_breakers,+loop,+retry,+error_ports,+input"):
        doc = example.generated.document
        protected = set(doc.get("tools", {}))
        calls = [
            n for n in doc["nodes"] if n["type"] == "tool" and n["params"]["tool"] in protected
        ]
        loops = {n["id"] for n in doc["nodes"] if n["type"] == "loop"}
        shapes["chain"] += len([c for c in calls if "parent" not in c]) >= 2
        shapes["loop"] += any(c.get("parent") in loops for c in calls)
        shapes["retried"] += any("retry" in c for c in calls)
        shapes["paused"] += any(n["type"] == "input" for n in doc["nodes"])
    assert min(shapes.values()) >= 10, shapes


def test_forbidden_features_stay_out_of_the_segment() -> None:
    for example in _draw(40, "+circuit_breakers,-error_ports,-input,-loop,-wait"):
        doc = example.generated.document
        assert all(e["handle"] != "error" for e in doc["edges"])
        assert {n["type"] for n in doc["nodes"]} <= set(FEATURES) | {"start"}
        assert not {"input", "loop", "wait"} & {n["type"] for n in doc["nodes"]}
    for example in _draw(20, "+circuit_breakers,-tool"):
        assert _breakers(example) == {}


def test_coverage_counts_a_declared_breaker_and_a_refused_call() -> None:
    doc = {
        "id": "fuzzed",
        "tools": {"raise": {"circuit_breaker": {"failure_threshold": 1, "reset_timeout": 9}}},
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "n0",
                "type": "tool",
                "params": {"tool": "raise", "args": {"code": "DOWN", "recoverable": True}},
                "retry": {"max_attempts": 2, "initial_interval": 1},
            },
        ],
        "edges": [{"source": "start", "target": "n0"}],
    }
    registry = WorkflowRegistry([validate_workflow(doc)], tools=builtin_registry())
    generated = GeneratedWorkflow(doc, (), frozenset(FEATURES), registry)
    example = Example(generated, Case(name="c", inputs={}, conversation=()))
    result = _primary(example)
    assert result is not None
    assert [e.detail.get("code") for e in result.trace if e.kind in ("retrying", "failed")] == [
        "DOWN",
        "CIRCUIT_OPEN",
    ]
    assert "circuit_breakers" in generated_features(example)
    found = executed_features(example, result)
    assert "circuit_breakers" in found
    assert "tool_failures" not in found  # the run's failure is the breaker's, not the tool's
    without = {k: v for k, v in doc.items() if k != "tools"}
    plain = GeneratedWorkflow(
        without,
        (),
        frozenset(FEATURES),
        WorkflowRegistry([validate_workflow(without)], tools=builtin_registry()),
    )
    assert "circuit_breakers" not in generated_features(Example(plain, example.case))


def test_runs_with_breakers_survive_save_restore_and_hand_off() -> None:
    machine = lifecycle_machine(
        pausing_workflows(features="+input,+circuit_breakers,+retry", max_nodes=6)
    )
    report = check_lifecycle(max_examples=25, seed=5, steps=8, machine=machine)
    assert report.steps["handoff"] > 0 and report.steps["restore"] > 0
