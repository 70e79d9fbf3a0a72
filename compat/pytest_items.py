"""The pytest plugin's working parts (compat/pytest_plugin.py documents the rules).

Imported only when the plugin is in use (`--compat`, or configured `pytest_paths` that the
run reaches), because it imports compat's harness: a collector per fixture file, an item per
case run through `compat.check.Runner` (in-process, in pytest's own process or xdist
worker), the plain-text differences table a failing case shows, and `assert_compatible`
for tests written in Python.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from compat.check import CheckOptions, Job, Runner, check_options, collect
from compat.compare.model import SEVERITY_RANK, Difference
from compat.report import CaseReport, EngineSummary
from compat.safe_text import printable, shown
from compat.tolerances import Tolerances, configured
from engines.config import EngineConfig, load_config
from engines.documents import (
    Case,
    DocumentKind,
    Fixture,
    document_kind,
    read_document,
    workflow_from_data,
)
from engines.documents.load import describe_unknown
from engines.errors import ConfigError, DocumentError, SetupError
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.tools import ToolRegistry

#: At most this many differences are listed in a failure; `compat check --json` has them all.
ROWS = 15
_WIDTH = {"path": 48, "value": 32, "note": 72}


# --------------------------------------------------------------------------- the failure


class CompatFailure(AssertionError):
    """A case that did not pass: its report, and the text pytest shows for it."""

    def __init__(self, report: CaseReport, label: str) -> None:
        self.report = report
        self.label = label
        super().__init__(failure_text(report, label))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _value(difference: Difference, side: str) -> str:
    """One side's value, or `-` where the place exists only on the other side."""
    if (difference.kind, side) in {("removed", "shadow"), ("added", "primary")}:
        return "-"
    value = getattr(difference, side)
    if value is None and difference.kind.startswith("error_"):
        return "-"
    return _cut(printable(shown(value)), _WIDTH["value"])


def _note(difference: Difference) -> str:
    """The difference's note without the path it starts with (a column of its own)."""
    note = difference.note
    if note.startswith(difference.path):
        note = note[len(difference.path) :].lstrip(": ")
    if difference.kind in ("added", "removed"):
        note = note.split(":")[0]  # `only in the shadow`; the value is in its column
    elif " vs " in note and difference.kind in ("value_changed", "detail_changed", "status"):
        note = f"{difference.kind.removesuffix('_changed')} differs"
    return _cut(printable(note), _WIDTH["note"])


def worst_first(report: CaseReport) -> list[Difference]:
    """Every difference of the case, the most severe first (dimension order within one)."""
    found = [d for dimension in report.dimensions for d in dimension.differences]
    return sorted(found, key=lambda d: SEVERITY_RANK[d.severity])


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def _side(summary: EngineSummary, role: str) -> str:
    state = printable(summary.status)
    if summary.pause:
        state += f" at {printable(summary.pause)}"
    return f"{printable(summary.engine)} ({role}) {state}"


def headline(report: CaseReport) -> str:
    """One line: the verdict, the score and the worst difference (pytest's `-ra` line)."""
    if not report.compatible:
        verdict = f"incompatible ({report.policy} policy), score {report.score:.3f}"
    elif report.expect.held is False:
        verdict = f"compatible (score {report.score:.3f}) but the golden answer failed"
    elif report.too_slow:
        verdict = "too slow (--max-slowdown)"
    else:
        verdict = f"passed, score {report.score:.3f}"
    differences = worst_first(report)
    if differences:
        worst = differences[0]
        verdict += (
            f"; worst: {worst.severity.value} {printable(worst.path)} "
            f"{_value(worst, 'primary')} vs {_value(worst, 'shadow')}"
        )
    elif report.expect.held is False:
        verdict += f"; {printable((report.expect.primary or report.expect.shadow)[0])}"
    return verdict


def failure_text(report: CaseReport, label: str) -> str:
    """The case's failure as plain text (no colour, no terminal controls): the verdict, the
    differences worst first (path, primary, shadow, severity, note), the golden answers
    that failed and the engines that gave no result."""
    lines = [
        headline(report),
        f"{printable(label)}: {_side(report.primary, 'primary')}, {_side(report.shadow, 'shadow')}",
    ]
    differences = worst_first(report)
    if differences:
        shown_rows = differences[:ROWS]
        lines += ["", f"differences, worst first ({len(differences)}):"]
        rows = [["path", "primary", "shadow", "severity", "note"]]
        rows += [
            [
                _cut(printable(d.path), _WIDTH["path"]),
                _value(d, "primary"),
                _value(d, "shadow"),
                d.severity.value,
                _note(d),
            ]
            for d in shown_rows
        ]
        lines += _table(rows)
        if len(differences) > ROWS:
            lines.append(
                f"  ... and {len(differences) - ROWS} more (compat check --json lists them all)"
            )
    failed = [
        (role, summary, problem)
        for role, summary, problems in (
            ("primary", report.primary, report.expect.primary),
            ("shadow", report.shadow, report.expect.shadow),
        )
        for problem in problems
    ]
    if failed:
        lines += ["", "golden answer (expect) failed:"]
        lines += [
            f"  {role} {printable(summary.engine)}: {printable(problem)}"
            for role, summary, problem in failed
        ]
    troubled = [
        (role, summary)
        for role, summary in (("primary", report.primary), ("shadow", report.shadow))
        if summary.problem
    ]
    if troubled:
        lines += ["", "engine problems:"]
        lines += [
            f"  {role} {printable(s.engine)} {printable(s.status)}: {printable(s.problem)}"
            for role, s in troubled
        ]
    if report.too_slow:
        lines += ["", "the shadow is slower than --max-slowdown allows"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the session


def _shown(path: Path, start: Path) -> str:
    """`path` as the command line would name it from `start` (absolute when outside)."""
    relative = os.path.relpath(path, start)
    return str(path) if relative.startswith("..") else relative


class Harness:
    """One pytest process's settings and engines (an xdist worker has its own)."""

    def __init__(
        self,
        *,
        config_file: str | None,
        start: Path,
        roots: Sequence[Path],
        named: Iterable[Path],
        values: Mapping[str, Any],
    ) -> None:
        #: The configuration: `--compat-config`, else found from the invocation directory.
        self.settings: EngineConfig = (
            load_config(path=config_file) if config_file else load_config(start)
        )
        self.options: CheckOptions = check_options(config=config_file, **values)
        self.roots = tuple(roots)
        self.start = start
        #: Files named directly (by `--compat`, `pytest_paths` or the command line): one that
        #: is not a fixture is an error; a workflow file met in a folder or glob is skipped.
        self.named = frozenset(named)
        self.runner = Runner(self.settings, self.options)  # loads the engines: fails early

    def describe(self) -> str:
        """The report header's line: how the cases run."""
        options = self.options
        policy = f"policy {options.policy}" if options.policy else "policy as configured"
        if options.min_score is not None:
            policy = f"policy threshold, min score {options.min_score:g}"
        modes = [m for m in ("roundtrip", "handoff", "replay") if getattr(options, m)]
        paths = ", ".join(_shown(root, self.start) for root in self.roots)
        return (
            f"compat: {paths}: {options.primary} (primary) vs {options.shadow} (shadow); {policy}"
            f"{''.join(f', {m}' for m in modes)}; in-process, timeout {options.timeout:g} s"
        )

    def register_marks(self, config: pytest.Config, names: Iterable[str]) -> None:
        known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
        for name in names:
            if name not in known:
                config.addinivalue_line("markers", f"{name}: a compat fixture's marker")
                known.add(name)


class FixtureFile(pytest.File):
    """One fixture file: a test item per case. A workflow file found in a walked folder
    (one a fixture reads) collects nothing."""

    def collect(self) -> Iterator[pytest.Item]:
        from compat.pytest_plugin import HARNESS

        harness = self.config.stash[HARNESS]
        # Named as the command line would name it (messages and reports show this).
        path = Path(_shown(self.path, self.config.invocation_params.dir))
        try:
            kind = document_kind(read_document(path))
            if kind is not DocumentKind.FIXTURE:
                if self.path.resolve() in harness.named:
                    raise DocumentError(
                        str(path), "not a fixture (a fixture has `workflow` and `cases`)"
                    )
                return
            (job,) = collect([path], harness.settings, harness.options)
        except SetupError as exc:
            raise self.CollectError(printable(str(exc), newlines=True)) from None
        harness.register_marks(self.config, job.fixture.markers)
        for case in job.cases:
            item = CaseItem.from_parent(self, name=case.name, job=job, case=case)
            item.add_marker("compat")
            for name in job.fixture.markers:
                item.add_marker(name)
            yield item


class CaseItem(pytest.Item):
    """One case of a fixture, run on both engines, compared and checked against its golden
    answer exactly as `compat check` does."""

    def __init__(self, *, job: Job, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.case = case

    def runtest(self) -> None:
        from compat.pytest_plugin import HARNESS

        report = self.config.stash[HARNESS].runner.case(self.job, self.case)
        if not report.passed:
            raise CompatFailure(report, self.nodeid)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CompatFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, f"{self.path.name}::{self.name}"


# --------------------------------------------------------------------------- Python tests

WorkflowArg = Mapping[str, Any] | str | os.PathLike[str] | ValidatedWorkflow


def _workflow(workflow: WorkflowArg, default_id: str) -> ValidatedWorkflow:
    if isinstance(workflow, ValidatedWorkflow):
        return workflow
    if isinstance(workflow, Mapping):
        return workflow_from_data(dict(workflow), source=default_id, default_id=default_id)
    path = Path(workflow)
    doc = read_document(path)
    kind = document_kind(doc)
    if kind is None:
        raise DocumentError(str(path), describe_unknown(doc))
    if kind is DocumentKind.FIXTURE:
        raise DocumentError(
            str(path), "a fixture, not a workflow: run its cases with `pytest --compat PATH`"
        )
    return workflow_from_data(doc, source=str(path), default_id=path.stem)


def _engine_spec(engine: Any, role: str) -> str:
    if isinstance(engine, str):
        return engine
    if not hasattr(engine, "run_case"):
        raise ConfigError(f"{role}: an engine spec (graph, journey, module:attr) or an engine")
    return "graph"  # loaded, then replaced by the object itself


def check_workflow(
    workflow: WorkflowArg,
    inputs: Mapping[str, Any] | None = None,
    conversation: Sequence[Any] = (),
    *,
    primary: Any = "graph",
    shadow: Any = "journey",
    tools: ToolRegistry | None = None,
    policy: str | None = None,
    min_score: float | None = None,
    tolerances: Mapping[str, Any] | None = None,
    workflows: Sequence[WorkflowArg] = (),
    expect: Mapping[str, Any] | None = None,
    cancel: Mapping[str, Any] | None = None,
    roundtrip: bool = False,
    handoff: bool = False,
    replay: bool = False,
    timeout: float = 60.0,
    config: str | os.PathLike[str] | None = None,
    name: str | None = None,
) -> CaseReport:
    """One workflow run on both engines and compared as `compat check` compares a case
    (`name`: the case's name in the report; the workflow's id by default)."""
    settings = load_config(path=config) if config else load_config()
    registry_tools = tools if tools is not None else settings.tool_registry()
    main = _workflow(workflow, "workflow")
    extra = [_workflow(w, f"workflows[{i}]") for i, w in enumerate(workflows)]
    label = name or main.id
    registry = WorkflowRegistry([main, *extra], tools=registry_tools)
    options = check_options(
        primary=_engine_spec(primary, "primary"),
        shadow=_engine_spec(shadow, "shadow"),
        policy=policy,
        min_score=min_score,
        roundtrip=roundtrip,
        handoff=handoff,
        replay=replay,
        timeout=timeout,
        config=str(config) if config else None,
    )
    runner = Runner(settings, options)
    names = {}
    for role, engine in (("primary", primary), ("shadow", shadow)):
        if not isinstance(engine, str):
            if handoff:
                raise ConfigError("handoff: relays between the built-in engines, named by name")
            setattr(runner, role, engine)
            names[role] = str(getattr(engine, "name", None) or type(engine).__name__)
    runner.options = options.model_copy(update=names)
    runner.tools = registry_tools
    tol = _tolerances(configured(settings), tolerances, policy, min_score)
    case = Case.model_validate(
        {
            "name": str(label),
            "inputs": dict(inputs or {}),
            "conversation": list(conversation),
            "expect": expect,
            "cancel": cancel,
        }
    )
    fixture = Fixture(str(label), None, registry, (case,), dict(tolerances or {}))
    return runner.case(Job(Path(str(label)), fixture, tol, (case,)), case)


def _tolerances(
    base: Tolerances,
    extra: Mapping[str, Any] | None,
    policy: str | None,
    min_score: float | None,
) -> Tolerances:
    """As `compat.check.collect` lays a fixture's tolerances and the options over the
    configured ones."""
    tol = base.override(dict(extra or {}), "tolerances")
    if policy is not None:
        tol = tol.override({"policy": policy}, "policy")
    if min_score is not None:
        tol = tol.override({"policy": "threshold", "threshold": min_score}, "min_score")
    return tol


def assert_compatible(workflow: WorkflowArg, *args: Any, **kwargs: Any) -> CaseReport:
    """`check_workflow`, raising `CompatFailure` (an AssertionError) with the differences
    table when the case does not pass."""
    __tracebackhide__ = True  # pytest shows the caller's line, not these
    report = check_workflow(workflow, *args, **kwargs)
    if not report.passed:
        raise CompatFailure(report, report.case)
    return report
