"""The HTML report (`compat check --html`, `compat report --html`) in a real browser.

Each test opens a report `compat` wrote (conftest.py) in headless Chromium and checks what
a reader gets: a page that loads nothing from anywhere and logs no error, that reads
without JavaScript, whose case table filters and sorts, whose incompatible cases open on
their differences, workflow graph and timelines, and that shows hostile text from a
fixture as text without running any of it. The overview's tests are here, the cases' in
test_report_cases.py; what both use is in page_support.py.

The DOM it relies on (the renderer's contract): `#summary`; `table#cases` with one
`tr.case-row` per case (`data-fixture`, `data-case`, `data-status`, `data-score`,
`data-dimensions`, `data-severity`) holding an `a.case-link` to `#case-N`; the controls
`#search`, `#filter-status`, `#filter-fixture`, `#filter-dimension`, `#filter-severity`
and `th[data-sort]`; hidden rows carry `hidden`; per case a `details.case#case-N` holding
`section.differences` (`table.diff-table`, `tr.diff`), `section.noise`, `section.values`
(`.differs`), `svg.workflow-graph` (`g.node`, `.diverged`), `svg.timeline`
(`g.lane[data-engine]`, `.first-divergence`), `section.transcript`, `section.errors`.
Values side by side, the conversation and the drawings are laid out by the page's script
when a case is first opened (from its `script.case-data` JSON block and its
`template.deferred` elements), after which the `details` carries `data-rendered="true"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.page_support import (
    REPORTS,
    consistent,
    differences,
    load,
    report,
    requests,
    rows,
    severe,
    status_of,
    text_of,
    visible,
    wait_for,
)

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select
except ImportError:  # the `driver` fixture fails every test, saying what to install
    pass

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.browser.conftest import Report


# --------------------------------------------------------------------------- every report


@pytest.mark.parametrize("name", REPORTS)
def test_no_console_errors(driver: WebDriver, request: pytest.FixtureRequest, name: str) -> None:
    page = report(request, name)
    load(driver, page.url)
    assert rows(driver), f"{page.html}: no tr.case-row in table#cases"
    assert severe(driver) == []


@pytest.mark.parametrize("name", REPORTS)
def test_loads_nothing_but_itself(
    driver: WebDriver, request: pytest.FixtureRequest, name: str
) -> None:
    page = report(request, name)
    load(driver, page.url)
    asked = requests(driver)
    assert page.url in asked, f"the performance log missed the page itself: {asked}"
    others = [url for url in asked if url != page.url and not url.startswith("data:")]
    assert others == [], "the page asked for more than itself"


@pytest.mark.parametrize("name", REPORTS)
def test_content_security_policy_forbids_everything(
    driver: WebDriver, request: pytest.FixtureRequest, name: str
) -> None:
    page = report(request, name)
    load(driver, page.url)
    policies = driver.execute_script(
        """return [...document.querySelectorAll('meta')]
            .filter(m => (m.getAttribute('http-equiv') || '').toLowerCase()
                         === 'content-security-policy')
            .map(m => ({
                content: m.getAttribute('content') || '',
                inHead: m.parentElement === document.head,
                before: [...document.querySelectorAll('script, style, link')]
                    .filter(e => e.compareDocumentPosition(m) & Node.DOCUMENT_POSITION_FOLLOWING)
                    .map(e => e.localName),
            }));"""
    )
    assert len(policies) == 1, f"{len(policies)} Content-Security-Policy <meta> elements"
    policy = policies[0]
    assert policy["inHead"], "the Content-Security-Policy <meta> is not in <head>"
    directives = {
        parts[0].lower(): parts[1:]
        for parts in (d.split() for d in policy["content"].split(";"))
        if parts
    }
    assert directives.get("default-src") == ["'none'"], policy["content"]
    # A policy in a <meta> governs only what comes after it.
    assert policy["before"] == [], f"{policy['before']} come before the policy <meta>"


# --------------------------------------------------------------------------- the overview


def test_rows_are_the_json_reports_cases(driver: WebDriver, router_report: Report) -> None:
    load(driver, router_report.url)
    found = {row["case"]: row for row in rows(driver)}
    assert len(found) == len(rows(driver)), "two rows have one data-case"
    assert set(found) == {case["case"] for case in router_report.cases}
    summary = driver.find_elements(By.ID, "summary")
    assert len(summary) == 1, "no #summary"
    assert str(len(router_report.cases)) in text_of(summary[0])
    for case in router_report.cases:
        row = found[case["case"]]
        where = f"row of {case['case']!r}"
        assert row["status"] == status_of(case), where
        assert abs(float(row["score"]) - case["score"]) < 0.0006, (where, row["score"])
        named = {dim["name"] for dim in case["dimensions"] if dim["differences"]}
        assert set((row["dimensions"] or "").split()) == named, where
        worst = case["worst"]["severity"] if differences(case) else "none"
        assert row["severity"] == worst, where
        assert Path(case["fixture"]).name in (row["fixture"] or ""), where
        assert re.fullmatch(r"#case-\d+", row["link"] or ""), where
    statuses = {row["status"] for row in found.values()}
    assert {"incompatible", "passed"} <= statuses, statuses


def test_search_leaves_only_matching_rows(driver: WebDriver, router_report: Report) -> None:
    load(driver, router_report.url)
    total = len(rows(driver))
    search = driver.find_element(By.ID, "search")
    search.send_keys("every-route-matches")
    wait_for(
        driver,
        lambda d: [row["case"] for row in consistent(d)] == ["every-route-matches"],
        "only the row of every-route-matches visible after searching for it",
    )
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACK_SPACE)
    wait_for(driver, lambda d: len(consistent(d)) == total, "every row back once cleared")
    assert severe(driver) == []


def test_status_filter_leaves_only_incompatible_rows(
    driver: WebDriver, router_report: Report
) -> None:
    load(driver, router_report.url)
    incompatible = [c["case"] for c in router_report.cases if status_of(c) == "incompatible"]
    assert 0 < len(incompatible) < len(router_report.cases)
    choice = Select(driver.find_element(By.ID, "filter-status"))
    values = [option.get_attribute("value") for option in choice.options]
    assert "" in values and "incompatible" in values, values
    choice.select_by_value("incompatible")
    wait_for(
        driver,
        lambda d: sorted(row["case"] for row in consistent(d)) == sorted(incompatible),
        f"only the incompatible rows {incompatible} visible",
    )
    assert {row["status"] for row in visible(driver)} == {"incompatible"}
    choice.select_by_value("")
    wait_for(
        driver,
        lambda d: len(consistent(d)) == len(router_report.cases),
        "every row back after choosing all statuses",
    )
    assert severe(driver) == []


@pytest.mark.parametrize(
    ("control", "keeps"),
    [
        ("filter-fixture", lambda row, value: row["fixture"] == value),
        ("filter-dimension", lambda row, value: value in (row["dimensions"] or "").split()),
    ],
    ids=["fixture", "dimension"],
)
def test_other_filters(
    driver: WebDriver,
    router_report: Report,
    control: str,
    keeps: Callable[[dict[str, Any], str], bool],
) -> None:
    load(driver, router_report.url)
    choice = Select(driver.find_element(By.ID, control))
    values = [v for o in choice.options if (v := o.get_attribute("value"))]
    assert values, f"#{control} offers no choice"
    for value in values:
        choice.select_by_value(value)
        expected = sorted(row["case"] for row in rows(driver) if keeps(row, value))
        assert expected, f"#{control} offers {value!r}, which no row has"
        wait_for(
            driver,
            lambda d, e=expected: sorted(row["case"] for row in consistent(d)) == e,
            f"#{control} = {value!r} leaves exactly the rows {expected}",
        )
    assert severe(driver) == []


def test_sorting_by_score(driver: WebDriver, router_report: Report) -> None:
    load(driver, router_report.url)
    header = driver.find_element(By.CSS_SELECTOR, 'th[data-sort="score"]')
    for sorts in (sorted, lambda s: sorted(s, reverse=True)):
        header.click()
        wait_for(
            driver,
            lambda d, sorts=sorts: (
                (scores := [float(row["score"]) for row in visible(d)]) == sorts(scores)
                and len(scores) == len(router_report.cases)
            ),
            "rows in score order after clicking the score header",
        )
    scores = [float(row["score"]) for row in visible(driver)]
    assert scores[0] > scores[-1], f"the second click did not reverse the order: {scores}"
    assert severe(driver) == []


# --------------------------------------------------------------------------- one case
