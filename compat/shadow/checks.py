"""Checking an experiment's arguments: a bad one is a `ConfigError` (an unknown or
malformed engine a `SetupError`) naming the experiment and the argument, raised when the
experiment is made, never later on the worker."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from compat.engines import Engine, load_engine
from engines.errors import ConfigError, SetupError
from engines.tools import ToolRegistry


def engine(
    where: str,
    role: str,
    spec: Any,
    tools: ToolRegistry | None,
    env: Mapping[str, str] | None,
) -> Engine:
    if isinstance(spec, str):
        try:
            return load_engine(spec, tools=tools, env=env)
        except SetupError as exc:
            raise SetupError(f"{where}: {role}: {exc}") from None
    return _engine_object(where, role, spec)


def remote_engine(where: str, role: str, spec: Any) -> None:
    """An engine for a worker process: a spec (loaded there) or an engine object (pickled)."""
    if not isinstance(spec, str):
        _engine_object(where, role, spec)


def _engine_object(where: str, role: str, spec: Any) -> Engine:
    if not callable(getattr(spec, "run_case", None)):
        raise SetupError(
            f"{where}: {role} must be an engine spec (graph, journey, module:attr) or an "
            f"object with run_case(registry, inputs, conversation), got {type(spec).__name__}"
        )
    if not isinstance(getattr(spec, "name", None), str) or not spec.name:
        raise SetupError(f"{where}: {role} engine {type(spec).__name__} has no name")
    return spec  # type: ignore[no-any-return]


def number(
    where: str,
    field: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    open_low: bool = False,
) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (value > low if open_low else value >= low) and value <= high
    if not ok:
        bounds = f"> {low:g}" if open_low else f">= {low:g}"
        if high != math.inf:
            bounds = f"> {low:g} and <= {high:g}" if open_low else f"between {low:g} and {high:g}"
        raise ConfigError(f"{where}: {field} must be a number {bounds}, got {value!r}")
    return float(value)


def count(where: str, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {field} must be an int >= 1, got {value!r}")
    return value


def hook(where: str, field: str, value: Any) -> Callable[..., Any] | None:
    if value is not None and not callable(value):
        raise ConfigError(f"{where}: {field} must be callable or None, got {type(value).__name__}")
    return value  # type: ignore[no-any-return]


def hooks(where: str, field: str, value: Any) -> tuple[Callable[..., Any], ...]:
    if callable(value):
        return (value,)
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(
            f"{where}: {field} must be a callable or a sequence of callables, "
            f"got {type(value).__name__}"
        )
    hooks = tuple(value)
    for index, hook in enumerate(hooks):
        if not callable(hook):
            raise ConfigError(
                f"{where}: {field}[{index}] must be callable, got {type(hook).__name__}"
            )
    return hooks
