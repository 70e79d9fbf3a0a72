"""Shared helpers: compact workflow builders and assertions on validation problems.

`workflow(nodes, edges)` builds a native workflow document from compact pieces:

    workflow(
        [start(), node("a", "transform", value=1), node("b", "end")],
        ["start -> a", "a -> b", "c[true] -> d"],
    )

An edge string is `source -> target` or `source[handle] -> target`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

from engines.errors import Problem, WorkflowInvalid
from engines.model import ValidatedWorkflow, validate_workflow

# Property tests draw the same examples on every run (a suite whose verdict changes from one
# run to the next is no gate); `COMPAT_HYPOTHESIS=explore` draws new ones, to look for bugs
# (`compat fuzz` is the tool for long searches).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("COMPAT_HYPOTHESIS", "repeatable"))

_EDGE = re.compile(
    r"^\s*(?P<source>[^\s\[]+)\s*(?:\[(?P<handle>[^\]]+)\])?\s*->\s*(?P<target>\S+)\s*$"
)

#: `../shared`: a folder beside the checkout (not in the repository) holding flows saved by
#: other products (`real-flows/`, with their sources in `real-flows/SOURCES.md`). CI has it; a
#: fresh clone does not. `COMPAT_SHARED=/path` looks for it elsewhere.
SHARED = Path(os.environ.get("COMPAT_SHARED") or Path(__file__).resolve().parents[2] / "shared")
REAL_FLOWS = SHARED / "real-flows"
NEEDS_SHARED = "needs ../shared (the real flows beside the checkout; see README)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"needs_shared: reads {REAL_FLOWS}; skipped when it is absent, a failure when "
        "COMPAT_REQUIRE_SHARED=1 (as .ci/run sets it)",
    )


#: The terminal every test sees, whatever pytest runs in: 120 columns, the width `compat` uses
#: off a terminal (CI logs, pipes), and no variable that makes rich treat a pipe as a terminal.
#: Without it, output depends on where pytest runs: GNU readline (imported while pytest starts)
#: puts COLUMNS=80 and LINES=24 into the process's C environment, not into os.environ, and
#: pytest-xdist's workers inherit them there, so under `-n 2` rich wrapped at 80 columns.
TERMINAL_COLUMNS = "120"
_TERMINAL_VARIABLES_UNSET = ("LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


@pytest.fixture(scope="session", autouse=True)
def _pinned_terminal() -> Iterator[None]:
    """Pin the terminal for the whole session: in-process runs (typer's CliRunner, rich) read
    os.environ, and setting it also sets the C environment that subprocesses inherit, so the
    `compat` console script, servers and workers started by tests see the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", TERMINAL_COLUMNS)
        for variable in _TERMINAL_VARIABLES_UNSET:
            patch.delenv(variable, raising=False)
        yield


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `needs_shared` is skipped, saying why, when ../shared/real-flows is
    absent; under COMPAT_REQUIRE_SHARED=1 (CI) its absence is an error, never a skip."""
    if item.get_closest_marker("needs_shared") is None or REAL_FLOWS.is_dir():
        return
    if os.environ.get("COMPAT_REQUIRE_SHARED", "") not in ("", "0"):
        pytest.fail(
            f"{NEEDS_SHARED}: {REAL_FLOWS} is missing, and COMPAT_REQUIRE_SHARED is set "
            "(by .ci/run), so these tests may not be skipped",
            pytrace=False,
        )
    pytest.skip(f"{NEEDS_SHARED}: {REAL_FLOWS} is missing")


def node(
    node_id: str,
    node_type: str,
    *,
    parent: str | None = None,
    options: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """A node dict; keyword arguments are its params, `options` its top-level fields."""
    out: dict[str, Any] = {"id": node_id, "type": node_type}
    if params:
        out["params"] = params
    if parent is not None:
        out["parent"] = parent
    if options:
        out.update(options)
    return out


def start(node_id: str = "start", *, parent: str | None = None) -> dict[str, Any]:
    return node(node_id, "start", parent=parent)


def end(node_id: str = "end", *, parent: str | None = None, **outputs: Any) -> dict[str, Any]:
    return node(node_id, "end", parent=parent, **({"outputs": outputs} if outputs else {}))


def transform(node_id: str, value: Any = 1, *, parent: str | None = None) -> dict[str, Any]:
    return node(node_id, "transform", parent=parent, value=value)


def set_(node_id: str, *, parent: str | None = None, **values: Any) -> dict[str, Any]:
    return node(node_id, "set", parent=parent, values=values)


def condition(node_id: str, expression: str = "inputs.x", *, parent: str | None = None) -> dict:
    return node(node_id, "condition", parent=parent, expression=expression)


def router(
    node_id: str,
    routes: Sequence[str],
    *,
    all_matching: bool = False,
    parent: str | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"routes": [{"name": r, "when": f"inputs.{r}"} for r in routes]}
    if all_matching:
        params["all_matching"] = True
    return node(node_id, "router", parent=parent, **params)


def tool(node_id: str, name: str = "echo", *, parent: str | None = None, **args: Any) -> dict:
    return node(node_id, "tool", parent=parent, tool=name, args=args)


def loop_for(node_id: str, count: Any = 2, *, parent: str | None = None) -> dict[str, Any]:
    return node(node_id, "loop", parent=parent, mode="for", count=count)


def parallel_count(node_id: str, count: Any = 2, *, parent: str | None = None) -> dict[str, Any]:
    return node(node_id, "parallel", parent=parent, mode="count", count=count)


def edge(spec: str | dict[str, Any]) -> dict[str, Any]:
    """`a -> b` or `a[handle] -> b` as an edge dict (dicts pass through)."""
    if isinstance(spec, dict):
        return spec
    match = _EDGE.match(spec)
    if match is None:
        raise ValueError(f"bad edge spec {spec!r}")
    out = {"source": match["source"], "target": match["target"]}
    if match["handle"]:
        out["handle"] = match["handle"]
    return out


def chain(*ids: str) -> list[str]:
    """Edges a -> b -> c ... as edge specs."""
    return [f"{a} -> {b}" for a, b in itertools.pairwise(ids)]


def workflow(
    nodes: Iterable[dict[str, Any]],
    edges: Iterable[str | dict[str, Any]] = (),
    *,
    workflow_id: str = "wf",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": workflow_id, "nodes": list(nodes)}
    doc["edges"] = [edge(e) for e in edges]
    doc.update(extra)
    return doc


def linear(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A top-level workflow whose nodes are wired one after another in the order given."""
    return workflow(nodes, chain(*(n["id"] for n in nodes)), **extra)


def loop_doc(**params: Any) -> dict[str, Any]:
    """A loop 'L' with these params after the start, its body only a start 'ls'."""
    return workflow([start(), node("L", "loop", **params), start("ls", parent="L")], ["start -> L"])


def valid(doc: Any) -> ValidatedWorkflow:
    return validate_workflow(doc)


def problems(doc: Any) -> tuple[Problem, ...]:
    """The problems of a document that must be invalid."""
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(doc)
    found = info.value.problems
    assert found, "WorkflowInvalid without problems"
    for problem in found:
        assert problem.message.strip(), f"empty message in {problem!r}"
    return found


def one_problem(doc: Any) -> Problem:
    """The single problem of a document that must be invalid for exactly one reason."""
    found = problems(doc)
    assert len(found) == 1, "expected exactly one problem, got:\n" + "\n".join(map(str, found))
    return found[0]


def assert_words(text: str, *words: str) -> None:
    """Every word occurs in `text` (case-insensitive)."""
    lowered = text.lower()
    missing = [w for w in words if w.lower() not in lowered]
    assert not missing, f"{missing} not in {text!r}"


def write(path: Path, content: Any) -> Path:
    """Write data as JSON (.json) or YAML (.yaml/.yml), or text as is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


# ReactFlow canvas builders (the format the importer reads).


def rf_node(
    node_id: str, rf_type: str | None, data: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node_id, "position": {"x": 10, "y": 20}}
    if rf_type is not None:
        out["type"] = rf_type
    if data is not None:
        out["data"] = data
    out.update(extra)
    return out


def rf_edge(source: str, target: str, handle: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"source": source, "target": target, "sourceHandle": handle, **extra}


def rf_flow(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **extra: Any) -> dict:
    return {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}, **extra}


# Graph engine helpers: an engine on a virtual clock, a run in one call, tools that record.


def graph_engine(tools: Any = None, **options: Any) -> Any:
    """A graph engine on a fresh virtual clock (built-in tools unless `tools` is given)."""
    from engines.clock import VirtualClock
    from engines.graph.engine import GraphEngine
    from engines.tools import builtin_registry

    return GraphEngine(
        tools=tools if tools is not None else builtin_registry(), clock=VirtualClock(), **options
    )


def run_graph(doc: Any, inputs: dict[str, Any] | None = None, **options: Any) -> Any:
    """One turn of `doc` on a fresh graph engine (options as for `graph_engine`)."""
    return graph_engine(**options).run(doc, inputs or {})


def recording_tools(*names: str) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    """Built-ins plus tools `names` (default `record`) that log `(name, args)` and echo args."""
    from engines.tools import builtin_registry

    registry = builtin_registry()
    calls: list[tuple[str, dict[str, Any]]] = []
    for name in names or ("record",):

        def record(args: Any, ctx: Any, name: str = name) -> Any:
            calls.append((name, dict(args)))
            return dict(args)

        registry.register(name, record)
    return registry, calls


def steps(result: Any, node: str | None = None) -> list[tuple[str, Any, int, str]]:
    """The trace's steps `(node, path, attempt, kind)`, optionally of one node only."""
    return [e.step() for e in result.trace if node is None or e.node == node]


def kinds(result: Any, node: str, path: Any = ()) -> list[str]:
    """The event kinds of one node execution, in order."""
    return [e.kind.value for e in result.trace if e.node == node and e.path == path]


def cancel_at(engine: Any, execution: Any, seconds: float) -> Any:
    """Run `execution`'s first turn and cancel it from another task after `seconds` (virtual)."""
    import asyncio

    async def main() -> Any:
        async def canceller() -> None:
            await engine.clock.sleep(seconds)
            execution.cancel()

        task = asyncio.ensure_future(canceller())
        result = await execution.run()
        await task
        return result

    return engine.clock.run(main)


@pytest.fixture
def made() -> Iterator[list[Any]]:
    """Experiments a test made (`compat.shadow`), closed when it ends, so that no shadow
    worker process outlives it (tests/shadow/)."""
    from shadow_support import WAIT

    experiments: list[Any] = []
    yield experiments
    for exp in experiments:
        exp.close(WAIT)
