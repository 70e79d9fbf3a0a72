"""`Experiment`: run the primary for the caller, the shadow in the background, and report.

The caller's thread runs only the primary and bookkeeping of bounded cost (a sampling draw,
a deep copy of the inputs when sampled, a non-blocking queue put); every user hook, the
shadow, the validation of results and the comparison run on one background worker thread
— or, with `shadow_runner="process"`, the shadow, the validation and the comparison run in
a worker process that this thread feeds (compat/shadow/process.py). docs/shadow.md has the
whole contract and the measured cost.
"""

from __future__ import annotations

import copy
import logging
import queue
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from compat.compare import Comparison, DimensionResult, compare_runs
from compat.engines import Engine
from compat.record import RecordingRegistry, ReplayRegistry
from compat.shadow import checks
from compat.shadow.lazy import Body, LazyResult, observations
from compat.shadow.model import (
    Call,
    ExperimentResult,
    HookError,
    Observation,
    Outcome,
    Stats,
)
from compat.shadow.process import ProcessRunner, Remote, RemoteShadow, runner_option
from compat.shadow.runner import Raw, observation, run_guarded
from compat.shadow.worker import Answer
from compat.tolerances import Tolerances
from engines.errors import ConfigError, ShadowMismatch
from engines.model import WorkflowRegistry
from engines.tools import ToolRegistry, builtin_registry

log = logging.getLogger("compat.shadow")

#: How many reported hook errors `Experiment.errors` keeps (the oldest are forgotten).
ERRORS_KEPT = 100

#: The default tolerances: the harness's, with threshold 1.0, so any difference the
#: comparison reports (outside `ignore_paths` and numeric tolerances) is a mismatch.
STRICT = Tolerances(threshold=1.0)

_STOP = object()
_FAILED = object()


_ATOMS = frozenset({str, int, float, bool, type(None)})


def snapshot(value: Any) -> Any:
    """A deep copy; JSON data (the usual inputs) copied directly, several times faster than
    `copy.deepcopy`, anything else by `copy.deepcopy`."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {key: snapshot(item) for key, item in value.items()}
    if kind is list:
        return [snapshot(item) for item in value]
    if kind is tuple:
        return tuple(snapshot(item) for item in value)
    return copy.deepcopy(value)


def same_error(primary: BaseException, shadow: BaseException) -> bool:
    """The default `compare_errors`: same exception type and same message."""
    return type(primary) is type(shadow) and str(primary) == str(shadow)


@dataclass(frozen=True, slots=True)
class _Job:
    call: Call
    primary: Raw
    queued_at: float
    #: The primary's tool calls, to answer the shadow's (with `replay`).
    recorder: RecordingRegistry | None = None


class Experiment:
    """Run `primary` for the caller and `shadow` beside it; compare and publish the pair.

    `primary` and `shadow` are engine specs (`graph`, `journey`, `module:attr`) or engine
    objects. `run(registry, inputs, conversation)` returns exactly what the primary returns
    and raises exactly what it raises. Hooks:

    * `run_if(call) -> bool` and `sample_rate` (seeded by `seed`) choose the calls to shadow;
    * `before_run(call)` prepares a shadow run, only when the shadow will run;
    * `compare(primary_value, shadow_value) -> bool` replaces the default comparison
      (`compare_runs(...).compatible` under `tolerances`, by default `STRICT`: any
      difference is a mismatch), called when both returned;
    * `compare_errors(primary_exc, shadow_exc) -> bool` when both raised (default: same
      type and message);
    * `ignore`: one or several `(primary_obs, shadow_obs) -> bool`; a mismatch any of them
      accepts is `ignored`;
    * `clean(value)` maps each value for publishing only;
    * `publish(result)` receives every `ExperimentResult`;
    * `raised(operation, exc)` hears of every hook that raised (default: a logged warning).

    A raising hook counts as False (the shadow is skipped for `run_if`/`before_run`) and is
    reported; nothing a hook or the shadow does reaches the caller, except `ShadowMismatch`
    when `raise_on_mismatch` is set (for tests: then `run` waits for the shadow).

    Resources: `timeout` bounds a shadow run; `max_pending` the backlog (beyond it samples
    are dropped); `max_abandoned` the timed-out shadows still running (while that many
    are, samples are skipped); `duty_cycle` the worker's share of wall time.

    `shadow_runner`: `"thread"` (default) runs the shadow in this process, on a thread;
    `"process"` or a `ProcessRunner` in a worker process (compat/shadow/process.py), so it
    never takes the GIL from primaries, and a timed-out shadow is killed, not abandoned.

    `replay=True` records the primary's tool calls (it is then given `tools=`, a recording
    registry) and answers the shadow's from that recording, so a mismatch comes from
    orchestration, never from the outside world; calls the recording cannot answer join the
    default comparison as its `replay` dimension (compat/record.py).
    """

    def __init__(
        self,
        name: str,
        primary: str | Engine,
        shadow: str | Engine,
        *,
        timeout: float = 10.0,
        sample_rate: float = 1.0,
        run_if: Callable[[Call], Any] | None = None,
        compare: Callable[[Any, Any], Any] | None = None,
        compare_errors: Callable[[BaseException, BaseException], Any] | None = None,
        ignore: Callable[[Observation, Observation], Any]
        | Iterable[Callable[[Observation, Observation], Any]] = (),
        clean: Callable[[Any], Any] | None = None,
        before_run: Callable[[Call], Any] | None = None,
        publish: Callable[[ExperimentResult], Any] | None = None,
        raised: Callable[[str, BaseException], Any] | None = None,
        raise_on_mismatch: bool = False,
        tolerances: Tolerances | None = None,
        seed: int | None = None,
        max_pending: int = 100,
        max_abandoned: int = 1,
        duty_cycle: float = 1.0,
        tools: ToolRegistry | None = None,
        env: Mapping[str, str] | None = None,
        replay: bool = False,
        shadow_runner: str | ProcessRunner = "thread",
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"experiment name must be a non-empty string, got {name!r}")
        self.name = name
        where = f"experiment {name!r}"
        runner = runner_option(where, shadow_runner)
        self.primary = checks.engine(where, "primary", primary, tools, env)
        self.shadow: Engine | RemoteShadow
        if runner is None:
            self.shadow = checks.engine(where, "shadow", shadow, tools, env)
        else:
            checks.remote_engine(where, "shadow", shadow)
        if not isinstance(replay, bool):
            raise ConfigError(f"{where}: replay must be True or False")
        self.replay = replay
        self.tools = tools if tools is not None else builtin_registry()
        self.timeout = checks.number(
            where, "timeout", timeout, low=0.0, high=threading.TIMEOUT_MAX, open_low=True
        )
        self.sample_rate = checks.number(where, "sample_rate", sample_rate, low=0.0, high=1.0)
        self.max_pending = checks.count(where, "max_pending", max_pending)
        self.max_abandoned = checks.count(where, "max_abandoned", max_abandoned)
        self.duty_cycle = checks.number(
            where, "duty_cycle", duty_cycle, low=0.0, high=1.0, open_low=True
        )
        self._run_if = checks.hook(where, "run_if", run_if)
        self._compare = checks.hook(where, "compare", compare)
        self._compare_errors = checks.hook(where, "compare_errors", compare_errors) or same_error
        self._ignore = checks.hooks(where, "ignore", ignore)
        self._clean = checks.hook(where, "clean", clean)
        self._before_run = checks.hook(where, "before_run", before_run)
        self._publish = checks.hook(where, "publish", publish)
        self._raised = checks.hook(where, "raised", raised)
        if not isinstance(raise_on_mismatch, bool):
            raise ConfigError(f"{where}: raise_on_mismatch must be True or False")
        self.raise_on_mismatch = raise_on_mismatch
        if tolerances is not None and not isinstance(tolerances, Tolerances):
            raise ConfigError(f"{where}: tolerances must be a compat.tolerances.Tolerances")
        self.tolerances = STRICT if tolerances is None else tolerances
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"{where}: seed must be an int or None, got {seed!r}")
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._counts: Counter[str] = Counter()
        self._skips: Counter[str] = Counter()
        self._pending = 0
        self._closed = False
        self._errors: deque[HookError] = deque(maxlen=ERRORS_KEPT)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.max_pending)
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()
        self._abandoned: list[threading.Thread] = []
        self._remote: RemoteShadow | None = None
        if runner is not None:  # last: nothing after it may fail and leave the worker
            self._remote = self.shadow = RemoteShadow(
                where, name, runner, shadow=shadow, primary=self.primary.name, tools=tools,
                env=env, tolerances=self.tolerances, timeout=self.timeout,
            )  # fmt: skip

    # ------------------------------------------------------------------ the caller's side

    def run(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any] = (),
    ) -> Any:
        """The primary's result for this call, or its exception re-raised (the same object)."""
        call = self._sample(registry, inputs, conversation)
        recorder = RecordingRegistry(self.tools) if call is not None and self.replay else None
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        try:
            if recorder is None:
                value = self.primary.run_case(registry, inputs, conversation)
            else:
                value = self.primary.run_case(registry, inputs, conversation, tools=recorder)
        except Exception as exc:
            if call is not None:
                wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
                raw = Raw(exception=exc, wall_seconds=wall, cpu_seconds=cpu)
                self._hand_over(call, raw, recorder)
            raise
        if call is not None:
            wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
            self._hand_over(call, Raw(value=value, wall_seconds=wall, cpu_seconds=cpu), recorder)
        return value

    def _sample(
        self, registry: WorkflowRegistry, inputs: Mapping[str, Any], conversation: Sequence[Any]
    ) -> Call | None:
        """The call to shadow, or None: decided before the primary runs, so the inputs the
        shadow gets are the ones the primary got. Never raises."""
        with self._lock:
            self._counts["runs"] += 1
            rate = self.sample_rate
            if self._closed:
                return self._skip_locked("closed")
            if rate < 1.0 and (rate == 0.0 or self._rng.random() >= rate):
                return self._skip_locked("sample_rate")
            self._counts["sampled"] += 1
        try:
            return Call(registry, snapshot(inputs), tuple(snapshot(list(conversation))))
        except Exception as exc:
            with self._lock:
                self._counts["sampled"] -= 1
            self._report("snapshot", exc)
            self._skip("snapshot")
            return None

    def _hand_over(self, call: Call, primary: Raw, recorder: RecordingRegistry | None) -> None:
        """Queue the sample without blocking (inline under `raise_on_mismatch`)."""
        job = _Job(call, primary, time.perf_counter(), recorder)
        if self.raise_on_mismatch:
            result = self._process_guarded(job)
            if result is not None and result.mismatched:
                raise ShadowMismatch(result.summary(), result) from primary.exception
            return
        try:
            with self._lock:
                self._pending += 1
                self._start_worker_locked()
            self._queue.put_nowait(job)
        except queue.Full:
            self._finish_pending("dropped")
        except Exception as exc:  # never the caller's problem
            self._report("experiment", exc)
            self._finish_pending(None, skip="error")

    def _start_worker_locked(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name=f"compat-shadow-{self.name}", daemon=True
            )
            self._worker.start()

    # ------------------------------------------------------------------ the worker's side

    def _work(self) -> None:
        rest_per_busy = (1.0 - self.duty_cycle) / self.duty_cycle
        not_before = 0.0
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            # Rest only when there is a backlog: a worker woken by a timer would take the
            # GIL from a running primary for nothing.
            delay = not_before - time.perf_counter()
            if delay > 0:
                self._wake.wait(delay)
            started = time.perf_counter()
            try:
                self._process_guarded(job)
            except BaseException as exc:  # e.g. a hook's SystemExit: the worker goes on
                self._report("experiment", exc)
                self._skip("error")
            finally:
                self._finish_pending(None)
                if self._closed and self._remote is not None and self._queue.empty():
                    self._remote.close()  # closed before the backlog drained: now it has
            ended = time.perf_counter()
            not_before = ended + (ended - started) * rest_per_busy

    def _process_guarded(self, job: _Job) -> ExperimentResult | None:
        try:
            return self._process(job)
        except Exception as exc:  # a bug of ours must not stop the worker or the caller
            self._report("experiment", exc)
            self._skip("error")
            return None

    def _process(self, job: _Job) -> ExperimentResult | None:
        call, errors = job.call, list[HookError]()
        if self._run_if is not None and not self._check("run_if", errors, self._run_if, call):
            return self._skip("run_if")
        with self._lock:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            if len(self._abandoned) >= self.max_abandoned:
                return self._skip_locked("abandoned")
        prepare = self._before_run
        if prepare is not None and self._guard("before_run", errors, prepare, call) is _FAILED:
            return self._skip("before_run")
        started = time.perf_counter()
        remote, runaway, extra = None, None, ()
        if self._remote is not None:
            if self._remote.closed:  # a call sampled just before close() drained
                return self._skip("closed")
            recording = None if job.recorder is None else job.recorder.recording()
            remote = self._remote.run(call, job.primary, recording, compare=self._compare is None)
            shadow_raw = remote.raw
        else:
            replayer = None
            if job.recorder is not None:
                replayer = ReplayRegistry(job.recorder.recording(), self.tools)
            shadow_raw, runaway = run_guarded(
                self.shadow,  # type: ignore[arg-type]
                call,
                self.timeout,
                thread_name=f"compat-shadow-{self.name}-run",
                tools=replayer,
            )
            extra = () if replayer is None else (replayer.dimension(),)
        with self._lock:
            self._counts["shadow_runs"] += 1
            if shadow_raw.timed_out:
                self._counts["timed_out"] += 1
            if runaway is not None:
                self._abandoned.append(runaway)
        answer = body = None
        if remote is not None:  # the worker's answer (None when it timed out or died)
            answer, body = remote.answer, remote.body
        if answer is not None and body is not None:
            primary, shadow = self._remote_observations(job.primary, answer, body, errors)
        else:
            primary = self._observe(self.primary.name, job.primary, errors)
            shadow = self._observe(self.shadow.name, shadow_raw, errors)
        outcome, comparison = self._decide(call, primary, shadow, errors, extra, remote)
        fields = {
            "experiment": self.name,
            "outcome": outcome,
            "call": call,
            "primary": primary,
            "shadow": shadow,
            "errors": tuple(errors),
            "queued_seconds": max(0.0, started - job.queued_at),
        }
        if answer is not None and body is not None:  # the comparison stays in the body
            result: ExperimentResult = LazyResult.make(body, answer.compared, **fields)
        else:
            result = ExperimentResult(comparison=comparison, **fields)
        self._count(outcome.value)
        publish = self._publish
        if publish is not None and self._guard("publish", None, publish, result) is not _FAILED:
            self._count("published")
        return result

    def _observe(self, name: str, raw: Raw, errors: list[HookError]) -> Observation:
        cleaned = None
        if raw.exception is None and not raw.timed_out:
            cleaned = self._cleaned(raw.value, errors)
        return observation(name, raw, self.timeout, cleaned)

    def _cleaned(self, value: Any, errors: list[HookError]) -> Any:
        """`clean(value)`, the value itself without `clean`, None when `clean` raised."""
        if self._clean is None:
            return value
        cleaned = self._guard("clean", errors, self._clean, value)
        return None if cleaned is _FAILED else cleaned

    def _remote_observations(
        self, raw: Raw, answer: Answer, body: Body, errors: list[HookError]
    ) -> tuple[Observation, Observation]:
        """Both observations of a sample the worker process answered (compat/shadow/lazy.py)."""
        primary_cleaned = None if raw.exception is not None else self._cleaned(raw.value, errors)
        return observations(
            answer, body, raw, self.primary.name, self.shadow.name, primary_cleaned,
            None if self._clean is None else lambda value: self._cleaned(value, errors),
        )  # fmt: skip

    def _decide(
        self,
        call: Call,
        primary: Observation,
        shadow: Observation,
        errors: list[HookError],
        extra: tuple[DimensionResult, ...] = (),
        remote: Remote | None = None,
    ) -> tuple[Outcome, Comparison | None]:
        """The outcome, and the comparison made here (None when the worker process made it:
        its verdict is in the answer's header, the comparison in its body)."""
        both_raised = primary.raised and shadow.raised
        comparison = None
        answer = None if remote is None else remote.answer
        if answer is not None:  # compared in the worker process, or not at all
            if answer.compare_failed:
                assert remote is not None and remote.body is not None
                errors.append(self._report("compare", remote.body.parts().compare_error))  # type: ignore[arg-type]
        elif self._compare is None and not both_raised:
            compared = self._guard(
                "compare",
                errors,
                lambda: compare_runs(
                    primary.run,
                    shadow.run,
                    call.registry.main,
                    self.tolerances,
                    extra=extra,
                    registry=call.registry,
                ),
            )
            comparison = None if compared is _FAILED else compared
        if shadow.timed_out:
            same = False
        elif both_raised:
            same = self._check(
                "compare_errors",
                errors,
                self._compare_errors,
                primary.exception,
                shadow.exception,
            )
        elif primary.raised or shadow.raised:
            same = False
        elif self._compare is not None:
            same = self._check("compare", errors, self._compare, primary.value, shadow.value)
        elif answer is not None:
            same = answer.compatible
        else:
            same = comparison is not None and comparison.compatible
        if answer is not None and not same:  # what is not a match is read: decode it now
            remote.body.parts()  # type: ignore[union-attr]
        if same:
            return Outcome.MATCHED, comparison
        for hook in self._ignore:
            if self._check("ignore", errors, hook, primary, shadow):
                return Outcome.IGNORED, comparison
        return Outcome.MISMATCHED, comparison

    def _guard(
        self,
        operation: str,
        errors: list[HookError] | None,
        hook: Callable[..., Any],
        *args: Any,
    ) -> Any:
        """`hook(*args)`, or `_FAILED` when it raises (the error is reported and, with
        `errors`, kept on the result)."""
        try:
            return hook(*args)
        except Exception as exc:
            error = self._report(operation, exc)
            if errors is not None:
                errors.append(error)
            return _FAILED

    def _check(
        self, operation: str, errors: list[HookError], hook: Callable[..., Any], *args: Any
    ) -> bool:
        """A predicate hook's answer; False when it raises (or its answer has no truth)."""
        answer = self._guard(operation, errors, lambda: bool(hook(*args)))
        return answer is True

    # ------------------------------------------------------------------ bookkeeping

    def _report(self, operation: str, exc: BaseException) -> HookError:
        error = HookError(operation, exc)
        with self._lock:
            self._errors.append(error)
            self._counts["publish_errors" if operation == "publish" else "hook_errors"] += 1
        if self._raised is None:
            log.warning("experiment %r: %s", self.name, error, exc_info=exc)
            return error
        try:
            self._raised(operation, exc)
        except Exception:
            log.exception("experiment %r: the raised hook failed on %s", self.name, error)
        return error

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def _skip(self, reason: str) -> None:
        with self._lock:
            self._skip_locked(reason)

    def _skip_locked(self, reason: str) -> None:
        self._counts["skipped"] += 1
        self._skips[reason] += 1

    def _finish_pending(self, counter: str | None, *, skip: str | None = None) -> None:
        with self._lock:
            self._pending -= 1
            if counter is not None:
                self._counts[counter] += 1
            if skip is not None:
                self._skip_locked(skip)
            self._idle.notify_all()

    # ------------------------------------------------------------------ public state

    @property
    def stats(self) -> Stats:
        with self._lock:
            counts = dict(self._counts)
            return Stats(
                pending=self._pending,
                skipped_by=MappingProxyType(dict(self._skips)),
                **counts,
            )

    @property
    def errors(self) -> tuple[HookError, ...]:
        """The last `ERRORS_KEPT` hook errors reported, oldest first."""
        with self._lock:
            return tuple(self._errors)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every queued sample is finished; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stop shadowing new calls (the primary still runs) and drain the backlog.

        False if it did not drain within `timeout`; the worker then finishes in the
        background (a daemon thread: samples still queued at interpreter exit are lost)."""
        with self._lock:
            self._closed = True
        self._wake.set()  # no more resting between samples
        drained = self.wait(timeout)
        if drained:
            with self._lock:
                worker, self._worker = self._worker, None
            if worker is not None:
                self._queue.put(_STOP)
                worker.join()
            if self._remote is not None:
                self._remote.close()
        return drained

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Experiment({self.name!r}, primary={self.primary.name!r}, "
            f"shadow={self.shadow.name!r}, sample_rate={self.sample_rate:g})"
        )
