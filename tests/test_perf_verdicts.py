"""Performance verdicts on real engines: a delay injected into one engine's node execution
(through the graph engine's `delay` test hook) is reported slower with the right ratio inside
its interval; identical engines are never called faster or slower."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from harness_engines import Slowed

from compat.check import CheckOptions, collect
from compat.engines import GraphAdapter
from compat.perf.case import PerfOptions, measure_case
from compat.perf.measure import Runner, measure_pair
from compat.perf.stats import Verdict, compare
from engines.config import load_config
from engines.documents import load_fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _runners(first: object, second: object) -> dict[str, Runner]:
    fixture = load_fixture(FIXTURES / "sequence_basics.yaml")
    case = fixture.cases[0]
    return {
        name: Runner(engine, fixture.registry, case.inputs, case.conversation, None)
        for name, engine in (("a", first), ("b", second))
    }


def test_an_injected_delay_is_slower_with_the_right_ratio() -> None:
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
    assert ratio.low / 1.15 <= expected <= ratio.high * 1.15, (expected, ratio)


@pytest.mark.parametrize("trial", range(8))
def test_identical_engines_are_never_faster_or_slower(trial: int) -> None:
    measured = measure_pair(
        _runners(GraphAdapter(), GraphAdapter()), frozenset(), warmup=2, runs=25, memory_runs=2
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
