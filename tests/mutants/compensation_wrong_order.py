"""Mutant `compensation_wrong_order` (journey engine): saga compensations run in FORWARD
canonical (order key) order instead of reverse (docs/semantics.md §7.8).

Injected by a session subclass whose compensation step hands the real one its undo records
with order keys that compare the other way round, so the real "latest first" sort yields
"earliest first". Nothing outside the mutant's own sessions is changed.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from engines.journey.session import Session
from tests.mutants.base import JourneyMutant


@functools.total_ordering
class Reversed:
    """An order key that sorts the other way round."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reversed) and self.key == other.key

    def __lt__(self, other: Reversed) -> bool:
        return bool(other.key < self.key)

    def __hash__(self) -> int:
        return hash(self.key)


class ForwardCompensationSession(Session):
    async def _compensate(self) -> None:
        # MUTATION: flipped order keys, so compensations run earliest first.
        self.undo = [dataclasses.replace(u, order_key=Reversed(u.order_key)) for u in self.undo]
        await super()._compensate()


engine = JourneyMutant("compensation_wrong_order", ForwardCompensationSession)
