"""Fixtures of the process runner's tests (tests/shadow/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shadow_support import WAIT

from compat.shadow import Experiment


@pytest.fixture
def made() -> Iterator[list[Experiment]]:
    """Experiments a test made, closed when it ends (so no worker outlives it)."""
    experiments: list[Experiment] = []
    yield experiments
    for exp in experiments:
        exp.close(WAIT)
