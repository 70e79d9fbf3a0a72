"""Every case of every bundled fixture (fixtures/ and fixtures/found/), for the engine tests
that check a property on all of them; each fixture is loaded once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engines.documents import Fixture, load_fixture
from engines.tools import builtin_registry

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "fixtures").glob("*.yaml")) + sorted(
    (REPO / "fixtures" / "found").glob("*.yaml")
)


@cache
def bundled(path: Path) -> Fixture:
    return load_fixture(path, tools=builtin_registry())


def cases() -> list[Any]:
    """`pytest.param(path, case name)` for each case, named `file.yaml::case`."""
    return [
        pytest.param(path, case.name, id=f"{path.name}::{case.name}")
        for path in FILES
        for case in bundled(path).cases
    ]
