"""The workflow drawn as a graph: an SVG laid out in layers, left to right, from the
validator's topology. Containers (loops, parallels) are boxes holding their body's own
layout; each node is split in two halves coloured by what it did in each engine, and the
nodes where the engines diverge are outlined.

Hand-written SVG rather than a layout library: a workflow level is a DAG whose canonical
order is already topological, so longest-path layering is a few lines, and the page stays
one small file and no layout runs in the browser. Strokes, opacity and type faces are in
the page's stylesheet (`.workflow-graph` in report.css), not repeated on every shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

from compat.detail import NodeView, WorkflowView

NODE_W, NODE_H = 132, 40
GAP_X, GAP_Y = 56, 18
PAD, HEADER = 12, 22

#: Fill colours by status (the legend shows them).
COLOURS = {
    "completed": "#2e7d32",
    "routed": "#ef6c00",
    "failed": "#c62828",
    "skipped": "#9e9e9e",
    "waiting": "#1565c0",
    "not run": "#eeeeee",
}
MIXED = "#6a1b9a"


@dataclass
class Box:
    node: NodeView
    x: float = 0.0
    y: float = 0.0
    w: float = NODE_W
    h: float = NODE_H
    inner: Level | None = None


@dataclass
class Level:
    boxes: dict[str, Box] = field(default_factory=dict)
    w: float = 0.0
    h: float = 0.0


def layout(view: WorkflowView) -> Level:
    children: dict[str | None, list[NodeView]] = {}
    for node in view.nodes:
        children.setdefault(node.parent, []).append(node)
    return _level(None, children, view)


def _level(
    container: str | None, children: dict[str | None, list[NodeView]], view: WorkflowView
) -> Level:
    nodes = sorted(children.get(container, []), key=lambda n: n.index)
    ids = {n.id for n in nodes}
    level = Level()
    for node in nodes:
        box = Box(node)
        if node.id in children:
            box.inner = _level(node.id, children, view)
            box.w = max(NODE_W, box.inner.w + 2 * PAD)
            box.h = box.inner.h + HEADER + 2 * PAD
        level.boxes[node.id] = box
    layer = dict.fromkeys(ids, 0)
    inside = [e for e in view.edges if e.source in ids and e.target in ids]
    for _ in range(len(nodes)):  # longest path; the order is topological, so one pass suffices
        changed = False
        for edge in inside:
            if layer[edge.target] < layer[edge.source] + 1:
                layer[edge.target] = layer[edge.source] + 1
                changed = True
        if not changed:
            break
    columns: dict[int, list[Box]] = {}
    for node in nodes:
        columns.setdefault(layer[node.id], []).append(level.boxes[node.id])
    x = 0.0
    for index in sorted(columns):
        column = columns[index]
        width = max(b.w for b in column)
        y = 0.0
        for box in column:
            box.x, box.y = x + (width - box.w) / 2, y
            y += box.h + GAP_Y
        level.h = max(level.h, y - GAP_Y)
        x += width + GAP_X
    level.w = max(0.0, x - GAP_X)
    return level


def _all(level: Level, dx: float, dy: float, out: dict[str, tuple[Box, float, float]]) -> None:
    for box in level.boxes.values():
        out[box.node.id] = (box, dx + box.x, dy + box.y)
        if box.inner is not None:
            _all(box.inner, dx + box.x + PAD, dy + box.y + HEADER + PAD, out)


def colour(status: str) -> str:
    return COLOURS.get(status, MIXED)


def svg(
    view: WorkflowView,
    primary: dict[str, str],
    shadow: dict[str, str],
    diverged: set[str],
    *,
    names: tuple[str, str] = ("primary", "shadow"),
) -> Markup:
    """The drawing; `primary` / `shadow` map node → status (`cases.node_statuses`)."""
    level = layout(view)
    placed: dict[str, tuple[Box, float, float]] = {}
    _all(level, PAD, PAD, placed)
    width, height = level.w + 2 * PAD, level.h + 2 * PAD
    parts: list[str] = [
        f'<svg class="workflow-graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">',
        f"<title>{escape(view.id)}: the workflow, coloured by each engine's run</title>",
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" '
        'fill="#555"/></marker></defs>',
    ]
    # Containers first (behind), then edges, then plain nodes.
    for box, x, y in placed.values():
        if box.inner is not None:
            parts.append(_node(box, x, y, primary, shadow, diverged, names, container=True))
    for edge in view.edges:
        if edge.source not in placed or edge.target not in placed:
            continue
        (a, ax, ay), (b, bx, by) = placed[edge.source], placed[edge.target]
        x1, y1 = ax + a.w, ay + (NODE_H / 2 if a.inner else a.h / 2)
        x2, y2 = bx, by + (NODE_H / 2 if b.inner else b.h / 2)
        if x2 <= x1:  # same column (should not happen within a level): route around
            x2, y2 = bx + b.w / 2, by
        bend = max(24.0, (x2 - x1) / 2)
        parts.append(
            f'<path class="edge" data-handle="{escape(edge.handle)}" d="M{x1:.0f},{y1:.0f} '
            f'C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
            f'marker-end="url(#arrow)"/>'
        )
        if edge.handle != "out":
            # Near the target, where edges from one source have fanned out.
            parts.append(
                f'<text class="handle" x="{x2 - 6:.0f}" y="{y2 - 5:.0f}">'
                f"{escape(edge.handle)}</text>"
            )
    for box, x, y in placed.values():
        if box.inner is None:
            parts.append(_node(box, x, y, primary, shadow, diverged, names, container=False))
    parts.append("</svg>")
    return Markup("".join(parts))


def _node(
    box: Box,
    x: float,
    y: float,
    primary: dict[str, str],
    shadow: dict[str, str],
    diverged: set[str],
    names: tuple[str, str],
    *,
    container: bool,
) -> str:
    node = box.node
    left, right = primary.get(node.id, "not run"), shadow.get(node.id, "not run")
    classes = "node container" if container else "node"
    if node.id in diverged:
        classes += " diverged"
    label = node.name or node.id
    tip = f"{node.id} ({node.type}) — {names[0]}: {left}; {names[1]}: {right}"
    head = NODE_H if not container else HEADER
    out = [
        f'<g class="{classes}" data-node="{escape(node.id)}" data-type="{escape(node.type)}" '
        f'data-primary="{escape(left)}" data-shadow="{escape(right)}">',
        f"<title>{escape(tip)}</title>",
    ]
    # Strokes, opacity and type faces come from the page's stylesheet (report.css,
    # `.workflow-graph`): written once there, not on each of hundreds of shapes.
    if container:
        out.append(
            f'<rect class="box" x="{x:.0f}" y="{y:.0f}" width="{box.w:.0f}" '
            f'height="{box.h:.0f}" rx="8"/>'
        )
    half = box.w / 2
    out.append(
        f'<rect class="half" x="{x:.0f}" y="{y:.0f}" width="{half:.0f}" height="{head}" '
        f'fill="{colour(left)}"/>'
        f'<rect class="half" x="{x + half:.0f}" y="{y:.0f}" width="{half:.0f}" '
        f'height="{head}" fill="{colour(right)}"/>'
        f'<rect class="frame" x="{x:.0f}" y="{y:.0f}" width="{box.w:.0f}" height="{head}" rx="4"/>'
    )
    text = label if len(label) <= 18 else label[:17] + "…"
    out.append(
        f'<text x="{x + box.w / 2:.0f}" y="{y + (14 if container else 17):.0f}">'
        f"{escape(text)}</text>"
    )
    if not container:
        out.append(
            f'<text class="type" x="{x + box.w / 2:.0f}" y="{y + 32:.0f}">'
            f"{escape(node.type)}</text>"
        )
    out.append("</g>")
    return "".join(out)
