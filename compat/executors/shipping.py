"""Fixtures read and validated once, by the parent, and sent to worker processes as pickles,
so that no worker reads, parses or validates a fixture file again.

A `Job` holds a validated workflow registry: pydantic models, read-only mapping proxies
(the topology's tables) and compiled templates. A compiled template holds the Python code
Jinja generated for it, which does not pickle; it travels as its source and is compiled
again on arrival, through the expression layer's own cache (a template is its source:
equal sources compile to equal templates), so each distinct template is compiled once per
worker. A job that still does not pickle (say a type of the user's in it) travels as its
path, and the worker reads the file itself, as `compat check` always did.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from types import MappingProxyType
from typing import Any

from compat.check import Job
from engines.expressions.compiler import (
    Expression,
    Template,
    compile_expression,
    compile_template,
)


def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _template(source: str, fast: bool) -> Template:
    return compile_template(source, fast=fast)


def _expression(source: str, fast: bool) -> Expression:
    return compile_expression(source, fast=fast)


def _fast(compiled: Template | Expression) -> bool:
    """Whether `compiled` came from `fast=True` compiling (the validator's way), so that it
    is compiled again the same way: a template with a fast path has it; one without is the
    same either way unless its source has one (then it was compiled with `fast=False`)."""
    if compiled.is_fast:
        return True
    again = compile_template if isinstance(compiled, Template) else compile_expression
    return not again(compiled.source).is_fast  # type: ignore[arg-type]


class _Pickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[MappingProxyType] = lambda proxy: (_proxy, (dict(proxy),))

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Template) and isinstance(obj.source, str):
            return _template, (obj.source, _fast(obj))
        if isinstance(obj, Expression):
            return _expression, (obj.source, _fast(obj))
        return NotImplemented  # dict and list templates travel as their compiled items


def pack(job: Job) -> bytes | None:
    """`job` as bytes for a worker, or None when it does not pickle (the worker reads it)."""
    out = io.BytesIO()
    try:
        _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(job)
    except Exception:  # whatever does not pickle: the path still works
        return None
    return out.getvalue()


def unpack(data: bytes) -> Job:
    """A job `pack` made."""
    job = pickle.loads(data)
    if not isinstance(job, Job):
        raise TypeError(f"a shipped job is a {type(job).__name__}, not a Job")
    return job


__all__ = ["pack", "unpack"]
