"""What the browser tests of the HTML report share: waiting, loading a page, reading its
case table and opening a case (the DOM they rely on is described in test_report_page.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

try:
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.common.by import By
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
