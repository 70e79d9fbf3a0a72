"""`compat check`'s cases in worker processes, one or several at a time.

The parent reads and validates every fixture once (`compat.check.collect`), while the
workers start (each loads the configuration, tools and engines); a fixture then travels to
a worker as a pickle (compat/executors/shipping.py) with the first cases of it that worker
gets, and is never read there again.

Cases go out in batches: consecutive cases, one request. The worker runs them one after
another and streams each case's report back as soon as it is made, so it never waits for
the parent between cases. A batch is big while much is left and small near the end
(guided self-scheduling), so that the workers finish together.

The worker tells each step of a case as it starts, so each engine run keeps its own
deadline (`--timeout`) and, when a worker dies or is killed, the parent knows whose run it
was: that run is reported `crashed` (with the cause) or `timed_out`, the other engine's run
is made again in a fresh worker, the case is compared here, and the rest of the batch goes
on in the fresh worker. Other cases carry on. The report lists the cases in fixture order,
whatever order they finish in.
"""

from __future__ import annotations

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
from compat.executors.shipping import pack
from compat.perf.report import PerfSummary
from compat.report import CaseReport
from engines.documents import Case
from engines.errors import ConfigError

Progress = Callable[[int, int, CaseReport], None]
#: How many times --timeout the performance step of a case (--perf) may take.
PERF_TIMEOUTS = 4
#: The most cases in one request: enough that the cost of a request vanishes.
MAX_BATCH = 64


def failed_run(engine: str, answer: Answer) -> EngineRun:
    """The harness's verdict on a run whose worker did not answer with a result."""
    if isinstance(answer, TimedOut):
        return EngineRun(
            engine=engine, status="timed_out", error=cause(answer), wall_seconds=answer.seconds
        )
    return EngineRun(engine=engine, status="crashed", error=cause(answer))


class _Stopped(Exception):
    """The campaign is stopping (another worker's thread failed, or an interrupt)."""


class _Parts:
    """Delivers the reports a batch streams back, numbered from its first case."""

    def __init__(self, first: int, deliver: Callable[[int, CaseReport], None]) -> None:
        self.first = first
        self.got = 0
        self._deliver = deliver

    def __call__(self, report: CaseReport) -> None:
        self._deliver(self.first + self.got, report)
        self.got += 1


class _Schedule:
    """Hands out spans of the work `[start, stop)` in order: `MAX_BATCH` cases at most, and
    no more than a share of what is left, so the last spans are small and workers finish
    together (guided self-scheduling)."""

    def __init__(self, total: int, workers: int) -> None:
        self.total = total
        self.workers = workers
        self.next = 0
        self.stopped = False
        self._lock = threading.Lock()

    def take(self) -> tuple[int, int] | None:
        with self._lock:
            if self.stopped or self.next >= self.total:
                return None
            left = self.total - self.next
            share = left if self.workers == 1 else left // (2 * self.workers)
            start = self.next
            self.next += max(1, min(MAX_BATCH, share))
            return start, self.next

    def stop(self) -> None:
        with self._lock:
            self.stopped = True


class CheckCampaign:
    """Worker processes for one `compat check`, launched before anything else runs."""

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
        #: The jobs of this campaign, numbered, and each packed once for the workers.
        self._jobs: list[Job] = []
        self._packed: dict[int, tasks.Shipped] = {}
        #: The jobs each worker holds (forgotten when it is killed).
        self._held: dict[WorkerProcess, set[int]] = {}
        self._lock = threading.Lock()
        self._schedule = _Schedule(0, 1)

    def __enter__(self) -> CheckCampaign:
        # Every worker starts now; they load the configuration, tools and engines while
        # the parent reads the fixtures (`prepare`).
        try:
            for worker in self._workers:
                worker.launch()
        except BaseException:
            for worker in self._workers:
                worker.kill()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._schedule.stop()
        if exc[0] is None:
            for worker in self._workers:
                worker.close()
        else:
            for worker in self._workers:
                worker.kill()

    def prepare(self, load: Callable[[], list[Job]], *, early: bool) -> list[Job]:
        """The jobs `load` reads (in this process). The first worker's setup (loading the
        configuration, tools and engines) must succeed first — a setup that fails, hangs
        or dies is a `SetupError` before compat imports any of it itself — unless reading
        imports nothing of the user's (`early`: no tool modules); then both happen at
        once, and a failed setup is still the error told, before one of `load`'s."""
        first = self._workers[0]
        if not early:
            first.ready()
            return load()
        try:
            jobs = load()
        except Exception:
            first.ready()
            raise
        first.ready()
        return jobs

    # ------------------------------------------------------------------ running

    def run(self, work: Sequence[tuple[Job, Case]], progress: Progress | None) -> list[CaseReport]:
        """Each case's report, in the order of `work`."""
        numbers = self._number(work)
        reports: list[CaseReport | None] = [None] * len(work)
        done = 0
        lock = threading.Lock()

        def deliver(index: int, report: CaseReport) -> None:
            nonlocal done
            if self._schedule.stopped:
                raise _Stopped
            with lock:
                reports[index] = report
                done += 1
                if progress:
                    progress(done, len(work), report)

        def drive(worker: WorkerProcess) -> None:
            try:
                while (span := self._schedule.take()) is not None:
                    self._batch(worker, work, numbers, span, deliver)
            except _Stopped:
                return
            except BaseException:
                self._schedule.stop()  # the other workers stop at their next report
                raise

        self._schedule = _Schedule(len(work), len(self._workers))
        if len(self._workers) == 1:
            drive(self._workers[0])
        else:
            with ThreadPoolExecutor(len(self._workers), thread_name_prefix="compat-case") as pool:
                futures = [pool.submit(drive, worker) for worker in self._workers]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    self._schedule.stop()
                    for worker in self._workers:
                        worker.kill()
                    raise
        return [r for r in reports if r is not None]

    def _number(self, work: Sequence[tuple[Job, Case]]) -> list[tuple[int, int]]:
        """(job number, case number) for each item of work: what a worker is told."""
        jobs: dict[int, int] = {}
        cases: dict[int, dict[int, int]] = {}
        numbers = []
        for job, case in work:
            key = id(job)
            if key not in jobs:
                jobs[key] = len(self._jobs)
                self._jobs.append(job)
                cases[key] = {id(c): i for i, c in enumerate(job.cases)}
            index = cases[key].get(id(case))
            if index is None:  # not the very object: the job's case of that name
                names = [c.name for c in job.cases]
                if case.name not in names:
                    job.fixture.case(case.name)  # FixtureInvalid, naming the cases there are
                    raise ConfigError(f"{job.path}: case {case.name!r} is not among its cases")
                index = names.index(case.name)
            numbers.append((jobs[key], index))
        return numbers

    def _shipment(self, worker: WorkerProcess, numbers: Sequence[int]) -> dict[int, tasks.Shipped]:
        """The jobs among `numbers` that `worker` does not hold yet, packed (once each)."""
        held = self._held.setdefault(worker, set())
        out: dict[int, tasks.Shipped] = {}
        for number in numbers:
            if number in held or number in out:
                continue
            with self._lock:
                if number not in self._packed:
                    job = self._jobs[number]
                    self._packed[number] = (str(job.path), pack(job))
                out[number] = self._packed[number]
        return out

    def _call(
        self,
        worker: WorkerProcess,
        task: Any,
        ship: dict[int, tasks.Shipped],
        *args: Any,
        **kw: Any,
    ) -> Answer:
        """`worker.call`, and what the worker holds after it: the shipped jobs, or (after any
        failure, which kills it) nothing."""
        answer = worker.call(task, ship, *args, timeout=self.options.timeout, **kw)
        held = self._held.setdefault(worker, set())
        if isinstance(answer, Done):
            held.update(ship)
        else:
            held.clear()
        return answer

    def _batch(
        self,
        worker: WorkerProcess,
        work: Sequence[tuple[Job, Case]],
        numbers: Sequence[tuple[int, int]],
        span: tuple[int, int],
        deliver: Callable[[int, CaseReport], None],
    ) -> None:
        """Cases `span` on `worker`; a case whose worker fails is salvaged, and the rest of
        the span goes on in a fresh worker."""
        position, stop = span
        while position < stop:
            items = list(numbers[position:stop])
            ship = self._shipment(worker, [number for number, _ in items])
            parts = _Parts(position, deliver)
            answer = self._call(
                worker,
                tasks.check_cases,
                ship,
                items,
                on_note=self._stage_timeout,
                on_part=parts,
            )
            got = parts.got
            if got == len(items):  # every report is in (a worker lost after them costs none)
                return
            if self._schedule.stopped:
                raise _Stopped
            failed = position + got
            if isinstance(answer, Done):  # it answered without every report: a bug of ours
                answer = Raised(f"the worker sent {got} of {len(items)} reports", "compare")
            job, case = work[failed]
            deliver(failed, self._salvage(worker, job, case, numbers[failed], answer))
            position = failed + 1

    def _stage_timeout(self, label: str) -> float:
        timeout = self.options.timeout
        if label == "load":  # unpacking (compiling the templates of) a fixture: set-up work
            return setup_timeout(timeout)
        return timeout * PERF_TIMEOUTS if label == "perf" else timeout

    def _salvage(
        self,
        worker: WorkerProcess,
        job: Job,
        case: Case,
        number: tuple[int, int],
        answer: Answer,
    ) -> CaseReport:
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
                    runs[other] = self._single(worker, number, other)
            return case_report(opts, job, case, runs["primary"], runs["shadow"])
        if stage == "perf":
            primary = self._single(worker, number, "primary")
            shadow = self._single(worker, number, "shadow")
            problem = PerfSummary(runs=0, metrics=[], recommendations=[], problem=cause(answer))
            return case_report(opts, job, case, primary, shadow, performance=problem)
        if isinstance(answer, Raised):
            answer.reraise_refusal()
            raise RuntimeError(f"{where}: {answer.error}")
        what = "comparing" if stage == "compare" else "loading"
        raise RuntimeError(f"{where}: {what} the case did not finish: {cause(answer)}")

    def _single(self, worker: WorkerProcess, number: tuple[int, int], role: str) -> EngineRun:
        """One engine's run of a case, alone (in a fresh worker, after a failure)."""
        if self._schedule.stopped:
            raise _Stopped
        ship = self._shipment(worker, [number[0]])
        answer = self._call(
            worker, tasks.numbered_run, ship, *number, role, on_note=self._stage_timeout
        )
        if isinstance(answer, Done):
            return answer.value  # type: ignore[no-any-return]
        return failed_run(getattr(self.options, role), answer)


__all__: list[Any] = ["MAX_BATCH", "CheckCampaign", "failed_run"]
