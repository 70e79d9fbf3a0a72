"""An engine module only a shadow's worker process may import (tests/shadow/): the test
checks that making an experiment with the process runner leaves it out of the service."""

from __future__ import annotations

from compat.engines import JourneyAdapter


class Engine(JourneyAdapter):
    name = "journey-in-the-worker"
