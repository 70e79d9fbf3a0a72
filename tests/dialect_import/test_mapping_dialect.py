"""Mapping files (the generic dialect) and fixture entries naming a foreign flow, on
hand-built documents (no ../shared)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from engines.documents import load_fixture
from engines.documents.dialects import DialectOptions, MappingInvalid, resolve_dialect
from engines.documents.dialects.mapping_file import load_mapping
from engines.documents.load import dialect_context, load_workflow
from engines.errors import DocumentError, FixtureInvalid, WorkflowInvalid

MAPPING: dict[str, Any] = {
    "dialect": "toy",
    "kind": ["data.kind"],
    "ignore": ["note"],
    "edges": {"target_input": "targetHandle"},
    "nodes": {
        "Ask": {"type": "transform", "params": {"value": "{{ inputs.text }}"}},
        "Shout": {
            "type": "tool",
            "name": "data.title",
            "params": {"tool": {"$bind": "shout"}, "args": {"text": {"$wired": "text"}}},
        },
        "Say": {
            "type": "end",
            "params": {
                "outputs": {
                    "said": {"$text": "data.template", "placeholders": "single-brace"},
                    "size": {"$field": "data.size", "default": 0},
                }
            },
        },
    },
}


def toy_flow(template: str = "{said}!") -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "a", "type": "x", "data": {"kind": "Ask"}},
            {"id": "b", "type": "x", "data": {"kind": "Shout", "title": "Loud"}},
            {"id": "c", "type": "x", "data": {"kind": "Say", "template": template}},
            {"id": "n", "type": "x", "data": {"kind": "note"}},
        ],
        "edges": [
            {"source": "a", "target": "b", "targetHandle": "text"},
            {"source": "b", "target": "c", "targetHandle": "said"},
        ],
        "viewport": {},
    }


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_mapping_file_maps_kinds_wires_and_placeholders(tmp_path: Path) -> None:
    dialect = resolve_dialect(str(write(tmp_path, "toy.yaml", MAPPING)))
    imported = dialect.convert(
        toy_flow(), default_id="toy", options=DialectOptions({"shout": "upper"})
    )
    nodes = {n["id"]: n for n in imported.document["nodes"]}
    assert nodes["start"]["type"] == "start"
    assert nodes["b"] == {
        "id": "b",
        "type": "tool",
        "name": "Loud",
        "params": {"tool": "upper", "args": {"text": "{{ nodes['a'].output }}"}},
    }
    assert nodes["c"]["params"]["outputs"] == {"said": "{{ nodes['b'].output }}!", "size": 0}
    assert "n" not in nodes
    assert "ignored n (note)" in "\n".join(imported.report_lines())
    assert {"source": "start", "target": "a"} in imported.document["edges"]


def test_unwired_placeholder_and_unknown_kind_are_refused(tmp_path: Path) -> None:
    dialect = resolve_dialect(str(write(tmp_path, "toy.yaml", MAPPING)))
    doc = toy_flow("{missing}")
    doc["nodes"].append({"id": "z", "type": "x", "data": {"kind": "Paint"}})
    with pytest.raises(WorkflowInvalid) as info:
        dialect.convert(doc, default_id="toy", options=DialectOptions())
    lines = [str(p) for p in info.value.problems]
    assert len(lines) == 2
    assert any("node 'c' (Say)" in x and "{missing}" in x and "not wired" in x for x in lines)
    assert any("node 'z' (Paint)" in x and "no rule for this kind" in x for x in lines)


@pytest.mark.parametrize(
    ("change", "place", "words"),
    [
        ({"nodes": {"A": {"type": "paint"}}}, "nodes.A.type", "start"),
        (
            {"nodes": {"A": {"type": "transform", "params": {"value": {"$feld": "x"}}}}},
            "nodes.A.params",
            "$field",
        ),
        (
            {"nodes": {"A": {"type": "end", "params": {"v": {"$wired": "x", "oops": 1}}}}},
            "nodes.A.params",
            "oops",
        ),
        ({"colour": "red"}, "colour", ""),
    ],
)
def test_mapping_file_errors_name_the_file_and_place(
    tmp_path: Path, change: dict[str, Any], place: str, words: str
) -> None:
    path = write(tmp_path, "bad.yaml", {**MAPPING, **change})
    with pytest.raises(MappingInvalid) as info:
        load_mapping(path)
    assert info.value.source == str(path)
    assert any(p.location.startswith(place) and words in p.message for p in info.value.problems), [
        str(p) for p in info.value.problems
    ]


def test_unknown_dialect_name_is_refused() -> None:
    with pytest.raises(DocumentError) as info:
        resolve_dialect("flowwise")
    assert "unknown dialect" in str(info.value) and "flowise-agentflow-v2" in str(info.value)


def test_dialect_context_reads_a_flow_with_a_mapping(tmp_path: Path) -> None:
    flow = tmp_path / "toy.json"
    flow.write_text(json.dumps(toy_flow()), encoding="utf-8")
    with pytest.raises(WorkflowInvalid):
        load_workflow(flow)  # no built-in dialect: unknown node types
    with dialect_context(str(write(tmp_path, "toy.yaml", MAPPING)), {"shout": "upper"}):
        validated = load_workflow(flow)
    assert validated.workflow.node("b").params.tool == "upper"  # type: ignore[attr-defined]


def test_fixture_entry_with_a_mapping_runs_its_cases(tmp_path: Path) -> None:
    write(tmp_path, "toy.yaml", MAPPING)
    (tmp_path / "toy.json").write_text(json.dumps(toy_flow()), encoding="utf-8")
    fixture_doc = {
        "workflow": {"file": "toy.json", "mapping": "toy.yaml", "bind": {"shout": "upper"}},
        "cases": [{"name": "loud", "inputs": {"text": "hi"}}],
    }
    fixture = load_fixture(write(tmp_path, "fixture.yaml", fixture_doc))
    assert fixture.workflow.id == "toy"
    assert {n.id for n in fixture.workflow.workflow.nodes} == {"start", "a", "b", "c"}


def test_fixture_entry_errors_are_located(tmp_path: Path) -> None:
    (tmp_path / "toy.json").write_text(json.dumps(toy_flow()), encoding="utf-8")
    both = {"file": "toy.json", "mapping": "m.yaml", "dialect": "flowise-agentflow-v2"}
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(write(tmp_path, "f.yaml", {"workflow": both, "cases": [{"name": "x"}]}))
    assert "not both" in str(info.value)
    outside = {"file": "../elsewhere.json", "dialect": "flowise-agentflow-v2"}
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(write(tmp_path, "g.yaml", {"workflow": outside, "cases": [{"name": "x"}]}))
    assert info.value.problems[0].location == "workflow.file"
    assert "outside" in info.value.problems[0].message
