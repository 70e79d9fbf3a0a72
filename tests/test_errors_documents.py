"""Bad files get one clear message naming the place: JSON/YAML syntax, duplicate keys,
non-JSON literals, missing files and directories (docs/semantics.md §1-§4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    assert_words,
    one_problem,
    write,
)

from compat.validation import check_file
from engines.documents import load_workflow, read_document
from engines.errors import DocumentError, WorkflowInvalid

# --------------------------------------------------------------------------- files


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '{\n  "id": "x",\n  "nodes": [,]\n}\n')
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert str(path) in message
    assert_words(message, "not valid JSON", "line 3", "column 13")


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "id: x\nnodes:\n  - id: a\n   type: start\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert str(path) in message
    assert_words(message, "not valid YAML", "line 4", "column")


def test_unclosed_yaml_flow_sequence_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yml", "id: x\nnodes: [a, b\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "not valid YAML", "line 3")


def test_duplicate_key_in_yaml_names_key_and_line(tmp_path: Path) -> None:
    text = "id: x\nnodes:\n  - id: a\n    type: start\n    type: end\n"
    path = write(tmp_path / "dup.yaml", text)
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "duplicate key 'type'", "line 5")


def test_duplicate_key_in_json_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.json", '{"id": "x", "nodes": [], "id": "y"}')
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), str(path), "duplicate key 'id'")


def test_duplicate_key_in_json_names_the_place(tmp_path: Path) -> None:
    """A duplicate key deep in a JSON file must say where it is (a line, or the path to
    the mapping), as the YAML reader does: `duplicate key 'type'` alone is not enough in a
    file with dozens of nodes."""
    text = (
        '{\n  "id": "x",\n  "nodes": [\n    {"id": "s", "type": "start"},\n'
        '    {"id": "a", "type": "transform", "type": "end"}\n  ]\n}\n'
    )
    path = write(tmp_path / "dup-deep.json", text)
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert_words(message, "duplicate key 'type'")
    assert "line 5" in message or "nodes[1]" in message, message


def test_duplicate_key_in_yaml_workflow_via_load_workflow(tmp_path: Path) -> None:
    path = write(tmp_path / "wf.yaml", "id: a\nid: b\nnodes: []\n")
    with pytest.raises(DocumentError) as info:
        load_workflow(path)
    assert_words(str(info.value), "duplicate key 'id'", "line 2")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "nan.json",
            '{"id": "w", "nodes": [{"id": "s", "type": "start"}, '
            '{"id": "a", "type": "transform", "params": {"value": NaN}}], '
            '"edges": [{"source": "s", "target": "a"}]}',
        ),
        (
            "inf.yaml",
            "id: w\nnodes:\n  - {id: s, type: start}\n"
            "  - {id: a, type: transform, params: {value: .inf}}\n"
            "edges:\n  - {source: s, target: a}\n",
        ),
    ],
)
def test_non_finite_literal_is_not_json_data(tmp_path: Path, name: str, text: str) -> None:
    """Templates are JSON values (§5): NaN/Infinity are not, and a literal one would reach an
    engine's outputs (and be silently turned into null by the content hash)."""
    path = write(tmp_path / name, text)
    with pytest.raises((DocumentError, WorkflowInvalid)) as info:
        load_workflow(path)
    message = str(info.value)
    assert "params.value" in message or "line" in message, message


def test_non_string_key_in_literal_args_is_not_json_data(tmp_path: Path) -> None:
    """YAML allows `{1: x}`; JSON data has string keys only (§5). `set.values` refuses it, so
    must tool args."""
    text = (
        "id: w\nnodes:\n  - {id: s, type: start}\n"
        "  - {id: t, type: tool, params: {tool: echo, args: {1: x}}}\n"
        "edges:\n  - {source: s, target: t}\n"
    )
    path = write(tmp_path / "keys.yaml", text)
    with pytest.raises((DocumentError, WorkflowInvalid)) as info:
        load_workflow(path)
    assert "args" in str(info.value) or "line 4" in str(info.value)


def test_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        read_document(tmp_path / "nope.json")
    assert_words(str(info.value), "nope.json", "no such file")


def test_directory_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        read_document(tmp_path)
    assert_words(str(info.value), "directory")


def test_non_utf8_file_is_a_document_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "UTF-8")


def test_unsafe_yaml_tag_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "evil.yaml", "a: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "not valid YAML", "line 1")


def test_document_that_is_neither_workflow_nor_fixture(tmp_path: Path) -> None:
    path = write(tmp_path / "other.yaml", {"hello": 1, "world": 2})
    with pytest.raises(DocumentError) as info:
        load_workflow(path)
    assert_words(str(info.value), "nodes", "cases", "hello")


def test_workflow_that_is_not_a_mapping() -> None:
    problem = one_problem([1, 2, 3])
    assert_words(problem.message, "mapping", "list")


def test_empty_document_says_so(tmp_path: Path) -> None:
    report = check_file(write(tmp_path / "empty.yaml", ""), None)
    assert not report.ok
    assert report.problems == [f"{tmp_path / 'empty.yaml'}: the document is empty"]


@pytest.mark.parametrize("entry", [1, [], ""])
def test_fixture_workflow_entry_of_the_wrong_kind_is_one_plain_message(
    tmp_path: Path, entry: object
) -> None:
    path = write(tmp_path / "fx.json", {"workflow": entry, "cases": [{"name": "a"}]})
    report = check_file(path, None)
    assert not report.ok
    (line,) = report.problems
    assert_words(line, "fx.json: workflow:", "inline workflow", "path")
    assert "dict[" not in line
