"""A set of workflows that may call each other through `subworkflow` nodes.

Checks what no single workflow can check alone: every sub-workflow it names exists, no
workflow used as a sub-workflow waits for input (a child cannot pause its parent's
conversation), and, given a tool registry, every tool it calls is registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from engines.errors import Problem, WorkflowInvalid
from engines.model.nodes import SubworkflowNode, ToolNode
from engines.model.races import check_breaker_races
from engines.model.scoping import node_location
from engines.model.tools import breakers_of
from engines.model.validate import ValidatedWorkflow
from engines.tools import ToolRegistry


class WorkflowRegistry(Mapping[str, ValidatedWorkflow]):
    """Validated workflows by id; the first one given is the main workflow."""

    def __init__(
        self, workflows: Iterable[ValidatedWorkflow], *, tools: ToolRegistry | None = None
    ) -> None:
        items = list(workflows)
        if not items:
            raise WorkflowInvalid([Problem("", "a registry needs at least one workflow")])
        by_id: dict[str, ValidatedWorkflow] = {}
        problems: list[Problem] = []
        for item in items:
            if item.id in by_id:
                problems.append(Problem(f"workflow {item.id!r}", "the id is used by two workflows"))
            by_id[item.id] = item
        self._workflows = MappingProxyType(by_id)
        self.main = items[0]
        problems.extend(self._check_subworkflows())
        if tools is not None:
            problems.extend(self._check_tools(tools))
        if problems:
            raise WorkflowInvalid(problems)

    def __getitem__(self, workflow_id: str) -> ValidatedWorkflow:
        return self._workflows[workflow_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._workflows)

    def __len__(self) -> int:
        return len(self._workflows)

    def _calls(self, item: ValidatedWorkflow) -> Iterator[tuple[str, str]]:
        """(node id, called workflow id) for each reachable subworkflow node."""
        for node_id in item.topology.iter_nodes():
            node = item.workflow.node(node_id)
            if isinstance(node, SubworkflowNode):
                yield node_id, node.params.workflow

    def _check_subworkflows(self) -> list[Problem]:
        problems: list[Problem] = []
        called: set[str] = set()
        for item in self._workflows.values():
            for node_id, target in self._calls(item):
                where = (
                    f"workflow {item.id!r} {node_location(item.workflow, node_id)}.params.workflow"
                )
                if target not in self._workflows:
                    known = ", ".join(sorted(self._workflows))
                    problems.append(Problem(where, f"unknown workflow {target!r} (known: {known})"))
                else:
                    called.add(target)
        for target in sorted(called):
            item = self._workflows[target]
            for node_id in item.topology.iter_nodes():
                if item.workflow.node(node_id).type == "input":
                    problems.append(
                        Problem(
                            f"workflow {target!r} {node_location(item.workflow, node_id)}",
                            "is an input node, but the workflow is used as a sub-workflow; a "
                            "sub-workflow cannot pause for input (ask in the parent and pass "
                            "the answer in params.inputs)",
                        )
                    )
        return problems

    def _check_tools(self, tools: ToolRegistry) -> list[Problem]:
        problems: list[Problem] = []
        known = ", ".join(tools)
        for item in self._workflows.values():
            for name in item.workflow.tools or {}:
                if name not in tools:
                    problems.append(
                        Problem(
                            f"workflow {item.id!r} tools.{name}",
                            f"settings for unknown tool {name!r} (registered: {known})",
                        )
                    )
            # The breakers only the configuration declares (the workflow's own were checked
            # when it was validated).
            configured = set(tools.breakers) - set(breakers_of(item.workflow.tools))
            for problem in check_breaker_races(item.workflow, item.topology, configured):
                problems.append(
                    Problem(f"workflow {item.id!r} {problem.location}", problem.message)
                )
            for node_id in item.topology.iter_nodes():
                node = item.workflow.node(node_id)
                where = f"workflow {item.id!r} {node_location(item.workflow, node_id)}"
                if isinstance(node, ToolNode) and node.params.tool not in tools:
                    problems.append(
                        Problem(
                            f"{where}.params.tool",
                            f"unknown tool {node.params.tool!r} (registered: {known})",
                        )
                    )
                if node.compensate is not None and node.compensate.tool not in tools:
                    problems.append(
                        Problem(
                            f"{where}.compensate.tool",
                            f"unknown tool {node.compensate.tool!r} (registered: {known})",
                        )
                    )
        return problems
