"""`compat check --cluster`: the cases of a campaign as tasks on a Dask cluster
(compat/executors/cluster.py connects, checks the workers and streams the tasks).

Each fixture is read and validated here once, packed once (compat/executors/shipping.py)
and given to the cluster once. A task is a batch of consecutive cases of one fixture
(large while much is left, small at the end: `batches`); it runs them in the Dask worker's
process with the code the local worker processes use (compat/executors/tasks.py), the
engines in a thread of that process so that `--timeout` still ends a run (`timed_out`).
Results come back as the tasks finish; the report lists the cases in fixture order, as
every other executor does.

Faults: a task whose worker dies is run again elsewhere by the scheduler (up to its
`allowed-failures`; tasks are also submitted with `retries`); a batch that keeps killing
its workers ends as `KilledWorker`, and each of its cases is reported `crashed` on both
engines, with the cause. A scheduler that goes away ends the campaign with the cases that
had come back (`Outcome.lost` says so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from compat.check import CheckOptions, Job, Runner, case_report
from compat.engines import EngineRun
from compat.executors import tasks
from compat.executors.cluster import Cluster, ClusterLost, modules_of
from compat.executors.process import Died, Done, Raised
from compat.executors.serve import Notes
from compat.executors.shipping import pack
from compat.report import CaseReport
from compat.supervise import phase
from engines.config import EngineConfig
from engines.documents import Case
from engines.errors import ConfigError, SetupError

Progress = Callable[[int, int, CaseReport], None]

#: The most cases in one task.
MAX_BATCH = 64


# --------------------------------------------------------------------------- the worker's side


class _Collected(Notes):
    """Notes that keep the parts (each case's report) for the task's answer."""

    def __init__(self) -> None:
        super().__init__(None)
        self.parts: list[Any] = []

    def part(self, value: Any) -> None:
        self.parts.append(value)


def check_state(config: EngineConfig, options: CheckOptions) -> tasks.CheckState:
    """A worker thread's state for one campaign. The engines run in a thread of this
    process, under --timeout (the Dask worker is not ours to kill): a run past its
    deadline is `timed_out` and the campaign goes on."""
    return tasks.CheckState(Runner(config, options, direct=False))


def run_batch(
    state: tasks.CheckState,
    notes: Notes,
    number: int,
    path: str,
    packed: bytes | None,
    indices: Sequence[int],
) -> list[CaseReport]:
    """Cases `indices` of job `number` (packed by the parent; None: read `path`), one
    after another: their reports."""
    collected = _Collected()
    ship = {} if number in state.held else {number: (path, packed)}
    tasks.check_cases(state, collected, ship, [(number, index) for index in indices])
    return collected.parts


# --------------------------------------------------------------------------- the parent's side


def needed_modules(options: CheckOptions, config: EngineConfig) -> list[str]:
    """What a worker must import: compat's task code, engines named `module:attr`, and the
    configuration's tool modules."""
    return modules_of(
        (options.primary, options.shadow),
        config.tool_modules,
        "compat.executors.tasks",
        "compat.executors.dask",
    )


def batches(work: Sequence[tuple[Job, Case]], workers: int) -> list[tuple[int, int]]:
    """Spans `[start, stop)` of `work`: consecutive cases of one fixture, at most
    `MAX_BATCH`, and no more than a share of what is left (guided self-scheduling, as the
    local workers' batches): large while much is left, so the scheduler's per-task cost
    vanishes, and small at the end, so that the workers finish together."""
    share = 2 * max(1, workers)
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(work):
        size = max(1, min(MAX_BATCH, (len(work) - start) // share))
        stop = start + 1
        while stop < len(work) and stop - start < size and work[stop][0] is work[start][0]:
            stop += 1
        spans.append((start, stop))
        start = stop
    return spans


@dataclass
class Outcome:
    """What came back: each case's report in the order of the work (None: it did not come
    back), and why not all did (`lost`)."""

    reports: list[CaseReport | None]
    lost: str | None = None
    received: int = field(default=0)


class DaskCampaign:
    """One `compat check` on a Dask cluster: `with DaskCampaign(options, config) as c:
    c.run(jobs, progress)`."""

    def __init__(self, options: CheckOptions, config: EngineConfig) -> None:
        if options.cluster is None:
            raise ConfigError("--cluster: no cluster given")
        self.options = options
        self.config = config
        root = None if config.root is None else str(config.root)
        self.cluster = Cluster(options.cluster, needed_modules(options, config), root)

    @property
    def where(self) -> str:
        return self.cluster.where

    def __enter__(self) -> DaskCampaign:
        self.cluster.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.__exit__(*exc)

    def run(self, work: Sequence[tuple[Job, Case]], progress: Progress | None) -> Outcome:
        """Each case's report, in the order of `work`; those that came back when the
        scheduler went away, with why."""
        cluster = self.cluster
        numbers: dict[int, int] = {}
        jobs: list[Job] = []
        for job, _ in work:
            if id(job) not in numbers:
                numbers[id(job)] = len(jobs)
                jobs.append(job)
        indices = [{id(c): i for i, c in enumerate(job.cases)} for job in jobs]
        shipped: dict[int, Any] = {}
        spans = batches(work, cluster.workers())

        def units() -> Any:
            for start, stop in spans:
                job = work[start][0]
                number = numbers[id(job)]
                if number not in shipped:  # each fixture packed once, sent to the cluster once
                    # None: it does not pickle, and the worker reads its path.
                    shipped[number] = cluster.held(pack(job), f"fixture-{number}")
                cases = [_index(job, indices[number], case) for _, case in work[start:stop]]
                yield number, str(job.path), shipped[number], cases

        phase(f"running {len(work)} cases on {self.where}")
        outcome = Outcome([None] * len(work))
        stream = cluster.stream(
            check_state,
            (cluster.held(self.config, "config"), cluster.held(self.options, "options")),
            run_batch,
            units(),
            label="check",
        )
        try:
            with contextlib.closing(stream):  # what is still out is cancelled, here and now
                for index, answer in stream:
                    start, stop = spans[index]
                    for offset, report in enumerate(self._reports(answer, work[start:stop])):
                        outcome.reports[start + offset] = report
                        outcome.received += 1
                        if progress:
                            progress(outcome.received, len(work), report)
        except ClusterLost as exc:
            outcome.lost = (
                f"--cluster: lost the Dask scheduler ({self.where}) after {outcome.received} "
                f"of {len(work)} cases came back: {exc}"
            )
        return outcome

    def _reports(self, answer: Any, items: Sequence[tuple[Job, Case]]) -> list[CaseReport]:
        """A batch's reports: as its task sent them, or each case `crashed` when the task
        kept killing its workers."""
        if isinstance(answer, Died):
            return [self._crashed(job, case, answer.cause) for job, case in items]
        if isinstance(answer, Raised):
            if answer.refused:
                raise SetupError(answer.error)
            raise RuntimeError(f"{_where(items)}: {answer.error}")
        assert isinstance(answer, Done)
        if len(answer.value) != len(items):
            raise RuntimeError(
                f"{_where(items)}: the worker sent {len(answer.value)} of {len(items)}"
            )
        return list(answer.value)

    def _crashed(self, job: Job, case: Case, why: str) -> CaseReport:
        opts = self.options
        runs = [
            EngineRun(engine=spec, status="crashed", error=why)
            for spec in (opts.primary, opts.shadow)
        ]
        return case_report(opts, job, case, runs[0], runs[1])


def _index(job: Job, indices: dict[int, int], case: Case) -> int:
    index = indices.get(id(case))
    if index is not None:
        return index
    names = [c.name for c in job.cases]
    if case.name not in names:
        raise ConfigError(f"{job.path}: case {case.name!r} is not among its cases")
    return names.index(case.name)


def _where(items: Sequence[tuple[Job, Case]]) -> str:
    job, case = items[0]
    more = f" (and {len(items) - 1} more cases)" if len(items) > 1 else ""
    return f"{job.path}::{case.name}{more}"


__all__ = ["DaskCampaign", "Outcome", "batches", "check_state", "needed_modules", "run_batch"]
