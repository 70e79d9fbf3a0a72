"""Mutant `retries_not_counted` (journey engine): the first attempt is not counted against
`max_attempts` — the policy compares the number of retries so far with it — so every node
with a retry policy gets one attempt too many (docs/semantics.md §7.7: attempt n is retried
only while n < max_attempts).

Injected by a session subclass that sees copies of the workflow's nodes whose retry policy
is `UncountedRetryPolicy`; the workflow, the blueprint and the real sessions keep theirs.
"""

from __future__ import annotations

from typing import Any

from engines.journey.session import Session
from engines.model.nodes import NodeBase, RetryPolicy
from tests.mutants.base import JourneyMutant


class UncountedRetryPolicy(RetryPolicy):
    def retries(self, code: str, recoverable: bool, attempt: int) -> bool:
        # MUTATION: `attempt - 1` (retries done) where the contract compares `attempt`.
        return super().retries(code, recoverable, attempt - 1)


def _uncounted(node: NodeBase) -> NodeBase:
    retry = getattr(node, "retry", None)
    if retry is None:
        return node
    return node.model_copy(update={"retry": UncountedRetryPolicy(**retry.model_dump())})


class UncountedRetriesSession(Session):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes = {node_id: _uncounted(node) for node_id, node in self.nodes.items()}


engine = JourneyMutant("retries_not_counted", UncountedRetriesSession)
