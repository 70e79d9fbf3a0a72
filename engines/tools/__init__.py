"""Tools: named callables that `tool` nodes (and compensations) call."""

from engines.tools.builtins import BUILTINS, builtin_registry
from engines.tools.registry import Tool, ToolContext, ToolFn, ToolRegistry

__all__ = ["BUILTINS", "Tool", "ToolContext", "ToolFn", "ToolRegistry", "builtin_registry"]
