"""Every recommendation rule of compat/perf/recommend.py on a workflow, engine or shape built
to trigger it, and on one built not to, measured for real: the engines run through the
perf package's Runner / measure_pair / measure_scaling / comparison_cost, and the rules read
what was measured. Each trigger checks the engine named, the gain recomputed from the
measurement, and the evidence naming the node or shape and the figure.

Nothing here reads the machine's clocks: wall and CPU seconds come from the work meter of
tests/perf_support.py (counted calls, plus what a test engine charges: a per-node sleep of
3 ms, quadratic work), so a rule's verdict is the same on an idle machine and on a loaded
one. Clock seconds are the engines' virtual clock. The rules' thresholds are never loosened.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from conftest import node, start, tool, workflow
from perf_support import WorkMeter, work_meter

from compat.engines import GraphAdapter, JourneyAdapter, run_engine
from compat.perf import recommend
from compat.perf.harness import comparison_cost
from compat.perf.measure import Measured, Runner, measure_pair
from compat.perf.recommend import Recommendation
from compat.perf.scaling import ScalingReport, measure_scaling
from compat.perf.shapes import Shape, chain, loop, records
from compat.perf.stats import Ratio, Verdict, compare
from compat.tolerances import Tolerances
from engines.clock import VirtualClock
from engines.expressions import compile_template
from engines.graph import GraphEngine
from engines.model import ValidatedWorkflow, WorkflowRegistry, validate_workflow
from engines.result import RunResult
from engines.tools import ToolRegistry

# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkMeter]:
    """Every measurement in this file reads counted work, not the machine's clocks."""
    with work_meter(monkeypatch) as installed:
        yield installed


def registry(doc: Mapping[str, Any] | ValidatedWorkflow) -> WorkflowRegistry:
    return WorkflowRegistry([doc if isinstance(doc, ValidatedWorkflow) else validate_workflow(doc)])


def measure(
    engines: Mapping[str, Any],
    reg: WorkflowRegistry,
    inputs: Mapping[str, Any] | None = None,
    *,
    parallels: frozenset[str] = frozenset(),
    runs: int = 5,
) -> Measured:
    runners = {name: Runner(e, reg, inputs or {}, (), None) for name, e in engines.items()}
    return measure_pair(runners, parallels, runs=runs, warmup=1, memory_runs=1)


def median_wall(measured: Measured, engine: str) -> float:
    """The median as recommend.for_case takes it (the upper one of an even count)."""
    walls = sorted(s.wall_seconds for s in measured.timing[engine])
    return walls[len(walls) // 2]


def wall_per_node(measured: Measured) -> Ratio:
    """B / A of wall seconds per node execution, as the case report computes it."""
    (_, left), (_, right) = measured.timing.items()
    return compare(
        [s.wall_seconds / s.node_executions for s in left],
        [s.wall_seconds / s.node_executions for s in right],
    )


def case_advice(
    measured: Measured, rule: str, comparison: tuple[float, float] | None = None
) -> list[Recommendation]:
    advice = recommend.for_case("case", measured, wall_per_node(measured), comparison)
    return [item for item in advice if item.rule == rule]


def clock(measured: Measured, engine: str) -> float:
    return measured.timing[engine][0].clock_seconds


def both() -> dict[str, Any]:
    return {"graph": GraphAdapter(), "journey": JourneyAdapter()}


def only(advice: Sequence[Recommendation]) -> Recommendation:
    assert len(advice) == 1, advice
    return advice[0]


# ----------------------------------------------------------------------------- engines


class DelayedGraph(GraphAdapter):
    """The graph engine sleeping `seconds` before every node execution (through its `delay`
    hook, returning 0: no clock time): a sleep charged to the work meter (wall time, no CPU
    time). `slept` holds each run's seconds spent in those sleeps."""

    name = "graph-delayed"

    def __init__(self, seconds: float, meter: WorkMeter) -> None:
        super().__init__()
        self.seconds = seconds
        self.meter = meter
        self.slept: list[float] = []

    def _delay(self, node: str, path: Any) -> float:
        self.slept[-1] += self.meter.charge(self.seconds, cpu=False)
        return 0.0

    def engine(self, tools: ToolRegistry | None = None) -> GraphEngine:
        return GraphEngine(
            tools=tools or self.tools, clock=VirtualClock(), env=self.env, delay=self._delay
        )

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        self.slept.append(0.0)
        return super().run_case(registry, inputs, conversation, tools=tools)


class CompilingGraph(GraphAdapter):
    """The graph engine, compiling `templates` never-seen templates during every run (what an
    engine that does not compile once at load time looks like to the profiler)."""

    name = "compiling"
    _fresh = itertools.count()

    def __init__(self, templates: int) -> None:
        super().__init__()
        self.templates = templates

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        for _ in range(self.templates):
            number = next(self._fresh)  # a new source every time: the compile cache misses
            compile_template(f"{{{{ inputs.x * {number} + (inputs.y or {number}) }}}}")
        return super().run_case(registry, inputs, conversation, tools=tools)


class QuadraticGraph(GraphAdapter):
    """The graph engine plus `factor` × n² seconds of work (charged to the work meter: wall
    and CPU time), n the main workflow's nodes."""

    name = "quadratic"

    def __init__(self, factor: float, meter: WorkMeter) -> None:
        super().__init__()
        self.factor = factor
        self.meter = meter

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        result = super().run_case(registry, inputs, conversation, tools=tools)
        self.meter.charge(self.factor * len(registry.main.workflow.nodes) ** 2)
        return result


class OneFieldOff(GraphAdapter):
    """The graph engine with one field of one output record changed."""

    name = "one-field-off"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        result = super().run_case(registry, inputs, conversation, tools=tools)
        rows = [dict(row) for row in result.outputs["records"]]
        rows[75]["name"] = "changed"
        return result.model_copy(update={"outputs": {**result.outputs, "records": rows}})


# ----------------------------------------------------------------------------- workflows


def parallel_of(body: dict[str, Any]) -> dict[str, Any]:
    """A parallel P of 4 branches, each running `body` (its id `b`) after the body's start."""
    return workflow(
        [
            start(),
            node("P", "parallel", mode="count", count=4),
            start("ps", parent="P"),
            {**body, "id": "b", "parent": "P"},
        ],
        ["start -> P", "ps -> b"],
    )


def retried(failures: int, attempts: int, interval: float, *, then_wait: float = 0) -> dict:
    """A `flaky` tool node `t` failing `failures` times under a retry policy (coefficient 2),
    optionally followed by a wait of `then_wait` clock seconds."""
    policy = {"max_attempts": attempts, "initial_interval": interval, "backoff_coefficient": 2}
    nodes = [start(), {**tool("t", "flaky", failures=failures), "retry": policy}]
    edges = ["start -> t"]
    if then_wait:
        nodes.append(node("w", "wait", seconds=then_wait))
        edges.append("t -> w")
    return workflow(nodes, edges)


# ----------------------------------------------------------------------------- sequential_parallel


def test_sequential_parallel_names_the_engine_running_branches_one_after_another() -> None:
    waits = parallel_of(node("b", "wait", seconds="{{ parallel.index + 1 }}"))  # 1, 2, 3, 4 s
    measured = measure(both(), registry(waits), parallels=frozenset({"P"}))
    journey, graph = measured.breakdown["journey"], measured.breakdown["graph"]
    assert journey.branches == graph.branches == {"P": [1.0, 2.0, 3.0, 4.0]}
    assert (journey.containers, graph.containers) == ({"P": 10.0}, {"P": 4.0})

    item = only(recommend.sequential_parallel("journey", journey, clock(measured, "journey"), "w"))
    assert (item.rule, item.engine, item.where) == ("sequential_parallel", "journey", "w")
    assert (item.gain.value, item.gain.unit) == (10.0 - 4.0, "clock seconds")
    assert item.gain.share == pytest.approx(6.0 / 10.0)
    assert "P's 4 branches took 10.00 s" in item.evidence
    assert "the longest alone takes 4.00 s" in item.evidence
    assert item.figures["sum_seconds"] == 10.0 and item.figures["longest_seconds"] == 4.0
    # The graph engine ran the branches at the same time: its container took the longest.
    assert recommend.sequential_parallel("graph", graph, clock(measured, "graph"), "w") == []
    # Through the case rules too: one recommendation, about journey only.
    assert [(i.engine, i.gain.value) for i in case_advice(measured, "sequential_parallel")] == [
        ("journey", 6.0)
    ]


def test_sequential_parallel_says_nothing_when_the_branches_take_no_clock_time() -> None:
    instant = parallel_of(node("b", "transform", value="{{ parallel.index }}"))
    measured = measure(both(), registry(instant), parallels=frozenset({"P"}))
    for engine in ("graph", "journey"):
        shape = measured.breakdown[engine]
        assert shape.branches == {"P": [0.0, 0.0, 0.0, 0.0]}
        assert recommend.sequential_parallel(engine, shape, clock(measured, engine), "i") == []
    assert case_advice(measured, "sequential_parallel") == []


# ----------------------------------------------------------------------------- retry_backoff


def test_retry_backoff_is_one_recommendation_naming_both_engines() -> None:
    # Attempts 1 and 2 fail: backoff 10 s, then 10 × 2 = 20 s (docs/semantics.md §7.7).
    measured = measure(both(), registry(retried(failures=2, attempts=3, interval=10)))
    for engine in ("graph", "journey"):
        assert measured.breakdown[engine].backoff == {"t": 30.0}
        assert measured.breakdown[engine].nodes["t"] == 30.0
        assert clock(measured, engine) == 30.0
        alone = only(recommend.retry_backoff(engine, measured.breakdown[engine], 30.0, "r"))
        assert alone.engine == engine

    item = only(case_advice(measured, "retry_backoff"))
    assert item.engine == "graph, journey"
    assert (item.gain.value, item.gain.unit, item.gain.share) == (30.0, "clock seconds", 1.0)
    assert item.evidence.startswith("t spent 30.00 s of its 30.00 s clock time")
    assert "(100%)" in item.evidence
    assert item.figures == {"backoff_seconds": 30.0, "node_seconds": 30.0}
    assert item.where == "case"


def test_retry_backoff_says_nothing_without_retries() -> None:
    # The policy is there, but the tool never fails: nothing waits between attempts.
    measured = measure(both(), registry(retried(failures=0, attempts=3, interval=10)))
    for engine in ("graph", "journey"):
        assert measured.breakdown[engine].backoff == {}
        assert recommend.retry_backoff(engine, measured.breakdown[engine], 0.0, "r") == []
    assert case_advice(measured, "retry_backoff") == []


def test_retry_backoff_says_nothing_when_the_backoff_is_a_sliver_of_the_run() -> None:
    # The node is all backoff (1 s of 1 s), but the run takes 101 s: below RUN_SHARE.
    doc = retried(failures=1, attempts=2, interval=1, then_wait=100)
    measured = measure(both(), registry(doc))
    for engine in ("graph", "journey"):
        shape = measured.breakdown[engine]
        assert (shape.backoff, shape.nodes["t"]) == ({"t": 1.0}, 1.0)
        assert clock(measured, engine) == 101.0
        assert recommend.RUN_SHARE * 101.0 > 1.0
        assert recommend.retry_backoff(engine, shape, 101.0, "r") == []
        # The run's length is the only reason: measured against the node alone, it triggers.
        assert only(recommend.retry_backoff(engine, shape, 1.0, "r")).gain.value == 1.0
    assert case_advice(measured, "retry_backoff") == []


# ----------------------------------------------------------------------------- runtime_compilation


def test_runtime_compilation_names_an_engine_compiling_while_it_runs() -> None:
    engines = {"graph": GraphAdapter(), "compiling": CompilingGraph(templates=40)}
    measured = measure(engines, registry(chain(4)), {"x": 1})
    profile = measured.profile["compiling"]
    assert profile["compile_calls"] == 40.0
    assert measured.profile["graph"]["compile_calls"] == 0.0

    item = only(case_advice(measured, "runtime_compilation"))
    assert item.engine == "compiling"
    share = profile["compile_seconds"] / profile["total_seconds"]
    assert 0 < share < 1
    assert item.figures == {"compile_calls": 40.0, "compile_share": pytest.approx(share)}
    assert item.gain.unit == "wall seconds per run"
    assert item.gain.value == pytest.approx(share * median_wall(measured, "compiling"))
    assert item.gain.share == pytest.approx(share)
    assert f"made 40 compile calls, {share:.0%} of its profiled time" in item.evidence


def test_runtime_compilation_says_nothing_for_an_engine_compiling_once() -> None:
    measured = measure(both(), registry(chain(4)), {"x": 1})
    for engine in ("graph", "journey"):
        assert measured.profile[engine]["compile_calls"] == 0.0
        wall = median_wall(measured, engine)
        assert recommend.runtime_compilation(engine, measured.profile[engine], wall, "c") == []
    assert case_advice(measured, "runtime_compilation") == []


# ----------------------------------------------------------------------------- per_node_overhead

DELAY = 0.003


@pytest.mark.parametrize("slow_first", [False, True], ids=["slow-second", "slow-first"])
def test_per_node_overhead_names_the_engine_slower_per_node(
    slow_first: bool, meter: WorkMeter
) -> None:
    delayed = DelayedGraph(DELAY, meter)
    pair = [("graph", GraphAdapter()), ("graph-delayed", delayed)]
    engines = dict(reversed(pair) if slow_first else pair)
    measured = measure(engines, registry(chain(6)), {"x": 1}, runs=15)
    ratio = wall_per_node(measured)
    assert ratio.verdict is (Verdict.FASTER if slow_first else Verdict.SLOWER)

    item = only(case_advice(measured, "per_node_overhead"))
    assert item.engine == "graph-delayed"
    nodes = measured.timing["graph-delayed"][0].node_executions
    assert nodes == measured.timing["graph"][0].node_executions == 7
    slow = median_wall(measured, "graph-delayed") / nodes
    fast = median_wall(measured, "graph") / nodes
    assert item.figures["per_node_seconds"] == pytest.approx(slow)
    assert item.figures["other_per_node_seconds"] == pytest.approx(fast)
    assert item.figures["ratio_low"] >= recommend.OVERHEAD_FACTOR
    assert item.gain.value == pytest.approx((slow - fast) * nodes)
    # What was added is the sleep before each of the 7 node executions, 7 × 3 ms; the rest of
    # the gain is the delayed engine's own extra work (its hook makes every node a task).
    slept = sorted(delayed.slept)[len(delayed.slept) // 2]
    assert slept == pytest.approx(DELAY * nodes)
    assert slept <= item.gain.value <= 1.5 * slept
    assert item.gain.share == pytest.approx(1 - fast / slow)
    assert item.evidence.startswith("graph-delayed spends ")
    assert f"{slow * 1e3:.2f} ms per node execution" in item.evidence
    assert f"{slow / fast:.2f}× graph's" in item.evidence


def test_per_node_overhead_says_nothing_between_identical_engines() -> None:
    engines = {"graph": GraphAdapter(), "graph'": GraphAdapter()}
    measured = measure(engines, registry(chain(6)), {"x": 1}, runs=15)
    ratio = wall_per_node(measured)
    assert ratio.verdict is Verdict.PARITY and ratio.low < recommend.OVERHEAD_FACTOR
    per_node = (
        median_wall(measured, "graph") / 7,
        median_wall(measured, "graph'") / 7,
    )
    assert recommend.per_node_overhead(("graph", "graph'"), ratio, per_node, (7, 7), "n") == []
    assert case_advice(measured, "per_node_overhead") == []


# ----------------------------------------------------------------------------- memory_growth


def loop_shape(name: str, output: str) -> Shape:
    return Shape(name, "iterations", lambda n: (registry(loop(n, output=output)), {}), (2, 4, 8))


def test_memory_growth_names_engines_keeping_every_iteration_alive() -> None:
    # Every iteration renders a 100 000-character string, and the loop's output keeps them.
    report = measure_scaling(loop_shape("big-loop", "{{ 'x' * 100000 }}"), both(), repeat=1)
    advice = recommend.memory_growth(report)
    assert [item.engine for item in advice] == ["graph", "journey"]
    for item in advice:
        fit = report.engines[item.engine]
        assert item.rule == "memory_growth" and item.where == "shape big-loop"
        assert fit.bytes_per_unit >= recommend.BYTES_PER_ITERATION
        assert 100_000 <= fit.bytes_per_unit <= 150_000  # the string, plus a little
        assert item.figures["bytes_per_iteration"] == fit.bytes_per_unit
        assert item.figures["peak_bytes_largest"] == fit.peak_bytes[-1]
        assert item.gain.value == pytest.approx(fit.bytes_per_unit * 8)
        assert item.gain.unit == "bytes at the largest size"
        assert f"grows {fit.bytes_per_unit / 1024:.1f} KiB per iteration" in item.evidence
        assert f"{fit.peak_bytes[-1] / 1024:.1f} KiB at 8 iterations" in item.evidence
    assert [i for i in recommend.for_scaling(report) if i.rule == "memory_growth"] == advice
    # The same growth over anything but loop iterations is not this rule's evidence.
    other = ScalingReport(shape="big", unit="records", sizes=report.sizes, engines=report.engines)
    assert recommend.memory_growth(other) == []


def test_memory_growth_says_nothing_for_small_iteration_outputs() -> None:
    report = measure_scaling(loop_shape("loop", "{{ loop.index }}"), both(), repeat=1)
    for fit in report.engines.values():
        assert fit.bytes_per_unit < recommend.BYTES_PER_ITERATION
    assert recommend.memory_growth(report) == []


# ----------------------------------------------------------------------------- superlinear

#: Seconds × nodes², charged (no real time): 4.4 ms at 21 nodes, 1.03 s at 321, far above the
#: engine's own work (counted calls: a few hundredths of a millisecond per node).
QUADRATIC = 1e-5


def chain_shape(sizes: tuple[int, ...]) -> Shape:
    return Shape("chain", "nodes", lambda n: (registry(chain(n)), {"x": 1}), sizes)


def test_superlinear_names_an_engine_whose_cost_grows_quadratically(meter: WorkMeter) -> None:
    engines = {"quadratic": QuadraticGraph(QUADRATIC, meter)}
    report = measure_scaling(chain_shape((20, 80, 320)), engines, repeat=5)
    fit = report.engines["quadratic"]
    item = only(recommend.superlinear(report))
    assert (item.rule, item.engine, item.where) == ("superlinear", "quadratic", "shape chain")
    assert fit.slope >= recommend.SUPERLINEAR_SLOPE and fit.complexity == "O(n²)", fit
    assert item.figures == {
        "slope": fit.slope,
        "seconds_first": fit.seconds[0],
        "seconds_last": fit.seconds[-1],
    }
    linear = fit.fixed_seconds + (fit.seconds[0] - fit.fixed_seconds) * 320 / 20
    assert item.gain.value == pytest.approx(fit.seconds[-1] - linear)
    assert item.gain.unit == "wall seconds at 320 nodes"
    # The excess over linear growth is the quadratic work put in: c·321² − 16·c·21² (the
    # engine's own, linear, work and the fixed cost the fit takes off shift it a little).
    excess = QUADRATIC * (321**2 - 16 * 21**2)
    assert 0.9 * excess <= item.gain.value <= 1.1 * excess
    assert 0 < item.gain.share <= 1
    assert f"in nodes (fitted exponent {fit.slope:.2f})" in item.evidence
    assert "at 20," in item.evidence and "at 320" in item.evidence
    assert recommend.for_scaling(report) == [item]


def test_superlinear_says_nothing_for_an_engine_linear_in_the_chain() -> None:
    # The real graph engine, its cost counted in calls: linear in the chain's length (an
    # engine doing work per node that grows with the chain would fit steeper, and be named).
    report = measure_scaling(chain_shape((10, 50, 250)), {"graph": GraphAdapter()}, repeat=10)
    fit = report.engines["graph"]
    assert fit.slope < recommend.SUPERLINEAR_SLOPE and fit.complexity == "O(n)", fit
    assert recommend.superlinear(report) == []
    assert recommend.for_scaling(report) == []


# ----------------------------------------------------------------------------- deepdiff_dominant


def test_deepdiff_dominant_names_the_harness_when_deepdiff_outweighs_the_runs() -> None:
    doc, inputs = records(150)  # 750 leaves: small enough for deepdiff (max_diffs 1000)
    engines = {"graph": GraphAdapter(), "one-field-off": OneFieldOff()}
    measured = measure(engines, registry(doc), inputs)
    left, right = (run_engine(e, registry(doc), inputs, ()) for e in engines.values())
    compare_s, deepdiff_s = comparison_cost(left, right, doc, Tolerances())
    assert 0 < deepdiff_s < compare_s

    item = only(case_advice(measured, "deepdiff_dominant", (compare_s, deepdiff_s)))
    runs = median_wall(measured, "graph") + median_wall(measured, "one-field-off")
    assert (item.engine, item.where) == ("harness", "case")
    assert item.figures == {
        "deepdiff_seconds": deepdiff_s,
        "compare_seconds": compare_s,
        "run_seconds": pytest.approx(runs),
    }
    assert (item.gain.value, item.gain.unit) == (deepdiff_s, "wall seconds per comparison")
    assert item.gain.share == pytest.approx(deepdiff_s / compare_s)
    assert f"comparison ({deepdiff_s / compare_s:.0%})" in item.evidence
    assert item.evidence.startswith("deepdiff took ")


def test_deepdiff_dominant_says_nothing_when_the_runs_agree() -> None:
    doc, inputs = records(150)
    measured = measure(both(), registry(doc), inputs)
    left, right = (run_engine(e, registry(doc), inputs, ()) for e in both().values())
    compare_s, deepdiff_s = comparison_cost(left, right, doc, Tolerances())
    assert compare_s > 0 and deepdiff_s == 0.0  # equal values never reach deepdiff
    runs = median_wall(measured, "graph") + median_wall(measured, "journey")
    assert recommend.deepdiff_dominant(compare_s, deepdiff_s, runs, "d") == []
    assert case_advice(measured, "deepdiff_dominant", (compare_s, deepdiff_s)) == []
