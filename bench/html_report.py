"""The HTML report's size and load time (issue 14's Performance goals), in real headless
Chromium.

    python bench/html_report.py [--cases N] [--loads L] [--seed S] [--shadow SPEC]
                                [--keep DIR] [--no-generated] [--measure PAGE.html ...]

It writes two reports with the real `compat check … --html` command:

* the bundled suite's (`compat check fixtures/ --html …`): goal under 1 MB, interactive in
  under 1 s;
* a generated suite of `--cases` cases (default 1,000; `bench/campaign.py`'s deterministic
  generator, 40 cases per fixture file): goal under 10 MB, the overview interactive in
  under 2 s.

`--shadow` checks both against another engine (a mutant such as
`tests.mutants.router_last:engine`), so that cases fail and their drawings are on the page;
`--measure` times pages written earlier (an older checkout's, say) beside them.

**Overview interactive**, as measured here: from navigation start (Navigation Timing's
time origin) until the later of the first contentful paint and the page script's
`compat:wired` mark, its last statement once the case table's filters, sort headers and case
links are wired. The script follows the overview table, so this does not wait for the cases'
details (they are parsed after it, and laid out only when a case is opened); **whole page**
is `DOMContentLoaded`'s end, when every case's details have been parsed too. The bundled
suite's goal ("opened and interactive") is checked against the later of the two, the
generated suite's ("the overview interactive") against the first. The page loads nothing
else. Also shown: two interactions timed in the page (the status filter over every row, and
opening the worst case, which lays out its values, conversation and drawings then).

Each page is loaded `--loads` times (after one warm-up load, not counted) in one browser,
each time a fresh document (`about:blank` in between); figures are medians. The machine's
load average is printed with them: these machines are shared, so read the figures against
the goals with it in mind.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import campaign  # noqa: E402  (bench/campaign.py: the generated suite)

MB = 1_000_000
#: (size in bytes, interactive in seconds) each report must stay under.
GOALS = {"bundled": (1 * MB, 1.0), "generated": (10 * MB, 2.0)}

#: Navigation Timing and the page's own mark, in milliseconds from the time origin.
TIMING_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const wired = performance.getEntriesByName('compat:wired')[0];
const paint = performance.getEntriesByName('first-contentful-paint')[0];
return {
    url: document.URL,
    domInteractive: nav.domInteractive,
    domContentLoaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    wired: wired ? wired.startTime : null,
    paint: paint ? paint.startTime : null,
    rows: document.querySelectorAll('#cases tr.case-row').length,
};
"""

#: The status filter applied to every row, and the worst case opened: milliseconds each,
#: layout included (reading offsetHeight forces it).
INTERACT_JS = """
const select = document.getElementById('filter-status');
let t = performance.now();
select.value = 'passed';
select.dispatchEvent(new Event('change'));
document.body.offsetHeight;
const filter = performance.now() - t;
select.value = '';
select.dispatchEvent(new Event('change'));
const link = document.querySelector('#cases tr.case-row a.case-link');
t = performance.now();
link.click();
document.body.offsetHeight;
const open = performance.now() - t;
const details = document.getElementById(link.getAttribute('href').slice(1));
return {filter: filter, open: open, opened: !!(details && details.open)};
"""


@dataclass
class Page:
    """One report and what was measured of it (seconds)."""

    name: str
    path: Path
    cases: int = 0
    overview: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    filter: list[float] = field(default_factory=list)
    open: list[float] = field(default_factory=list)

    size: int = 0


def write(name: str, folder: Path, targets: list[Path], shadow: str | None) -> Page:
    """`compat check TARGETS --html FOLDER/NAME.html` as a user runs it; exit 1 (some case
    failed) is as good as 0."""
    html = folder / f"{name}.html"
    script = Path(sys.executable).with_name("compat")
    command = [str(script), "check", *map(str, targets), "--html", str(html)]
    if shadow:
        command += ["--shadow", shadow]
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not html.is_file():
        raise SystemExit(f"{' '.join(command)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    print(f"  {name}: wrote {html} in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return Page(name, html)


def measure(driver: Any, page: Page, loads: int) -> None:
    """Load `page` `loads` times (plus a warm-up) as fresh documents and record each."""
    page.size = page.path.stat().st_size  # the folder may be gone when the table is made
    url = page.path.resolve().as_uri()
    for number in range(loads + 1):
        driver.get("about:blank")
        driver.get(url)  # returns once the load event has fired
        timing = _timing(driver, url)
        interact = driver.execute_script(INTERACT_JS)
        if not interact["opened"]:
            raise SystemExit(f"{page.path}: clicking the first case's link did not open it")
        if number == 0:
            page.cases = int(timing["rows"])
            continue
        wired = timing["wired"] if timing["wired"] is not None else timing["domContentLoaded"]
        page.overview.append(max(wired, timing["paint"] or 0.0) / 1000)
        page.whole.append(timing["domContentLoaded"] / 1000)
        page.filter.append(interact["filter"] / 1000)
        page.open.append(interact["open"] / 1000)


def _timing(driver: Any, url: str) -> dict[str, Any]:
    """TIMING_JS's figures once the page's load event is over (and they are its own)."""
    for _ in range(200):
        timing = driver.execute_script(TIMING_JS)
        if timing["url"] == url and timing["load"] > 0 and timing["domContentLoaded"] > 0:
            return dict(timing)
        time.sleep(0.05)
    raise SystemExit(f"{url}: no complete navigation timing after 10 s")


def goal_met(page: Page) -> tuple[bool, bool]:
    """(size, time) within the page's goals (always, for a page without goals)."""
    if page.name not in GOALS:
        return True, True
    size_goal, time_goal = GOALS[page.name]
    ready = statistics.median(page.overview)
    if page.name == "bundled":  # opened and interactive: every case's details parsed too
        ready = max(ready, statistics.median(page.whole))
    return page.size < size_goal, ready < time_goal


def _median(values: list[float]) -> str:
    if not values:
        return "—"
    middle = statistics.median(values)
    return f"{middle * 1000:.0f} ms" if middle < 1 else f"{middle:.2f} s"


def _spread(values: list[float]) -> str:
    return f" ({min(values) * 1000:.0f}–{max(values) * 1000:.0f})" if len(values) > 1 else ""


def rows(pages: list[Page]) -> Iterator[tuple[str, str, str]]:
    """(what, measured, goal) for every page: the goals' rows first, then the details."""
    for page in pages:
        size_goal, time_goal = GOALS.get(page.name, (None, None))
        label = f"{page.name} ({page.cases} cases)"
        size_ok, ready_ok = goal_met(page)
        whole = page.name == "bundled"
        yield (
            f"{label}: file size",
            f"{page.size / MB:.2f} MB" + ("" if size_ok else "  MISSED"),
            f"< {size_goal / MB:g} MB" if size_goal else "",
        )
        yield (
            f"{label}: overview interactive",
            _median(page.overview)
            + _spread(page.overview)
            + ("" if ready_ok or whole else " MISSED"),
            f"< {time_goal:g} s" if time_goal and not whole else "",
        )
        yield (
            f"{label}: whole page parsed",
            _median(page.whole)
            + _spread(page.whole)
            + ("" if ready_ok or not whole else " MISSED"),
            f"< {time_goal:g} s (both)" if time_goal and whole else "",
        )
        yield (f"{label}: status filter over every row", _median(page.filter), "")
        yield (f"{label}: open the worst case", _median(page.open), "")


def table(pages: list[Page], loads: int, load_before: tuple[float, ...]) -> str:
    found = list(rows(pages))
    width = max(len(what) for what, _, _ in found)
    measured = max(len(m) for _, m, _ in found)
    lines = [
        f"HTML report: size and load time in headless Chromium, median of {loads} loads "
        f"(range in ms)",
        f"load average {' / '.join(f'{v:.2f}' for v in load_before)} before, "
        f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())} after (1, 5, 15 min); "
        f"{os.cpu_count()} CPUs",
        "",
        f"{'what':<{width}}  {'measured':<{measured}}  goal",
    ]
    lines += [f"{what:<{width}}  {m:<{measured}}  {goal}" for what, m, goal in found]
    return "\n".join(lines)


def missed(pages: list[Page]) -> bool:
    return not all(all(goal_met(page)) for page in pages)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases in the generated suite")
    parser.add_argument("--loads", type=int, default=7, help="loads per page (median)")
    parser.add_argument("--seed", type=int, default=13, help="the generated suite's seed")
    parser.add_argument("--shadow", help="the shadow engine (default: compat's own default)")
    parser.add_argument("--keep", type=Path, help="write the suite and pages here, and keep them")
    parser.add_argument("--no-generated", action="store_true", help="the bundled suite only")
    parser.add_argument("--measure", type=Path, nargs="*", default=[], help="pages to time too")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.loads < 1:
        parser.error("--cases and --loads must be at least 1")
    from tests.browser.conftest import BrowserMissing, chrome

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="compat-html-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print("writing the reports…", file=sys.stderr)
        pages = [write("bundled", folder, [ROOT / "fixtures"], args.shadow)]
        if not args.no_generated:
            suite = folder / "suite"
            campaign.suite(suite, args.cases, args.seed)
            pages.append(write("generated", folder, [suite], args.shadow))
        pages += [Page(path.stem, path) for path in args.measure]
        try:
            with chrome() as driver:
                for page in pages:
                    print(f"  loading {page.path.name} {args.loads + 1} times…", file=sys.stderr)
                    measure(driver, page, args.loads)
        except BrowserMissing as exc:
            print(f"html_report: {exc}", file=sys.stderr)
            return 2
        print(table(pages, args.loads, load_before))
    return 1 if missed(pages) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
