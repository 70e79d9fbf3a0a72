"""`--html` and `--junit` on `compat perf` and `compat fuzz`, and `compat report` on what
they saved with `--json`; `compat fuzz --invalid` / `--lifecycle` refuse them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, compat
from publishing_support import (
    REPO,
    ROUTER_LAST,
    SEQUENCE,
    Element,
    case_rows,
    cli,
    csp,
    junit_shape,
    load_json,
    parse_html,
    valid_junit,
)


@dataclass
class Written:
    run: Run
    folder: Path
    stem: str

    @property
    def html(self) -> Path:
        return self.folder / f"{self.stem}.html"

    @property
    def junit(self) -> Path:
        return self.folder / f"{self.stem}.xml"

    @property
    def json(self) -> Path:
        return self.folder / f"{self.stem}.json"

    @property
    def report(self) -> dict[str, Any]:
        return load_json(self.json)

    def page(self) -> Element:
        return parse_html(self.html.read_text(encoding="utf-8"))


def _outputs(folder: Path, stem: str) -> list[str]:
    return [
        "--html",
        str(folder / f"{stem}.html"),
        "--junit",
        str(folder / f"{stem}.xml"),
        "--json",
        str(folder / f"{stem}.json"),
    ]


# -- perf ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def perf(tmp_path_factory: pytest.TempPathFactory) -> Written:
    folder = tmp_path_factory.mktemp("perf")
    run = compat(
        "perf",
        SEQUENCE,
        "--repeat",
        "3",
        "--in-process",
        "--case",
        "int-input",
        *_outputs(folder, "p"),
        cwd=REPO,
    )
    return Written(run, folder, "p")


def _metric_tables(page: Element) -> dict[str | None, list[list[str]]]:
    """Per perf case (its `data-case`), the first cell of each row of its metrics table."""
    tables: dict[str | None, list[list[str]]] = {}
    for section in page.iter("details", "perf-case"):
        names = [
            next(td.all_text().strip() for td in row.iter("td"))
            for table in section.iter("table", "metrics")
            for body in table.iter("tbody")
            for row in body.iter("tr")
        ]
        tables.setdefault(section.attrs.get("data-case"), []).append(names)
    return tables


def test_perf_writes_a_page_with_each_cases_metrics(perf: Written) -> None:
    assert perf.run.code == 0, perf.run.err
    report = perf.report
    assert [c["case"] for c in report["cases"]] == ["int-input"]
    assert all(c["problem"] is None for c in report["cases"])
    page = perf.page()
    assert len(csp(page)) == 1
    tables = _metric_tables(page)
    assert tables == {c["case"]: [[m["name"] for m in c["metrics"]]] for c in report["cases"]}
    assert "wall_seconds" in tables["int-input"][0]
    lines = [line.strip() for line in perf.run.lines]
    assert f"html report: {perf.html}" in lines and f"junit report: {perf.junit}" in lines


def test_perf_junit_is_valid_with_a_testcase_per_case(perf: Written) -> None:
    root = valid_junit(perf.junit)
    testcases = list(root.iter("testcase"))
    assert [t.get("name") for t in testcases] == [c["case"] for c in perf.report["cases"]]
    assert not root.findall(".//error"), "every case was measured"


def test_report_renders_a_saved_perf_report(perf: Written, tmp_path: Path) -> None:
    html, junit = tmp_path / "p2.html", tmp_path / "p2.xml"
    run = compat("report", perf.json, "--html", html, "--junit", junit, cwd=tmp_path)
    assert run.code == 0, run.err
    assert _metric_tables(parse_html(html.read_text(encoding="utf-8"))) == _metric_tables(
        perf.page()
    )
    assert junit_shape(valid_junit(junit)) == junit_shape(valid_junit(perf.junit))


# -- fuzz ----------------------------------------------------------------------------------

SMALL = ["--examples", "5", "--seed", "1", "--no-save", "--no-db"]


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Written:
    """A campaign that finds nothing, run where it may write (only what it is asked to)."""
    folder = tmp_path_factory.mktemp("fuzz")
    run = compat("fuzz", *SMALL, *_outputs(folder, "f"), cwd=folder)
    assert run.code == 0, (run.code, run.out, run.err)
    return Written(run, folder, "f")


@pytest.fixture(scope="module")
def diverging(tmp_path_factory: pytest.TempPathFactory) -> Written:
    """A campaign against the router_last engine, routers forced on: it finds divergences."""
    folder = tmp_path_factory.mktemp("diverging")
    run = compat(
        "fuzz",
        "--shadow",
        ROUTER_LAST,
        "--features",
        "+router",
        "--examples",
        "30",
        "--seed",
        "1",
        "--no-save",
        "--no-db",
        *_outputs(folder, "d"),
        cwd=REPO,  # where `tests.mutants` imports from
    )
    return Written(run, folder, "d")


def test_fuzz_writes_both_files_and_only_them(fuzz: Written) -> None:
    assert fuzz.run.code == 0, fuzz.run.err
    assert fuzz.report["ok"] is True and fuzz.report["findings"] == []
    assert sorted(p.name for p in fuzz.folder.iterdir()) == ["f.html", "f.json", "f.xml"]
    page = fuzz.page()
    assert len(csp(page)) == 1 and case_rows(page) == []
    root = valid_junit(fuzz.junit)
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert len(list(root.iter("testcase"))) >= 1
    lines = [line.strip() for line in fuzz.run.lines]
    assert f"html report: {fuzz.html}" in lines and f"junit report: {fuzz.junit}" in lines


def test_a_diverging_campaign_has_a_row_and_a_failure_per_finding(diverging: Written) -> None:
    assert diverging.run.code == 1, diverging.run.err
    findings = diverging.report["findings"]
    assert findings and diverging.report["ok"] is False
    assert len(case_rows(diverging.page())) == len(findings)
    root = valid_junit(diverging.junit)
    assert len(root.findall(".//failure")) == len(findings)


@pytest.mark.parametrize("campaign", ["fuzz", "diverging"])
def test_report_renders_a_saved_fuzz_report(
    campaign: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    written: Written = request.getfixturevalue(campaign)
    html, junit = tmp_path / "again.html", tmp_path / "again.xml"
    run = compat("report", written.json, "--html", html, "--junit", junit, cwd=tmp_path)
    assert run.code == (0 if written.report["ok"] else 1) == written.run.code
    again = parse_html(html.read_text(encoding="utf-8"))
    assert case_rows(again) == case_rows(written.page())
    assert junit_shape(valid_junit(junit)) == junit_shape(valid_junit(written.junit))


@pytest.mark.parametrize(
    "args",
    [
        ["--invalid", "--html", "x.html"],
        ["--invalid", "--junit", "x.xml"],
        ["--lifecycle", "--html", "x.html"],
        ["--invalid", "--format", "github"],
    ],
    ids=["invalid-html", "invalid-junit", "lifecycle-html", "invalid-github"],
)
def test_invalid_and_lifecycle_campaigns_refuse_publishing(args: list[str], tmp_path: Path) -> None:
    run = cli("fuzz", *args, "--examples", "1", "--no-save", "--no-db", cwd=tmp_path)
    assert run.code == 2, (run.code, run.out, run.err)
    (line,) = run.err_lines
    assert line.startswith("compat: ") and ("--invalid" in line or "--lifecycle" in line)
    assert list(tmp_path.iterdir()) == [], "nothing ran, nothing was written"


BROKEN_FUZZ = {
    "findings-not-a-list-html": ("findings", "none", "--html"),
    "findings-not-a-list-junit": ("findings", "none", "--junit"),
    "ok-not-a-boolean": ("ok", "maybe", "--html"),
    "examples-not-a-number": ("examples", "many", "--junit"),
}


@pytest.mark.parametrize(
    ("key", "value", "target"), list(BROKEN_FUZZ.values()), ids=list(BROKEN_FUZZ)
)
def test_a_fuzz_report_with_a_broken_field_is_bad_input(
    fuzz: Written, tmp_path: Path, key: str, value: Any, target: str
) -> None:
    """As a check or perf report with a broken field is: exit 2, one line naming the file;
    not an internal error (exit 3), nor a page of a report that is not one."""
    data = fuzz.report
    data[key] = value
    (tmp_path / "broken.json").write_text(json.dumps(data), encoding="utf-8")
    run = cli("report", "broken.json", target, "out", cwd=tmp_path)
    assert run.code == 2, (run.code, run.out, run.err)
    (line,) = run.err_lines
    assert line.startswith("compat: broken.json: ") and key in line, line
    assert not (tmp_path / "out").exists()
