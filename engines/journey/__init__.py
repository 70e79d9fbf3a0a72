"""The journey engine: a workflow compiled into a Parlant-style journey and run as a
conversation, turn by turn."""

from engines.journey.engine import JourneyEngine
from engines.journey.model import Journey, State, StateKind, Transition
from engines.journey.session import JourneyResult, Session

__all__ = [
    "Journey",
    "JourneyEngine",
    "JourneyResult",
    "Session",
    "State",
    "StateKind",
    "Transition",
]
