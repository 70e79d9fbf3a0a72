"""A resumer process for test_store_processes.py, driven line by line on stdin.

    python claim_racer.py FIXTURE STORE OWNER

prints `ready` once everything is imported and the store is open, then for each
`go EXECUTION PAYLOAD` line tries to check the execution out of the store (a claim) and
prints `won` or `lost HOLDER` at once; it then waits for a `finish` line — so both racers
have tried before either lets go — and, if it won, answers the run with PAYLOAD, writes it
back and prints `done STATUS`. `crash EXECUTION` claims and then kills this process with
SIGKILL while it holds the claim. `quit` ends it.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.errors import SnapshotClaimed
from engines.graph import GraphEngine
from engines.graph.resume import checkout
from engines.graph.store import SQLiteSnapshotStore
from engines.tools import builtin_registry


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    fixture_path, store_path, owner = sys.argv[1:4]
    registry = load_fixture(fixture_path, tools=builtin_registry()).registry
    store = SQLiteSnapshotStore(store_path)
    say("ready")
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "quit":
            break
        if command == "crash":
            store.claim(rest, owner, 60)
            say("claimed")
            os.kill(os.getpid(), signal.SIGKILL)
        execution_id, _, payload = rest.partition(" ")
        engine = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
        try:
            with checkout(engine, registry, store, execution_id, owner=owner) as execution:
                say("won")
                sys.stdin.readline()  # finish: the other racer has tried too
                answer = json.loads(payload)
                result = engine.clock.run(lambda e=execution, p=answer: e.resume(p))
        except SnapshotClaimed as exc:
            say(f"lost {exc.holder}")
            sys.stdin.readline()
            say("done -")
            continue
        say(f"done {result.status}")
    store.close()


if __name__ == "__main__":
    main()
