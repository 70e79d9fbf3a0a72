"""Documents: format detection, loading, content hashes, fixtures loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    assert_words,
    linear,
    rf_edge,
    rf_flow,
    rf_node,
    start,
    transform,
    write,
)

from engines.documents import (
    DocumentKind,
    document_kind,
    is_reactflow,
    load_fixture,
    load_workflow,
    read_document,
    workflow_from_data,
)
from engines.errors import FixtureInvalid, InvalidDocument, WorkflowInvalid
from engines.model import validate_workflow

# --------------------------------------------------------------------------- detection


NATIVE = linear(start(), transform("a", "{{ inputs.x }}"), workflow_id="native")


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        (NATIVE, DocumentKind.NATIVE),
        (rf_flow([rf_node("s", "start", {})], []), DocumentKind.REACTFLOW),
        (
            {"nodes": [{"id": "s", "type": "start", "data": {}}], "edges": []},
            DocumentKind.REACTFLOW,
        ),
        (
            {"nodes": [{"id": "s", "type": "start", "position": {"x": 0, "y": 0}}]},
            DocumentKind.REACTFLOW,
        ),
        ({"nodes": [], "edges": [], "viewport": {}}, DocumentKind.REACTFLOW),
        ({"workflow": "flow.json", "cases": [{"name": "a"}]}, DocumentKind.FIXTURE),
        ({"workflow": NATIVE}, DocumentKind.FIXTURE),
        ({"cases": []}, DocumentKind.FIXTURE),
        ({"hello": 1}, None),
        ([1, 2], None),
        ("text", None),
        (None, None),
    ],
)
def test_document_kind(doc: Any, kind: DocumentKind | None) -> None:
    assert document_kind(doc) is kind


def test_native_workflow_is_not_reactflow() -> None:
    assert not is_reactflow(NATIVE)


def test_workflow_from_data_refuses_a_fixture() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        workflow_from_data({"workflow": NATIVE, "cases": []}, source="x", default_id="x")
    assert_words(str(info.value), "fixture, not a workflow")


def test_load_workflow_reads_native_yaml_and_reactflow_json(tmp_path: Path) -> None:
    native = load_workflow(write(tmp_path / "n.yaml", NATIVE))
    assert native.id == "native"
    rf = load_workflow(write(tmp_path / "r.json", rf_flow([rf_node("s", "start", {})], [])))
    assert rf.id == "r"


def test_load_workflow_reports_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", linear(start(), transform("a", "{{ loop.index }}")))
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    assert info.value.source == str(path)
    assert info.value.lines()[0].startswith(f"{path}: nodes[1] (id 'a')")


def test_other_suffix_is_read_as_json_then_yaml(tmp_path: Path) -> None:
    assert read_document(write(tmp_path / "a.flow", '{"a": [1]}')) == {"a": [1]}
    assert read_document(write(tmp_path / "b.txt", "a:\n  - 1\n")) == {"a": [1]}


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes('\ufeff{"a": "é"}'.encode())
    assert read_document(path) == {"a": "é"}


def test_fixture_workflow_path_may_be_reactflow(tmp_path: Path) -> None:
    write(
        tmp_path / "flows" / "canvas.json",
        rf_flow(
            [rf_node("s", "start", {}), rf_node("t", "tool", {"tool": "echo"})], [rf_edge("s", "t")]
        ),
    )
    path = write(
        tmp_path / "f.yaml",
        {"workflow": "flows/canvas.json", "cases": [{"name": "one", "inputs": {"a": 1}}]},
    )
    fixture = load_fixture(path)
    assert fixture.workflow.id == "canvas"
    assert fixture.files == ((tmp_path / "flows" / "canvas.json").resolve(),)
    assert fixture.case("one").inputs == {"a": 1}
    with pytest.raises(FixtureInvalid, match="no case named 'two'"):
        fixture.case("two")


def test_fixture_reactflow_problem_is_located_in_reactflow_terms(tmp_path: Path) -> None:
    write(
        tmp_path / "canvas.json",
        rf_flow(
            [rf_node("s", "start", {}), rf_node("t", "tool", {"tool": "echo", "x": 1})],
            [rf_edge("s", "t")],
        ),
    )
    path = write(tmp_path / "f.yaml", {"workflow": "canvas.json", "cases": [{"name": "a"}]})
    with pytest.raises(InvalidDocument) as info:
        load_fixture(path)
    (problem,) = info.value.problems
    assert problem.location == "workflow (canvas.json) nodes[1] (id 't').data.x"


# --------------------------------------------------------------------------- content hash


def _native_doc() -> dict[str, Any]:
    return {
        "id": "same",
        "name": "Same",
        "variables": {"v": "{{ inputs.v }}"},
        "nodes": [
            {"id": "s", "type": "start"},
            {"id": "c", "type": "condition", "params": {"expression": "inputs.v > 1"}},
            {
                "id": "t",
                "type": "tool",
                "name": "Echo",
                "params": {"tool": "echo", "args": {"b": 2, "a": [1, {"y": 1, "x": 2}]}},
                "retry": {"max_attempts": 2},
            },
            {"id": "e", "type": "end", "params": {"outputs": {"r": "{{ nodes.t.output }}"}}},
        ],
        "edges": [
            {"source": "s", "target": "c"},
            {"source": "c", "target": "t", "handle": "true"},
            {"source": "t", "target": "e"},
        ],
    }


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _as_reactflow(doc: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    for i, n in enumerate(doc["nodes"]):
        data: dict[str, Any] = dict(n.get("params", {}))
        if "name" in n:
            data["label"] = n["name"]
        for option in ("retry", "timeout", "compensate", "idempotency_key"):
            if option in n:
                data[option] = n[option]
        data["type"] = n["type"]
        nodes.append(
            {
                "width": 100,
                "height": 40,
                "data": _reordered(data),
                "position": {"x": i * 50, "y": 0},
                "type": "custom",
                "id": n["id"],
                "selected": False,
            }
        )
    edges = [
        {
            "targetHandle": None,
            "target": e["target"],
            "source": e["source"],
            "sourceHandle": e.get("handle"),
            "animated": False,
        }
        for e in doc["edges"]
    ]
    return {
        "viewport": {"x": 0, "y": 0, "zoom": 1.5},
        "edges": edges,
        "nodes": nodes,
        "variables": doc["variables"],
        "name": doc["name"],
        "id": doc["id"],
    }


def test_content_hash_is_equal_across_formats_and_key_orders(tmp_path: Path) -> None:
    doc = _native_doc()
    json_path = tmp_path / "a.json"
    json_path.write_text(json.dumps(doc, indent=4), encoding="utf-8")
    yaml_path = tmp_path / "b.yaml"
    yaml_path.write_text(yaml.safe_dump(_reordered(doc), sort_keys=False), encoding="utf-8")
    rf_path = tmp_path / "c.json"
    rf_path.write_text(json.dumps(_as_reactflow(doc), separators=(",", ":")), encoding="utf-8")
    hashes = {load_workflow(p).content_hash for p in (json_path, yaml_path, rf_path)}
    assert len(hashes) == 1
    assert len(next(iter(hashes))) == 64


def test_content_hash_ignores_explicit_defaults() -> None:
    plain = _native_doc()
    explicit = _native_doc()
    explicit["version"] = 1
    explicit["edges"][0]["handle"] = "out"
    explicit["nodes"][2]["params"]["args"] = plain["nodes"][2]["params"]["args"]
    assert validate_workflow(plain).content_hash == validate_workflow(explicit).content_hash


def test_content_hash_changes_with_the_workflow() -> None:
    base = validate_workflow(_native_doc()).content_hash
    changed = _native_doc()
    changed["nodes"][1]["params"]["expression"] = "inputs.v > 2"
    assert validate_workflow(changed).content_hash != base
    renamed = _native_doc()
    renamed["nodes"][2]["name"] = "Other"
    assert validate_workflow(renamed).content_hash != base


def test_to_document_round_trips() -> None:
    validated = validate_workflow(_native_doc())
    again = validate_workflow(validated.workflow.to_document())
    assert again.content_hash == validated.content_hash
    assert again.workflow == validated.workflow


_DEFAULTED = {
    "tool without args": {"id": "t", "type": "tool", "params": {"tool": "echo"}},
    "loop without max_iterations": {
        "id": "t",
        "type": "loop",
        "params": {"mode": "for", "count": 1},
    },
    "parallel without max_concurrency": {
        "id": "t",
        "type": "parallel",
        "params": {"mode": "count", "count": 1},
    },
    "fail without message": {"id": "t", "type": "fail", "params": {"code": "X"}},
    "input without prompt": {"id": "t", "type": "input"},
    "subworkflow without inputs": {"id": "t", "type": "subworkflow", "params": {"workflow": "w"}},
    "compensation without args": {
        "id": "t",
        "type": "tool",
        "params": {"tool": "echo", "args": {}},
        "compensate": {"tool": "echo"},
    },
}


def _defaulted(node: dict[str, Any]) -> dict[str, Any]:
    nodes = [{"id": "s", "type": "start"}, node]
    if node["type"] in ("loop", "parallel"):
        nodes.append({"id": "body", "type": "start", "parent": "t"})
    return {"id": "w", "nodes": nodes, "edges": [{"source": "s", "target": "t"}]}


@pytest.mark.parametrize("case", sorted(_DEFAULTED))
def test_content_hash_of_workflows_relying_on_defaults(case: str) -> None:
    """Most real workflows leave optional params out; their hash and native document must
    still be computable, and equal to those of the same workflow with the defaults given."""
    validated = validate_workflow(_defaulted(_DEFAULTED[case]))
    document = validated.workflow.to_document()
    assert validate_workflow(document).content_hash == validated.content_hash


def test_defaulted_params_are_templates_like_given_ones() -> None:
    """Engines render params (`max_iterations`, `message`, `prompt`, `args`, `inputs`)
    whether the author wrote them or not: a default must be the same kind of object as a
    value given explicitly."""
    scope: dict[str, Any] = {"inputs": {}, "vars": {}, "nodes": {}, "env": {}}
    checks = {
        "loop without max_iterations": ("max_iterations", 1000),
        "parallel without max_concurrency": ("max_concurrency", 10),
        "fail without message": ("message", ""),
        "input without prompt": ("prompt", ""),
        "tool without args": ("args", {}),
        "subworkflow without inputs": ("inputs", {}),
    }
    for case, (field, value) in checks.items():
        node = validate_workflow(_defaulted(_DEFAULTED[case])).workflow.node("t")
        param = getattr(node.params, field)  # type: ignore[attr-defined]
        assert hasattr(param, "render"), f"{case}: params.{field} is {param!r}"
        assert param.render(scope) == value
