"""The tool registry both engines call tools through.

A tool is a callable `fn(args, ctx)`, sync or async, taking the resolved `args` mapping and a
`ToolContext`. It signals failure by raising `ToolError(code, message, recoverable=...)`;
any other exception becomes a non-recoverable `TOOL_ERROR`. Its result must be JSON data
(tuples are turned into lists), because outputs are snapshotted and compared.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.clock import Clock
from engines.errors import ErrorCode, ExpressionError, ToolError, ToolRegistryError
from engines.expressions.values import as_json

if TYPE_CHECKING:  # the model imports this registry; the declaration is only a type here
    from engines.model.tools import CircuitBreaker

ToolFn = Callable[[Mapping[str, Any], "ToolContext"], Any]


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may know about the call it serves."""

    clock: Clock
    node: str = ""
    attempt: int = 1
    #: Where the call happens inside loops and parallels: ((container id, index), ...).
    path: tuple[tuple[str, int], ...] = ()
    workflow: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    fn: ToolFn
    description: str = ""


def _text(exc: BaseException) -> str:
    """`str(exc)`, or as much as can be said when even that fails: an exception holding an
    integer too long to print (docs/semantics.md §5, "Budgets") must not crash the engine
    that reports it."""
    try:
        return str(exc)
    except ValueError:
        return "(a message that cannot be printed)"


class ToolRegistry:
    """Named tools. Registration is explicit; a name can be registered once."""

    def __init__(
        self, tools: Iterable[Tool] = (), breakers: Mapping[str, CircuitBreaker] | None = None
    ) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self._add(tool)
        #: Circuit breakers the configuration declares, by tool (docs/semantics.md §6); a
        #: workflow's own `tools` declarations replace them tool by tool.
        self.breakers: dict[str, CircuitBreaker] = dict(breakers or {})

    def _add(self, tool: Tool) -> None:
        if not tool.name or not isinstance(tool.name, str):
            raise ToolRegistryError(f"tool name must be a non-empty string, not {tool.name!r}")
        if tool.name in self._tools:
            raise ToolRegistryError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def register(self, name: str, fn: ToolFn | None = None, *, description: str = "") -> Any:
        """Register `fn` as `name`; without `fn`, return a decorator."""

        def add(func: ToolFn) -> ToolFn:
            if not callable(func):
                raise ToolRegistryError(f"tool {name!r}: {func!r} is not callable")
            doc = description or (inspect.getdoc(func) or "").split("\n")[0]
            self._add(Tool(name, func, doc))
            return func

        return add if fn is None else add(fn)

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolRegistryError(
                f"unknown tool {name!r} (registered: {', '.join(sorted(self._tools)) or 'none'})"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._tools))

    def __len__(self) -> int:
        return len(self._tools)

    def copy(self) -> ToolRegistry:
        return ToolRegistry(self._tools.values(), self.breakers)

    async def call(self, name: str, args: Mapping[str, Any], ctx: ToolContext) -> Any:
        """Call a tool. Every failure comes out as `ToolError`; the result is JSON data."""
        tool = self._tools.get(name)
        if tool is None:
            raise ToolError(ErrorCode.TOOL_ERROR, f"unknown tool {name!r}", recoverable=False)
        try:
            result = tool.fn(args, ctx)
            if isinstance(result, Awaitable):
                result = await result
        except ToolError:
            raise
        except TimeoutError as exc:
            raise ToolError(
                ErrorCode.TIMEOUT,
                f"tool {name!r} timed out: {_text(exc)}".rstrip(": "),
                recoverable=True,
            ) from exc
        except Exception as exc:
            raise ToolError(
                ErrorCode.TOOL_ERROR,
                f"tool {name!r} raised {type(exc).__name__}: {_text(exc)}",
                recoverable=False,
            ) from exc
        try:
            return as_json(result)
        except ExpressionError as exc:
            raise ToolError(
                ErrorCode.TOOL_ERROR,
                f"tool {name!r} returned something that is not JSON data: {exc.message}",
                recoverable=False,
            ) from None

    def load_module(self, spec: str) -> None:
        """Let a user module register its tools: `pkg.mod` calls `pkg.mod.register_tools(registry)`,
        `pkg.mod:func` calls `func(registry)`."""
        module_name, _, attr = spec.partition(":")
        attr = attr or "register_tools"
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ToolRegistryError(
                f"tool module {module_name!r} could not be imported: {type(exc).__name__}: {exc}"
            ) from exc
        hook = getattr(module, attr, None)
        if not callable(hook):
            raise ToolRegistryError(
                f"tool module {module_name!r} has no callable {attr!r} "
                f"(expected {attr}(registry) to register its tools)"
            )
        staged = self.copy()
        try:
            hook(staged)
        except ToolRegistryError:
            raise
        except Exception as exc:
            raise ToolRegistryError(
                f"{spec}: registering tools failed: {type(exc).__name__}: {exc}"
            ) from exc
        self._tools = staged._tools
