"""Primary/shadow experiments, in the spirit of GitHub's Scientist (docs/shadow.md).

    from compat.shadow import Experiment

    experiment = Experiment("journey-rollout", "graph", "journey", publish=send)
    result = experiment.run(registry, inputs, conversation)   # the graph engine's result

The caller gets the primary's result, or its exception re-raised (the same object); the
shadow runs afterwards on a background worker, guarded by its own timeout, and every sample
ends as an immutable `ExperimentResult` — matched, mismatched or ignored, with wall and CPU
time for both engines — handed to the publisher.

Decisions (the reasons are in docs/shadow.md):

* The primary runs in the caller's thread, unwrapped, so its value, exception and
  traceback are its own. The caller's thread does only bounded bookkeeping: one sampling
  draw, a deep copy of the inputs when sampled (so the shadow gets what the primary got),
  and a non-blocking put. No user hook runs there (except with `raise_on_mismatch`).
* The shadow starts after the primary finished, on one worker thread fed by a bounded
  queue: a full backlog drops the sample (counted) rather than block the caller.
* A shadow that outlives its timeout is abandoned (Python cannot kill a thread); while
  `max_abandoned` of them still run, new samples are skipped, so at most that many shadow
  engines ever compete with the caller for the GIL.
* A raising hook counts as False (skip for `run_if`/`before_run`, mismatch for
  `compare`/`compare_errors`, not ignored for `ignore`, None for `clean`) and is reported
  to `raised(operation, exc)`, kept in `Experiment.errors` and on the result.
* A timed-out shadow is a mismatch unless an `ignore` hook accepts it.
* The default comparison is `compare_runs(...).compatible` under strict tolerances
  (threshold 1.0): any reported difference is a mismatch.
* Under sustained load a thread-run shadow shares the GIL with later primaries;
  `sample_rate` and `duty_cycle` (the worker's largest share of wall time) bound how many
  calls that touches. `shadow_runner="process"` runs the shadow, the validation of both
  results and the default comparison in a worker process instead (compat/shadow/process.py):
  the service pays a pickle of the request and of the answer, on the worker thread.
"""

from __future__ import annotations

from compat.shadow.experiment import STRICT, Experiment, same_error
from compat.shadow.model import (
    Call,
    ExperimentResult,
    HookError,
    Observation,
    Outcome,
    ShadowProcessError,
    Stats,
)
from compat.shadow.process import ProcessRunner
from engines.errors import ShadowMismatch

__all__ = [
    "STRICT",
    "Call",
    "Experiment",
    "ExperimentResult",
    "HookError",
    "Observation",
    "Outcome",
    "ProcessRunner",
    "ShadowMismatch",
    "ShadowProcessError",
    "Stats",
    "same_error",
]
