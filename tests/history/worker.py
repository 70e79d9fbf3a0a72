"""Processes that write to a history while a test watches (`python -m tests.history.worker`).

* `record URL GO COUNT TAG`: open the history, say `ready`, wait for the file GO, then record
  COUNT runs of 3 cases each.
* `big URL COUNT CASES`: record COUNT runs of 3 cases, say `committed` on stdout, then record
  one run of CASES cases — saying `writing` (and sleeping) once its first case rows are in,
  still inside the transaction, for the test to SIGKILL this process there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from compat.history import open_history
from compat.history import sql as history_sql
from tests.history.support import case, many_cases, run


def record(url: str, go: Path, count: int, tag: str) -> None:
    with open_history(url) as store:
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.01)
        for i in range(count):
            cases = tuple(case(f"{tag}-{i}-{j}") for j in range(3))
            store.record(run(i, *cases, branch=tag))


def big(url: str, count: int, size: int) -> None:
    with open_history(url) as store:
        for i in range(count):
            store.record(run(i, *many_cases(3, f"early-{i}")))
        print("committed", flush=True)
        insert = history_sql._insert_cases

        def stalling(conn, rows):  # type: ignore[no-untyped-def]
            insert(conn, rows)
            print("writing", flush=True)
            time.sleep(600)  # killed here, mid-transaction

        history_sql._insert_cases = stalling
        store.record(run(100, *many_cases(size, "big"), id="big" * 8))


if __name__ == "__main__":
    mode, target, *rest = sys.argv[1:]
    if mode == "record":
        record(target, Path(rest[0]), int(rest[1]), rest[2])
    else:
        big(target, int(rest[0]), int(rest[1]))
