"""A real Dask cluster for the tests: a `dask scheduler` process and `dask worker` processes
(no nanny: the process started is the worker, so killing it kills the worker), each in a
session of its own, all stopped at teardown."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).with_name("dask"))
#: Seconds a scheduler or worker may take to start.
START_SECONDS = 60.0


class Cluster:
    """A scheduler and its workers, as processes of this test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""

    def _spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.folder / log).open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.Popen(
            [DASK, *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--scheduler-file",
            str(self.file),
            "--no-dashboard",
            log="scheduler.log",
        )
        with self.client() as client:
            self.address = client.scheduler.address

    def add_worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        worker = self._spawn(
            "worker",
            "--scheduler-file",
            str(self.file),
            "--nworkers",
            "1",
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            log=f"worker-{n}.log",
        )
        self.workers.append(worker)
        alive = [w for w in self.workers if w.poll() is None]
        with self.client() as client:
            client.wait_for_workers(len(alive), timeout=START_SECONDS)
        return worker

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        from distributed import Client

        deadline = time.monotonic() + START_SECONDS
        while not self.file.exists():
            assert self.scheduler is not None and self.scheduler.poll() is None, "no scheduler"
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        client = Client(scheduler_file=str(self.file), timeout=START_SECONDS)
        try:
            yield client
        finally:
            client.close()

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two workers (tests may add more)."""
    running = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        running.start_scheduler()
        running.add_worker()
        running.add_worker()
        yield running
    finally:
        running.stop()
