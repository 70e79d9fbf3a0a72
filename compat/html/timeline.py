"""Both traces as aligned timelines: one lane per engine, one row per node, on a shared
axis — the clock when clock time passed, else the order of events (a virtual clock where
every node is instant puts everything at 0). Bars run from a start to its end, retries show
their backoff as a dashed gap, skips are crosses, and the first step the trace comparison
found different is marked in each lane."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from compat.detail import RunDetail
from compat.html.cases import step_key
from compat.html.graph import colour
from engines.result import TraceEvent

ROW_H, LABEL_W, WIDTH, LANE_GAP, AXIS_H = 18, 150, 720, 14, 22
#: Rows drawn at most: a loop of hundreds of iterations has a row per iteration of each body
#: node, which no one reads as a drawing (and which made a failed case's timeline ~200 KB).
#: Rows with a differing step come first, then the earliest; the rest are counted.
MAX_ROWS = 40

END_KINDS = {"completed": "completed", "failed": "failed", "deduplicated": "completed"}


def _rows(*traces: Sequence[TraceEvent]) -> list[str]:
    """Node rows in order of first appearance across both traces, with iteration paths."""
    seen: dict[str, None] = {}
    for trace in traces:
        for event in trace:
            seen.setdefault(_row(event), None)
    return list(seen)


def _row(event: TraceEvent) -> str:
    where = "".join(f"[{c}={i}]" for c, i in event.path)
    return f"{event.node}{where}"


def chosen(
    rows: list[str], traces: Sequence[Sequence[TraceEvent]], differing: set[str], first: str | None
) -> list[str]:
    """At most MAX_ROWS of `rows`, in their order: the first divergence's, those with a
    differing step, then the earliest."""
    if len(rows) <= MAX_ROWS:
        return rows
    wanted = dict.fromkeys([first] if first else [])
    for trace in traces:
        for event in trace:
            if step_key(event) in differing:
                wanted.setdefault(_row(event), None)
    keep = set(list(wanted)[:MAX_ROWS])
    for row in rows:
        if len(keep) >= MAX_ROWS:
            break
        keep.add(row)
    return [row for row in rows if row in keep]


def svg(
    primary: RunDetail | None,
    shadow: RunDetail | None,
    differing: set[str],
    *,
    names: tuple[str, str] = ("primary", "shadow"),
) -> Markup:
    left = primary.trace if primary is not None else ()
    right = shadow.trace if shadow is not None else ()
    rows = _rows(left, right)
    times = [e.time for e in (*left, *right)]
    clocked = bool(times) and max(times) > min(times)
    if clocked:
        start, span = min(times), (max(times) - min(times)) or 1.0

        def at(event: TraceEvent, position: int) -> float:
            return LABEL_W + (event.time - start) / span * (WIDTH - LABEL_W - 10)
    else:
        count = max(len(left), len(right), 1)

        def at(event: TraceEvent, position: int) -> float:
            return LABEL_W + position / count * (WIDTH - LABEL_W - 10)

    # The first differing step: earliest on the axis over both lanes (the primary's first
    # when they tie), marked once.
    firsts = [
        (at(event, i), lane, event)
        for lane, trace in enumerate((left, right))
        for i, event in enumerate(trace)
        if step_key(event) in differing
    ]
    first = min(firsts, key=lambda f: (f[0], f[1])) if firsts else None
    every = len(rows)
    rows = chosen(rows, (left, right), differing, _row(first[2]) if first else None)
    left_out = every - len(rows)
    lane_h = len(rows) * ROW_H + 8 + (14 if left_out else 0)
    height = AXIS_H + 2 * lane_h + LANE_GAP + 30
    axis = "clock seconds" if clocked else "event order (no clock time passed)"
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">',
        f"<title>Both traces on one axis: {escape(axis)}</title>",
        f'<text x="{LABEL_W}" y="14" font-size="10" fill="#555">{escape(axis)}'
        + (f" — 0 to {span:g}" if clocked else "")
        + "</text>",
    ]
    top = AXIS_H
    for lane, (engine, name, trace) in enumerate(
        (("primary", names[0], left), ("shadow", names[1], right))
    ):
        mark = first[2] if first is not None and first[1] == lane else None
        parts.append(_lane(engine, name, trace, rows, top, at, mark, left_out))
        top += lane_h + LANE_GAP + 14
    parts.append("</svg>")
    return Markup("".join(parts))


def _lane(
    engine: str,
    name: str,
    trace: Sequence[TraceEvent],
    rows: list[str],
    top: float,
    at: Callable[[TraceEvent, int], float],
    mark: TraceEvent | None,
    left_out: int = 0,
) -> str:
    index = {row: i for i, row in enumerate(rows)}
    out = [
        f'<g class="lane" data-engine="{engine}">',
        f'<text x="4" y="{top + 8}" font-size="11" font-weight="bold">{escape(name)}</text>',
    ]
    top += 14
    labels = []
    for row, i in index.items():
        y = top + i * ROW_H
        if i % 2:  # every other row shaded; the page's background is the rest
            out.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{ROW_H}" fill="#f5f5f5"/>')
        labels.append(
            f'<text x="4" y="{y + 13}">{escape(row if len(row) <= 24 else row[:23] + "…")}</text>'
        )
    out.append(f'<g class="rows" font-size="10" fill="#333">{"".join(labels)}</g>')
    if left_out:
        out.append(
            f'<text class="left-out" x="4" y="{top + len(rows) * ROW_H + 11}" font-size="10" '
            f'fill="#666">{left_out} more rows (node executions) not drawn: the differences '
            "table and the JSON report have them</text>"
        )
    open_at: dict[tuple[str, int], tuple[float, TraceEvent]] = {}
    retried: dict[str, float] = {}
    for position, event in enumerate(trace):
        row = _row(event)
        if row not in index:  # one of the rows left out
            continue
        y = top + index[row] * ROW_H
        x = at(event, position)
        kind = str(event.kind)
        if kind == "started":
            open_at[(row, event.attempt)] = (x, event)
            if row in retried:  # the backoff since the failed attempt
                out.append(
                    f'<line class="backoff" x1="{retried.pop(row):.1f}" y1="{y + 9}" '
                    f'x2="{x:.1f}" y2="{y + 9}" stroke="#ef6c00" stroke-dasharray="3 2"/>'
                )
        elif kind in END_KINDS or kind == "retrying":
            began, _ = open_at.pop((row, event.attempt), (x, event))
            status = "failed" if kind == "retrying" else END_KINDS[kind]
            if kind == "failed" and event.detail.get("handled"):
                status = "routed"
            out.append(
                f'<rect class="run {escape(status)}" x="{began:.1f}" y="{y + 3}" '
                f'width="{max(x - began, 4):.1f}" height="{ROW_H - 6}" rx="2" '
                f'fill="{colour(status)}"><title>{escape(_tip(event))}</title></rect>'
            )
            if kind == "retrying":
                retried[row] = x
        elif kind == "skipped":
            out.append(
                f'<path class="skip" d="M{x - 4:.1f},{y + 5} l8,8 m0,-8 l-8,8" '
                f'stroke="#757575" stroke-width="1.6"><title>{escape(_tip(event))}</title></path>'
            )
        else:  # compensated and any other point event
            out.append(
                f'<circle class="mark {escape(kind)}" cx="{x:.1f}" cy="{y + 9}" r="4" '
                f'fill="#6a1b9a"><title>{escape(_tip(event))}</title></circle>'
            )
        if event is mark:
            out.append(
                f'<line class="first-divergence" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
                f'y2="{top + len(rows) * ROW_H}" stroke="#d50000" stroke-width="2">'
                f"<title>first step the comparison found different: "
                f"{escape(step_key(event))}</title></line>"
            )
    for (row, _), (x, event) in open_at.items():  # started, never ended: waiting
        y = top + index[row] * ROW_H
        out.append(
            f'<rect class="run waiting" x="{x:.1f}" y="{y + 3}" width="8" height="{ROW_H - 6}" '
            f'fill="{colour("waiting")}"><title>{escape(_tip(event))} (no end)</title></rect>'
        )
    out.append("</g>")
    return "".join(out)


def _tip(event: TraceEvent) -> str:
    detail = ", ".join(f"{k}={v}" for k, v in sorted(event.detail.items()))
    text = f"#{event.seq} {event.kind} {_row(event)} attempt {event.attempt} at t={event.time:g}"
    return f"{text} ({detail})" if detail else text
