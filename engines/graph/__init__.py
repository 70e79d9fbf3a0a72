"""The graph engine: a workflow run as a DAG with a concurrent ready queue."""

from engines.graph.engine import GraphEngine
from engines.graph.events import Event, ExecutionEvent
from engines.graph.execution import Execution
from engines.graph.plan import ExecutionPlan

__all__ = ["Event", "Execution", "ExecutionEvent", "ExecutionPlan", "GraphEngine"]
