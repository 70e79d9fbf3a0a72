"""A paused session's bulk, packed while it waits for the customer's answer.

The same reasoning as the graph engine's (`engines.graph.packing`), kept separate because
the engines share no execution code: what a session keeps for the run's end (its events)
and for later templates (each walk's settled nodes and path counters) is pickled into one
compressed blob while it waits; the containers are emptied in place and filled again when
the next turn begins. (The journey path stays: it is the session's public record of the
states it visited.)
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engines.journey.state import BranchCounter, LoopCounter, Walk

if TYPE_CHECKING:
    from engines.journey.session import Session


class Packed:
    """The blob, and the walks whose containers it fills again (in the same order)."""

    __slots__ = ("blob", "walks")

    def __init__(self, blob: bytes, walks: list[Walk]) -> None:
        self.blob = blob
        self.walks = walks


def walks_of(top: Walk | None) -> Iterator[Walk]:
    """Every live walk: the top level's and those of loops and parallels in progress."""
    stack = [top] if top is not None else []
    while stack:
        walk = stack.pop()
        yield walk
        for counter in walk.runs.values():
            if isinstance(counter, LoopCounter) and counter.child is not None:
                stack.append(counter.child)
            elif isinstance(counter, BranchCounter):
                stack.extend(counter.active.values())


def pack(session: Session) -> None:
    """Pack a paused session (idempotent)."""
    if session.packed is not None:
        return
    walks = list(walks_of(session.top))
    contents: Any = (session.events, [(w.settled, w.arrived, w.unarrived) for w in walks])
    blob = zlib.compress(pickle.dumps(contents, pickle.HIGHEST_PROTOCOL), 1)
    for walk in walks:
        walk.settled.clear()
        walk.arrived.clear()
        walk.unarrived.clear()
    session.events.clear()
    session.packed = Packed(blob, walks)


def unpack(session: Session) -> None:
    """Fill a packed session's containers again (nothing to do if it is not packed)."""
    packed = session.packed
    if packed is None:
        return
    events, states = pickle.loads(zlib.decompress(packed.blob))
    session.events.extend(events)
    for walk, (settled, arrived, unarrived) in zip(packed.walks, states, strict=True):
        walk.settled.update(settled)
        walk.arrived.update(arrived)
        walk.unarrived.update(unarrived)
    session.packed = None
