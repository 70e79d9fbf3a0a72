"""`compat fuzz --invalid`: inputs are deterministic for a seed and use every mutation; the
real entry points give no finding; a broken entry point (raising, hanging, killing its
worker) is reported as such, with a reproducer; the rule for "names the place" judges
what it should; and the reader bugs the fuzzer found stay fixed."""

from __future__ import annotations

import pickle
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from invalid_broken import setup_hanging, setup_raising

from compat.adhoc import load_target
from compat.fuzz import invalid_checks
from compat.fuzz.invalid import (
    CATEGORIES,
    ENTRY_POINTS,
    InvalidOptions,
    render_invalid,
    run_invalid,
    save_findings,
)
from compat.fuzz.invalid_checks import (
    DATA_SOURCE,
    judge_cli,
    run_cli,
    unplaced,
)
from compat.fuzz.invalid_seeds import seed_documents, support_files
from compat.fuzz.mutations import RANDOM_ORIGINS, make_input
from compat.validation import check_file
from engines.documents import fixture_from_data, read_document, workflow_from_data
from engines.errors import ConfigError, DocumentError, FixtureInvalid, Problem, WorkflowInvalid
from engines.model import validate_workflow
from engines.tools import builtin_registry

# --------------------------------------------------------------------------- inputs


def test_every_seed_is_valid(tmp_path: Path) -> None:
    """Mutations start from valid documents, so what they break is what they changed."""
    folder = tmp_path / "work"
    support_files(folder)
    seeds = seed_documents(random.Random(0))
    assert {s.kind for s in seeds} == {"workflow", "fixture", "reactflow"}
    for seed in seeds:
        if seed.kind == "workflow":
            validate_workflow(seed.document)
        elif seed.kind == "reactflow":
            workflow_from_data(seed.document, source="seed", default_id="seed")
        else:
            fixture_from_data(seed.document, source="seed", base=folder, tools=builtin_registry())
    node_types = {n["type"] for s in seeds if s.kind == "workflow" for n in s.document["nodes"]}
    assert len(node_types) == 13


def test_inputs_are_made_again_alike_and_use_every_mutation() -> None:
    first = [make_input(7, index) for index in range(1000)]
    again = [make_input(7, index) for index in (0, 99, 999)]
    assert [pickle.dumps(i) for i in again] == [pickle.dumps(first[i]) for i in (0, 99, 999)]
    assert [i.raw for i in first[:50]] != [make_input(8, i).raw for i in range(50)]
    used = Counter(m for item in first for m in item.mutations)
    used.update(item.origin for item in first if item.origin in RANDOM_ORIGINS)
    assert {c: used[c] for c in CATEGORIES if not used[c]} == {}
    assert set(used) <= set(CATEGORIES)
    assert any(item.has_data for item in first) and any(not item.has_data for item in first)


# --------------------------------------------------------------------------- the real code


def test_the_real_entry_points_give_no_finding_and_the_same_report_twice() -> None:
    options = InvalidOptions(examples=80, seed=3, cli_every=0)
    seen: list[tuple[int, int]] = []
    report = run_invalid(options, progress=lambda done, found: seen.append((done, found)))
    assert report.findings == [], "\n".join(render_invalid(report))
    assert report.ok and report.inputs == 80 and seen[-1] == (80, 0)
    data = sum(report.entries[e].tried for e in invalid_checks.DATA_ENTRIES)
    assert data > 0 and report.entries["import_reactflow"].tried == data // 4
    assert sum(c.refused for c in report.entries.values()) > 0
    assert set(report.entries) == set(ENTRY_POINTS)
    again = run_invalid(replace(options, workers=2))
    assert replace(again, seconds=0) == replace(report, seconds=0)
    lines = render_invalid(report)
    assert lines[0].startswith("compat fuzz --invalid: 80 inputs in ")
    assert lines[-1].startswith("no findings")


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        InvalidOptions(timeout=0)
    with pytest.raises(ConfigError, match="examples"):
        InvalidOptions(examples=0)


# --------------------------------------------------------------------------- broken targets
# The setups (tests/fuzz/invalid_broken.py) replace an entry point in the worker process.


def test_an_entry_point_that_raises_is_a_traceback_with_a_reproducer(tmp_path: Path) -> None:
    report = run_invalid(InvalidOptions(examples=20, seed=1, cli_every=0), setup=setup_raising)
    (finding,) = report.findings
    assert (finding.kind, finding.entry) == ("traceback", "validate_workflow")
    assert finding.detail == "KeyError: 'boom' (at invalid_broken.py:16 in _raising)"
    assert finding.count == report.entries["validate_workflow"].tried > 1
    assert report.entries["validate_workflow"].findings == finding.count
    assert any(
        line.startswith("  [traceback] validate_workflow, input ")
        for line in render_invalid(report)
    )
    written = save_findings(report, tmp_path / "found")
    assert {p.suffix for p in written} >= {".txt", ".py"}
    namespace: dict[str, Any] = {}
    exec(next(p for p in written if p.name.endswith(".data.py")).read_text(), namespace)
    assert repr(namespace["DATA"]) == repr(make_input(1, finding.index).data)
    if finding.raw is not None:
        assert next(p for p in written if p.suffix == finding.suffix).read_bytes() == finding.raw


def test_an_entry_point_that_hangs_or_exits_is_named_and_the_run_goes_on() -> None:
    options = InvalidOptions(examples=1, seed=0, timeout=1.0, cli_every=0)
    report = run_invalid(options, setup=setup_hanging)
    data = report.entries["validate_workflow"].tried
    assert data == 1, "seed 0 starts with a data input"
    kinds = {(f.kind, f.entry, f.count) for f in report.findings}
    assert kinds == {("hang", "fixture_from_data", data), ("crash", "import_reactflow", data)}
    hang = next(f for f in report.findings if f.kind == "hang")
    assert hang.detail == "no answer within 1 s"
    crash = next(f for f in report.findings if f.kind == "crash")
    assert "exited with code 7" in crash.detail
    assert report.inputs == 1  # and every other entry point still judged it:
    counts = [report.entries[e] for e in ("validate_workflow", "workflow_from_data")]
    counts += [report.entries[e] for e in invalid_checks.FILE_ENTRIES if report.entries[e].tried]
    assert len(counts) == 3 and all(c.accepted + c.refused == c.tried == 1 for c in counts)


# --------------------------------------------------------------------------- the rule


def test_a_problem_without_a_location_is_unplaced_unless_about_the_whole_document() -> None:
    def whole(doc: Any) -> Any:
        return lambda: doc

    bare = WorkflowInvalid([Problem("", "something is wrong")], DATA_SOURCE)
    assert unplaced("validate_workflow", bare, DATA_SOURCE, whole({"id": "x"}))
    assert unplaced("validate_workflow", bare, DATA_SOURCE, whole([1])) is None
    assert unplaced("workflow_from_data", bare, DATA_SOURCE, whole({"cases": []})) is None
    assert unplaced("import_reactflow", bare, None, whole({"id": "x"})) is None
    placed = FixtureInvalid([Problem("cases[0].name", "must not be empty")], DATA_SOURCE)
    assert unplaced("fixture_from_data", placed, DATA_SOURCE, whole({})) is None
    assert "names source" in unplaced("fixture_from_data", placed, "f.yaml", whole({}))
    assert unplaced("fixture_from_data", FixtureInvalid([], DATA_SOURCE), DATA_SOURCE, whole({}))
    parse = DocumentError("f.yaml", "not valid YAML: something (line 2, column 3)")
    assert unplaced("read_document", parse, "f.yaml", whole(None)) is None
    lineless = DocumentError("f.yaml", "not valid YAML: something")
    assert "without a line" in unplaced("read_document", lineless, "f.yaml", whole(None))
    assert (
        unplaced("read_document", DocumentError("f.yaml", "no such file"), "f.yaml", whole(None))
        is None
    )


def test_the_command_line_is_judged_by_its_exit_code_and_lines() -> None:
    name = "input.yaml"
    assert judge_cli("run", name, 2, "", f"compat: {name}: nodes: missing\n").verdict == "refused"
    assert judge_cli("run", name, 1, "failed\n", "").verdict == "accepted"
    assert (
        judge_cli("run", name, 3, "", "compat: internal error: KeyError\n").verdict == "traceback"
    )
    assert (
        judge_cli("check", name, 2, "", "Traceback (most recent call last):\n").verdict
        == "traceback"
    )
    assert judge_cli("check", name, 2, "", "compat: a\ncompat: b\n").verdict == "unplaced"
    assert judge_cli("check", name, 2, "", "compat: nodes: missing\n").verdict == "unplaced"
    assert judge_cli("validate", name, 1, "", "").verdict == "traceback"
    ok = judge_cli(
        "validate", name, 2, f"{name}: id: missing\n", "compat: 1 of 1 documents invalid\n"
    )
    assert ok.verdict == "refused"
    assert judge_cli("validate", name, 2, "id: missing\n", "compat: 1 of 1\n").verdict == "unplaced"


def test_the_real_command_line_refuses_a_broken_document(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    support_files(folder)
    item = next(
        make_input(0, i) for i in range(100) if make_input(0, i).mutations[-1:] == ("truncate",)
    )
    outcome = run_cli(folder, item, "validate", timeout=60)
    assert (outcome.verdict, outcome.detail) == ("refused", "")


# --------------------------------------------------------------------------- what it found


def test_a_yaml_value_its_tag_refuses_is_named_by_line(tmp_path: Path) -> None:
    cases = [
        ("id: !!int 0b\n", "an invalid int"),
        ("id: 2001-13-45\n", "an invalid timestamp"),
        ("id: !!timestamp x\n", "an invalid timestamp"),
    ]
    for text, what in cases:
        path = tmp_path / "tagged.yaml"
        path.write_text(text)
        with pytest.raises(DocumentError, match=f"{what}.*\\(line 1, column 5\\)"):
            read_document(path)


def test_a_character_yaml_does_not_allow_is_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_text("id: a\nname: b\x00c\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert (
        info.value.detail
        == "not valid YAML: a character YAML does not allow (#x0000) (line 2, column 8)"
    )


def test_an_empty_key_is_named() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow({"id": "x", "nodes": [{"id": "s", "type": "start", "": 1}], " ": 2})
    assert [p.location for p in info.value.problems] == ["nodes[0] (id 's').''", "' '"]


def test_a_workflow_path_holding_nul_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "fixture.yaml"
    path.write_text('workflow: "flow.yaml\\0"\ncases: [{name: a}]\n')
    report = check_file(path, None)
    assert report.problems == [f"{path}: workflow: a workflow path cannot hold a NUL character"]


def test_a_key_that_looks_like_a_pydantic_union_member_is_named() -> None:
    values = {"str": "{{"}
    doc = {"id": "x", "nodes": [{"id": "s", "type": "start"}, {"id": "t", "type": "set"}]}
    doc["nodes"][1]["params"] = {"values": values}
    doc["a[0]"] = 1
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(doc)
    locations = [p.location for p in info.value.problems]
    assert locations == ["nodes[1] (id 't').params.values.str", "a[0]"]
    fixture = {"workflow": "flow.yaml", "cases": [{"name": "a"}], "[1]": 2}
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data(fixture, source="f.yaml", base=Path("."))
    assert [p.location for p in info.value.problems] == ["[1]"]


def test_run_names_the_file_of_a_workflow_calling_an_unknown_sub_workflow(tmp_path: Path) -> None:
    path = tmp_path / "calls.yaml"
    path.write_text(
        "id: w\nnodes: [{id: s, type: start}, {id: c, type: subworkflow, "
        "params: {workflow: child}}]\nedges: [{source: s, target: c}]\n"
    )
    with pytest.raises(WorkflowInvalid) as info:
        load_target(path, builtin_registry())
    assert str(info.value) == (
        f"{path}: workflow 'w' nodes[1] (id 'c').params.workflow: "
        "unknown workflow 'child' (known: w)"
    )
