"""Which names a template may use, where.

A template may read `nodes.<id>` only for an ancestor of its node (so the value exists and
is the same whatever the schedule), `loop` only inside a loop body and `parallel` only
inside a parallel body, and must name nodes literally so this can be checked at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from engines.errors import Problem
from engines.expressions import Expression, References, Template
from engines.model.fields import TypedTemplate
from engines.model.nodes import NodeBase
from engines.model.topology import Topology
from engines.model.workflow import Workflow

Compiled = Template | TypedTemplate | Expression

_BASE_ROOTS = frozenset(("inputs", "vars", "nodes", "env"))


@dataclass(frozen=True, slots=True)
class Site:
    """A template inside a node, with the path that names it in the document."""

    path: str
    compiled: Compiled


def iter_compiled(value: Any, path: str) -> Iterator[Site]:
    """Every template and expression inside a model, dict or list, with its path."""
    if isinstance(value, (Template, TypedTemplate, Expression)):
        yield Site(path, value)
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            yield from iter_compiled(getattr(value, name), f"{path}.{info.alias or name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_compiled(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from iter_compiled(item, f"{path}[{index}]")


def node_sites(node: NodeBase) -> Iterator[Site]:
    """The templates a node evaluates when it runs (params, idempotency key, compensation)."""
    yield from iter_compiled(node.params, "params")
    if node.idempotency_key is not None:
        yield Site("idempotency_key", node.idempotency_key)
    if node.compensate is not None:
        yield from iter_compiled(node.compensate.args, "compensate.args")


def node_location(workflow: Workflow, node_id: str) -> str:
    return f"nodes[{workflow.declaration_index[node_id]}] (id {node_id!r})"


def node_references(node: NodeBase) -> References:
    refs = References()
    for site in node_sites(node):
        refs = refs | site.compiled.references
    return refs


def _allowed_roots(workflow: Workflow, topology: Topology, node_id: str) -> frozenset[str]:
    roots = set(_BASE_ROOTS)
    for container in topology.enclosing(node_id):
        roots.add(workflow.node(container).type)
    return frozenset(roots)


def _root_problem(root: str) -> str:
    if root in ("loop", "parallel"):
        return f"uses {root!r}, which is only defined inside a {root} body"
    return f"uses {root!r}, which is not defined here"


def check_references(workflow: Workflow, topology: Topology) -> list[Problem]:
    problems: list[Problem] = []
    for node_id in topology.iter_nodes():
        node = workflow.node(node_id)
        base = _allowed_roots(workflow, topology, node_id)
        where = node_location(workflow, node_id)
        for site in node_sites(node):
            allowed = base
            if node.type == "loop" and site.path == "params.condition":
                allowed = base | {"loop"}
            refs = site.compiled.references
            location = f"{where}.{site.path}"
            for root in sorted(refs.roots - allowed):
                problems.append(Problem(location, _root_problem(root)))
            if refs.dynamic_nodes:
                problems.append(
                    Problem(
                        location,
                        "reads nodes without a literal id; write "
                        "nodes.<id> or nodes['<id>'] so the reference can be "
                        "checked",
                    )
                )
            for ref in sorted(refs.nodes):
                if ref not in workflow.node_map:
                    problems.append(Problem(location, f"references unknown node {ref!r}"))
                elif ref == node_id and site.path.startswith("compensate."):
                    continue
                elif ref not in topology.level_of or not topology.is_ancestor(ref, node_id):
                    problems.append(
                        Problem(
                            location,
                            f"references nodes.{ref}, which is not an "
                            f"ancestor of {node_id!r} (it may not have run "
                            "yet, or ever)",
                        )
                    )
    problems.extend(_check_workflow_templates(workflow, topology))
    return problems


def _check_workflow_templates(workflow: Workflow, topology: Topology) -> list[Problem]:
    problems: list[Problem] = []
    for name, template in workflow.variables.items():
        refs = template.references
        for root in sorted(refs.roots - {"inputs", "env"}):
            problems.append(
                Problem(
                    f"variables.{name}",
                    f"uses {root!r}; initial variables may only use inputs and env",
                )
            )
    top = topology.levels[None].nodes
    for name, template in (workflow.outputs or {}).items():
        refs = template.references
        location = f"outputs.{name}"
        for root in sorted(refs.roots - _BASE_ROOTS):
            problems.append(Problem(location, _root_problem(root)))
        if refs.dynamic_nodes:
            problems.append(Problem(location, "reads nodes without a literal id"))
        for ref in sorted(refs.nodes):
            if ref not in workflow.node_map:
                problems.append(Problem(location, f"references unknown node {ref!r}"))
            elif ref not in top:
                problems.append(
                    Problem(
                        location, f"references {ref!r}, which is not a reachable top-level node"
                    )
                )
    return problems
