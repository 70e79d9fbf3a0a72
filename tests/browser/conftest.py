"""Headless Chromium for the HTML report's browser tests, and the reports they open.

The browser is Debian's `chromium` with its `chromedriver` (`/usr/bin/...`), driven by
Selenium; nothing is ever downloaded (Selenium Manager is kept offline and is never asked
for a driver). Without them every test here FAILS, never skips, saying what to install:
`make test` installs them when it runs as root.

The reports are written by the real `compat` command in a subprocess, as a user would:
an incompatible one (`router_first_match` and `error_ports` against the `router_last`
mutant, which takes the last matching route instead of the first) and one whose every
author-chosen string is markup or script (`data/xss.yaml`).

`chrome()` and `write_report()` are shared with `python -m tests.browser.screenshots`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.cli_support import compat

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = (
    "the browser tests (tests/browser) need Debian's headless Chromium and its driver, "
    "and Selenium: run `apt-get install chromium chromium-driver` (as root; `make test` "
    "does it when run as root) and `pip install selenium` (here: "
    "`.venv/bin/pip install 'selenium>=4.20,<5'`, or `make install`)"
)

#: The engine that takes the LAST matching route (tests/mutants/router_last.py).
ROUTER_LAST = "tests.mutants.router_last:engine"
ROUTER_FIXTURES = ("fixtures/router_first_match.yaml", "fixtures/error_ports.yaml")
XSS_FIXTURE = DATA / "xss.yaml"

#: Chrome's flags: headless, offline in every way Chrome itself could reach out.
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WINDOW = (1280, 1024)


class BrowserMissing(RuntimeError):
    """Chromium, chromedriver or Selenium is not installed."""


def missing() -> list[str]:
    """What the browser tests need and this machine lacks."""
    out = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        out.append("the selenium package")
    return out


@contextmanager
def chrome(*, javascript: bool = True, window: tuple[int, int] = WINDOW) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, logging console messages and network
    events; quit (and its profile removed) on leaving. With `javascript=False` the
    profile forbids scripts (the page as a reader without JavaScript sees it)."""
    lacking = missing()
    if lacking:
        raise BrowserMissing(f"missing {', '.join(lacking)}: {INSTALL}")
    # Selenium Manager must never try to download a browser or a driver.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="compat-chrome-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # An alert stays open for the test to find (the default dismisses it unseen).
    options.unhandled_prompt_behavior = "ignore"
    driver = None
    try:
        driver = webdriver.Chrome(
            service=Service(str(CHROMEDRIVER), log_output=str(profile / "chromedriver.log")),
            options=options,
        )
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass(frozen=True)
class Report:
    """One report `compat` wrote: the page, the JSON beside it, and the JSON's content."""

    html: Path
    json: Path
    data: dict[str, Any]

    @property
    def url(self) -> str:
        return self.html.resolve().as_uri()

    @property
    def cases(self) -> list[dict[str, Any]]:
        return list(self.data["cases"])


def write_report(
    folder: Path, name: str, *fixtures: str | Path, shadow: str = ROUTER_LAST
) -> Report:
    """`compat check FIXTURES --shadow SHADOW --html NAME.html --json NAME.json` in `folder`;
    some cases are incompatible, so exit code 1 is the expected one."""
    folder.mkdir(parents=True, exist_ok=True)
    html, report = folder / f"{name}.html", folder / f"{name}.json"
    run = compat("check", *fixtures, "--shadow", shadow, "--html", html, "--json", report, cwd=ROOT)
    if run.code != 1 or not html.is_file() or not report.is_file():
        raise AssertionError(
            f"compat check {' '.join(map(str, fixtures))} --html {html} --json {report}: "
            f"exit {run.code} (1 expected: some cases are incompatible), html written: "
            f"{html.is_file()}, json written: {report.is_file()}\n"
            f"stdout:\n{run.out}\nstderr:\n{run.err}"
        )
    return Report(html, report, json.loads(report.read_text(encoding="utf-8")))


def require_browser() -> None:
    """Fail (never skip) the test, saying what to install, when the browser is missing."""
    lacking = missing()
    if lacking:
        pytest.fail(f"missing {', '.join(lacking)}: {INSTALL}", pytrace=False)


@pytest.fixture(scope="session")
def driver() -> Iterator[WebDriver]:
    """Headless Chromium, JavaScript on; one for the session (each test loads its page)."""
    require_browser()
    with chrome(javascript=True) as browser:
        yield browser


#: A page whose script, if it runs, says so.
_SCRIPT_PROBE = (
    "data:text/html,<p id=probe>off</p>"
    "<script>document.getElementById('probe').textContent='on'</script>"
)


@pytest.fixture(scope="session")
def driver_nojs() -> Iterator[WebDriver]:
    """Headless Chromium whose profile forbids JavaScript; checked to really run none."""
    require_browser()
    from selenium.webdriver.common.by import By

    with chrome(javascript=False) as browser:
        browser.get(_SCRIPT_PROBE)
        text = browser.find_element(By.ID, "probe").get_property("textContent")
        if text != "off":
            pytest.fail(
                "the Chromium meant to run without JavaScript ran a script (its profile's "
                "content setting and --blink-settings=scriptEnabled=false were ignored)",
                pytrace=False,
            )
        yield browser


@pytest.fixture(scope="session")
def router_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """router_first_match + error_ports against the router_last mutant: three cases
    incompatible (status, outputs, skipped nodes, trace steps), the others passed."""
    return write_report(tmp_path_factory.mktemp("router"), "report", *ROUTER_FIXTURES)


@pytest.fixture(scope="session")
def xss_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """data/xss.yaml against the router_last mutant: one case incompatible, one whose
    golden answer fails, one passed; markup and script in every string."""
    return write_report(tmp_path_factory.mktemp("xss"), "xss", XSS_FIXTURE)
