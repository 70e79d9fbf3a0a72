"""`assert_compatible` and the `compat` fixture (compat/pytest_plugin.py): one workflow,
written in Python or read from a file, on two engines, compared as `compat check` does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (kept across in-process runs; see test_plugin_runs.py)
import pytest
import yaml
from conftest import end, linear, set_, start

import compat.pytest_items  # noqa: F401
from compat.pytest_plugin import assert_compatible
from compat.report import CaseReport
from engines.errors import DocumentError
from tests.mutants.router_last import engine as router_last

ROOT = Path(__file__).resolve().parents[2]
ROUTER = yaml.safe_load((ROOT / "fixtures" / "router_first_match.yaml").read_text())["workflow"]


def simple() -> dict[str, Any]:
    return linear(start(), set_("s", total="{{ inputs.a + 1 }}"), end(total="{{ vars.total }}"))


def test_a_simple_workflow_is_compatible_and_its_report_returned() -> None:
    report = assert_compatible(simple(), {"a": 2})
    assert isinstance(report, CaseReport)
    assert report.compatible and report.passed and report.score == 1.0
    assert report.primary.engine == "graph" and report.shadow.engine == "journey"
    assert report.primary.outputs == {"total": 3}


def test_a_golden_answer_is_checked_too() -> None:
    assert_compatible(simple(), {"a": 2}, expect={"status": "completed", "outputs": {"total": 3}})
    with pytest.raises(AssertionError) as failed:
        assert_compatible(simple(), {"a": 2}, expect={"outputs": {"total": 4}})
    assert "golden answer (expect) failed:" in str(failed.value)
    assert "outputs.total: expected 4, got 3" in str(failed.value)


@pytest.mark.parametrize("shadow", ["tests.mutants.router_last:engine", router_last])
def test_a_buggy_engine_fails_with_the_differences_table(shadow: Any) -> None:
    with pytest.raises(AssertionError) as failed:
        assert_compatible(ROUTER, {"priority": 9, "customer": {"vip": True}}, shadow=shadow)
    text = str(failed.value)
    assert text.startswith("incompatible (equivalence policy), score ")
    assert re.search(r'\n  outputs\.action +"page" +"concierge" +critical +value differs\n', text)
    assert "router_last_match (shadow) completed" in text
    assert "\x1b" not in text


def test_a_workflow_file_and_a_threshold() -> None:
    flow = ROOT / "fixtures" / "flows" / "price_quote.json"
    report = assert_compatible(flow, {"qty": 2, "unit": 5}, shadow="graph", policy="threshold")
    assert report.policy == "threshold" and report.case == "price_quote"
    with pytest.raises(DocumentError, match="a fixture, not a workflow"):
        assert_compatible(ROOT / "fixtures" / "router_first_match.yaml")


def test_the_fixture_takes_its_defaults_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(ROOT)
    pytester.makepyfile(
        test_user=f"""
        import pytest

        ROUTER = {ROUTER!r}

        def test_compatible(compat):
            report = compat.assert_compatible(ROUTER, {{"priority": 1}})
            assert report.shadow.engine == "router_last_match"

        def test_incompatible(compat):
            compat.assert_compatible(ROUTER, {{"priority": 9}})

        def test_report_only(compat):
            assert not compat.check(ROUTER, {{"priority": 5}}).compatible
            assert compat.check(ROUTER, {{"priority": 5}}, shadow="journey").compatible
        """
    )
    result = pytester.runpytest("--compat-shadow", "tests.mutants.router_last:engine")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            ">*compat.assert_compatible(ROUTER, *",
            "E *CompatFailure: incompatible (equivalence policy)*",
            "E *differences, worst first (19):",
        ]
    )
