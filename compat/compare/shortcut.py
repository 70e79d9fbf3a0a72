"""The switch behind the comparison's short cuts for equal results.

Most pairs a harness compares agree, so each dimension first asks, at about the cost of `==`,
whether its two sides are exactly equal — values of the same JSON types (`true` is not `1`,
`1` is not `1.0`), traces of the same steps in the same order with the same details — and
only walks them (partial orders, deepdiff, JSON encodings) when they are not. A short cut
must give exactly the `Comparison` the walk gives; `_forced_walk` switches them off so that
tests (tests/harness/test_compare_fast.py) and `bench/compare_equal.py` can hold them to
that. A context variable, not a global: comparisons run in threads of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_WALK_ONLY: ContextVar[bool] = ContextVar("compat_compare_walk_only", default=False)


def taken() -> bool:
    """Whether the short cuts for equal results may be taken (always, unless forced off)."""
    return not _WALK_ONLY.get()


@contextmanager
def _forced_walk() -> Iterator[None]:
    """Every comparison made inside walks its values and traces in full (tests, benches)."""
    token = _WALK_ONLY.set(True)
    try:
        yield
    finally:
        _WALK_ONLY.reset(token)
