"""`compat validate`: check fixtures, native workflows and ReactFlow files; folders are walked.

Every file gets one answer: a one-line summary when it is valid, or one line per problem,
each naming the file and the place. Files a fixture in the same walk already read (its
`workflow: path`) are checked as part of that fixture, not again on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compat.safe_text import printable
from engines.documents import (
    DOCUMENT_SUFFIXES,
    DocumentKind,
    document_kind,
    fixture_from_data,
    read_document,
    referenced_files,
    workflow_from_data,
)
from engines.documents.load import describe_unknown
from engines.errors import DocumentError, InvalidDocument, SetupError
from engines.model.registry import WorkflowRegistry
from engines.tools import ToolRegistry


@dataclass
class FileReport:
    path: str
    ok: bool
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Workflow files this one read (fixtures only).
    reads: tuple[Path, ...] = ()

    def lines(self) -> list[str]:
        """One line each, safe to print: ids and messages from documents may hold control
        characters and escape sequences, shown as visible escapes (compat/safe_text.py)."""
        head = [f"{self.path}: ok ({self.summary})"] if self.ok else list(self.problems)
        lines = head + [f"{self.path}: warning: {w}" for w in self.warnings]
        return [printable(line) for line in lines]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(nodes: int, edges: int) -> str:
    return f"{_plural(nodes, 'node')}, {_plural(edges, 'edge')}"


def _lines(exc: InvalidDocument, name: str) -> list[str]:
    source = exc.source or name
    prefix = f"{source}: " if source == name else f"{name}: {source}: "
    return [f"{prefix}{problem}" for problem in exc.problems]


def check_file(path: Path, tools: ToolRegistry | None, roots: Sequence[Path] = ()) -> FileReport:
    """Validate one document and report on it; never raises for bad input. `roots`: folders
    a fixture may name workflow files from besides its own folder tree."""
    name = str(path)
    try:
        doc = read_document(path)
        kind = document_kind(doc)
        if kind is None:
            raise DocumentError(name, describe_unknown(doc))
        if kind is DocumentKind.FIXTURE:
            base = path.resolve().parent
            reads = referenced_files(doc, base)
            try:
                fixture = fixture_from_data(doc, source=name, base=base, tools=tools, roots=roots)
            except InvalidDocument as exc:
                return FileReport(name, False, problems=_lines(exc, name), reads=reads)
            workflows = list(fixture.registry.values())
            nodes = sum(len(w.workflow.nodes) for w in workflows)
            edges = sum(len(w.workflow.edges) for w in workflows)
            summary = (
                f"fixture, {_plural(len(workflows), 'workflow')}, {_counts(nodes, edges)}, "
                f"{_plural(len(fixture.cases), 'case')}"
            )
            warnings = [f"workflow {w.id!r} {p}" for w in workflows for p in w.warnings]
            return FileReport(name, True, summary, warnings=warnings, reads=reads)
        validated = workflow_from_data(doc, source=name, default_id=path.stem)
        WorkflowRegistry([validated], tools=tools)
        label = "ReactFlow flow" if kind is DocumentKind.REACTFLOW else "workflow"
        summary = (
            f"{label} {validated.id!r}, "
            f"{_counts(len(validated.workflow.nodes), len(validated.workflow.edges))}"
        )
        return FileReport(name, True, summary, warnings=[str(p) for p in validated.warnings])
    except InvalidDocument as exc:
        source = exc.source or name
        lines = [
            f"{source}: {p}" if source == name else f"{name}: {source}: {p}" for p in exc.problems
        ]
        return FileReport(name, False, problems=lines)
    except DocumentError as exc:
        return FileReport(name, False, problems=[str(exc)])
    except SetupError as exc:
        return FileReport(name, False, problems=[f"{name}: {exc}"])


def expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path], list[str]]:
    """(files named directly, files found by walking folders, paths that do not exist)."""
    named: list[Path] = []
    walked: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            walked += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in DOCUMENT_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists():
            named.append(path)
        else:
            missing.append(str(raw))
    return named, walked, missing


def validate_paths(
    paths: Iterable[str | Path], tools: ToolRegistry | None, roots: Sequence[Path] = ()
) -> list[FileReport]:
    named, walked, missing = expand(paths)
    reports = [FileReport(m, False, problems=[f"{m}: no such file or directory"]) for m in missing]
    checked: dict[Path, FileReport] = {}
    for path in named + walked:
        key = path.resolve()
        if key not in checked:
            checked[key] = check_file(path, tools, roots)
    read_by_fixtures = {p for report in checked.values() for p in report.reads}
    named_keys = {p.resolve() for p in named}
    for key, report in checked.items():
        if key in read_by_fixtures and key not in named_keys:
            continue
        reports.append(report)
    return reports
