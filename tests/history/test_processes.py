"""Real processes writing to one history: two recording at once lose nothing, and one
killed with SIGKILL in the middle of a run's transaction leaves every earlier run intact and
no part of its own (SQLite's WAL, PostgreSQL's transactions)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from compat.history import HistoryError, HistoryStore

ROOT = Path(__file__).resolve().parents[2]
RUNS_EACH = 12


def worker(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.history.worker", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_recording_at_once_lose_nothing(
    url: str, tmp_path: Path, reopen: Callable[[], HistoryStore]
) -> None:
    """Both open the database while it is still empty (so both may try to create the
    schema), and once both are ready, record as fast as they can."""
    go = tmp_path / "go"
    workers = [worker("record", url, go, RUNS_EACH, tag) for tag in ("one", "two")]
    try:
        for process in workers:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        go.touch()
        for process in workers:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    store = reopen()
    runs = store.runs()
    assert len(runs) == 2 * RUNS_EACH
    assert len({r.id for r in runs}) == 2 * RUNS_EACH
    for tag in ("one", "two"):
        mine = [store.run(r.id) for r in runs if r.branch == tag]
        assert len(mine) == RUNS_EACH
        assert sorted(c.case for r in mine for c in r.cases) == sorted(
            f"{tag}-{i}-{j}" for i in range(RUNS_EACH) for j in range(3)
        )


def test_a_process_killed_while_recording_leaves_the_earlier_runs_and_no_part_of_its_own(
    url: str, backend: str, reopen: Callable[[], HistoryStore]
) -> None:
    process = worker("big", url, 3, 3000)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "committed", process.stderr
        # The big run's row and its first chunk of cases are written, not committed.
        assert process.stdout.readline().strip() == "writing", process.stderr
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT COUNT(*) FROM cases").fetchone() == (9,)
            assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (3,)
    store = reopen()
    runs = store.runs()
    assert len(runs) == 3
    for i, listed in enumerate(reversed(runs)):
        assert [c.case for c in store.run(listed.id).cases] == [
            f"early-{i}-{n:05d}" for n in range(3)
        ]
    with pytest.raises(HistoryError, match="no run 'big"):
        store.run("big")
    store.record(store.run(runs[0].id).model_copy(update={"id": "after"}))
    assert len(store.runs()) == 4
