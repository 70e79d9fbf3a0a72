"""What an experiment reports: immutable calls, observations, results and counters.

Frozen dataclasses rather than pydantic models: they hold arbitrary user values and
exception objects, and they are built on the background worker for every sample, where
validation would buy nothing. Immutability is shallow: a result refers to the very objects
the engines returned (the caller holds the primary's value too), so publishers must treat
values as read-only; `clean` is where a publishable copy is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from compat.compare import Comparison
from compat.engines import EngineRun
from engines.errors import ExecutionError
from engines.model import WorkflowRegistry


class ShadowProcessError(ExecutionError):
    """With the process runner: the shadow's worker process ended without answering (a
    crash, a signal, running out of memory), or what the shadow raised or returned cannot be
    sent back from it. It stands in `Observation.exception` for the shadow's failure, or is
    reported as an `experiment` error when the failure was ours (comparing, restarting)."""


class Outcome(StrEnum):
    MATCHED = "matched"
    MISMATCHED = "mismatched"
    #: A mismatch an `ignore` hook accepted.
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Call:
    """One call of `Experiment.run`. `inputs` and `conversation` are the deep copies taken
    before the primary ran, so neither the primary nor the caller can change what the
    shadow is given."""

    registry: WorkflowRegistry
    inputs: Mapping[str, Any]
    conversation: tuple[Any, ...]

    @property
    def workflow_id(self) -> str:
        return self.registry.main.id


@dataclass(frozen=True, slots=True)
class HookError:
    """A hook (or the experiment itself) raised; it was reported, never propagated.

    `operation` is `run_if`, `before_run`, `compare`, `compare_errors`, `ignore`, `clean`,
    `publish`, `snapshot` (deep-copying the inputs) or `experiment` (a bug of ours)."""

    operation: str
    exception: BaseException

    def __str__(self) -> str:
        return f"{self.operation}: {type(self.exception).__name__}: {self.exception}"


@dataclass(frozen=True, slots=True)
class Observation:
    """What one engine did with one call: its value or exception, and what it cost."""

    engine: str
    #: What `run_case` returned, the very object (None if it raised or timed out).
    value: Any
    #: What `run_case` raised, the very object.
    exception: BaseException | None
    #: The shadow gave no answer within the experiment's timeout (never for the primary).
    timed_out: bool
    wall_seconds: float
    #: CPU time of the thread that ran the engine; None when it timed out (still running).
    cpu_seconds: float | None
    #: The run as `compat.compare.compare_runs` sees it (status, validated `RunResult`).
    run: EngineRun
    #: `clean(value)` for publishing; the value itself without `clean`; None if the engine
    #: gave no value or `clean` raised (so a failing cleaner never leaks the raw value).
    cleaned: Any = None

    @property
    def raised(self) -> bool:
        return self.exception is not None

    @property
    def status(self) -> str:
        """`completed`, `failed`, `paused`, `cancelled`, or `crashed` / `timed_out`."""
        return self.run.status

    @property
    def error(self) -> str | None:
        """What went wrong, in one line (`run.error`), or None."""
        return self.run.error

    def describe(self) -> str:
        cost = f"{self.wall_seconds * 1e3:.1f} ms"
        if self.raised:
            exception = self.exception
            return f"{self.engine} raised {type(exception).__name__}: {exception} ({cost})"
        if self.error:
            return f"{self.engine} {self.status}: {self.error} ({cost})"
        return f"{self.engine} {self.status} ({cost})"


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """One sample of an experiment: both observations and the verdict. Immutable."""

    experiment: str
    outcome: Outcome
    call: Call
    primary: Observation
    shadow: Observation
    #: The default comparison, dimension by dimension; None with a custom `compare` or when
    #: both engines raised (then `compare_errors` decides).
    comparison: Comparison | None
    #: Hooks that raised while this result was made (each was treated as False).
    errors: tuple[HookError, ...]
    #: From the hand-over to the shadow's start: the backlog, the worker's rest (duty
    #: cycle), `run_if` and `before_run`.
    queued_seconds: float

    @property
    def matched(self) -> bool:
        return self.outcome is Outcome.MATCHED

    @property
    def mismatched(self) -> bool:
        return self.outcome is Outcome.MISMATCHED

    @property
    def ignored(self) -> bool:
        return self.outcome is Outcome.IGNORED

    def summary(self) -> str:
        """One line: the verdict, both engines, and where they differ."""
        text = (
            f"experiment {self.experiment!r} on {self.call.workflow_id!r}: {self.outcome}: "
            f"primary {self.primary.describe()}; shadow {self.shadow.describe()}"
        )
        # A match's comparison (None or compatible) adds nothing; not reading it spares the
        # process runner decoding it.
        comparison = None if self.matched else self.comparison
        if comparison is not None and not comparison.compatible:
            worst = comparison.worst
            dims = ", ".join(comparison.differing_dimensions()) or "none"
            text += f"; score {comparison.score:.3f}, differing: {dims}"
            if worst is not None:
                text += f"; worst: {worst.path} ({worst.kind}) {worst.note}".rstrip()
        return text


@dataclass(frozen=True, slots=True)
class Stats:
    """Counters at one moment. Once drained (`pending == 0`):
    `runs == skipped + dropped + matched + mismatched + ignored`."""

    #: Calls of `run`.
    runs: int = 0
    #: Calls picked to be shadowed (sample rate passed, inputs copied), queued or inline.
    sampled: int = 0
    #: Calls not shadowed on purpose; by reason in `skipped_by`.
    skipped: int = 0
    #: Samples refused because the backlog was full.
    dropped: int = 0
    #: Samples queued and not yet finished.
    pending: int = 0
    shadow_runs: int = 0
    timed_out: int = 0
    matched: int = 0
    mismatched: int = 0
    ignored: int = 0
    #: Results a publisher accepted without raising.
    published: int = 0
    publish_errors: int = 0
    #: Errors of the other hooks (and of the experiment itself).
    hook_errors: int = 0
    #: `sample_rate`, `closed`, `snapshot`, `run_if`, `before_run`, `abandoned`, `error`.
    skipped_by: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
