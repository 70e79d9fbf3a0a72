"""The primary's latency with shadowing off and on (compat.shadow, docs/shadow.md).

    python bench/shadow.py [--fixture fixtures/loop_modes.yaml] [--case NAME]
                           [--rounds 20] [--block 25] [--gap-ms 3]
                           [--switch-interval-ms MS]

The primary is the graph engine, the shadow the journey engine, on one fixture case (its
first by default). Arms:

* `direct`: GraphAdapter.run_case, no experiment;
* the thread runner: `rate 0` (an experiment that never samples), `rate 0.1` and `rate 1`
  (default comparison, a publisher), `rate 1, duty 0.25` (the worker rests so that it is
  busy at most a quarter of the time);
* the process runner (`shadow_runner="process"`: the shadow and the comparison in a worker
  process): `process rate 1`, `process rate 0.1`;
* floors, what the process runner cannot go below here:
  - `direct, neighbour`: direct calls while another process does in a loop what the
    process runner's worker does for a sample (unpickle the primary's result, run the
    shadow engine, validate both, compare, pickle the answer) at the worker's priority,
    resumed only during this arm's blocks: the worker's side, without anything of the
    experiment's (on a VM's virtual CPUs, cores and caches may be shared);
  - `direct, waking thread`: direct calls while a thread of this process does nothing but
    sleep and wake at the pace the process runner's worker thread does (once per sample:
    the median time from a call's return to its sample's publication, measured before the
    patterns), resumed only during this arm's blocks: what a thread in the service that
    wakes once per sample costs before doing any work (each wake-up takes the GIL);
  - `ideal thread`: an experiment with this package's caller side as it is and a worker
    thread that only pickles each sample (the inputs, the conversation, the primary's
    value), hands the bytes to the OS and sleeps that pace as if waiting for the answer:
    the service's side of any process runner fed by a thread, at its least;
  - `ideal inline`: no thread at all, the caller pickles its sample and hands it to the
    OS itself after its primary: a process runner fed by the caller, at its least.

Latency is the wall time of one `run` call as its caller sees it. Two patterns:

* `paced`: after every call the backlog is drained and the process idles `--gap-ms`, in
  every arm (untimed), so no shadow runs while a primary does: what the caller's thread
  pays, plus the caches the shadow cooled. `caller overhead` is `run`'s latency minus the
  primary's own wall time as the published result records it: the bookkeeping alone
  (sampling, copying the inputs, queueing).
* `sustained`: calls back to back, so shadows of earlier calls run on the worker while
  later primaries run and both share the GIL: the worst case of a busy process. The
  backlog is drained (untimed) between blocks.

Arms run in blocks of `--block` calls, in a shuffled order each round (seeded), so drift of
the machine spreads over all arms; median and p95 per arm, and their ratio to `direct`.
The last line sets the two runners side by side at rate 1, sustained, with the floors. The
load average (before and after) says how busy the machine was.

On a busy machine a call's wall time is mostly waiting for a CPU, whatever the arm. So, on
Linux, the sustained pattern also splits the caller's thread's time per call (from
/proc/self/task/<tid>/schedstat): on a CPU, waiting for a CPU (the machine's load), and
blocked (the rest: waiting for the GIL or a lock, the cost of sharing a process); `busy x
direct` is on-CPU plus blocked against `direct`'s, what an arm costs the primary's thread
without the machine's queue.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compat.engines import GraphAdapter
from compat.shadow import Experiment, ExperimentResult
from compat.shadow.process import DEFAULT_NICE
from engines.documents import load_fixture

REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()}-core {model!r}, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def schedstat(thread: int | None = None) -> tuple[float, float] | None:
    """Seconds a thread of this process (by native id; this one by default) has run on a
    CPU and waited for one (Linux), or None."""
    try:
        path = f"/proc/self/task/{thread or threading.get_native_id()}/schedstat"
        run, wait, _ = Path(path).read_text().split()
    except (OSError, ValueError):
        return None
    return int(run) / 1e9, int(wait) / 1e9


def load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


NEIGHBOUR = """
import os, pickle, sys
os.nice(int(sys.argv[3]))
from compat.compare import compare_runs
from compat.engines import GraphAdapter, JourneyAdapter
from compat.shadow.experiment import STRICT
from compat.shadow.runner import Raw, engine_run
from engines.documents import load_fixture
fixture = load_fixture(sys.argv[1])
case = fixture.case(sys.argv[2]) if sys.argv[2] else fixture.cases[0]
registry, inputs, conversation = fixture.registry, dict(case.inputs), tuple(case.conversation)
sent = pickle.dumps(GraphAdapter().run_case(registry, inputs, conversation), -1)
engine = JourneyAdapter()
while True:  # what the worker does for a sample, without talking to anyone
    primary = engine_run("graph", Raw(value=pickle.loads(sent)), 10.0)
    shadow = engine_run("journey", Raw(value=engine.run_case(registry, inputs, conversation)), 10.0)
    pickle.dumps((shadow, compare_runs(primary, shadow, registry.main, STRICT)), -1)
"""


def feeder_cpu(exp: Experiment) -> float | None:
    """Seconds the experiment's worker thread has run on a CPU (Linux), or None."""
    for thread in threading.enumerate():
        if thread.name == f"compat-shadow-{exp.name}" and thread.native_id is not None:
            times = schedstat(thread.native_id)
            return None if times is None else times[0]
    return None


def neighbour(fixture: str, case: str | None) -> subprocess.Popen[bytes]:
    """A process doing the worker's work in a loop at the worker's priority, stopped
    (SIGSTOP) until an arm resumes it."""
    process = subprocess.Popen(
        [sys.executable, "-c", NEIGHBOUR, fixture, case or "", str(DEFAULT_NICE)]
    )
    time.sleep(1.0)  # imported and running
    process.send_signal(signal.SIGSTOP)
    return process


class Waking:
    """A thread that, while resumed, sleeps `seconds` and wakes again, doing nothing else:
    each wake-up takes the GIL, as a worker thread woken by a sample's answer does."""

    def __init__(self) -> None:
        self.seconds = 0.001
        self._resumed = threading.Event()
        threading.Thread(target=self._loop, name="bench-waking", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._resumed.wait()
            time.sleep(self.seconds)

    def resume(self) -> None:
        self._resumed.set()

    def pause(self) -> None:
        self._resumed.clear()


#: Where the ideal arms hand their bytes to the OS.
SINK = open(os.devnull, "wb", buffering=0)  # noqa: SIM115 - open for the whole run


def pickled(inputs: Any, conversation: Any, value: Any) -> None:
    SINK.write(pickle.dumps((inputs, conversation, value), pickle.HIGHEST_PROTOCOL))


class IdealFeeder(Experiment):
    """The `ideal thread` arm: this package's caller side, and a worker thread that does for
    each sample only what any process runner's must (pickle it, hand it to the OS) and
    sleeps `pace` as if waiting for the answer. Overrides the experiment's private
    `_process`: a benchmark's stand-in, on purpose."""

    pace = 0.001

    def _process(self, job: Any) -> None:
        pickled(job.call.inputs, job.call.conversation, job.primary.value)
        time.sleep(self.pace)


def pace(exp: Experiment, run: Callable[[], Any], calls: int = 50) -> float:
    """Seconds from a call's return until its sample is published (median): how often the
    process runner's worker thread wakes while samples keep coming."""
    waits = []
    for _ in range(calls):
        run()
        started = time.perf_counter()
        exp.wait()
        waits.append(time.perf_counter() - started)
    return statistics.median(waits)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", default=str(REPO / "fixtures" / "loop_modes.yaml"))
    parser.add_argument("--case", default=None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument("--gap-ms", type=float, default=3.0)
    parser.add_argument(
        "--switch-interval-ms", type=float, default=None, help="sys.setswitchinterval for the run"
    )
    args = parser.parse_args(argv)
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)

    fixture = load_fixture(args.fixture)
    case = fixture.case(args.case) if args.case else fixture.cases[0]
    registry, inputs, conversation = fixture.registry, dict(case.inputs), tuple(case.conversation)
    direct = GraphAdapter()
    # The publisher keeps only the last result: retaining hundreds of results would make
    # every garbage collection (in whichever thread triggers it) slower, a cost of the
    # benchmark, not of shadowing.
    published: dict[str, deque[ExperimentResult]] = {}

    def experiment(label: str, rate: float, duty: float, runner: str) -> Experiment:
        results = published.setdefault(label, deque(maxlen=1))
        return Experiment(
            f"bench {label}", "graph", "journey", sample_rate=rate, seed=1, duty_cycle=duty,
            publish=results.append, shadow_runner=runner,
        )  # fmt: skip

    experiments = {
        label: experiment(label, rate, duty, runner)
        for label, rate, duty, runner in (
            ("rate 0", 0.0, 1.0, "thread"),
            ("rate 0.1", 0.1, 1.0, "thread"),
            ("rate 1", 1.0, 1.0, "thread"),
            ("rate 1, duty 0.25", 1.0, 0.25, "thread"),
            ("process rate 1", 1.0, 1.0, "process"),
            ("process rate 0.1", 0.1, 1.0, "process"),
        )
    }
    ideal = IdealFeeder("bench ideal thread", "graph", "journey", seed=1)

    def inline() -> Any:
        value = direct.run_case(registry, inputs, conversation)
        pickled(inputs, conversation, value)
        return value

    arms: dict[str, Callable[[], Any]] = {
        "direct": lambda: direct.run_case(registry, inputs, conversation)
    }
    for label, exp in experiments.items():
        arms[label] = lambda exp=exp: exp.run(registry, inputs, conversation)
    arms["ideal thread"] = lambda: ideal.run(registry, inputs, conversation)
    arms["ideal inline"] = inline
    next_door = neighbour(args.fixture, args.case)
    waking = Waking()
    arms["direct, neighbour"] = arms["direct, waking thread"] = arms["direct"]
    companions = {
        "direct, neighbour": (
            lambda: next_door.send_signal(signal.SIGCONT),
            lambda: next_door.send_signal(signal.SIGSTOP),
        ),
        "direct, waking thread": (waking.resume, waking.pause),
    }
    try:
        measure(
            args, f"case {case.name!r}", arms, experiments, published, companions, waking, ideal
        )
    finally:
        ideal.close()
        next_door.kill()
        next_door.wait()
    for exp in experiments.values():
        exp.close()
        stats = exp.stats
        assert stats.mismatched == stats.ignored == 0, f"{exp.name}: graph and journey disagree"
        assert stats.hook_errors == stats.publish_errors == 0, exp.errors


def measure(
    args: argparse.Namespace,
    case: str,
    arms: dict[str, Callable[[], Any]],
    experiments: dict[str, Experiment],
    published: dict[str, deque[ExperimentResult]],
    companions: dict[str, tuple[Callable[[], Any], Callable[[], Any]]],
    waking: Waking,
    ideal: IdealFeeder,
) -> None:
    """Every arm, both patterns, printed."""
    for _ in range(5):  # warm up every arm (imports, compiled templates, the worker)
        for run in arms.values():
            run()
    for exp in experiments.values():
        exp.wait()
    waking.seconds = ideal.pace = pace(experiments["process rate 1"], arms["process rate 1"])

    print(
        f"shadow experiment, graph primary / journey shadow on "
        f"{Path(args.fixture).name} {case}; {machine()}; "
        f"{args.rounds} rounds x {args.block} calls per arm; "
        f"switch interval {sys.getswitchinterval() * 1e3:g} ms; the process runner's worker "
        f"thread wakes every {waking.seconds * 1e3:.2f} ms; load average {load()}"
    )
    sustained: dict[str, tuple[float, float]] = {}
    #: Per arm, sustained: [calls, wall, on CPU, waiting for a CPU] of the caller's thread.
    split: dict[str, list[float]] = {label: [0, 0.0, 0.0, 0.0] for label in arms}
    shuffle = random.Random(7)
    for pattern in ("paced", "sustained"):
        latencies: dict[str, list[float]] = {label: [] for label in arms}
        overheads: dict[str, list[float]] = {label: [] for label in experiments}
        before = {label: exp.stats for label, exp in experiments.items()}
        #: Per experiment: [samples, seconds its worker thread ran on a CPU].
        feeder = {label: [0, 0.0] for label in experiments}
        for _ in range(args.rounds):
            order = list(arms)
            shuffle.shuffle(order)
            for label in order:
                run, exp = arms[label], experiments.get(label)
                drain = ideal if label == "ideal thread" else exp
                if label in companions:
                    companions[label][0]()
                if exp is not None:
                    runs0, cpu0 = exp.stats.shadow_runs, feeder_cpu(exp)
                sched0, wall0 = schedstat(), time.perf_counter()
                for _ in range(args.block):
                    exp_stats = exp.stats.published if exp is not None else 0
                    started = time.perf_counter()
                    run()
                    latency = time.perf_counter() - started
                    latencies[label].append(latency)
                    if pattern == "paced":
                        if drain is not None:
                            drain.wait()
                        if exp is not None and exp.stats.published > exp_stats:
                            primary = published[label][-1].primary.wall_seconds
                            overheads[label].append(latency - primary)
                        time.sleep(args.gap_ms / 1e3)
                sched1, wall1 = schedstat(), time.perf_counter()
                if label in companions:
                    companions[label][1]()
                if pattern == "sustained" and sched0 is not None and sched1 is not None:
                    totals = split[label]
                    totals[0] += args.block
                    totals[1] += wall1 - wall0
                    totals[2] += sched1[0] - sched0[0]
                    totals[3] += sched1[1] - sched0[1]
                if drain is not None:
                    drain.wait()
                if exp is not None:
                    cpu1 = feeder_cpu(exp)
                    if cpu0 is not None and cpu1 is not None:
                        feeder[label][0] += exp.stats.shadow_runs - runs0
                        feeder[label][1] += cpu1 - cpu0
        base_median, base_p95 = statistics.median(latencies["direct"]), p95(latencies["direct"])
        print(f"{pattern}:")
        for label, values in latencies.items():
            median, high = statistics.median(values), p95(values)
            line = (
                f"  {label:<21} median {median * 1e6:7.0f} us  p95 {high * 1e6:7.0f} us  "
                f"x direct: median {median / base_median:.2f}, p95 {high / base_p95:.2f}"
            )
            exp = experiments.get(label)
            if exp is not None:
                now, then = exp.stats, before[label]
                line += (
                    f" | shadowed {now.shadow_runs - then.shadow_runs}, "
                    f"dropped {now.dropped - then.dropped}"
                )
                samples, cpu = feeder[label]
                if samples:
                    line += f", worker thread on CPU {cpu / samples * 1e6:.0f} us a sample"
                extra = overheads[label]
                if len(extra) >= 20:
                    line += (
                        f", caller overhead median {statistics.median(extra) * 1e6:.0f} us "
                        f"p95 {p95(extra) * 1e6:.0f} us"
                    )
            print(line)
            if pattern == "sustained":
                sustained[label] = (median / base_median, high / base_p95)
    if split["direct"][0]:
        print("sustained, the caller's thread per call (schedstat):")
        base = None
        for label, (calls, wall, cpu, queued) in split.items():
            blocked = max(0.0, wall - cpu - queued)
            busy = (cpu + blocked) / calls
            base = base or busy
            print(
                f"  {label:<21} on CPU {cpu / calls * 1e6:6.0f} us  waiting for a CPU "
                f"{queued / calls * 1e6:6.0f} us  blocked {blocked / calls * 1e6:5.0f} us  "
                f"busy x direct {busy / base:.2f}"
            )
    thread, process = sustained["rate 1"], sustained["process rate 1"]
    floors = ", ".join(
        f"{label} median {sustained[label][0]:.2f} p95 {sustained[label][1]:.2f}"
        for label in ("direct, neighbour", "direct, waking thread", "ideal thread", "ideal inline")
    )
    print(
        f"rate 1, sustained, x direct: thread runner median {thread[0]:.2f} p95 "
        f"{thread[1]:.2f}; process runner median {process[0]:.2f} p95 {process[1]:.2f}; "
        f"floors: {floors}; load average {load()}"
    )


if __name__ == "__main__":
    main()
