"""Performance on the page: each metric's ratio (shadow / primary) with its 95 % interval
drawn against the equivalence band, both engines' distributions, where the clock time
went, and every recommendation with its evidence. Hand-written SVG: a few rectangles per
chart keep the file small and need no script."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from compat.perf.measure import Breakdown
from compat.perf.recommend import Recommendation
from compat.perf.report import CasePerf, MetricReport, PerfReport, PerfSummary

W, H = 360, 34


def ratio_chart(metric: MetricReport, band: float = 0.05) -> Markup:
    """The ratio's interval on a log axis from 1/4× to 4×, the band shaded around 1×."""
    import math

    def x(value: float) -> float:
        value = min(max(value, 0.25), 4.0)
        return 10 + (math.log2(value) + 2) / 4 * (W - 20)

    r = metric.ratio
    return Markup(
        f'<svg class="ratio-chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img"><title>{escape(metric.name)}: '
        f"{r.median:.3f}× [{r.low:.3f}, {r.high:.3f}] — {escape(str(r.verdict))}</title>"
        f'<rect x="{x(1 - band):.1f}" y="4" width="{x(1 + band) - x(1 - band):.1f}" height="18" '
        f'fill="#e8f5e9"/>'
        f'<line x1="{x(1):.1f}" y1="2" x2="{x(1):.1f}" y2="24" stroke="#999"/>'
        f'<line x1="{x(r.low):.1f}" y1="13" x2="{x(r.high):.1f}" y2="13" stroke="#1565c0" '
        f'stroke-width="3"/>'
        f'<circle cx="{x(r.median):.1f}" cy="13" r="4" fill="#1565c0"/>'
        + "".join(
            f'<text x="{x(v):.1f}" y="33" font-size="9" text-anchor="middle" fill="#666">'
            f"{label}</text>"
            for v, label in ((0.25, "¼×"), (0.5, "½×"), (1, "1×"), (2, "2×"), (4, "4×"))
        )
        + "</svg>"
    )


def metrics_table(metrics: Sequence[MetricReport], primary: str, shadow: str) -> Markup:
    rows = []
    for m in metrics:
        r = m.ratio
        rows.append(
            f"<tr><td>{escape(m.name)}</td><td>{escape(m.unit)}</td>"
            f'<td class="num">{m.primary.median:.4g} / {m.primary.p95:.4g}</td>'
            f'<td class="num">{m.shadow.median:.4g} / {m.shadow.p95:.4g}</td>'
            f'<td class="num">{r.median:.3f}× [{r.low:.3f}, {r.high:.3f}]</td>'
            f"<td><b>{escape(str(r.verdict))}</b>"
            + (f" <span class='muted'>{escape(r.note)}</span>" if r.note else "")
            + f"</td><td>{ratio_chart(m)}</td></tr>"
        )
    return Markup(
        f"<table class='metrics'><thead><tr><th>metric</th><th>unit</th>"
        f"<th class='num'>{escape(primary)} median / p95</th>"
        f"<th class='num'>{escape(shadow)} median / p95</th>"
        "<th class='num'>shadow / primary [95 %]</th><th>verdict</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def recommendations(items: Sequence[Recommendation]) -> Markup:
    parts = []
    for rec in items:
        figures = ", ".join(f"{k} = {v}" for k, v in sorted(rec.figures.items()))
        where = f", {rec.where}" if rec.where else ""
        parts.append(
            f"<div class='recommendation'><b>{escape(rec.title)}</b> <span class='muted'>"
            f"({escape(rec.engine)}, {escape(rec.rule)}, confidence {escape(rec.confidence)}"
            f"{escape(where)})</span><br>{escape(rec.evidence)}"
            + (f"<br><span class='muted'>{escape(figures)}</span>" if figures else "")
            + "</div>"
        )
    return Markup("".join(parts))


def perf_summary(summary: PerfSummary, primary: str, shadow: str) -> Markup:
    """A check case's performance part: no raw samples, so each engine's distribution is
    drawn from its summary (min, median, p95, max)."""
    if summary.problem:
        return Markup(f"<p class='sev critical'>not measured: {escape(summary.problem)}</p>")
    boxes = "".join(
        f"<h4>{escape(m.name)} ({escape(m.unit)})</h4>{box_plot(m, (primary, shadow))}"
        for m in summary.metrics
    )
    parts = [
        f"<p class='muted'>{summary.runs} measured pairs.</p>",
        str(metrics_table(summary.metrics, primary, shadow)),
        f"<div class='figure'>{boxes}</div>" if boxes else "",
        str(breakdown_table(summary.breakdown)),
        str(recommendations(summary.recommendations)),
    ]
    return Markup("".join(parts))  # every part escaped its own text


def box_plot(metric: MetricReport, names: tuple[str, str]) -> Markup:
    """Both engines' distributions of one metric on a shared axis: a whisker from min to
    max, a box from median to p95, the median marked."""
    sides = ((names[0], metric.primary), (names[1], metric.shadow))
    low = min(s.min for _, s in sides)
    high = max(s.max for _, s in sides)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return 90 + (value - low) / span * 250

    rows = []
    for i, (name, s) in enumerate(sides):
        y = 12 + i * 22
        rows.append(
            f'<text x="2" y="{y + 4}" font-size="10">{escape(name)}</text>'
            f'<line x1="{x(s.min):.1f}" y1="{y}" x2="{x(s.max):.1f}" y2="{y}" stroke="#777"/>'
            f'<rect x="{x(s.median):.1f}" y="{y - 6}" width="{max(x(s.p95) - x(s.median), 1):.1f}" '
            f'height="12" fill="#bbdefb" stroke="#1565c0"/>'
            f'<line x1="{x(s.median):.1f}" y1="{y - 8}" x2="{x(s.median):.1f}" y2="{y + 8}" '
            f'stroke="#c62828" stroke-width="2"/>'
        )
    height = 12 + len(sides) * 22
    return Markup(
        f'<svg class="box-plot" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img"><title>{escape(metric.name)}: min, median '
        f"(red), p95 (box end) and max, {low:.4g} to {high:.4g} {escape(metric.unit)}</title>"
        f"{''.join(rows)}</svg>"
    )


def distribution(case: CasePerf, names: tuple[str, str]) -> Markup:
    """Each engine's wall-time samples as a strip with its median, on one shared axis."""
    series = [
        (n, [s.wall_seconds for s in case.samples[n].timing]) for n in names if n in case.samples
    ]
    values = [v for _, vs in series for v in vs]
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    rows = []
    for i, (name, vs) in enumerate(series):
        y = 14 + i * 22
        ticks = "".join(
            f'<line x1="{90 + (v - low) / span * 250:.1f}" y1="{y - 6}" '
            f'x2="{90 + (v - low) / span * 250:.1f}" y2="{y + 6}" stroke="#1565c0" '
            f'stroke-opacity="0.5"/>'
            for v in vs
        )
        mid = sorted(vs)[len(vs) // 2]
        rows.append(
            f'<text x="2" y="{y + 4}" font-size="10">{escape(name)}</text>{ticks}'
            f'<line x1="{90 + (mid - low) / span * 250:.1f}" y1="{y - 9}" '
            f'x2="{90 + (mid - low) / span * 250:.1f}" y2="{y + 9}" stroke="#c62828" '
            f'stroke-width="2"/>'
        )
    height = 14 + len(series) * 22
    return Markup(
        f'<svg class="distribution" xmlns="http://www.w3.org/2000/svg" width="{W}" '
        f'height="{height}" viewBox="0 0 {W} {height}" role="img"><title>wall seconds per run, '
        f"{low:.3g} to {high:.3g} s (red: median)</title>{''.join(rows)}</svg>"
    )


def breakdown_table(breakdowns: dict[str, Breakdown]) -> Markup:
    """Clock seconds per node (and retry backoff) for each engine, as a small table."""
    if not breakdowns:
        return Markup("")
    engines = list(breakdowns)
    nodes = sorted({n for b in breakdowns.values() for n in b.nodes})
    if not nodes:
        return Markup("")
    head = "".join(f"<th class='num'>{escape(e)}</th>" for e in engines)
    body = "".join(
        f"<tr><td>{escape(n)}</td>"
        + "".join(
            f"<td class='num'>{breakdowns[e].nodes.get(n, 0.0):.4g}"
            + (f" (backoff {breakdowns[e].backoff[n]:.4g})" if breakdowns[e].backoff.get(n) else "")
            + "</td>"
            for e in engines
        )
        + "</tr>"
        for n in nodes
    )
    return Markup(
        f"<h4>Clock seconds per node</h4><table><thead><tr><th>node</th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def perf_page(report: PerfReport, *, title: str | None = None) -> str:
    from compat.html.page import render

    s = report.settings
    names = (s.primary, s.shadow)
    cases = []
    for case in report.cases:
        engines = tuple(case.samples) if len(case.samples) == 2 else names
        cases.append(
            {
                "case": case,
                "table": metrics_table(case.metrics, *engines[:2]) if case.metrics else Markup(""),
                "distribution": distribution(case, engines[:2]),  # type: ignore[arg-type]
                "breakdown": breakdown_table(case.breakdown),
                "recommendations": recommendations(case.recommendations),
            }
        )
    return render(
        "perf.html.j2",
        title or f"compat perf: {s.primary} vs {s.shadow}",
        report=report,
        settings=s,
        cases=cases,
        overall=recommendations(report.recommendations),
    )
