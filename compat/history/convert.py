"""Records from reports: a `CheckReport`, a `PerfReport` or a fuzz campaign's data, plus
`run_meta()`, become a `RunRecord`. Only what a trend or a gate reads is kept (statuses,
scores, the worst differences without their values, perf ratios), never the runs in full."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from compat.history.records import CaseRecord, RunRecord, finite, now_iso

if TYPE_CHECKING:
    from compat.perf.report import MetricReport, PerfReport
    from compat.report import CaseReport, CheckReport

#: A check case's statuses (compat.html.cases.status_of), each counted in `counts`.
CHECK_STATUSES = ("passed", "incompatible", "expect-failed", "too-slow", "crashed")
#: The metric a perf verdict and the gate's `perf-slower` are about.
WALL = "wall_seconds"
PERF_VERDICTS = ("parity", "faster", "slower", "inconclusive", "undefined")


def _meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "started_at": meta.get("started_at") or now_iso(),
        "commit": meta.get("commit"),
        "dirty": meta.get("dirty"),
        "branch": meta.get("branch"),
        "machine": dict(meta.get("machine") or {}),
    }


def perf_of(metrics: Iterable[MetricReport]) -> dict[str, dict[str, Any]]:
    """metric name -> its ratio shadow / primary: {median, low, high, verdict}."""
    return {
        m.name: {
            "median": finite(m.ratio.median),
            "low": finite(m.ratio.low),
            "high": finite(m.ratio.high),
            "verdict": str(m.ratio.verdict),
        }
        for m in metrics
    }


def _check_case(case: CaseReport) -> CaseRecord:
    from compat.html.cases import status_of

    return CaseRecord(
        fixture=case.fixture,
        case=case.case,
        status=status_of(case),
        compatible=case.compatible,
        score=case.score,
        dimensions={d.name: d.score for d in case.dimensions},
        differences=tuple(
            {"dimension": d.dimension, "path": d.path, "severity": str(d.severity), "note": d.note}
            for dim in case.dimensions
            for d in dim.differences
        ),
        perf=perf_of(case.performance.metrics) if case.performance else None,
    )


def check_record(
    report: CheckReport,
    meta: Mapping[str, Any],
    *,
    seconds: float = 0.0,
    options: Mapping[str, Any] | None = None,
) -> RunRecord:
    """A `compat check` run. `options` (the command line's, say) is stored over the report's
    settings."""
    cases = tuple(_check_case(case) for case in report.cases)
    counts = Counter(case.status for case in cases)
    return RunRecord(
        kind="check",
        seconds=seconds,
        primary=report.settings.primary,
        shadow=report.settings.shadow,
        policy=report.settings.policy,
        options={**report.settings.model_dump(mode="json"), **(options or {})},
        ok=report.ok,
        counts={"cases": len(cases), **{s: counts[s] for s in CHECK_STATUSES}},
        mean_score=report.summary.mean_score if cases else None,
        cases=cases,
        **_meta(meta),
    )


def perf_record(
    report: PerfReport, meta: Mapping[str, Any], *, seconds: float = 0.0, band: float | None = None
) -> RunRecord:
    """A `compat perf` run. It is ok when every case was measured and no case's wall time
    is surely slower: the low end of its 95 % interval above 1 + `band` (by default the
    report's own parity band, i.e. a `slower` verdict)."""
    limit = 1.0 + (report.settings.band if band is None else band)
    cases: list[CaseRecord] = []
    verdicts: Counter[str] = Counter()
    slow = 0
    for case in report.cases:
        perf = perf_of(case.metrics)
        wall = perf.get(WALL)
        if wall is not None and case.problem is None:
            verdicts[wall["verdict"]] += 1
            slow += wall["low"] is not None and wall["low"] > limit
        cases.append(
            CaseRecord(
                fixture=case.fixture,
                case=case.case,
                status="unmeasured" if case.problem is not None or wall is None else "measured",
                perf=perf or None,
            )
        )
    unmeasured = sum(c.status == "unmeasured" for c in cases)
    options = report.settings.model_dump(mode="json")
    if band is not None:
        options["gate_band"] = band
    return RunRecord(
        kind="perf",
        seconds=seconds,
        primary=report.settings.primary,
        shadow=report.settings.shadow,
        options=options,
        ok=not unmeasured and not slow and not report.problems,
        counts={
            "cases": len(cases),
            "measured": len(cases) - unmeasured,
            "unmeasured": unmeasured,
            **{v: verdicts[v] for v in PERF_VERDICTS},
            "problems": len(report.problems),
        },
        cases=tuple(cases),
        **_meta(meta),
    )


def _finding_case(finding: Mapping[str, Any]) -> CaseRecord:
    """A fuzz finding, keyed by its divergence (dimension / kind / path): the same bug found
    by another campaign has the same key, whatever file its shrunk example was saved to."""
    report = finding.get("report") or {}
    dimensions = [d for d in report.get("dimensions") or () if isinstance(d, Mapping)]
    key = [str(part) for part in finding.get("key") or ()]
    return CaseRecord(
        fixture="fuzz",
        case=" / ".join(key) or str(report.get("case") or "finding"),
        status="finding",
        compatible=report.get("compatible", False),
        score=report.get("score"),
        dimensions={str(d.get("name")): float(d.get("score", 0.0)) for d in dimensions},
        differences=tuple(
            diff
            for d in dimensions
            for diff in d.get("differences") or ()
            if isinstance(diff, dict)
        ),
        finding={
            "key": key,
            **{
                name: finding.get(name)
                for name in ("round", "modes", "nodes", "flaky", "saved", "reproduced")
            },
        },
    )


def fuzz_record(data: Mapping[str, Any], meta: Mapping[str, Any]) -> RunRecord:
    """A `compat fuzz` campaign from `FuzzReport.to_data()` (or its `--json` file)."""
    options = dict(data.get("options") or {})
    findings = [f for f in data.get("findings") or () if isinstance(f, Mapping)]
    return RunRecord(
        kind="fuzz",
        seconds=float(data.get("seconds") or 0.0),
        primary=str(options.get("primary", "graph")),
        shadow=str(options.get("shadow", "journey")),
        options=options,
        ok=bool(data.get("ok", not findings)),
        counts={
            **{
                name: int(data.get(name) or 0)
                for name in ("examples", "shrinking_examples", "rounds", "repeats")
            },
            "findings": len(findings),
            "reproduced": sum(f.get("reproduced") is True for f in findings),
        },
        cases=tuple(_finding_case(f) for f in findings),
        **_meta(meta),
    )
