"""The real Parlant SDK (the `parlant` extra) next to the fake in tests/fakes/parlant.

The real SDK is only ever imported in a subprocess (real_sdk.py, with its home folder and
working directory in a temporary folder): importing it writes files and changes `sys.path`,
and the fake must be importable as `parlant.sdk` by the other tests of this process.

Every test module here is marked `needs_parlant` (its `pytestmark`): skipped, saying why,
when `parlant` 3.x is not installed (`pip install -e '.[parlant]'`), and a failure instead
when COMPAT_REQUIRE_PARLANT=1, so a CI job that installs the extra can never pass by skipping
them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.parlant_sdk.support import (
    FAKES,
    NEEDS_PARLANT,
    SUPPORTED,
    ask_real_sdk,
    exported,
    forget_parlant,
    installed_parlant,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_parlant: runs the installed Parlant SDK 3.x; skipped when it is absent, a "
        "failure when COMPAT_REQUIRE_PARLANT=1",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_parlant") is None:
        return
    version = installed_parlant()
    if version is not None and int(version.split(".")[0]) in SUPPORTED:
        return
    found = f"parlant {version} is installed" if version else "parlant is not installed"
    if os.environ.get("COMPAT_REQUIRE_PARLANT", "") not in ("", "0"):
        pytest.fail(
            f"{NEEDS_PARLANT}: {found}, and COMPAT_REQUIRE_PARLANT is set, so these tests "
            "may not be skipped",
            pytrace=False,
        )
    pytest.skip(f"{NEEDS_PARLANT}: {found}")


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def fake_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The fake `parlant.sdk`, importable as `parlant.sdk` for the test only."""
    monkeypatch.syspath_prepend(str(FAKES))
    forget_parlant()
    module = importlib.import_module("parlant.sdk")
    assert Path(module.__file__ or "").resolve().is_relative_to(FAKES)
    yield module
    forget_parlant()


@pytest.fixture(scope="session")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every exported script built on one real, offline `parlant.sdk.Server`, read back;
    and the misuse probes' outcomes on it."""
    request = {"workflows": [{"key": k, "code": code} for k, code in exported().items()]}
    return ask_real_sdk("build", request, tmp_path_factory.mktemp("parlant-build"))
