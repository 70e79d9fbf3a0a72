"""`compat check`: every bundled fixture passes on both engines; the JSON report follows its
committed schema; incompatibility, failed golden answers and bad input get the right exit
code; crashing and hanging engines are results, never crashes of the harness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cli_support import compat
from typer.testing import CliRunner

from compat.check import CheckOptions, run_check
from compat.cli import app
from compat.report import CheckReport, report_schema, schema_text
from engines.documents import load_fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SCHEMA = ROOT / "docs" / "report.schema.json"


def invoke(*args: str | Path) -> Any:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("report") / "report.json"
    result = invoke("check", FIXTURES, "--json", out)
    return result.exit_code, json.loads(out.read_text()), result.output


def test_every_bundled_fixture_passes_on_both_engines(
    bundled: tuple[int, dict[str, Any], str],
) -> None:
    code, report, output = bundled
    assert code == 0, output
    assert report["ok"] is True
    files = [*FIXTURES.glob("*.yaml"), *FIXTURES.glob("found/*.yaml")]
    cases = sum(len(load_fixture(p).cases) for p in files)
    assert cases >= 142
    assert report["summary"]["cases"] == cases == len(report["cases"])
    assert report["summary"]["passed"] == cases
    for case in report["cases"]:
        assert case["compatible"] and case["score"] == 1.0, case["case"]
        assert case["policy"] == "equivalence"
        assert case["expect"]["held"] is True, case["case"]
        assert case["primary"]["engine"] == "graph" and case["shadow"]["engine"] == "journey"
    assert f"{cases} cases: {cases} passed, 0 incompatible, 0 golden answers failed" in output


def test_the_report_follows_the_committed_schema(bundled: tuple[int, dict[str, Any], str]) -> None:
    _, report, _ = bundled
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(report, schema)
    CheckReport.model_validate(report)  # and reads back into the models


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA.read_text() == schema_text(), "run: compat schema > docs/report.schema.json"
    assert invoke("schema").output == schema_text()
    assert report_schema()["properties"]["cases"]["type"] == "array"


def test_a_report_names_each_dimension_with_score_and_differences(
    bundled: tuple[int, dict[str, Any], str],
) -> None:
    _, report, _ = bundled
    case = report["cases"][0]
    names = [d["name"] for d in case["dimensions"]]
    assert names == ["outcome", "outputs", "context", "trace", "errors"]
    for dimension in case["dimensions"]:
        assert dimension["score"] == 1.0 and dimension["differences"] == []
    for side in ("primary", "shadow"):
        assert {"status", "outputs", "errors"} <= case[side].keys()


def _copy_fixture(tmp_path: Path, name: str, **changes: Any) -> Path:
    doc = yaml.safe_load((FIXTURES / name).read_text())
    doc.update(changes)
    target = tmp_path / name
    target.write_text(yaml.safe_dump(doc))
    return target


def test_a_wrong_golden_answer_fails_the_check_but_stays_compatible(tmp_path: Path) -> None:
    doc = yaml.safe_load((FIXTURES / "router_first_match.yaml").read_text())
    doc["cases"][0]["expect"]["outputs"] = {"action": "nobody"}
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(doc))
    report = run_check([tmp_path / "wrong.yaml"], CheckOptions())
    first = report.cases[0]
    assert first.compatible and first.score == 1.0
    assert first.expect.held is False and not first.passed
    assert first.expect.primary[0] == (
        'outputs.action: expected "nobody", got "page"; outputs.matched: unexpected, got ["urgent"]'
    )
    assert all(case.passed for case in report.cases[1:])
    assert not report.ok and report.summary.expect_failed == 1
    result = invoke("check", tmp_path / "wrong.yaml")
    assert result.exit_code == 1
    assert "expect failed" in result.output


def test_an_incompatible_shadow_exits_1_and_names_the_difference() -> None:
    result = invoke(
        "check", FIXTURES / "sequence_basics.yaml", "--shadow", "harness_engines:off_by_one_percent"
    )
    assert result.exit_code == 1, result.output
    assert "incompatible" in result.output
    report = run_check(
        [FIXTURES / "sequence_basics.yaml"],
        CheckOptions(shadow="harness_engines:off_by_one_percent"),
    )
    numeric = [c for c in report.cases if c.worst is not None]
    assert numeric and all(c.worst and c.worst.dimension == "outputs" for c in numeric)


def test_numeric_tolerance_from_the_fixture_absorbs_a_small_drift(tmp_path: Path) -> None:
    loose = {"rel_tol": 0.02, "strict_numeric_types": False}
    path = _copy_fixture(tmp_path, "sequence_basics.yaml", tolerances=loose)
    report = run_check([path], CheckOptions(shadow="harness_engines:off_by_one_percent"))
    assert all(c.compatible for c in report.cases)
    assert any(c.expect.held is False for c in report.cases), "the golden answer is still exact"


def test_min_score_raises_the_bar(tmp_path: Path) -> None:
    gate = {"policy": "threshold", "threshold": 0.5}
    path = _copy_fixture(tmp_path, "sequence_basics.yaml", tolerances=gate)
    shadow = "harness_engines:extra_variable"
    loose = run_check([path], CheckOptions(shadow=shadow))
    strict = run_check([path], CheckOptions(shadow=shadow, min_score=0.999))
    differing = [c.case for c in loose.cases if c.score < 0.999]
    assert differing, "some case must score below 0.999 for this test to mean anything"
    assert all(c.compatible for c in loose.cases)
    assert {c.case for c in strict.cases if not c.compatible} == set(differing)
    assert strict.settings.threshold == 0.999


def test_an_output_difference_is_incompatible_whatever_the_threshold(tmp_path: Path) -> None:
    path = _copy_fixture(tmp_path, "sequence_basics.yaml", tolerances={"threshold": 0.0})
    report = run_check([path], CheckOptions(shadow="harness_engines:off_by_one_percent"))
    numeric = [c for c in report.cases if c.worst is not None]
    assert numeric and not any(c.compatible for c in numeric)
    assert all(c.worst and c.worst.severity.value == "critical" for c in numeric)


@pytest.mark.parametrize(
    ("engine", "status", "problem"),
    [
        ("harness_engines:crashing", "crashed", "RuntimeError: engine bug: lost the plan"),
        ("harness_engines:not_a_result", "crashed", "the result is not a RunResult"),
        ("harness_engines:hanging", "timed_out", "no result within 5 s"),
    ],
)
def test_a_broken_engine_is_a_result(
    tmp_path: Path, engine: str, status: str, problem: str
) -> None:
    if engine.endswith(":hanging"):
        # The deadline is what is tested, and the healthy primary must beat it too: 5 s, a
        # hundred times its run in a fresh worker on a loaded machine (tens of ms), on one
        # case (one wait for the hang, not one per case).
        doc = yaml.safe_load((FIXTURES / "fail_node.yaml").read_text())
        path = _copy_fixture(tmp_path, "fail_node.yaml", cases=doc["cases"][:1])
        options = CheckOptions(shadow=engine, timeout=5)
    else:
        # A crash is reported whatever the deadline: the default only bounds a hang.
        path, options = FIXTURES / "fail_node.yaml", CheckOptions(shadow=engine)
    report = run_check([path], options)
    assert report.cases and not report.ok
    for case in report.cases:
        assert case.shadow.status == status and problem in (case.shadow.problem or "")
        assert not case.compatible
        assert case.worst is not None and case.worst.severity.value == "critical"
        assert case.primary.status != status


def test_workers_give_the_same_report_in_the_same_order() -> None:
    paths = [FIXTURES / "loop_modes.yaml", FIXTURES / "retries.yaml"]
    one = run_check(paths, CheckOptions())
    two = run_check(paths, CheckOptions(workers=2))

    def stable(report: CheckReport) -> list[Any]:
        return [
            (c.fixture, c.case, c.score, c.compatible, c.primary.outputs, c.shadow.outputs)
            for c in report.cases
        ]

    assert stable(one) == stable(two)
    assert two.settings.workers == 2


def test_replay_adds_a_clean_replay_dimension() -> None:
    report = run_check([FIXTURES / "tools_builtin.yaml"], CheckOptions(replay=True))
    assert report.ok
    for case in report.cases:
        replay = next(d for d in case.dimensions if d.name == "replay")
        assert replay.score == 1.0 and replay.differences == ()
        assert case.replayed


def test_a_folder_skips_workflow_files_a_fixture_reads(tmp_path: Path) -> None:
    result = invoke("check", FIXTURES / "flows", "--json", tmp_path / "r.json")
    assert result.exit_code == 2
    assert "no fixtures found" in result.output


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "missing.yaml: no such file or directory"),
        (["flow.json"], "not a fixture"),
        (["bad.yaml"], "bad.yaml"),
        (["tol.yaml"], "tol.yaml: tolerances: tolerances.rel_tol"),
        (["good.yaml", "--shadow", "nowhere_engine:x"], "cannot import 'nowhere_engine'"),
        (["good.yaml", "--shadow", "justaname"], "expected graph, journey or module:attr"),
        (["good.yaml", "--min-score", "1.5"], "--min-score"),
        (["good.yaml", "--workers", "0"], "--workers"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    good = yaml.safe_load((FIXTURES / "sequence_basics.yaml").read_text())
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(good))
    (tmp_path / "flow.json").write_text(json.dumps(good["workflow"]))
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**good, "cases": []}))
    (tmp_path / "tol.yaml").write_text(yaml.safe_dump({**good, "tolerances": {"rel_tol": -1}}))
    run = compat("check", *args, cwd=tmp_path)
    assert run.code == 2, run
    assert len(run.err_lines) == 1 and run.err.startswith("compat: "), run.err
    assert message in run.err
    assert run.out == ""


def test_the_console_script_exits_0_and_1(tmp_path: Path) -> None:
    assert compat("check", FIXTURES / "retries.yaml", cwd=tmp_path).code == 0
    failing = compat(
        "check",
        FIXTURES / "retries.yaml",
        "--shadow",
        "harness_engines:crashing",
        cwd=Path(__file__).parent,
    )
    assert failing.code == 1
    assert "crashed" in failing.out
