"""Reports to format, built through compat's own pydantic models (so each is a report compat
could have written), and the JUnit schema every document is validated against."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import xmlschema

from compat.perf.report import PerfReport
from compat.report import CaseReport, CheckReport

XSD = Path(__file__).resolve().parents[1] / "data" / "junit-10.xsd"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def valid(document: str) -> ET.Element:
    """`document` checked as compat writes it (UTF-8 bytes): well-formed, declared, valid
    against junit-10.xsd; returns its root."""
    assert document.startswith(DECLARATION)
    data = document.encode("utf-8")
    root = ET.fromstring(data)  # well-formed, read as the bytes a file would hold
    schema().validate(data.decode("utf-8"))
    return root


def engine(name: str, *, status: str = "completed", problem: str | None = None) -> dict[str, Any]:
    return {
        "engine": name,
        "status": status,
        "problem": problem,
        "wall_seconds": 0.25,
        "cpu_seconds": 0.2,
    }


def difference(
    path: str, primary: Any, shadow: Any, severity: str = "high", note: str = ""
) -> dict[str, Any]:
    dimension = path.split(".")[0]
    return {
        "dimension": dimension,
        "path": path,
        "primary": primary,
        "shadow": shadow,
        "kind": "value_changed",
        "severity": severity,
        "note": note or f"{path}: {primary!r} vs {shadow!r}",
    }


_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def case(
    name: str,
    *,
    fixture: str = "fixtures/made_up.yaml",
    differences: tuple[dict[str, Any], ...] = (),
    golden: tuple[str, ...] = (),
    shadow_problem: str | None = None,
    too_slow: bool = False,
    performance: dict[str, Any] | None = None,
) -> CaseReport:
    """A case as `compat check` reports it: incompatible when it has differences, its golden
    answer failed when `golden` names failures, `passed` derived as compat derives it."""
    compatible = not differences
    held = not golden
    dimensions: dict[str, list[dict[str, Any]]] = {"outcome": [], "outputs": [], "context": []}
    for item in differences:
        dimensions.setdefault(item["dimension"], []).append(item)
    worst = min(differences, key=lambda d: _RANK[d["severity"]]) if differences else None
    shadow = engine("journey")
    if shadow_problem is not None:
        shadow = engine("journey", status="crashed", problem=shadow_problem)
    return CaseReport.model_validate(
        {
            "fixture": fixture,
            "case": name,
            "compatible": compatible,
            "score": 1.0 if compatible else 0.5,
            "passed": compatible and held and not too_slow,
            "dimensions": [
                {"name": n, "score": 0.5 if d else 1.0, "weight": 0.3, "differences": d}
                for n, d in dimensions.items()
            ],
            "worst": None
            if worst is None
            else {k: worst[k] for k in ("dimension", "severity", "note")},
            "primary": engine("graph"),
            "shadow": shadow,
            "expect": {"held": held, "primary": [], "shadow": list(golden)},
            "performance": performance,
            "too_slow": too_slow,
        }
    )


def check_report(cases: list[CaseReport], *, max_slowdown: float | None = None) -> CheckReport:
    """The report `compat check` assembles from `cases` (its summary counted the same way)."""
    return CheckReport.model_validate(
        {
            "ok": all(c.passed for c in cases),
            "settings": {
                "primary": "graph",
                "shadow": "journey",
                "threshold": 0.95,
                "timeout": 60.0,
                "perf": max_slowdown is not None,
                "max_slowdown": max_slowdown,
            },
            "summary": {
                "cases": len(cases),
                "passed": sum(c.passed for c in cases),
                "incompatible": sum(not c.compatible for c in cases),
                "expect_failed": sum(c.expect.held is False for c in cases),
                "too_slow": sum(c.too_slow for c in cases),
                "mean_score": sum(c.score for c in cases) / len(cases) if cases else 1.0,
            },
            "cases": [c.model_dump(mode="json") for c in cases],
        }
    )


def _summary(median: float) -> dict[str, Any]:
    return {"n": 8, "median": median, "p95": median * 1.1, "min": median, "max": median * 1.2}


def metric(name: str, ratio: tuple[float, float, float], verdict: str) -> dict[str, Any]:
    median, low, high = ratio
    return {
        "name": name,
        "unit": "s",
        "primary": _summary(0.01),
        "shadow": _summary(0.01 * median),
        "ratio": {"median": median, "low": low, "high": high, "verdict": verdict},
    }


def perf_case(
    name: str,
    wall: tuple[float, float, float] = (1.0, 0.97, 1.03),
    verdict: str = "parity",
    *,
    fixture: str = "fixtures/made_up.yaml",
    problem: str | None = None,
) -> dict[str, Any]:
    sample = {
        "status": "completed",
        "wall_seconds": 0.5,
        "cpu_seconds": 0.4,
        "clock_seconds": 0.0,
        "node_executions": 3,
    }
    return {
        "fixture": fixture,
        "case": name,
        "isolated": False,
        "runs": 8,
        "metrics": [] if problem else [metric("wall_seconds", wall, verdict)],
        "samples": {} if problem else {"graph": {"timing": [sample], "memory": []}},
        "problem": problem,
    }


def perf_report(cases: list[dict[str, Any]], problems: tuple[str, ...] = ()) -> PerfReport:
    return PerfReport.model_validate(
        {
            "settings": {
                "primary": "graph",
                "shadow": "journey",
                "repeat": 8,
                "budget": 1.0,
                "warmup": 2,
                "memory_runs": 3,
                "isolate": False,
                "band": 0.1,
            },
            "cases": cases,
            "problems": list(problems),
        }
    )


def counts(element: ET.Element) -> dict[str, int]:
    return {k: int(element.get(k, "0")) for k in ("tests", "failures", "errors")}
