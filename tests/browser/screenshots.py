"""Screenshots of the HTML report in headless Chromium: the overview and one incompatible
case expanded.

    python -m tests.browser.screenshots [--out reports]      # or: make screenshots

It writes the report the browser tests open (router_first_match and error_ports against
the `router_last` mutant, so some cases are incompatible) into a temporary folder with
`compat check --html`, opens it with the tests' Chromium options (tests/browser/conftest.py)
and saves `overview.png` and `case.png` in `--out`. Needs Debian's `chromium` and
`chromium-driver` and the `selenium` package; says so, and exits 2, without them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.browser.conftest import (
    ROOT,
    ROUTER_FIXTURES,
    BrowserMissing,
    chrome,
    write_report,
)

#: The browser window: wide enough for the case table's columns.
WINDOW = (1400, 1000)
#: The tallest the window grows to fit the expanded case.
TALLEST = 6000
WAIT = 30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="folder for the PNGs")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="compat-screenshots-") as folder:
            report = write_report(Path(folder), "report", *ROUTER_FIXTURES)
            with chrome(window=WINDOW) as driver:
                from selenium.webdriver.common.by import By
                from selenium.webdriver.support.wait import WebDriverWait

                driver.get(report.url)
                WebDriverWait(driver, WAIT).until(
                    lambda d: d.execute_script("return document.readyState") == "complete"
                )
                overview = out / "overview.png"
                driver.save_screenshot(str(overview))

                row = driver.find_element(
                    By.CSS_SELECTOR, '#cases tr.case-row[data-status="incompatible"]'
                )
                link = row.find_element(By.CSS_SELECTOR, "a.case-link")
                details = driver.find_element(
                    By.CSS_SELECTOR, f"details.case[id='{link.get_dom_attribute('href')[1:]}']"
                )
                link.click()
                WebDriverWait(driver, WAIT).until(lambda d: details.get_property("open"))
                # its values, conversation and drawings are laid out once it is open
                WebDriverWait(driver, WAIT).until(
                    lambda d: details.get_dom_attribute("data-rendered") == "true"
                )
                # Tall enough for the whole case, so the element's screenshot is not cut.
                height = int(details.rect["height"]) + 200
                driver.set_window_size(WINDOW[0], max(WINDOW[1], min(height, TALLEST)))
                driver.execute_script("arguments[0].scrollIntoView()", details)
                case = out / "case.png"
                details.screenshot(str(case))
    except BrowserMissing as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 2
    for path in (overview, case):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
