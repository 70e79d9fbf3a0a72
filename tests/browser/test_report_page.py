"""The HTML report (`compat check --html`, `compat report --html`) in a real browser.

Each test opens a report `compat` wrote (conftest.py) in headless Chromium and checks what
a reader gets: a page that loads nothing from anywhere and logs no error, that reads
without JavaScript, whose case table filters and sorts, whose incompatible cases open on
their differences, workflow graph and timelines, and that shows hostile text from a
fixture as text without running any of it.

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

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tests.cli_support import compat

try:
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # the `driver` fixture fails every test, saying what to install
    pass

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    from tests.browser.conftest import Report

ROOT = Path(__file__).resolve().parents[2]

#: Seconds to wait for a condition: generous, the machine may be loaded.
WAIT = 30
T = TypeVar("T")

REPORTS = ("router_report", "xss_report")

#: Every row of the case table as data, in document order, hidden or not.
ROWS_JS = """
return [...document.querySelectorAll('#cases tr.case-row')].map(row => ({
    fixture: row.getAttribute('data-fixture'),
    case: row.getAttribute('data-case'),
    status: row.getAttribute('data-status'),
    score: row.getAttribute('data-score'),
    dimensions: row.getAttribute('data-dimensions'),
    severity: row.getAttribute('data-severity'),
    hidden: row.hasAttribute('hidden'),
    shown: row.getClientRects().length > 0,
    link: (row.querySelector('a.case-link') || {getAttribute: () => null}).getAttribute('href'),
}));
"""

#: Elements the page should never hold when it escapes what it shows.
INJECTED_JS = """
const found = [];
for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        const value = attr.value.trim().toLowerCase();
        if (name.startsWith('on')) found.push(`<${el.localName} ${attr.name}=${attr.value}>`);
        if (['href', 'src', 'xlink:href', 'action', 'formaction'].includes(name)
                && value.startsWith('javascript:'))
            found.push(`<${el.localName} ${attr.name}=${attr.value}>`);
    }
}
for (const el of document.querySelectorAll('img[src="x"], svg[onload], iframe, object, embed'))
    found.push(el.outerHTML.slice(0, 200));
for (const el of document.querySelectorAll('script')) {
    // JSON data blocks hold the fixture's text as data: never run, and never closed early
    if (el.type === 'application/json') {
        if (el.closest('details.case') === null) found.push('a data block outside a case');
        try { JSON.parse(el.textContent); } catch (e) { found.push('a data block cut short'); }
        continue;
    }
    if (/__xss|alert\\(/.test(el.textContent)) found.push(el.outerHTML.slice(0, 200));
}
if (document.querySelectorAll('script:not([type])').length !== 1)
    found.push('scripts that run: ' + document.querySelectorAll('script:not([type])').length);
return found;
"""


# --------------------------------------------------------------------------- helpers


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    """`condition`'s first truthy value within WAIT seconds; fails saying `what` when it
    never comes."""
    try:
        return WebDriverWait(driver, WAIT).until(condition)
    except TimeoutException:
        pytest.fail(f"after {WAIT} s still not true: {what}", pytrace=False)


def dismiss_alert(driver: WebDriver) -> str | None:
    """Close an open alert (an earlier test's failure must not break the next); its text."""
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return None
    text = alert.text
    alert.accept()
    return text


def load(driver: WebDriver, url: str) -> None:
    """Open `url` as a fresh document (never a same-document fragment move) with empty
    console and network logs, and wait until it has loaded."""
    dismiss_alert(driver)
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)
    wait_for(
        driver,
        lambda d: d.execute_script("return document.readyState") == "complete",
        f"{url} loaded",
    )


def severe(driver: WebDriver) -> list[str]:
    """The console's errors since the last look."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def requests(driver: WebDriver) -> list[str]:
    """Every URL the browser asked for since the last look (blocked ones included)."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            out.append(message["params"]["request"]["url"])
    return out


def rows(driver: WebDriver) -> list[dict[str, Any]]:
    return list(driver.execute_script(ROWS_JS))


def visible(driver: WebDriver) -> list[dict[str, Any]]:
    """The rows a reader sees: not `hidden` and laid out."""
    return [row for row in rows(driver) if not row["hidden"] and row["shown"]]


def consistent(driver: WebDriver) -> list[dict[str, Any]]:
    """`visible`, after checking that a row is hidden exactly when it carries `hidden`."""
    all_rows = rows(driver)
    wrong = [row["case"] for row in all_rows if row["hidden"] == row["shown"]]
    assert not wrong, f"rows laid out although `hidden`, or hidden without it: {wrong}"
    return [row for row in all_rows if not row["hidden"]]


def status_of(case: dict[str, Any]) -> str:
    """A case's `data-status` from its JSON report (the worst that applies)."""
    if case["primary"].get("problem") is not None or case["shadow"].get("problem") is not None:
        return "crashed"
    if not case["compatible"]:
        return "incompatible"
    if case["expect"].get("held") is False:
        return "expect-failed"
    if case.get("too_slow"):
        return "too-slow"
    return "passed"


def differences(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for dim in case["dimensions"] for d in dim["differences"]]


def case_element(driver: WebDriver, href: str) -> WebElement:
    assert href and href.startswith("#case-"), f"a case link points at {href!r}, not #case-N"
    found = driver.find_elements(By.CSS_SELECTOR, f"details.case[id='{href[1:]}']")
    assert len(found) == 1, f"{len(found)} `details.case` elements with id {href[1:]!r}"
    return found[0]


def text_of(element: WebElement) -> str:
    """All the text in `element`, shown or not (a closed `details` included)."""
    return str(element.get_property("textContent") or "")


def row_link(driver: WebDriver, case: str) -> WebElement:
    for row in driver.find_elements(By.CSS_SELECTOR, "#cases tr.case-row"):
        if row.get_dom_attribute("data-case") == case:
            return row.find_element(By.CSS_SELECTOR, "a.case-link")
    raise AssertionError(f"no tr.case-row with data-case={case!r}")


def is_open(element: WebElement) -> bool:
    return bool(element.get_property("open"))


def in_view(driver: WebDriver, element: WebElement) -> bool:
    return bool(
        driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return r.top >= -2 && r.top < window.innerHeight;",
            element,
        )
    )


def open_case(driver: WebDriver, case: str) -> WebElement:
    """Click `case`'s link in the table; its `details` once open and scrolled to."""
    link = row_link(driver, case)
    href = link.get_dom_attribute("href")
    details = case_element(driver, href)
    link.click()
    wait_for(driver, lambda d: is_open(details), f"{href} ({case}) open after clicking its link")
    wait_for(driver, lambda d: in_view(d, details), f"{href} ({case}) scrolled into view")
    return details


def report(request: pytest.FixtureRequest, name: str) -> Report:
    return request.getfixturevalue(name)


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
