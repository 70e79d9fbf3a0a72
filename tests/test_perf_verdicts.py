"""Performance verdicts on real engines: a delay injected into one engine's node execution
(through the graph engine's `delay` test hook) is reported slower with the right ratio inside
its interval; identical engines are never called faster or slower.

The in-process measurements read tests/perf_support.py's work meter, not the machine's clocks:
an engine's cost is its counted calls plus the delay it is given, and a loaded machine is a
seeded stall at every reading — noise, but the same noise on every run of these tests, so a
verdict is never the luck of the machine's load."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness_engines import Slowed
from perf_support import WorkMeter, work_meter

from compat.check import CheckOptions, collect
from compat.engines import GraphAdapter
from compat.perf.case import PerfOptions, measure_case
from compat.perf.measure import Runner, measure_pair
from compat.perf.stats import Verdict, compare
from engines.config import load_config
from engines.documents import load_fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def stalls(seed: int, mean: float) -> Callable[[], float]:
    """A loaded machine: at each clock reading, a stall of `mean` seconds on average
    (exponentially distributed: mostly short, now and then several times the mean)."""
    rng = random.Random(seed)
    return lambda: rng.expovariate(1 / mean)


@pytest.fixture
def meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkMeter]:
    # Stalls of 0.1 ms on average, about a tenth of a run of the case.
    with work_meter(monkeypatch, load=stalls(20261206, 1e-4)) as installed:
        yield installed


def _runners(first: object, second: object) -> dict[str, Runner]:
    fixture = load_fixture(FIXTURES / "sequence_basics.yaml")
    case = fixture.cases[0]
    return {
        name: Runner(engine, fixture.registry, case.inputs, case.conversation, None)
        for name, engine in (("a", first), ("b", second))
    }


def test_an_injected_delay_is_slower_with_the_right_ratio(meter: WorkMeter) -> None:
    base = Slowed(per_node=0.0)
    probe = _runners(base, base)["a"]
    for _ in range(3):
        probe.run()
    per_run = statistics.median(probe.run().wall_seconds for _ in range(9))
    nodes = probe.run().node_executions
    slowed = Slowed(per_node=per_run / nodes)  # about doubles a run
    measured = measure_pair(_runners(base, slowed), frozenset(), warmup=2, runs=40, memory_runs=1)
    walls = {name: [s.wall_seconds for s in samples] for name, samples in measured.timing.items()}
    ratio = compare(walls["a"], walls["b"])
    assert ratio.verdict is Verdict.SLOWER
    timed = slowed.injected[2:42]  # after the warm-up runs: the timed ones
    expected = 1 + statistics.median(timed) / statistics.median(walls["a"])
    assert expected > 1.5  # the delay is at least half a run: a clear slowdown
    assert ratio.low <= expected <= ratio.high, (expected, ratio)


@pytest.mark.parametrize("trial", range(8))
def test_identical_engines_are_never_faster_or_slower(
    trial: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Eight differently loaded machines: stalls of 0.05 ms to 1.8 ms on average, against
    # runs of about 1 ms of counted work.
    load = stalls(trial, 5e-5 * 1.67**trial)
    with work_meter(monkeypatch, load=load):
        measured = measure_pair(
            _runners(GraphAdapter(), GraphAdapter()),
            frozenset(),
            warmup=2,
            runs=25,
            memory_runs=2,
        )
    for metric in ("wall_seconds", "cpu_seconds"):
        a = [getattr(s, metric) for s in measured.timing["a"]]
        b = [getattr(s, metric) for s in measured.timing["b"]]
        assert compare(a, b).verdict in (Verdict.PARITY, Verdict.INCONCLUSIVE), (trial, metric)
    peaks = [[s.peak_bytes for s in measured.memory[n]] for n in ("a", "b")]
    assert compare(*peaks).verdict is Verdict.PARITY  # the same allocations, byte for byte


def test_an_isolated_measurement_compares_rss_too() -> None:
    config = load_config(start=FIXTURES.parent)
    (job,) = collect([FIXTURES / "sequence_basics.yaml"], config, CheckOptions())
    options = PerfOptions(isolate=True, repeat=5, warmup=1, memory_runs=1)
    engines = {"graph": GraphAdapter(), "journey": GraphAdapter()}
    case = measure_case(job, job.cases[0], options, config, engines)
    assert case.problem is None and case.isolated and case.runs == 5
    rss = case.metric("rss_delta")
    assert rss.ratio.verdict is not Verdict.UNDEFINED or "non-zero" in rss.ratio.note
    assert [len(case.samples[n].timing) for n in ("graph", "journey")] == [5, 5]
    assert case.metric("node_executions").ratio.median == 1.0
