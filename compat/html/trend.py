"""The overview's trend: each recorded run's mean score, oldest to newest, with this run
last — drawn when the run history is on (`--history`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

W, H, PAD = 640, 90, 24


def trend_svg(points: Sequence[Any], current: float | None = None) -> Markup:
    """`points` are `compat.history.TrendPoint`s (score = a run's mean score); `current`
    is this run's, drawn last when it is not recorded yet."""
    values = [(p.started_at[:16].replace("T", " "), p.score, p.commit) for p in points]
    if current is not None:
        values.append(("this run", current, None))
    scored = [v for v in values if v[1] is not None]
    if len(scored) < 2:
        return Markup("")
    low = min(min(v[1] for v in scored), 0.9)
    span = (1.0 - low) or 1.0
    step = (W - 2 * PAD) / (len(values) - 1)

    def y(score: float) -> float:
        return PAD / 2 + (1.0 - score) / span * (H - PAD)

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{PAD + i * step:.1f},{y(v[1]):.1f}"
        for i, v in enumerate(values)
        if v[1] is not None
    )
    dots = "".join(
        f'<circle cx="{PAD + i * step:.1f}" cy="{y(v[1]):.1f}" r="3.5" '
        f'fill="{"#2e7d32" if v[1] >= 0.9999 else "#c62828"}"><title>{escape(v[0])}'
        f"{' ' + escape(v[2][:8]) if v[2] else ''}: mean score {v[1]:.3f}</title></circle>"
        for i, v in enumerate(values)
        if v[1] is not None
    )
    return Markup(
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img"><title>mean score over the last {len(values)} '
        f"runs, oldest first</title>"
        f'<line x1="{PAD}" y1="{y(1.0):.1f}" x2="{W - PAD}" y2="{y(1.0):.1f}" stroke="#ccc"/>'
        f'<text x="2" y="{y(1.0) + 4:.1f}" font-size="9" fill="#666">1.0</text>'
        f'<text x="2" y="{y(low) + 4:.1f}" font-size="9" fill="#666">{low:.2f}</text>'
        f'<path d="{path}" fill="none" stroke="#1565c0" stroke-width="1.5"/>{dots}</svg>'
    )
