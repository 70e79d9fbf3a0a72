"""`compat check`'s cases in worker processes, one or several at a time.

Each case is one request to a worker, which runs both engines, compares and answers with the
case's report. The worker tells each step as it starts, so each engine run gets its own
deadline (`--timeout`) and, when a worker dies or is killed, the parent knows whose run it
was: that run is reported `crashed` (with the cause) or `timed_out`, the other engine's run
is made again in a fresh worker, and the case is compared here. Other cases carry on.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from compat.check import CheckOptions, Job, case_report
from compat.engines import EngineRun
from compat.executors import tasks
from compat.executors.process import (
    Answer,
    Done,
    Raised,
    TimedOut,
    WorkerProcess,
    cause,
    setup_timeout,
)
from compat.perf.report import PerfSummary
from compat.report import CaseReport
from engines.documents import Case

Progress = Callable[[int, int, CaseReport], None]
#: How many times --timeout the performance step of a case (--perf) may take.
PERF_TIMEOUTS = 4


def failed_run(engine: str, answer: Answer) -> EngineRun:
    """The harness's verdict on a run whose worker did not answer with a result."""
    if isinstance(answer, TimedOut):
        return EngineRun(
            engine=engine, status="timed_out", error=cause(answer), wall_seconds=answer.seconds
        )
    return EngineRun(engine=engine, status="crashed", error=cause(answer))


class CheckCampaign:
    """Worker processes for one `compat check`, started before anything else runs."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        memory = options.memory_mb or None
        self._workers = [
            WorkerProcess(
                tasks.setup_check,
                (options.model_dump(),),
                memory_mb=memory,
                setup_timeout=setup_timeout(options.timeout),
                name=f"compat-check-{n}",
            )
            for n in range(options.workers)
        ]
        self._free: queue.SimpleQueue[WorkerProcess] = queue.SimpleQueue()
        for worker in self._workers:
            self._free.put(worker)

    def __enter__(self) -> CheckCampaign:
        # The first worker loads the configuration, tools and engines: a setup that fails,
        # hangs or dies is a SetupError here, before compat imports any of it itself.
        self._workers[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            for worker in self._workers:
                worker.close()
        else:
            for worker in self._workers:
                worker.kill()

    def run(self, work: Sequence[tuple[Job, Case]], progress: Progress | None) -> list[CaseReport]:
        reports: list[CaseReport | None] = [None] * len(work)
        done = 0
        lock = threading.Lock()

        def one(index: int) -> None:
            nonlocal done
            worker = self._free.get()
            try:
                report = self.case(worker, *work[index])
            finally:
                self._free.put(worker)
            with lock:
                reports[index] = report
                done += 1
                if progress:
                    progress(done, len(work), report)

        if len(self._workers) == 1:
            for index in range(len(work)):
                one(index)
        else:
            with ThreadPoolExecutor(len(self._workers), thread_name_prefix="compat-case") as pool:
                futures = [pool.submit(one, index) for index in range(len(work))]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    for worker in self._workers:
                        worker.kill()
                    raise
        return [r for r in reports if r is not None]

    def _stage_timeout(self, label: str) -> float:
        timeout = self.options.timeout
        return timeout * PERF_TIMEOUTS if label == "perf" else timeout

    def case(self, worker: WorkerProcess, job: Job, case: Case) -> CaseReport:
        answer = worker.call(
            tasks.check_case,
            str(job.path),
            case.name,
            timeout=self.options.timeout,
            on_note=self._stage_timeout,
        )
        if isinstance(answer, Done):
            return answer.value  # type: ignore[no-any-return]
        return self._salvage(worker, job, case, answer)

    def _salvage(self, worker: WorkerProcess, job: Job, case: Case, answer: Answer) -> CaseReport:
        """The case's report when its worker failed in the middle of it."""
        stage = getattr(answer, "stage", None) or ""
        opts = self.options
        where = f"{job.path}::{case.name}"
        if stage in ("primary", "shadow") or stage.startswith("noise"):
            role = "shadow" if stage == "shadow" else "primary"
            failed = failed_run(getattr(opts, role), answer)
            if stage.startswith("noise"):
                failed = failed.model_copy(update={"error": f"on {stage}: {failed.error}"})
            runs = {role: failed}
            for other in ("primary", "shadow"):
                if other not in runs:
                    runs[other] = self._single(worker, job, case, other)
            return case_report(opts, job, case, runs["primary"], runs["shadow"])
        if stage == "perf":
            primary = self._single(worker, job, case, "primary")
            shadow = self._single(worker, job, case, "shadow")
            problem = PerfSummary(runs=0, metrics=[], recommendations=[], problem=cause(answer))
            return case_report(opts, job, case, primary, shadow, performance=problem)
        if isinstance(answer, Raised):
            answer.reraise_refusal()
            raise RuntimeError(f"{where}: {answer.error}")
        what = "comparing" if stage == "compare" else "loading"
        raise RuntimeError(f"{where}: {what} the case did not finish: {cause(answer)}")

    def _single(self, worker: WorkerProcess, job: Job, case: Case, role: str) -> EngineRun:
        answer = worker.call(
            tasks.engine_run, str(job.path), case.name, role, timeout=self.options.timeout
        )
        if isinstance(answer, Done):
            return answer.value  # type: ignore[no-any-return]
        return failed_run(getattr(self.options, role), answer)


__all__: list[Any] = ["CheckCampaign", "failed_run"]
