"""The `compat check` report as a page: the overview (settings, counts, the filterable case
table) and every case, worst first in the table's default order.

Each case's verdict, differences and errors are markup (readable with JavaScript off); its
values side by side and conversation are data the script lays out when the case is opened,
and its drawings (failed cases only) wait in a `<template>` until then: a large suite's
page stays small and its overview is ready without building every case's details."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from compat.compare.model import Difference
from compat.detail import CaseDetail
from compat.html import cases, graph, timeline, values
from compat.html.page import render
from compat.report import CaseReport, CheckReport

SEVERITIES = ("critical", "high", "medium", "low", "none")


@dataclass
class CaseView:
    report: CaseReport
    fixture: str
    anchor: str
    status: str
    rank: int
    severity: str
    dimensions: list[str]
    count: int
    groups: list[cases.Group]
    noise: list[Difference]
    #: What the script lays out when the case is opened (values side by side, the
    #: conversation), as JSON safe inside a `<script type="application/json">`.
    data: Markup
    graph: Markup | None = None
    timeline: Markup | None = None
    diverged: list[str] = field(default_factory=list)
    open: bool = False
    #: Every dimension scored 1 without a difference: one line says so instead of a table
    #: of ones (most cases of a healthy suite; a table each made a large page slow to read).
    perfect: bool = False
    #: Trace events of each engine (shown instead of the drawings for a passed case).
    steps: tuple[int, int] | None = None


def script_json(data: Any) -> Markup:
    """`data` as compact JSON for a `<script type="application/json">`: every `<` written
    `\\u003c`, so no text in it can close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return Markup(text.replace("<", "\\u003c"))


def _said(detail: CaseDetail | None, report: CaseReport) -> dict[str, Any] | None:
    """The conversation to show: the shadow's when it kept one, else the primary's."""
    if detail is None:
        return None
    for side, name in (
        (detail.shadow, report.shadow.engine),
        (detail.primary, report.primary.engine),
    ):
        if side is not None and side.transcript:
            said = [[m.role, m.node, m.text] for m in side.transcript]
            return {"engine": name, "said": said}
    return None


def case_view(report: CaseReport, number: int, fixture: str) -> CaseView:
    """What the page shows of one case. The graph and timelines are drawn for the cases that
    did not pass: for a passed case they show two identical runs, and drawing them for
    every case of a large suite would make the page many megabytes."""
    rows = cases.differences(report)
    noise = [d for d in rows if cases.is_noise(d, report.noisy_paths)]
    counted = [d for d in rows if not cases.is_noise(d, report.noisy_paths)]
    status = cases.status_of(report)
    detail = report.detail
    left = detail.primary if detail is not None else None
    right = detail.shadow if detail is not None else None
    side_by_side = [
        ["outputs", values.entries("outputs", report.primary.outputs, report.shadow.outputs, rows)],
        ["vars", values.entries("vars", report.primary.vars, report.shadow.vars, rows)],
        [
            "node outputs",
            values.entries(
                "node outputs",
                left.node_outputs if left is not None else {},
                right.node_outputs if right is not None else {},
                rows,
            ),
        ],
    ]
    data = {
        "engines": [report.primary.engine, report.shadow.engine],
        "values": side_by_side,
        "transcript": _said(detail, report),
    }
    view = CaseView(
        report=report,
        fixture=fixture,
        anchor=f"case-{number}",
        status=status,
        rank=cases.STATUSES.index(status),
        severity=cases.worst_severity(report),
        dimensions=cases.dimensions_with_differences(report),
        count=len(rows),
        groups=cases.grouped(counted),
        noise=noise,
        data=script_json(data),
        perfect=bool(report.dimensions)
        and all(d.score >= 0.9995 and not d.differences for d in report.dimensions),
    )
    if detail is not None:
        view.steps = (len(left.trace) if left else 0, len(right.trace) if right else 0)
    if detail is not None and status != "passed":
        primary, shadow = cases.node_statuses(left), cases.node_statuses(right)
        everyone = {n.id for n in detail.workflow.nodes}
        statuses = {
            n: (primary.get(n, "not run"), shadow.get(n, "not run"))
            for n in everyone | set(primary) | set(shadow)
        }
        diverged = cases.divergent_nodes(report, statuses) & everyone
        names = (report.primary.engine, report.shadow.engine)
        view.diverged = sorted(diverged)
        view.graph = graph.svg(detail.workflow, primary, shadow, diverged, names=names)
        view.timeline = timeline.svg(left, right, cases.differing_steps(report), names=names)
    return view


def fixture_names(reports: tuple[CaseReport, ...]) -> dict[str, str]:
    """Each fixture path as the page shows it: relative to the working directory when it
    is under it, else as recorded."""
    out: dict[str, str] = {}
    here = Path.cwd()
    for report in reports:
        if report.fixture in out:
            continue
        path = Path(report.fixture)
        try:
            out[report.fixture] = str(path.resolve().relative_to(here))
        except ValueError:
            out[report.fixture] = report.fixture
    return out


def check_page(
    report: CheckReport, *, title: str | None = None, trend: Markup | None = None
) -> str:
    """The whole page for a `compat check` report."""
    names = fixture_names(report.cases)
    views = [
        case_view(case, number, names[case.fixture])
        for number, case in enumerate(report.cases, start=1)
    ]
    views.sort(key=lambda v: (v.rank, v.report.score))  # worst first
    settings = report.settings
    shown = ("roundtrip", "handoff", "replay", "noise_runs", "perf", "max_slowdown")
    flags: list[tuple[str, Any]] = [
        (name, getattr(settings, name))
        for name in shown
        if getattr(settings, name) not in (False, 0, None)
    ]
    if settings.workers > 1:
        flags.append(("workers", settings.workers))
    return render(
        "check.html.j2",
        title or f"compat check: {settings.primary} vs {settings.shadow}",
        report=report,
        settings=settings,
        summary=report.summary,
        flags=flags,
        cases=views,
        statuses=cases.STATUSES,
        fixtures=sorted(set(names.values())),
        dimension_names=sorted({d.name for c in report.cases for d in c.dimensions}),
        severities=SEVERITIES,
        trend=trend,
    )
