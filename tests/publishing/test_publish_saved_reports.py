"""`compat report SAVED.json`: the page and the JUnit file rendered later from a saved
report are those `compat check` would have written directly; the exit code is the saved
report's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import Run, compat
from publishing_support import (
    REPO,
    ROUTER,
    ROUTER_LAST,
    SEQUENCE,
    Element,
    case_rows,
    csp,
    junit_shape,
    load_json,
    parse_html,
    valid_junit,
)


@dataclass
class Checked:
    run: Run
    folder: Path

    @property
    def saved(self) -> Path:
        return self.folder / "saved.json"

    @property
    def html(self) -> Path:
        return self.folder / "check.html"

    @property
    def junit(self) -> Path:
        return self.folder / "check.xml"


def _check(folder: Path, *extra: str) -> Checked:
    checked = Checked(Run(0, "", ""), folder)
    checked.run = compat(
        "check",
        ROUTER,
        SEQUENCE,
        *extra,
        "--in-process",
        "--json",
        checked.saved,
        "--html",
        checked.html,
        "--junit",
        checked.junit,
        cwd=REPO,
    )
    return checked


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    checked = _check(tmp_path_factory.mktemp("failing"), "--shadow", ROUTER_LAST)
    assert checked.run.code == 1, checked.run.err
    return checked


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    checked = _check(tmp_path_factory.mktemp("passing"))
    assert checked.run.code == 0, checked.run.err
    return checked


@pytest.fixture(params=["passing", "failing"])
def checked(request: pytest.FixtureRequest) -> Checked:
    return request.getfixturevalue(request.param)


def _page(path: Path) -> Element:
    return parse_html(path.read_text(encoding="utf-8"))


def _rows(page: Element) -> list[tuple[str | None, ...]]:
    return [
        (r.get("data-fixture"), r.get("data-case"), r.get("data-status"), r.get("data-score"))
        for r in case_rows(page)
    ]


def test_the_page_from_a_saved_report_has_the_rows_check_wrote(
    checked: Checked, tmp_path: Path
) -> None:
    out = tmp_path / "later.html"
    run = compat("report", checked.saved, "--html", out, cwd=tmp_path)
    assert run.code == checked.run.code == (0 if load_json(checked.saved)["ok"] else 1)
    assert f"html report: {out}" in [line.strip() for line in run.lines]
    later, direct = _page(out), _page(checked.html)
    assert _rows(later) == _rows(direct)
    assert len(_rows(later)) == len(load_json(checked.saved)["cases"]) == 11
    assert csp(later) == csp(direct) and len(csp(later)) == 1
    # The cases' sections too: the saved report kept what they draw.
    sections = [
        (d.attrs.get("data-case"), d.attrs.get("data-status"))
        for d in later.iter("details", "case")
    ]
    assert sections == [
        (d.attrs.get("data-case"), d.attrs.get("data-status"))
        for d in direct.iter("details", "case")
    ]
    graphs = [len(list(d.iter("svg"))) for d in later.iter("details", "case")]
    assert graphs == [len(list(d.iter("svg"))) for d in direct.iter("details", "case")]
    # A case that did not pass draws its workflow and timelines (a passed one says its two
    # runs were alike); every case keeps its values and conversation as a data block.
    statuses = [status for _, status in sections]
    assert all(n >= 2 for n, s in zip(graphs, statuses, strict=True) if s != "passed")
    data = [b.all_text() for b in later.iter("script", "case-data")]
    assert data == [b.all_text() for b in direct.iter("script", "case-data")]
    assert len(data) == len(sections) and all('"values"' in block for block in data)


def test_junit_from_a_saved_report_equals_the_one_check_wrote(
    checked: Checked, tmp_path: Path
) -> None:
    out = tmp_path / "later.xml"
    run = compat("report", checked.saved, "--junit", out, cwd=tmp_path)
    assert run.code == checked.run.code
    later, direct = valid_junit(out), valid_junit(checked.junit)
    assert junit_shape(later) == junit_shape(direct)
    assert [(t.get("name"), t.get("tests"), t.get("failures")) for t in later.iter()] == [
        (t.get("name"), t.get("tests"), t.get("failures")) for t in direct.iter()
    ]
    assert [f.get("message") for f in later.iter("failure")] == [
        f.get("message") for f in direct.iter("failure")
    ]


def test_html_and_junit_together_from_a_saved_report(failing: Checked, tmp_path: Path) -> None:
    html, junit = tmp_path / "both.html", tmp_path / "both.xml"
    before = failing.saved.read_bytes()
    run = compat("report", failing.saved, "--html", html, "--junit", junit, cwd=tmp_path)
    assert run.code == 1
    assert _rows(_page(html)) == _rows(_page(failing.html))
    assert junit_shape(valid_junit(junit)) == junit_shape(valid_junit(failing.junit))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both.html", "both.xml"]
    assert failing.saved.read_bytes() == before, "the saved report is only read"
