"""Recommendations derived from measurements, never canned.

Each rule reads the evidence of one case (or of one scaling shape) and says something only
when the evidence is there: which engine, what was measured (metric, nodes or shape,
figure), the gain estimated from that measurement, and how sure it is. A rule with no
evidence on a run says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from compat.perf.measure import Breakdown, Measured
from compat.perf.scaling import ScalingReport
from compat.perf.stats import Ratio, Verdict

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: A per-node overhead this many times the other engine's (the whole interval beyond it).
OVERHEAD_FACTOR = 1.5
#: Retry backoff at least this share of a node's clock time.
BACKOFF_SHARE = 0.5
#: The least share of the run's clock time worth a recommendation about clock time.
RUN_SHARE = 0.05
#: Branch spans adding up to at least this share of their container's span: sequential.
SEQUENTIAL_SHARE = 0.9
#: Peak memory growing at least this many bytes per loop iteration.
BYTES_PER_ITERATION = 64 * 1024
#: A fitted exponent at least this large is superlinear.
SUPERLINEAR_SLOPE = 1.5
#: deepdiff at least this share of a comparison, the comparison at least this share of runs.
DEEPDIFF_SHARE = 0.5
COMPARISON_SHARE = 0.1


class Gain(BaseModel):
    model_config = _FROZEN

    value: float
    unit: str
    #: The gain as a share of what was measured (e.g. of the run's clock time).
    share: float | None = None


class Recommendation(BaseModel):
    model_config = _FROZEN

    rule: str
    #: The engine it is about (`harness` for the comparison itself).
    engine: str
    title: str
    evidence: str
    #: The measured figures behind it.
    figures: dict[str, float | str] = Field(default_factory=dict)
    gain: Gain
    confidence: str
    #: The case or shape it comes from.
    where: str = ""


def _seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} µs"


def _bytes(value: float) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def sequential_parallel(
    engine: str, shape: Breakdown, clock: float, where: str
) -> list[Recommendation]:
    """Parallel branches that ran one after another: gain = Σ branch spans − the longest."""
    out = []
    for container, spans in shape.branches.items():
        total, longest = sum(spans), max(spans, default=0.0)
        span = shape.containers.get(container, 0.0)
        if len(spans) < 2 or total - longest <= 0 or span < SEQUENTIAL_SHARE * total:
            continue
        if clock and total - longest < RUN_SHARE * clock:
            continue
        gain = total - longest
        out.append(
            Recommendation(
                rule="sequential_parallel",
                engine=engine,
                title=f"run the branches of {container} at the same time",
                evidence=(
                    f"{container}'s {len(spans)} branches took {_seconds(total)} of clock time "
                    f"one after another (the container took {_seconds(span)}); the longest "
                    f"alone takes {_seconds(longest)}"
                ),
                figures={
                    "branches": len(spans),
                    "sum_seconds": total,
                    "longest_seconds": longest,
                    "container_seconds": span,
                },
                gain=Gain(value=gain, unit="clock seconds", share=gain / clock if clock else None),
                confidence="high: clock times are deterministic under the virtual clock",
                where=where,
            )
        )
    return out


def retry_backoff(engine: str, shape: Breakdown, clock: float, where: str) -> list[Recommendation]:
    """A node whose clock time is mostly retry backoff: gain = the backoff."""
    out = []
    for node, waited in sorted(shape.backoff.items()):
        spent = shape.nodes.get(node, 0.0)
        if waited <= 0 or spent <= 0 or waited < BACKOFF_SHARE * spent:
            continue
        if clock and waited < RUN_SHARE * clock:
            continue  # dominated by backoff, but too little of the run to be worth it
        out.append(
            Recommendation(
                rule="retry_backoff",
                engine=engine,
                title=f"shorten {node}'s retry backoff, or make its error non-retryable",
                evidence=(
                    f"{node} spent {_seconds(waited)} of its {_seconds(spent)} clock time "
                    f"waiting between attempts ({waited / spent:.0%})"
                ),
                figures={"backoff_seconds": waited, "node_seconds": spent},
                gain=Gain(
                    value=waited, unit="clock seconds", share=waited / clock if clock else None
                ),
                confidence="high: the trace records every backoff",
                where=where,
            )
        )
    return out


def runtime_compilation(
    engine: str, profile: Mapping[str, float], median_wall: float, where: str
) -> list[Recommendation]:
    """Templates or expressions compiled while the workflow runs, not once before."""
    calls = profile.get("compile_calls", 0.0)
    spent, total = profile.get("compile_seconds", 0.0), profile.get("total_seconds", 0.0)
    if calls <= 0 or spent <= 0 or total <= 0:
        return []
    share = spent / total
    gain = share * median_wall
    return [
        Recommendation(
            rule="runtime_compilation",
            engine=engine,
            title="compile templates and expressions once, when the workflow is loaded",
            evidence=(
                f"a run (after warm-up) made {calls:.0f} compile calls, {share:.0%} of its "
                f"profiled time"
            ),
            figures={"compile_calls": calls, "compile_share": share},
            gain=Gain(value=gain, unit="wall seconds per run", share=share),
            confidence="medium: the share comes from one profiled run",
            where=where,
        )
    ]


def per_node_overhead(
    engines: tuple[str, str],
    ratio: Ratio,
    per_node: tuple[float, float],
    nodes: tuple[int, int],
    where: str,
) -> list[Recommendation]:
    """One engine's wall time per node execution far above the other's on the same case."""
    (a, b), (cost_a, cost_b) = engines, per_node
    # The ratio is b / a: b slower means the whole interval is above the factor.
    if ratio.verdict is Verdict.SLOWER and ratio.low >= OVERHEAD_FACTOR:
        slow, fast, slow_cost, fast_cost, count = b, a, cost_b, cost_a, nodes[1]
        low, high = ratio.low, ratio.high
    elif ratio.verdict is Verdict.FASTER and ratio.high <= 1 / OVERHEAD_FACTOR:
        slow, fast, slow_cost, fast_cost, count = a, b, cost_a, cost_b, nodes[0]
        low, high = 1 / ratio.high, 1 / ratio.low
    else:
        return []
    times = slow_cost / fast_cost if fast_cost else float("inf")
    gain = (slow_cost - fast_cost) * count
    return [
        Recommendation(
            rule="per_node_overhead",
            engine=slow,
            title=f"cut {slow}'s overhead per node execution",
            evidence=(
                f"{slow} spends {_seconds(slow_cost)} per node execution, {times:.2f}× {fast}'s "
                f"{_seconds(fast_cost)} (95 % interval {low:.2f}–{high:.2f}×)"
            ),
            figures={
                "per_node_seconds": slow_cost,
                "other_per_node_seconds": fast_cost,
                "ratio_low": low,
                "ratio_high": high,
            },
            gain=Gain(value=gain, unit="wall seconds per run", share=1 - fast_cost / slow_cost),
            confidence=f"high: the whole 95 % interval is beyond {OVERHEAD_FACTOR}×",
            where=where,
        )
    ]


def memory_growth(report: ScalingReport) -> list[Recommendation]:
    """Peak memory growing steeply with loop iterations: iteration outputs kept alive."""
    if report.unit != "iterations":
        return []
    out = []
    largest = report.sizes[-1]
    for engine, fit in report.engines.items():
        if fit.bytes_per_unit < BYTES_PER_ITERATION:
            continue
        gain = fit.bytes_per_unit * largest
        out.append(
            Recommendation(
                rule="memory_growth",
                engine=engine,
                title="do not keep every iteration's outputs alive until the loop ends",
                evidence=(
                    f"peak memory grows {_bytes(fit.bytes_per_unit)} per iteration "
                    f"({_bytes(fit.peak_bytes[0])} at {report.sizes[0]}, "
                    f"{_bytes(fit.peak_bytes[-1])} at {largest} iterations)"
                ),
                figures={
                    "bytes_per_iteration": fit.bytes_per_unit,
                    "peak_bytes_largest": float(fit.peak_bytes[-1]),
                },
                gain=Gain(
                    value=gain,
                    unit="bytes at the largest size",
                    share=gain / fit.peak_bytes[-1] if fit.peak_bytes[-1] else None,
                ),
                confidence="medium: one tracemalloc run per size, fitted linearly",
                where=f"shape {report.shape}",
            )
        )
    return out


def superlinear(report: ScalingReport) -> list[Recommendation]:
    """Cost growing faster than linearly with the size of a shape."""
    out = []
    first, last = report.sizes[0], report.sizes[-1]
    for engine, fit in report.engines.items():
        if fit.slope < SUPERLINEAR_SLOPE:
            continue
        small = fit.seconds[0] - fit.fixed_seconds
        linear = fit.fixed_seconds + small * last / first
        gain = max(0.0, fit.seconds[-1] - linear)
        out.append(
            Recommendation(
                rule="superlinear",
                engine=engine,
                title=f"find what grows faster than the {report.unit}",
                evidence=(
                    f"cost grows as {fit.complexity} in {report.unit} (fitted exponent "
                    f"{fit.slope:.2f}): {_seconds(fit.seconds[0])} at {first}, "
                    f"{_seconds(fit.seconds[-1])} at {last}"
                ),
                figures={
                    "slope": fit.slope,
                    "seconds_first": fit.seconds[0],
                    "seconds_last": fit.seconds[-1],
                },
                gain=Gain(
                    value=gain,
                    unit=f"wall seconds at {last} {report.unit}",
                    share=gain / fit.seconds[-1] if fit.seconds[-1] else None,
                ),
                confidence="medium: fitted on the fastest of a few runs per size",
                where=f"shape {report.shape}",
            )
        )
    return out


def deepdiff_dominant(
    compare_seconds: float, deepdiff_seconds: float, run_seconds: float, where: str
) -> list[Recommendation]:
    """deepdiff taking most of the harness's own time, and that time mattering."""
    if compare_seconds <= 0 or deepdiff_seconds < DEEPDIFF_SHARE * compare_seconds:
        return []
    if compare_seconds < COMPARISON_SHARE * run_seconds:
        return []
    share = deepdiff_seconds / compare_seconds
    return [
        Recommendation(
            rule="deepdiff_dominant",
            engine="harness",
            title="compare the large differing values without deepdiff",
            evidence=(
                f"deepdiff took {_seconds(deepdiff_seconds)} of a {_seconds(compare_seconds)} "
                f"comparison ({share:.0%}); the two engines' runs took {_seconds(run_seconds)}"
            ),
            figures={
                "deepdiff_seconds": deepdiff_seconds,
                "compare_seconds": compare_seconds,
                "run_seconds": run_seconds,
            },
            gain=Gain(value=deepdiff_seconds, unit="wall seconds per comparison", share=share),
            confidence="medium: one timed comparison (fastest of three); lower `max_diffs` "
            "or ignore the large paths to skip deepdiff",
            where=where,
        )
    ]


def for_case(
    where: str,
    measured: Measured,
    wall_per_node: Ratio,
    comparison: tuple[float, float] | None,
) -> list[Recommendation]:
    """Every rule that reads one case's measurements."""
    (a, samples_a), (b, samples_b) = measured.timing.items()
    out: list[Recommendation] = []
    medians = {}
    for engine, samples in ((a, samples_a), (b, samples_b)):
        walls = sorted(s.wall_seconds for s in samples)
        medians[engine] = walls[len(walls) // 2]
        clock = samples[0].clock_seconds
        shape = measured.breakdown[engine]
        out += sequential_parallel(engine, shape, clock, where)
        out += retry_backoff(engine, shape, clock, where)
        out += runtime_compilation(engine, measured.profile[engine], medians[engine], where)
    nodes = (samples_a[0].node_executions, samples_b[0].node_executions)
    per_node = tuple(medians[e] / n if n else 0.0 for e, n in zip((a, b), nodes, strict=True))
    out += per_node_overhead((a, b), wall_per_node, per_node, nodes, where)  # type: ignore[arg-type]
    if comparison is not None:
        out += deepdiff_dominant(*comparison, medians[a] + medians[b], where)
    return merged(out)


def merged(advice: list[Recommendation]) -> list[Recommendation]:
    """One recommendation for what both engines show alike (a property of the workflow, like
    its retry policy), naming both."""
    out: list[Recommendation] = []
    seen: dict[tuple[str, str, str, float], int] = {}
    for item in advice:
        key = (item.rule, item.title, item.evidence, item.gain.value)
        if key in seen:
            first = out[seen[key]]
            out[seen[key]] = first.model_copy(update={"engine": f"{first.engine}, {item.engine}"})
            continue
        seen[key] = len(out)
        out.append(item)
    return out


def for_scaling(report: ScalingReport) -> list[Recommendation]:
    return memory_growth(report) + superlinear(report)
