"""Registries and fixtures get one clear message naming the place: sub-workflows, tools,
fixture files and cases (docs/semantics.md §1-§4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import (
    assert_words,
    end,
    linear,
    loop_for,
    node,
    start,
    tool,
    transform,
    valid,
    workflow,
    write,
)

from engines.documents import fixture_from_data, load_fixture
from engines.errors import FixtureInvalid, Problem, WorkflowInvalid
from engines.model import WorkflowRegistry
from engines.tools import builtin_registry

# --------------------------------------------------------------------------- registries


def _registry(*docs: dict[str, Any], tools: bool = False) -> WorkflowRegistry:
    return WorkflowRegistry([valid(d) for d in docs], tools=builtin_registry() if tools else None)


def _registry_problems(*docs: dict[str, Any], tools: bool = False) -> tuple[Problem, ...]:
    with pytest.raises(WorkflowInvalid) as info:
        _registry(*docs, tools=tools)
    assert info.value.problems
    return info.value.problems


MAIN = linear(start(), node("sub", "subworkflow", workflow="child"), workflow_id="main")


def test_subworkflow_naming_an_unknown_workflow() -> None:
    (problem,) = _registry_problems(MAIN)
    assert problem.location == "workflow 'main' nodes[1] (id 'sub').params.workflow"
    assert_words(problem.message, "unknown workflow 'child'", "main")


def test_subworkflow_in_registry_is_found() -> None:
    registry = _registry(MAIN, linear(start(), workflow_id="child"))
    assert registry.main.id == "main"
    assert set(registry) == {"main", "child"}
    assert len(registry) == 2


def test_workflow_may_call_itself() -> None:
    doc = linear(start(), node("sub", "subworkflow", workflow="main"), workflow_id="main")
    assert list(_registry(doc)) == ["main"]


def test_subworkflow_containing_an_input_node() -> None:
    child = linear(start(), node("ask", "input", prompt="hi"), workflow_id="child")
    (problem,) = _registry_problems(MAIN, child)
    assert problem.location == "workflow 'child' nodes[1] (id 'ask')"
    assert_words(problem.message, "input node", "sub-workflow")


def test_main_workflow_may_have_input_nodes() -> None:
    _registry(linear(start(), node("ask", "input", prompt="hi"), workflow_id="main"))


def test_unknown_tool_with_a_tool_registry() -> None:
    doc = linear(
        start(),
        tool("t", "nope"),
        node("t2", "tool", tool="echo", options={"compensate": {"tool": "undo"}}),
    )
    found = _registry_problems(doc, tools=True)
    assert [p.location for p in found] == [
        "workflow 'wf' nodes[1] (id 't').params.tool",
        "workflow 'wf' nodes[2] (id 't2').compensate.tool",
    ]
    assert_words(found[0].message, "unknown tool 'nope'", "echo")
    assert_words(found[1].message, "unknown tool 'undo'")


def test_unknown_tool_without_a_tool_registry_is_not_checked() -> None:
    _registry(linear(start(), tool("t", "nope")))


def test_two_workflows_with_one_id() -> None:
    (problem,) = _registry_problems(
        linear(start(), workflow_id="a"), linear(start(), workflow_id="a")
    )
    assert problem.location == "workflow 'a'"
    assert_words(problem.message, "two workflows")


def test_empty_registry() -> None:
    with pytest.raises(WorkflowInvalid):
        WorkflowRegistry([])


# --------------------------------------------------------------------------- fixtures

FLOW = linear(start(), tool("t"), end())


def _fixture_problems(doc: Any, base: Path = Path("/nonexistent")) -> tuple[Problem, ...]:
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data(doc, source="f.yaml", base=base)
    assert info.value.problems
    assert str(info.value).startswith("f.yaml: ")
    return info.value.problems


def test_fixture_expect_errors_names_an_unknown_node() -> None:
    doc = {
        "workflow": FLOW,
        "cases": [{"name": "a", "expect": {"errors": [{"node": "ghost", "code": "X"}]}}],
    }
    (problem,) = _fixture_problems(doc)
    assert problem.location == "cases[0] (a).expect.errors[0].node"
    assert_words(problem.message, "'ghost'", "top-level node", "'wf'")


def test_fixture_expect_errors_may_name_pseudo_nodes_and_top_level_nodes() -> None:
    errors = [
        {"node": "$variables", "code": "EXPRESSION_ERROR"},
        {"node": "$outputs", "code": "EXPRESSION_ERROR"},
        {"node": "t", "code": "X"},
    ]
    fixture = fixture_from_data(
        {"workflow": FLOW, "cases": [{"name": "a", "expect": {"errors": errors}}]},
        source="f",
        base=Path("."),
    )
    assert fixture.case("a").expect is not None


def test_fixture_expect_errors_may_name_body_nodes_but_not_unknown_ones() -> None:
    """A body node's compensation can fail (COMPENSATION_FAILED names it), so body nodes are
    accepted; a node the workflow does not have is not."""
    flow = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), tool("x", parent="L")],
        ["start -> L", "ls -> x"],
    )
    errors = [{"node": "x", "code": "COMPENSATION_FAILED"}, {"node": "nope", "code": "X"}]
    doc = {"workflow": flow, "cases": [{"name": "a", "expect": {"errors": errors}}]}
    (problem,) = _fixture_problems(doc)
    assert problem.location == "cases[0] (a).expect.errors[1].node"
    assert_words(problem.message, "'nope'")


def test_fixture_duplicate_case_names() -> None:
    (problem,) = _fixture_problems({"workflow": FLOW, "cases": [{"name": "a"}, {"name": "a"}]})
    assert problem.location.startswith("cases")
    assert_words(problem.message, "'a'", "twice")


def test_fixture_needs_a_case() -> None:
    (problem,) = _fixture_problems({"workflow": FLOW, "cases": []})
    assert problem.location == "cases"
    assert_words(problem.message, "at least one case")


def test_fixture_workflow_path_that_does_not_exist(tmp_path: Path) -> None:
    (problem,) = _fixture_problems(
        {"workflow": "nope/flow.json", "cases": [{"name": "a"}]}, base=tmp_path
    )
    assert problem.location == "workflow"
    assert_words(problem.message, "nope/flow.json", "no such file")


def test_fixture_file_with_missing_workflow_path(tmp_path: Path) -> None:
    path = write(tmp_path / "f.yaml", {"workflow": "missing.yaml", "cases": [{"name": "a"}]})
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(path)
    assert_words(str(info.value), str(path), "workflow", "missing.yaml", "no such file")


def test_fixture_workflow_path_with_invalid_workflow(tmp_path: Path) -> None:
    write(tmp_path / "flows" / "bad.json", linear(start(), transform("a", "{{ loop.index }}")))
    path = write(tmp_path / "f.yaml", {"workflow": "flows/bad.json", "cases": [{"name": "a"}]})
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(path)
    (problem,) = info.value.problems
    assert problem.location == "workflow (flows/bad.json) nodes[1] (id 'a').params.value"
    assert_words(problem.message, "'loop'")


def test_fixture_inline_workflow_problem_is_located_under_workflow() -> None:
    doc = {
        "workflow": linear(start(), transform("a", "{{ loop.index }}")),
        "cases": [{"name": "a"}],
    }
    (problem,) = _fixture_problems(doc)
    assert problem.location == "workflow.nodes[1] (id 'a').params.value"


def test_fixture_extra_workflow_problem_is_located_under_workflows() -> None:
    doc = {
        "workflow": MAIN,
        "workflows": [linear(start(), workflow_id="child", outputs={"x": "{{ loop }}"})],
        "cases": [{"name": "a"}],
    }
    (problem,) = _fixture_problems(doc)
    assert problem.location == "workflows[0].outputs.x"


def test_fixture_subworkflow_naming_an_unknown_workflow() -> None:
    (problem,) = _fixture_problems({"workflow": MAIN, "cases": [{"name": "a"}]})
    assert_words(problem.location, "workflow 'main'", "params.workflow")
    assert_words(problem.message, "unknown workflow 'child'")


def test_fixture_unknown_tool_with_a_tool_registry() -> None:
    doc = {"workflow": linear(start(), tool("t", "nope")), "cases": [{"name": "a"}]}
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data(doc, source="f.yaml", base=Path("."), tools=builtin_registry())
    (problem,) = info.value.problems
    assert_words(problem.message, "unknown tool 'nope'")


@pytest.mark.parametrize(
    ("case", "location"),
    [
        ({"name": "a", "inptus": {}}, "cases[0].inptus"),
        ({"name": "a", "expect": {"status": "done"}}, "cases[0].expect.status"),
        ({"name": "a", "expect": {"errors": [{"node": "t"}]}}, "cases[0].expect.errors[0].code"),
        ({"inputs": {}}, "cases[0].name"),
    ],
)
def test_fixture_case_shape(case: dict[str, Any], location: str) -> None:
    (problem,) = _fixture_problems({"workflow": FLOW, "cases": [case]})
    assert problem.location == location


def test_fixture_that_is_not_a_mapping() -> None:
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data([1], source="f.yaml", base=Path("."))
    assert_words(str(info.value), "mapping", "list")
