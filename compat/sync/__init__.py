"""Cross-engine resume and context merge (docs/harness-sync.md).

* `merge_context` / `merge_results` merge two runs' contexts with a conflict strategy.
* `CommonState` is an engine-neutral, versioned JSON form of a paused run;
  `from_graph` / `to_graph` and `from_journey` / `to_journey` convert each engine's saved
  form to and from it, and `handoff` hands a paused run from one engine to the other — the
  result of finishing it there equals an uninterrupted run.
"""

from compat.sync.graph import from_graph, to_graph
from compat.sync.handoff import ENGINES, handoff
from compat.sync.journey import from_journey, to_journey
from compat.sync.merge import DROP, STRATEGIES, merge_context, merge_results
from compat.sync.state import (
    FORMAT,
    VERSION,
    CommonState,
    Compensation,
    IdempotencyRecord,
    LevelState,
    LoopProgress,
    NodeState,
    ParallelProgress,
    Question,
    check_state,
    parse_state,
)

__all__ = [
    "DROP",
    "ENGINES",
    "FORMAT",
    "STRATEGIES",
    "VERSION",
    "CommonState",
    "Compensation",
    "IdempotencyRecord",
    "LevelState",
    "LoopProgress",
    "NodeState",
    "ParallelProgress",
    "Question",
    "check_state",
    "from_graph",
    "from_journey",
    "handoff",
    "merge_context",
    "merge_results",
    "parse_state",
    "to_graph",
    "to_journey",
]
