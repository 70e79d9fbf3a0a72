"""One level of the common state (the top level, a loop iteration, a parallel branch) built
from either engine's document: the graph's frames and the journey's walks hold the same
facts under their own names, so each converter says which field is which and this builds
the rest the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compat.sync.state import sort_key


def by_index(mapping: Mapping[str, Any]) -> list[str]:
    """Branch indexes (JSON keys) in numeric order."""
    return sorted(mapping, key=lambda i: (len(i.lstrip("-")), i))


def common_level(
    doc: Any,
    index: Mapping[str, int],
    *,
    resolved: Mapping[str, Any],
    pending: Mapping[str, Any],
    fired: Mapping[str, Any],
    runs: list[Any],
    container: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """A level: what settled, which edges are pending or fired, the questions waiting, the
    errors and routed errors, and the containers running — all in canonical order."""
    order = sort_key(index)
    return {
        "path": doc.path,
        "resolved": {n: resolved[n].model_dump() for n in sorted(resolved, key=order)},
        "edges_pending": {n: pending[n] for n in sorted(pending, key=order)},
        "edges_fired": {n: fired[n] for n in sorted(fired, key=order)},
        "waiting": sorted(doc.waiting, key=order),
        "errors": [
            e.model_dump(mode="json") for e in sorted(doc.errors, key=lambda e: order(e.node))
        ],
        "routed": {n: doc.routed[n].model_dump(mode="json") for n in sorted(doc.routed, key=order)},
        "containers": [container(run) for run in sorted(runs, key=lambda r: order(r.node))],
    }


def common_loop(run: Any, iteration: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "kind": "loop",
        "node": run.node,
        "mode": run.mode,
        "max_iterations": run.max_iterations,
        "count": run.count,
        "items": run.items,
        "index": run.index,
        "results": run.results,
        "iteration": iteration,
    }


def common_parallel(run: Any, opened: int, active: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "parallel",
        "node": run.node,
        "branches": run.branches,
        "max_concurrency": run.max_concurrency,
        "items": run.items,
        "opened": opened,
        "active": active,
        "results": {i: run.results[i] for i in by_index(run.results)},
        "failures": {i: run.failures[i].model_dump(mode="json") for i in by_index(run.failures)},
    }
