"""The HTML report's cases in a real browser: an incompatible case opens on its differences,
workflow graph and timelines; every case has its sections; a case's address opens it; the
page reads without JavaScript; hostile text from a fixture is shown as text and never runs;
`compat report` renders a saved JSON report alike. The DOM these rely on is described in
test_report_page.py."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.page_support import (
    INJECTED_JS,
    REPORTS,
    ROOT,
    case_element,
    differences,
    dismiss_alert,
    in_view,
    is_open,
    load,
    open_case,
    report,
    rows,
    severe,
    status_of,
    text_of,
    wait_for,
)
from tests.cli_support import compat

with contextlib.suppress(ImportError):  # the `driver` fixture fails, saying what to install
    from selenium.webdriver.common.by import By

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.browser.conftest import Report


def test_incompatible_cases_open_on_what_differs(driver: WebDriver, router_report: Report) -> None:
    load(driver, router_report.url)
    incompatible = [c for c in router_report.cases if status_of(c) == "incompatible"]
    assert incompatible
    for case in incompatible:
        name = case["case"]
        details = open_case(driver, name)
        assert details.get_dom_attribute("data-case") == name
        assert details.get_dom_attribute("data-status") == "incompatible"
        rows_ = details.find_elements(
            By.CSS_SELECTOR, "section.differences table.diff-table tr.diff"
        )
        assert rows_, f"{name}: no tr.diff in section.differences table.diff-table"
        texts = [text_of(row) for row in rows_]
        assert any("outputs." in t or "trace." in t for t in texts), f"{name}: {texts}"
        for row in rows_:
            assert row.get_dom_attribute("data-dimension"), f"{name}: tr.diff without dimension"
            assert row.get_dom_attribute("data-severity") in (
                "critical",
                "high",
                "medium",
                "low",
            ), f"{name}: tr.diff data-severity {row.get_dom_attribute('data-severity')!r}"
        if any(d["path"].startswith("outputs.") for d in differences(case)):
            assert details.find_elements(By.CSS_SELECTOR, "section.values .differs"), (
                f"{name}: outputs differ but section.values marks no entry .differs"
            )

        graphs = details.find_elements(By.CSS_SELECTOR, "svg.workflow-graph")
        assert len(graphs) == 1, f"{name}: {len(graphs)} svg.workflow-graph"
        nodes = graphs[0].find_elements(By.CSS_SELECTOR, "g.node")
        assert nodes, f"{name}: no g.node in the workflow graph"
        assert graphs[0].find_elements(By.CSS_SELECTOR, "g.node.diverged"), (
            f"{name}: no g.node.diverged"
        )
        for node in nodes:
            primary, shadow = (
                node.get_dom_attribute("data-primary"),
                node.get_dom_attribute("data-shadow"),
            )
            if primary != shadow:
                assert "diverged" in (node.get_dom_attribute("class") or "").split(), (
                    f"{name}: node {node.get_dom_attribute('data-node')!r} is "
                    f"{primary!r} vs {shadow!r} but not .diverged"
                )
        assert graphs[0].is_displayed()

        timelines = details.find_elements(By.CSS_SELECTOR, "svg.timeline")
        assert len(timelines) == 1, f"{name}: {len(timelines)} svg.timeline"
        lanes = timelines[0].find_elements(By.CSS_SELECTOR, "g.lane")
        assert sorted(lane.get_dom_attribute("data-engine") for lane in lanes) == [
            "primary",
            "shadow",
        ], f"{name}: lanes {[lane.get_dom_attribute('data-engine') for lane in lanes]}"
        marks = timelines[0].find_elements(By.CSS_SELECTOR, ".first-divergence")
        traced = any(d["dimension"] == "trace" for d in differences(case))
        assert len(marks) == (1 if traced else 0), f"{name}: {len(marks)} .first-divergence"
    assert severe(driver) == []


#: What every case's `details` holds, empty or not.
SECTIONS = (
    "section.differences",
    "section.noise",
    "section.values",
    "section.transcript",
    "section.errors",
    "section.graph",
)
#: Drawn for the cases that did not pass (a passed case's two runs are alike: the page
#: says so instead, which keeps a large suite's page small).
DRAWINGS = ("svg.workflow-graph", "svg.timeline")
#: What the script lays out when a case is opened (and never before).
LAID_OUT = ("section.values h4", "section.transcript :is(.conversation, p)")

SECTIONS_JS = """return [...document.querySelectorAll('details.case')].map(d => [
    d.getAttribute('data-case'),
    d.getAttribute('data-status'),
    arguments[0].filter(s => d.querySelector(s) === null),
    arguments[1].filter(s => d.querySelector(s) !== null),
    arguments[2].filter(s => d.querySelector(s) !== null)]);"""


@pytest.mark.parametrize("name", REPORTS)
def test_every_case_has_its_sections(
    driver: WebDriver, request: pytest.FixtureRequest, name: str
) -> None:
    page = report(request, name)
    load(driver, page.url)
    before = driver.execute_script(SECTIONS_JS, list(SECTIONS), list(DRAWINGS), list(LAID_OUT))
    assert sorted(case for case, *_ in before) == sorted(c["case"] for c in page.cases)
    lacking = {case: missing for case, _, missing, _, _ in before if missing}
    assert lacking == {}, "cases lacking sections of the contract"
    early = {case: found for case, _, _, drawn, laid in before if (found := drawn + laid)}
    assert early == {}, "details laid out before their case was opened"
    driver.find_element(By.ID, "expand-all").click()
    wait_for(
        driver,
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('details.case')]"
            ".every(e => e.open && e.dataset.rendered === 'true')"
        ),
        "every case open and laid out after Expand all",
    )
    found = driver.execute_script(SECTIONS_JS, list(SECTIONS), list(DRAWINGS), list(LAID_OUT))
    drawn = {case: status for case, status, _, drawings, _ in found if len(drawings) == 2}
    assert drawn == {case: status for case, status, *_ in found if status != "passed"}
    assert all(not drawings for _, status, _, drawings, _ in found if status == "passed")
    unlaid = {case: laid for case, _, _, _, laid in found if len(laid) != len(LAID_OUT)}
    assert unlaid == {}, "opened cases whose values or conversation were not laid out"
    assert severe(driver) == []


def test_loading_a_case_address_opens_it(driver: WebDriver, router_report: Report) -> None:
    load(driver, router_report.url)
    target = next(row for row in rows(driver) if row["status"] == "incompatible")
    load(driver, router_report.url + target["link"])
    details = case_element(driver, target["link"])
    wait_for(driver, lambda d: is_open(details), f"{target['link']} open when loaded")
    wait_for(driver, lambda d: in_view(d, details), f"{target['link']} scrolled into view")
    others = driver.find_elements(By.CSS_SELECTOR, "details.case")
    assert [d.get_dom_attribute("id") for d in others if is_open(d)] == [target["link"][1:]]


# --------------------------------------------------------------------------- no JavaScript


def test_readable_without_javascript(driver_nojs: WebDriver, router_report: Report) -> None:
    load(driver_nojs, router_report.url)
    found = rows(driver_nojs)
    assert [row["case"] for row in found if row["shown"] and not row["hidden"]] == [
        row["case"] for row in found
    ], "rows hidden without JavaScript"
    assert sorted(row["case"] for row in found) == sorted(c["case"] for c in router_report.cases)
    notes = driver_nojs.find_elements(By.CSS_SELECTOR, "p.nojs")
    assert notes and all(note.is_displayed() for note in notes), "no word on what needs JS"
    by_case = {row["case"]: row for row in found}
    for case in router_report.cases:
        details = case_element(driver_nojs, by_case[case["case"]]["link"])
        assert details.get_dom_attribute("data-case") == case["case"]
        summary = details.find_elements(By.CSS_SELECTOR, ":scope > summary")
        assert summary and summary[0].is_displayed(), f"{case['case']}: no visible <summary>"
        if not differences(case):
            continue
        section = details.find_elements(By.CSS_SELECTOR, "section.differences")
        assert section, f"{case['case']}: no section.differences"
        text = text_of(section[0])
        missing = [d["path"] for d in differences(case) if d["path"] not in text]
        assert not missing, f"{case['case']}: differences not in the page: {missing}"
    assert severe(driver_nojs) == []


# --------------------------------------------------------------------------- hostile text


def test_hostile_text_never_runs(driver: WebDriver, xss_report: Report) -> None:
    load(driver, xss_report.url)
    assert dismiss_alert(driver) is None, "an alert opened when the page loaded"
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert driver.execute_script(INJECTED_JS) == [], "fixture text became markup"
    cases = [row["case"] for row in rows(driver)]
    assert sorted(cases) == sorted(c["case"] for c in xss_report.cases)
    for case in cases:
        open_case(driver, case)
        assert dismiss_alert(driver) is None, f"an alert opened when {case!r} was expanded"
        assert driver.execute_script("return typeof window.__xss") == "undefined", case
    assert driver.execute_script(INJECTED_JS) == [], "fixture text became markup"
    assert severe(driver) == []


def test_hostile_text_is_shown_as_text(driver: WebDriver, xss_report: Report) -> None:
    load(driver, xss_report.url)
    for case in [row["case"] for row in rows(driver)]:
        open_case(driver, case)
    shown = str(driver.execute_script("return document.body.innerText"))
    for payload in (
        "<script>window.__xss=9</script>",  # a case name, in the table
        '"><svg onload=window.__xss=15>',  # another
        "<script>window.__xss=6</script>",  # an output the engines disagree on
        "<img src=x onerror=",  # the shadow's value of it
        "{{ 7*7 }}",  # an input passed through to an output: data, never a template
        "</textarea><script>alert(1)</script>",  # a variable's value
    ):
        assert payload in shown, f"{payload!r} is not shown on the page"
    ids = driver.execute_script(
        "return [...document.querySelectorAll('svg.workflow-graph g.node')]"
        ".map(n => n.getAttribute('data-node'))"
    )
    for node in ("<script>window.__xss=12</script>", "<img/src=x/onerror=window.__xss=13>"):
        assert node in ids, f"node {node!r} not in the graphs' data-node values: {ids}"


# --------------------------------------------------------------------------- compat report


def test_report_command_renders_the_saved_json_alike(
    driver: WebDriver, router_report: Report, tmp_path: Path
) -> None:
    again = tmp_path / "again.html"
    run = compat("report", router_report.json, "--html", again, cwd=ROOT)
    assert again.is_file(), f"compat report wrote nothing (exit {run.code}): {run.out}{run.err}"
    assert run.code in (0, 1), f"compat report: exit {run.code}: {run.out}{run.err}"
    load(driver, router_report.url)
    direct = [(r["fixture"], r["case"], r["status"], r["score"]) for r in rows(driver)]
    load(driver, again.as_uri())
    saved = [(r["fixture"], r["case"], r["status"], r["score"]) for r in rows(driver)]
    assert saved == direct
    assert severe(driver) == []
