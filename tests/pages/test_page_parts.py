"""The HTML report's parts, checked without a browser (tests/browser opens the pages in
Chromium): the policy's hashes, nothing loaded, escaping, the graph's layout and colours,
and the timelines' divergence mark."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from compat.check import CheckOptions, run_check
from compat.detail import EdgeView, NodeView, RunDetail, WorkflowView
from compat.html import cases, check_page, graph, timeline
from compat.report import CheckReport
from engines.result import TraceEvent, TraceKind

ROOT = Path(__file__).resolve().parents[2]
ROUTER = ROOT / "fixtures" / "router_first_match.yaml"
BUGGY = "tests.mutants.router_last:engine"


class Page(HTMLParser):
    """Every tag with its attributes, and the text of each <script> and <style>; the JSON
    data blocks (`<script type="application/json">`, never run) apart, as `data`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": [], "data": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            data = tag == "script" and dict(attrs).get("type") == "application/json"
            self._in = "data" if data else tag
            self.inline[self._in].append("")

    def handle_endtag(self, tag: str) -> None:
        if self._in is not None and tag == ("script" if self._in == "data" else self._in):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.inline[self._in][-1] += data


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def diverging() -> CheckReport:
    options = CheckOptions(shadow=BUGGY, in_process=True, details=True)
    return run_check([ROUTER], options)


@pytest.fixture(scope="module")
def html(diverging: CheckReport) -> str:
    return check_page(diverging)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_policy_allows_exactly_the_inline_script_and_style(html: str) -> None:
    page = parse(html)
    metas = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(metas) == 1
    policy = dict(
        (part.split()[0], part.split()[1:])
        for part in (metas[0]["content"] or "").split(";")
        if part.strip()
    )
    assert policy["default-src"] == ["'none'"]
    assert len(page.inline["script"]) == len(page.inline["style"]) == 1
    assert policy["script-src"] == [_sha(page.inline["script"][0])]
    assert policy["style-src"] == [_sha(page.inline["style"][0])]


def test_the_page_refers_to_nothing_outside_itself(html: str) -> None:
    for tag, attrs in parse(html).tags:
        for name, value in attrs.items():
            if name in ("src", "href", "xlink:href", "action", "data"):
                assert value is not None and (value.startswith("#") or value.startswith("data:")), (
                    tag,
                    name,
                    value,
                )
            assert not name.startswith("on"), (tag, name)
    assert "@import" not in html and "url(http" not in html


def test_every_case_has_a_row_and_a_section_and_the_divergent_ones_say_where(
    diverging: CheckReport, html: str
) -> None:
    page = parse(html)
    rows = [a for t, a in page.tags if t == "tr" and "case-row" in (a.get("class") or "")]
    details = [a for t, a in page.tags if t == "details"]
    assert (
        {r["data-case"] for r in rows}
        == {c.case for c in diverging.cases}
        == {d["data-case"] for d in details}
    )
    bad = {c.case for c in diverging.cases if not c.compatible}
    assert bad and {r["data-case"] for r in rows if r["data-status"] == "incompatible"} == bad
    # the graph outlines the nodes the buggy router sent elsewhere
    diverged = {
        a["data-node"]
        for t, a in page.tags
        if t == "g" and "diverged" in (a.get("class") or "").split()
    }
    assert {"route", "page"} <= diverged


def _report_with(text: str, diverging: CheckReport) -> CheckReport:
    """The diverging report with `text` in a case name, a value, a node output and a note."""
    case = diverging.cases[0]
    dims = list(case.dimensions)
    first = dims[1]
    rows = list(first.differences)
    rows[0] = rows[0].model_copy(update={"note": text, "primary": text, "path": f"outputs.{text}"})
    dims[1] = first.model_copy(update={"differences": tuple(rows)})
    assert case.detail is not None and case.detail.primary is not None
    primary = case.detail.primary.model_copy(update={"node_outputs": {text: text}})
    detail = case.detail.model_copy(update={"primary": primary})
    hostile = case.model_copy(
        update={
            "case": text,
            "dimensions": tuple(dims),
            "primary": case.primary.model_copy(update={"outputs": {text: text}}),
            "detail": detail,
        }
    )
    return diverging.model_copy(update={"cases": (hostile,)})


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "</details><svg onload=alert(1)>",
        "&lt;b&gt;",
    ],
)
def test_text_from_a_report_is_shown_never_parsed(payload: str, diverging: CheckReport) -> None:
    text = check_page(_report_with(payload, diverging))
    page = parse(text)
    assert len(page.inline["script"]) == 1  # only the page's own
    assert not any(t == "img" for t, _ in page.tags)
    assert not any(k.startswith("on") for _, a in page.tags for k in a)
    assert str(escape(payload)) in text  # shown, as text


# ---------------------------------------------------------------- the graph


def _view() -> WorkflowView:
    nodes = [
        NodeView(id="start", type="start", index=0),
        NodeView(id="each", type="loop", index=1),
        NodeView(id="body", type="transform", parent="each", index=0),
        NodeView(id="after", type="end", index=2),
    ]
    edges = [
        EdgeView(source="start", target="each"),
        EdgeView(source="each", target="after", handle="error"),
    ]
    return WorkflowView(id="w", nodes=tuple(nodes), edges=tuple(edges))


def test_layers_run_left_to_right_and_a_container_holds_its_body() -> None:
    level = graph.layout(_view())
    boxes = level.boxes
    assert boxes["start"].x < boxes["each"].x < boxes["after"].x
    each = boxes["each"]
    assert each.inner is not None and "body" in each.inner.boxes
    body = each.inner.boxes["body"]
    assert body.x + body.w <= each.w and body.y + body.h <= each.h  # inside the box


def _event(
    seq: int, kind: str, node: str, attempt: int = 1, time: float = 0.0, **detail: Any
) -> TraceEvent:
    return TraceEvent(
        seq=seq, kind=TraceKind(kind), node=node, attempt=attempt, path=(), time=time, detail=detail
    )


def test_a_node_is_coloured_by_how_its_executions_ended_in_each_engine() -> None:
    run = RunDetail(
        trace=(
            _event(0, "started", "a"),
            _event(1, "failed", "a", handled=True),
            _event(2, "started", "b"),
            _event(3, "completed", "b"),
            _event(4, "started", "b"),
            _event(5, "failed", "b", handled=False),
            _event(6, "skipped", "c", 0, reason="dead_path"),
            _event(7, "started", "d"),
        )
    )
    statuses = cases.node_statuses(run)
    assert statuses == {"a": "routed", "b": "completed×1, failed×1", "c": "skipped", "d": "waiting"}
    svg = graph.svg(_view(), {"start": "completed"}, {"start": "failed"}, {"start"})
    node = re.search(r'<g class="node diverged" data-node="start"[^>]*>', str(svg))
    assert (
        node
        and 'data-primary="completed"' in node.group(0)
        and 'data-shadow="failed"' in node.group(0)
    )
    assert (
        graph.colour("completed") != graph.colour("failed") != graph.colour("completed×1, failed×1")
    )


# ---------------------------------------------------------------- the timelines


def test_one_mark_on_the_earliest_differing_step_and_none_when_the_traces_agree() -> None:
    left = RunDetail(trace=(_event(0, "started", "a"), _event(1, "completed", "a", time=1.0)))
    right = RunDetail(trace=(_event(0, "started", "a"), _event(1, "failed", "a", time=2.0)))
    marked = str(timeline.svg(left, right, {"trace.a.completed#1", "trace.a.failed#1"}))
    assert marked.count('class="first-divergence"') == 1
    # the primary's completion (t=1) comes before the shadow's failure (t=2)
    lanes = marked.split('<g class="lane"')
    assert "first-divergence" in lanes[1] and "first-divergence" not in lanes[2]
    assert "clock seconds" in marked
    agreeing = str(timeline.svg(left, left, set()))
    assert "first-divergence" not in agreeing
    instant = RunDetail(trace=(_event(0, "started", "a"), _event(1, "completed", "a")))
    assert "event order" in str(timeline.svg(instant, instant, set()))


# ---------------------------------------------------------------- performance


def test_a_measured_case_shows_its_ratios_distributions_and_clock_time_as_markup() -> None:
    options = CheckOptions(in_process=True, details=True, perf=True, perf_budget=0.05)
    report = run_check([ROOT / "fixtures" / "retries.yaml"], options)
    text = check_page(report)
    performance = text.split('<section class="performance">', 1)[1]
    assert not re.search(r"&lt;/?(p|table|div|svg|h4|tr|td)\b", performance)  # markup, not text
    page = parse(text)
    classes = [a.get("class") for t, a in page.tags if t == "svg"]
    measured = sum(1 for c in report.cases if c.performance and not c.performance.problem)
    assert measured and classes.count("ratio-chart") >= measured
    assert classes.count("box-plot") >= measured
    assert "Clock seconds per node" in text


# ---------------------------------------------------------------- laid out when opened


def _data(text: str) -> list[dict[str, Any]]:
    """Each case's JSON data block, in page order."""
    import json

    return [json.loads(block) for block in parse(text).inline["data"]]


def test_each_case_carries_its_values_as_data_and_agreed_values_once(
    diverging: CheckReport, html: str
) -> None:
    blocks = _data(html)
    assert len(blocks) == len(diverging.cases)
    for block in blocks:
        assert [name for name, _ in block["values"]] == ["outputs", "vars", "node outputs"]
        for _, entries in block["values"]:
            for key, differs, how, *kept in entries:
                # a value both engines agree on is kept once, and not marked
                assert len(kept) == (2 if how == "2" else 1), (key, how, kept)
                if how in ("p", "s"):
                    assert differs == 1, key
    how = {e[2] for b in blocks for _, entries in b["values"] for e in entries}
    assert "=" in how and how - {"="}, how  # agreements kept once; differences both sides


def test_drawings_wait_in_a_template_for_the_cases_that_did_not_pass(
    diverging: CheckReport, html: str
) -> None:
    sections = html.split('<details class="case"')[1:]
    assert len(sections) == len(diverging.cases)
    for section in sections:
        status = re.search(r'data-status="([\w-]+)"', section)
        assert status
        drawn = re.findall(
            r'<template class="deferred">\s*(?:<p|<div class="figure"><svg)', section
        )
        graphs = section.count('<svg class="workflow-graph"')
        timelines = section.count('<svg class="timeline"')
        if status.group(1) == "passed":
            assert (len(drawn), graphs, timelines) == (0, 0, 0)
        else:
            assert (len(drawn), graphs, timelines) == (2, 1, 1)
            # only inside the templates: nothing drawn until the case is opened
            outside = re.sub(r"<template.*?</template>", "", section, flags=re.S)
            assert "<svg class=" not in outside


@pytest.mark.parametrize(
    "payload",
    ["</script><script>alert(1)</script>", "<!--<script>", "\u2028</SCRIPT >", "a\\</script>"],
)
def test_a_data_block_cannot_be_closed_from_inside(payload: str, diverging: CheckReport) -> None:
    text = check_page(_report_with(payload, diverging))
    page = parse(text)
    assert len(page.inline["script"]) == 1 and len(page.inline["data"]) == 1
    raw = page.inline["data"][0]
    assert "<" not in raw  # every `<` written \u003c: nothing in it can end the element
    (block,) = _data(text)
    outputs = dict((e[0], e[3]) for e in block["values"][0][1])
    assert outputs[payload] == payload  # and the value reads back exactly


def test_a_case_perfect_in_every_dimension_says_so_in_one_line(
    diverging: CheckReport, html: str
) -> None:
    sections = html.split('<details class="case"')[1:]
    perfect = {
        c.case
        for c in diverging.cases
        if all(d.score >= 0.9995 and not d.differences for d in c.dimensions)
    }
    assert perfect and perfect != {c.case for c in diverging.cases}
    for section in sections:
        name = re.search(r'data-case="([^"]*)"', section)
        assert name
        line, table = 'class="dims-perfect"' in section, '<table class="dims">' in section
        assert (line, table) == ((True, False) if name.group(1) in perfect else (False, True))


def test_a_long_trace_draws_at_most_max_rows_keeping_the_differing_ones() -> None:
    def run(failing: int, nodes: int = 100) -> RunDetail:
        events = []
        for i in range(nodes):
            kind = "failed" if i == failing else "completed"
            events += [_event(2 * i, "started", f"n{i}"), _event(2 * i + 1, kind, f"n{i}")]
        return RunDetail(trace=tuple(events))

    drawn = str(timeline.svg(run(-1), run(80), {"trace.n80.completed#1", "trace.n80.failed#1"}))
    labels = re.findall(r'<g class="rows"[^>]*>(.*?)</g>', drawn)
    assert len(labels) == 2  # one per lane
    rows = re.findall(r">(n\d+)</text>", labels[0])
    assert len(rows) == timeline.MAX_ROWS and "n80" in rows and rows[0] == "n0"
    assert f"{100 - timeline.MAX_ROWS} more rows" in drawn
    assert drawn.count('class="first-divergence"') == 1
    short = str(timeline.svg(run(-1, 10), run(3, 10), {"trace.n3.failed#1"}))
    assert "more rows" not in short


def test_the_legend_shows_the_graphs_colours() -> None:
    css = (ROOT / "compat" / "html" / "assets" / "report.css").read_text(encoding="utf-8")
    legend = dict(re.findall(r"\.legend \.([\w-]+) \{ background: (#[0-9a-f]{6}); \}", css))
    assert legend == {
        **{name.replace(" ", "-"): colour for name, colour in graph.COLOURS.items()},
        "mixed": graph.MIXED,
    }
