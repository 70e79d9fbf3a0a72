"""Without PostgreSQL's server the history's PostgreSQL tests fail — never skip — saying
what to install."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.history.checks import ROOT
from tests.history.postgres import BIN_VARIABLE, INSTALL, PostgresMissing, start_server


def test_missing_server_binaries_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BIN_VARIABLE, "/nonexistent/bin")
    with pytest.raises(PostgresMissing) as missing:
        start_server()
    assert str(missing.value) == INSTALL
    assert "`apt-get install postgresql`" in INSTALL


def test_the_postgresql_tests_fail_rather_than_skip_without_a_server() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/history/test_store.py::test_an_empty_history_has_nothing",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, BIN_VARIABLE: "/nonexistent/bin"},
        check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    last = done.stdout.splitlines()[-1]
    assert "1 passed" in last and "1 error" in last and "skipped" not in last
    assert INSTALL in done.stdout
