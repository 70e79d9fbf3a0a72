"""A worker's end, read by several threads at once (compat/executors/process.py).

multiprocessing's fork-server processes are not safe to poll from two threads: both may
see the end, one reads the exit code and the other an emptied pipe, which multiprocessing
takes for code 255. A campaign with `--workers 2` has one thread per worker, and starting a
worker polls every other child, so a crash could be reported as "exited with code 255"
instead of its signal (seen in tests/harness/test_campaign_batches.py under load)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from compat.executors.process import _ended, _fork_server, _reap_lock, death

THREADS = 8


def read_together(process: Any) -> list[int | None]:
    """The exit code each of `THREADS` threads reads, all asking at once."""
    start = threading.Barrier(THREADS)
    codes: list[int | None] = []

    def read() -> None:
        start.wait(60)
        codes.append(_ended(process, 60))

    threads = [threading.Thread(target=read) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes


def test_every_thread_reads_the_signal_that_ended_the_worker() -> None:
    context = _fork_server()
    for _ in range(3):
        process = context.Process(target=signal.raise_signal, args=(signal.SIGKILL,))
        with _reap_lock:
            process.start()
        codes = read_together(process)
        assert codes == [-signal.SIGKILL] * THREADS, codes
        assert "SIGKILL" in death(codes[0])
