"""A paused execution's bulk, packed while it waits for its input.

An execution may wait for an answer for days, and a service holds thousands of them: what
it keeps for the run's end (the event stream) and for later templates (each frame's node
states and edge counters) is most of its memory, and none of it is read until the run goes
on. Packing pickles those into one compressed blob and empties the containers in place —
the same objects stay referenced from scopes, pending inputs and container runs — and
unpacking fills them again, so a run that pauses and resumes is the same run.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engines.graph.state import Frame, LoopRun, ParallelRun

if TYPE_CHECKING:
    from engines.graph.execution import Execution


class Packed:
    """The blob, and the frames whose containers it fills again (in the same order)."""

    __slots__ = ("blob", "frames")

    def __init__(self, blob: bytes, frames: list[Frame]) -> None:
        self.blob = blob
        self.frames = frames


def frames_of(top: Frame | None) -> Iterator[Frame]:
    """Every live frame: the top level's and those of containers in progress, nested."""
    stack = [top] if top is not None else []
    while stack:
        frame = stack.pop()
        yield frame
        for run in frame.runs.values():
            if isinstance(run, LoopRun) and run.child is not None:
                stack.append(run.child)
            elif isinstance(run, ParallelRun):
                stack.extend(run.active.values())


def pack(execution: Execution) -> None:
    """Pack a paused execution (idempotent)."""
    if execution.packed is not None:
        return
    frames = list(frames_of(execution.state.top))
    events = execution.stream.events
    contents: Any = (events, [(f.view, f.remaining, f.fired) for f in frames])
    blob = zlib.compress(pickle.dumps(contents, pickle.HIGHEST_PROTOCOL), 1)
    for frame in frames:
        frame.view.clear()
        frame.remaining.clear()
        frame.fired.clear()
    events.clear()
    execution.packed = Packed(blob, frames)


def unpack(execution: Execution) -> None:
    """Fill a packed execution's containers again (nothing to do if it is not packed)."""
    packed = execution.packed
    if packed is None:
        return
    events, states = pickle.loads(zlib.decompress(packed.blob))
    execution.stream.events.extend(events)
    for frame, (view, remaining, fired) in zip(packed.frames, states, strict=True):
        frame.view.update(view)
        frame.remaining.update(remaining)
        frame.fired.update(fired)
    execution.packed = None
