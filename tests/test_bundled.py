"""The bundled documents: every fixture loads with a golden answer on every case, the example
documents the README shows behave as it says, and the coverage the issue asks for is there."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from compat.validation import validate_paths
from engines.documents import Fixture, load_fixture
from engines.model import NODE_TYPES
from engines.result import RunStatus
from engines.tools import builtin_registry

REPO = Path(__file__).resolve().parents[1]
#: The bundled fixtures, and the regression cases the fuzzer found (`fixtures/found/`).
FIXTURES = sorted((REPO / "fixtures").glob("*.yaml")) + sorted(
    (REPO / "fixtures" / "found").glob("*.yaml")
)


def _load(path: Path) -> Fixture:
    return load_fixture(path, tools=builtin_registry())


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_loads_and_every_case_has_a_golden_answer(path: Path) -> None:
    fixture = _load(path)
    for case in fixture.cases:
        assert case.expect is not None, f"{path.name}: case {case.name} has no expect"
        assert case.expect.status is not None, f"{path.name}: case {case.name} has no status"
        if case.expect.status is RunStatus.COMPLETED:
            assert case.expect.outputs is not None, f"{path.name}: {case.name} lacks outputs"
        else:
            assert not case.expect.outputs, f"{path.name}: {case.name}: outputs must be {{}}"


def test_fixtures_cover_every_node_type_and_every_status() -> None:
    fixtures = [_load(path) for path in FIXTURES]
    types = Counter(
        node.type
        for fixture in fixtures
        for item in fixture.registry.values()
        for node in item.workflow.nodes
    )
    assert set(NODE_TYPES) <= set(types), set(NODE_TYPES) - set(types)
    statuses = {case.expect.status for f in fixtures for case in f.cases if case.expect}
    assert {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.PAUSED} <= statuses
    # Run errors or routed errors shown in outputs: the golden answers mention every code.
    answers = json.dumps(
        [case.expect.model_dump(mode="json") for f in fixtures for case in f.cases if case.expect]
    )
    for code in (
        "EXPRESSION_ERROR",
        "TOOL_ERROR",
        "TIMEOUT",
        "INPUT_INVALID",
        "LOOP_LIMIT",
        "SUBWORKFLOW_DEPTH",
        "COMPENSATION_FAILED",
    ):
        assert f'"{code}"' in answers, code


def test_fixtures_include_reactflow_and_native_files() -> None:
    read = {p.name for path in FIXTURES for p in _load(path).files}
    assert any(name.endswith(".json") for name in read)
    kinds = set()
    for name in read:
        text = (REPO / "fixtures" / "flows" / name).read_text()
        kinds.add("reactflow" if '"position"' in text else "native")
    assert kinds == {"reactflow", "native"}


def test_the_readme_examples_behave_as_the_readme_says() -> None:
    examples = REPO / "docs" / "examples"
    reports = {Path(r.path).name: r for r in validate_paths([examples], builtin_registry())}
    assert reports["greet.yaml"].ok
    broken, racy = reports["broken.yaml"], reports["racy.yaml"]
    assert not broken.ok and not racy.ok
    assert any("did you mean 'wait'" in line for line in broken.problems)
    assert any("routes[0].when" in line for line in broken.problems)
    assert any("not an ancestor" in line for line in racy.problems)
    assert any("can run concurrently" in line for line in racy.problems)


def test_the_bundled_folder_validates_with_every_file_ok() -> None:
    reports = validate_paths([REPO / "fixtures"], builtin_registry())
    assert reports and all(r.ok for r in reports), [r.problems for r in reports if not r.ok]
    assert len(reports) == len(FIXTURES)
