"""The validator: a workflow document in, a `ValidatedWorkflow` out, or every problem found.

Checks run in three rounds, each only once the previous one passed, so no message is a
consequence of another: shape (pydantic: fields, types, templates that parse), structure
(ids, parents, edges, starts, cycles, exits) and semantics (references, races).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engines.errors import Problem, WorkflowInvalid
from engines.model.problems import LocationMapper, problems_from
from engines.model.races import check_breaker_races, check_races
from engines.model.scoping import check_references
from engines.model.tools import breakers_of
from engines.model.topology import Topology, build_topology
from engines.model.workflow import Workflow


@dataclass(frozen=True)
class ValidatedWorkflow:
    """A workflow that passed every check, with its topology. Immutable and shareable."""

    workflow: Workflow
    topology: Topology
    warnings: tuple[Problem, ...] = ()

    @property
    def id(self) -> str:
        return self.workflow.id

    @property
    def content_hash(self) -> str:
        return self.workflow.content_hash


def parse_workflow(
    data: Any, *, source: str | None = None, mapper: LocationMapper | None = None
) -> Workflow:
    """Check a document's shape and build the model. Raises `WorkflowInvalid`."""
    if isinstance(data, Workflow):
        return data
    if not isinstance(data, Mapping):
        raise WorkflowInvalid(
            [Problem("", f"a workflow must be a mapping, not {type(data).__name__}")], source
        )
    try:
        return Workflow.model_validate(dict(data))
    except ValidationError as exc:
        raise WorkflowInvalid(problems_from(exc, data, mapper), source) from None


def validate_workflow(
    data: Any, *, source: str | None = None, mapper: LocationMapper | None = None
) -> ValidatedWorkflow:
    """Validate a workflow document (mapping) or model. Raises `WorkflowInvalid` naming every
    problem; warnings (such as unreachable nodes) are kept on the result."""
    workflow = parse_workflow(data, source=source, mapper=mapper)
    topology, problems, warnings = build_topology(workflow)
    if topology is None or problems:
        raise WorkflowInvalid(_mapped(problems, mapper), source)
    problems = (
        check_references(workflow, topology)
        + check_races(workflow, topology)
        + check_breaker_races(workflow, topology, breakers_of(workflow.tools))
    )
    if problems:
        raise WorkflowInvalid(_mapped(problems, mapper), source)
    return ValidatedWorkflow(workflow, topology, tuple(_mapped(warnings, mapper)))


def _mapped(problems: list[Problem], mapper: LocationMapper | None) -> list[Problem]:
    if mapper is None:
        return problems
    return [Problem(mapper(p.location), p.message) for p in problems]
