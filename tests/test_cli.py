"""`compat validate`, run as the real console script in a subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli_support import compat
from conftest import (
    assert_words,
    end,
    linear,
    loop_for,
    node,
    start,
    tool,
    transform,
    workflow,
    write,
)

GOOD = linear(start(), transform("a", "{{ inputs.x }}"), end(), workflow_id="good")
BAD = linear(
    start(), transform("a", "{{ loop.index }}"), transform("b", "{{ nodes.zz }}"), workflow_id="bad"
)


def fixture(workflow_entry: Any, *cases: str) -> dict[str, Any]:
    return {"workflow": workflow_entry, "cases": [{"name": c} for c in cases or ("one",)]}


# --------------------------------------------------------------------------- valid


def test_valid_workflow_exits_0_with_a_summary(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    run = compat("validate", "good.yaml", cwd=tmp_path)
    assert run.code == 0, run
    assert run.lines == ["good.yaml: ok (workflow 'good', 3 nodes, 2 edges)"]
    assert run.err == ""


def test_valid_fixture_summary_counts_workflows_nodes_edges_and_cases(tmp_path: Path) -> None:
    child = linear(start(), transform("c"), workflow_id="child")
    main = linear(start(), node("sub", "subworkflow", workflow="child"), end(), workflow_id="main")
    doc = fixture(main, "one", "two", "three") | {"workflows": [child]}
    write(tmp_path / "fx.yaml", doc)
    run = compat("validate", "fx.yaml", cwd=tmp_path)
    assert run.code == 0, run
    assert run.lines == ["fx.yaml: ok (fixture, 2 workflows, 5 nodes, 3 edges, 3 cases)"]


def test_valid_reactflow_summary(tmp_path: Path) -> None:
    flow = {
        "nodes": [{"id": "s", "type": "start", "data": {}, "position": {"x": 0, "y": 0}}],
        "edges": [],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    }
    write(tmp_path / "canvas.json", flow)
    run = compat("validate", "canvas.json", cwd=tmp_path)
    assert run.code == 0, run
    (line,) = run.lines
    assert line.startswith("canvas.json: ok (")
    assert_words(line, "ReactFlow", "'canvas'", "1 node", "0 edges")


def test_warnings_are_printed_and_do_not_fail(tmp_path: Path) -> None:
    doc = workflow([start(), transform("a"), transform("orphan")], ["start -> a"])
    write(tmp_path / "w.json", doc)
    run = compat("validate", "w.json", cwd=tmp_path)
    assert run.code == 0, run
    assert run.lines[0].startswith("w.json: ok (")
    assert len(run.lines) == 2
    assert_words(run.lines[1], "w.json", "warning", "nodes[2] (id 'orphan')", "dropped")


# --------------------------------------------------------------------------- invalid


def test_invalid_workflow_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    write(tmp_path / "bad.yaml", BAD)
    run = compat("validate", "bad.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert run.lines == [
        "bad.yaml: nodes[1] (id 'a').params.value: uses 'loop', which is only defined inside "
        "a loop body",
        "bad.yaml: nodes[2] (id 'b').params.value: references unknown node 'zz'",
    ]
    assert_words(run.err, "1 of 1 documents invalid")


def test_invalid_json_file_names_file_line_and_column(tmp_path: Path) -> None:
    write(tmp_path / "broken.json", '{"id": "x",\n "nodes": [}\n')
    run = compat("validate", "broken.json", cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.lines
    assert line.startswith("broken.json: ")
    assert_words(line, "not valid JSON", "line 2", "column")


def test_invalid_yaml_file_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "broken.yaml", "id: x\nnodes:\n  - id: a\n   type: start\n")
    run = compat("validate", "broken.yaml", cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.lines
    assert line.startswith("broken.yaml: ")
    assert_words(line, "not valid YAML", "line 4")


def test_document_of_unknown_kind(tmp_path: Path) -> None:
    write(tmp_path / "other.yaml", {"hello": "world"})
    run = compat("validate", "other.yaml", cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.lines
    assert_words(line, "other.yaml", "nodes", "cases", "hello")


def test_invalid_fixture_lines_name_the_fixture_and_the_place(tmp_path: Path) -> None:
    doc = {
        "workflow": GOOD,
        "cases": [
            {"name": "a", "expect": {"errors": [{"node": "ghost", "code": "X"}]}},
            {"name": "b", "inptus": {}},
        ],
    }
    write(tmp_path / "fx.yaml", doc)
    run = compat("validate", "fx.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert run.lines == ["fx.yaml: cases[1].inptus: unknown field"]


def test_unknown_tool_is_reported_with_the_builtin_registry(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", linear(start(), tool("t", "greet"), workflow_id="t"))
    run = compat("validate", "t.yaml", cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.lines
    assert line.startswith("t.yaml: workflow 't' nodes[1] (id 't').params.tool: ")
    assert_words(line, "unknown tool 'greet'", "echo")


def test_good_and_bad_files_are_all_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", GOOD)
    write(tmp_path / "b.json", BAD)
    run = compat("validate", "a.yaml", "b.json", cwd=tmp_path)
    assert run.code == 2, run
    assert run.lines[0].startswith("a.yaml: ok")
    assert len(run.lines) == 3
    assert all(line.startswith("b.json: nodes[") for line in run.lines[1:])
    assert_words(run.err, "1 of 2 documents invalid")


# --------------------------------------------------------------------------- paths


def test_folders_are_walked(tmp_path: Path) -> None:
    write(tmp_path / "flows" / "a.yaml", GOOD)
    write(tmp_path / "flows" / "deep" / "er" / "b.yml", GOOD | {"id": "b"})
    write(tmp_path / "flows" / "c.json", GOOD | {"id": "c"})
    write(tmp_path / "flows" / "notes.md", "# not a document")
    write(tmp_path / "flows" / ".hidden" / "x.yaml", BAD)
    run = compat("validate", "flows", cwd=tmp_path)
    assert run.code == 0, run
    reported = sorted(line.split(":")[0] for line in run.lines)
    assert reported == sorted(
        str(Path(p)) for p in ("flows/a.yaml", "flows/c.json", "flows/deep/er/b.yml")
    )
    assert all(": ok (" in line for line in run.lines)


def test_missing_path_exits_2(tmp_path: Path) -> None:
    run = compat("validate", "nope.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert run.lines == ["nope.yaml: no such file or directory"]


def test_missing_path_beside_a_good_file_still_fails(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    run = compat("validate", "good.yaml", "nope", cwd=tmp_path)
    assert run.code == 2, run
    assert "nope: no such file or directory" in run.lines
    assert any(line.startswith("good.yaml: ok") for line in run.lines)


def test_empty_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = compat("validate", "empty", cwd=tmp_path)
    assert run.code == 2, run
    assert run.out == ""
    assert len(run.err_lines) == 1
    assert_words(run.err, "no documents found")


def test_fixture_workflow_file_in_the_same_walk_is_not_reported_again(tmp_path: Path) -> None:
    write(tmp_path / "suite" / "flows" / "flow.json", GOOD)
    write(tmp_path / "suite" / "fx.yaml", fixture("flows/flow.json", "one", "two"))
    run = compat("validate", "suite", cwd=tmp_path)
    assert run.code == 0, run
    fx = str(Path("suite/fx.yaml"))
    assert run.lines == [f"{fx}: ok (fixture, 1 workflow, 3 nodes, 2 edges, 2 cases)"]


def test_invalid_fixture_workflow_file_in_the_same_walk_is_reported_once(tmp_path: Path) -> None:
    """The file's problem is part of the fixture's answer; the walk must not print it a
    second time under the file's own name (validation.py: files a fixture read "are checked
    as part of that fixture, not again on their own")."""
    write(
        tmp_path / "suite" / "flows" / "flow.json",
        linear(start(), transform("a", "{{ loop.index }}")),
    )
    write(tmp_path / "suite" / "fx.yaml", fixture("flows/flow.json"))
    run = compat("validate", "suite", cwd=tmp_path)
    assert run.code == 2, run
    about_loop = [line for line in run.lines if "uses 'loop'" in line]
    assert len(about_loop) == 1, run.lines
    assert about_loop[0].startswith(str(Path("suite/fx.yaml")) + ": workflow (flows/flow.json)")


def test_fixture_workflow_file_named_explicitly_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "flow.json", GOOD)
    write(tmp_path / "fx.yaml", fixture("flow.json"))
    run = compat("validate", "flow.json", "fx.yaml", cwd=tmp_path)
    assert run.code == 0, run
    assert [line.split(":")[0] for line in run.lines] == ["flow.json", "fx.yaml"]


def test_fixture_with_missing_workflow_file(tmp_path: Path) -> None:
    write(tmp_path / "fx.yaml", fixture("flows/missing.json"))
    run = compat("validate", "fx.yaml", cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.lines
    assert line.startswith("fx.yaml: workflow: ")
    assert_words(line, "flows/missing.json", "no such file")


def test_same_file_named_twice_is_reported_once(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    run = compat("validate", "good.yaml", "./good.yaml", ".", cwd=tmp_path)
    assert run.code == 0, run
    assert len(run.lines) == 1


# --------------------------------------------------------------------------- configuration


def test_config_option_pointing_to_a_missing_file(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    run = compat("validate", "--config", "nope.toml", "good.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert run.out == ""
    assert len(run.err_lines) == 1
    assert_words(run.err, "nope.toml", "no such configuration file")


def test_config_with_an_unknown_key(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    write(tmp_path / "compat.toml", 'tool_modulez = ["x"]\n')
    run = compat("validate", "good.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert len(run.err_lines) == 1
    assert_words(run.err, "compat.toml", "tool_modulez", "unknown field")


def test_config_with_invalid_toml(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    write(tmp_path / "cfg.toml", "env = [\n")
    run = compat("validate", "--config", "cfg.toml", "good.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert len(run.err_lines) == 1
    assert_words(run.err, "cfg.toml", "not valid TOML")


def test_config_tool_modules_register_tools(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "compat.toml", 'tool_modules = ["cli_tools_mod"]\n')
    write(
        project / "cli_tools_mod.py",
        "def register_tools(registry):\n    registry.register('greet', lambda args, ctx: 'hi')\n",
    )
    write(project / "t.yaml", linear(start(), tool("t", "greet"), workflow_id="t"))
    run = compat("validate", "t.yaml", cwd=project)
    assert run.code == 0, run
    assert run.lines == ["t.yaml: ok (workflow 't', 2 nodes, 1 edge)"]
    other = tmp_path / "elsewhere"
    other.mkdir()
    run = compat("validate", "--config", project / "compat.toml", project / "t.yaml", cwd=other)
    assert run.code == 0, run


def test_config_tool_module_that_cannot_be_imported(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    write(tmp_path / "compat.toml", 'tool_modules = ["no_such_module_xyz"]\n')
    run = compat("validate", "good.yaml", cwd=tmp_path)
    assert run.code == 2, run
    assert len(run.err_lines) == 1
    assert_words(run.err, "no_such_module_xyz", "could not be imported")


def test_pyproject_tool_compat_section_is_used(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.compat]\ntool_modules = ["no_such_module_q"]\n')
    write(tmp_path / "sub" / "good.yaml", GOOD)
    run = compat("validate", "good.yaml", cwd=tmp_path / "sub")
    assert run.code == 2, run
    assert_words(run.err, "no_such_module_q")


def test_loop_body_summary_counts_every_node(tmp_path: Path) -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L"), end()],
        ["start -> L", "ls -> x", "L -> end"],
    )
    write(tmp_path / "loop.json", doc)
    run = compat("validate", "loop.json", cwd=tmp_path)
    assert run.code == 0, run
    assert run.lines == ["loop.json: ok (workflow 'wf', 5 nodes, 3 edges)"]
