"""Claims between real processes sharing one SQLite store: two resumers racing for one
paused execution — exactly one wins, every round — and what a process killed at the worst
moment leaves behind: a claim that expires, never a half-written row.

The race is real: both processes are started, import everything and open the store, then
block on their stdin; the test releases both with one `go` each, written back to back, and
both call `claim` at once. The winner holds its claim until the loser has answered (`finish`),
so each round has both contenders inside the window. Timeouts only guard against a hang."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import SnapshotClaimed
from engines.graph import GraphEngine
from engines.graph.resume import resume_stored
from engines.graph.store import SQLiteSnapshotStore
from engines.model import WorkflowRegistry
from engines.result import RunStatus
from engines.tools import builtin_registry

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "fixtures" / "conversation_sequence.yaml"
RACER = Path(__file__).with_name("claim_racer.py")
GUARD = 120.0  # seconds: only a hung child would take this long
ROUNDS = 5


class Racer:
    """One resumer process and the lines it prints."""

    def __init__(self, store: Path, owner: str) -> None:
        self.owner = owner
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, str(RACER), str(FIXTURE), str(store), owner],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())
        self.lines.put("<eof>")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def read(self) -> str:
        try:
            line = self.lines.get(timeout=GUARD)
        except queue.Empty:
            pytest.fail(f"{self.owner} said nothing for {GUARD} s")
        if line == "<eof>":
            assert self.process.stderr is not None
            pytest.fail(f"{self.owner} exited: {self.process.stderr.read()[-2000:]}")
        return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=GUARD)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def racers(tmp_path: Path) -> Iterator[tuple[Path, list[Racer]]]:
    store = tmp_path / "race.db"
    SQLiteSnapshotStore(store).close()  # created once, before anyone races to create it
    started = [Racer(store, "racer-A"), Racer(store, "racer-B")]
    try:
        for racer in started:
            assert racer.read() == "ready"
        yield store, started
    finally:
        for racer in started:
            racer.stop()


def _registry() -> WorkflowRegistry:
    return load_fixture(FIXTURE, tools=builtin_registry()).registry


def _engine() -> GraphEngine:
    return GraphEngine(tools=builtin_registry(), clock=VirtualClock())


def _paused_runs(store_path: Path, count: int) -> list[str]:
    registry = _registry()
    runs = []
    with SQLiteSnapshotStore(store_path) as store:
        for _ in range(count):
            engine = _engine()
            execution = engine.start(registry, {})
            engine.clock.run(execution.run)
            store.save(execution.id, execution.snapshot())
            runs.append(execution.id)
    return runs


def test_two_processes_racing_to_resume_one_run_exactly_one_wins(
    racers: tuple[Path, list[Racer]],
) -> None:
    store_path, (a, b) = racers
    runs = _paused_runs(store_path, ROUNDS)
    winners = []
    for round_, run in enumerate(runs):
        first, second = (a, b) if round_ % 2 == 0 else (b, a)
        payload = json.dumps(f"Ada{round_}")
        first.send(f"go {run} {payload}")
        second.send(f"go {run} {payload}")
        said = {racer.owner: racer.read() for racer in (a, b)}
        won = [owner for owner, line in said.items() if line == "won"]
        assert len(won) == 1, f"round {round_}: {said}"
        (loser,) = set(said) - set(won)
        assert said[loser] == f"lost {won[0]}", f"round {round_}: {said}"
        for racer in (a, b):
            racer.send("finish")
        done = {racer.owner: racer.read() for racer in (a, b)}
        assert done == {won[0]: "done paused", loser: "done -"}
        winners.append(won[0])
        with SQLiteSnapshotStore(store_path) as store:
            snapshot = store.load(run)
            assert snapshot["pending"][0]["prompt"] == f"Favourite colour, Ada{round_}?"
            answered = [e for e in snapshot["events"] if e.get("node") == "ask_name"]
            assert [e["kind"] for e in answered] == ["started", "completed"]  # answered once
            assert store.holder(run) is None
    for racer in (a, b):
        racer.send("quit")
    assert len(winners) == ROUNDS


def test_a_resumer_killed_while_holding_a_claim_locks_the_run_only_for_its_lease(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "crash.db"
    (run,) = _paused_runs(store_path, 1)
    a = Racer(store_path, "racer-A")
    try:
        assert a.read() == "ready"
        a.send(f"crash {run}")
        assert a.read() == "claimed"
        assert a.process.wait(timeout=GUARD) == -signal.SIGKILL
    finally:
        a.stop()
    with SQLiteSnapshotStore(store_path) as store:
        lease = store.holder(run)
        assert lease is not None and lease.owner == "racer-A"
        with pytest.raises(SnapshotClaimed, match="racer-A"):
            resume_stored(_engine(), _registry(), store, run, "Ada")
    later = lease.expires_at  # the crashed claim's expiry, on the shared wall clock
    with SQLiteSnapshotStore(store_path, now=lambda: later) as store:
        result = resume_stored(_engine(), _registry(), store, run, "Ada", owner="rescuer")
        assert result.status is RunStatus.PAUSED
        assert store.holder(run) is None


KILLED_MID_TRANSACTION = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE executions SET snapshot = 'half-written', claim_owner = 'ghost',"
           " claim_token = 't', claim_expires = 1e300")
db.execute("DELETE FROM executions WHERE id != ?", (sys.argv[2],))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_process_killed_inside_a_transaction_leaves_the_store_intact(tmp_path: Path) -> None:
    store_path = tmp_path / "killed.db"
    SQLiteSnapshotStore(store_path).close()
    runs = _paused_runs(store_path, 2)
    with SQLiteSnapshotStore(store_path) as store:
        before = {run: store.load(run) for run in runs}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_MID_TRANSACTION, str(store_path), runs[0]],
        capture_output=True,
        timeout=GUARD,
    )
    assert done.returncode == -signal.SIGKILL
    with SQLiteSnapshotStore(store_path) as store:
        assert {run: store.load(run) for run in runs} == before
        assert [store.holder(run) for run in runs] == [None, None]
        result = resume_stored(_engine(), _registry(), store, runs[1], "Ada")
        assert result.pause is not None and result.pause.prompt == "Favourite colour, Ada?"
