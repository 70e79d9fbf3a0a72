"""The checks behind `compat fuzz --invalid` (compat/fuzz/invalid.py states the rule): one
input through every in-memory and file entry point (in a worker process), or through the
real command line (in a subprocess), each judged accepted, refused, or a finding.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat.adhoc import load_target
from compat.fuzz.invalid_seeds import support_files
from compat.fuzz.mutations import FuzzInput, make_input
from compat.validation import validate_paths
from engines.documents import (
    DocumentKind,
    document_kind,
    fixture_from_data,
    import_reactflow,
    load_fixture,
    load_workflow,
    read_document,
    workflow_from_data,
)
from engines.documents.reactflow import locate_graph
from engines.errors import CompatError, DocumentError, InvalidDocument
from engines.model import validate_workflow
from engines.tools import ToolRegistry, builtin_registry

DATA_ENTRIES = ("validate_workflow", "workflow_from_data", "import_reactflow", "fixture_from_data")
#: `load_target` reads what `compat run`, `diff` and `export-journey` are given.
FILE_ENTRIES = ("read_document", "load_workflow", "load_fixture", "load_target", "validate_paths")
CLI_COMMANDS = ("validate", "check", "run")
#: The source in-memory entry points are given.
DATA_SOURCE = "<fuzzed>"


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Outcome:
    """What one entry point did with one input: accepted, refused, or a finding's kind."""

    entry: str
    verdict: str
    detail: str = ""
    signature: str = ""


def _crashed(entry: str, exc: BaseException) -> Outcome:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}"
    text = " ".join(str(exc).split())[:300]
    detail = f"{type(exc).__name__}: {text} (at {where})"
    return Outcome(entry, "traceback", detail, f"{type(exc).__name__} {where}")


def _whole_document(entry: str, doc: Any) -> bool:
    """Whether a problem without a location may be about the document as a whole."""
    if not isinstance(doc, dict):
        return True
    if entry in ("workflow_from_data", "load_workflow"):
        return document_kind(doc) not in (DocumentKind.NATIVE, DocumentKind.REACTFLOW)
    return entry == "import_reactflow" and locate_graph(doc) is None


def unplaced(
    entry: str, exc: CompatError, source: str | None, document: Callable[[], Any]
) -> str | None:
    """Why a refusal does not name its place (None: it does), by the rule of
    compat/fuzz/invalid.py; `document()` is the input as data (asked only when needed)."""
    if isinstance(exc, DocumentError | InvalidDocument):
        if source is not None and exc.source != source:
            return f"names source {exc.source!r}, not {source!r}"
    elif source is not None and source not in str(exc):
        return f"{type(exc).__name__} does not name {source!r}"
    if isinstance(exc, DocumentError):
        parse = exc.detail.startswith(("not valid JSON", "not valid YAML"))
        if parse and "line " not in exc.detail and "once its aliases" not in exc.detail:
            return f"a parse error without a line: {exc.detail[:120]!r}"
        return None
    if isinstance(exc, InvalidDocument):
        if not exc.problems:
            return "an invalid document without a problem"
        for problem in exc.problems:
            if not problem.message.strip():
                return f"a problem without a message at {problem.location!r}"
            if not problem.location.strip() and not _whole_document(entry, document()):
                return f"a problem without a location: {problem.message[:120]!r}"
    return None


def _judge(
    entry: str, call: Callable[[], Any], source: str | None, document: Callable[[], Any]
) -> Outcome:
    try:
        call()
    except CompatError as exc:
        why = unplaced(entry, exc, source, document)
        if why is None:
            return Outcome(entry, "refused")
        signature = re.sub(r"[\d'\"]+", "", why)[:50]
        return Outcome(entry, "unplaced", f"{why}; the error: {str(exc)[:300]}", signature)
    except BaseException as exc:  # anything else escaping an entry point is a finding
        return _crashed(entry, exc)
    return Outcome(entry, "accepted")


def _judge_paths(path: Path, tools: ToolRegistry) -> Outcome:
    entry = "validate_paths"
    try:
        reports = validate_paths([path], tools)
    except BaseException as exc:  # it promises never to raise for bad input
        return _crashed(entry, exc)
    name = str(path)
    lines = [line for report in reports for line in report.lines()]
    bad = [line for line in lines if not line.startswith(f"{name}: ")]
    if bad or not lines:
        return Outcome(entry, "unplaced", f"a line not naming the file: {bad[:1]}", "line")
    if all(report.ok for report in reports):
        return Outcome(entry, "accepted")
    if any(line == f"{name}: " for line in lines):
        return Outcome(entry, "unplaced", "a line naming only the file", "empty")
    return Outcome(entry, "refused")


# --------------------------------------------------------------------------- worker side


@dataclass
class WorkerState:
    folder: Path
    tools: ToolRegistry


def setup_worker(folder: str) -> WorkerState:
    """A worker's state: the folder its files are written in, with what fixtures name."""
    support_files(Path(folder))
    return WorkerState(Path(folder), builtin_registry())


#: The file entry point each input goes to, by kind and index (one parse per input: YAML
#: is read by PyYAML's Python parser, ~10 ms a kilobyte, and all five share `read_document`).
_CHECK, _RUN = "validate_paths", "load_target"
_FILE_ROTATION = {
    "fixture": ("load_fixture", _CHECK, _RUN, _CHECK, "load_workflow"),
    "workflow": ("load_workflow", _CHECK, _RUN, _CHECK, "load_fixture"),
    "reactflow": ("load_workflow", _CHECK, _RUN, _CHECK, "load_fixture"),
    "random": ("read_document", _CHECK, _RUN, "load_workflow", "load_fixture"),
}


def file_entry(item: FuzzInput) -> str:
    """The file entry point input `item` goes to."""
    rotation = _FILE_ROTATION[item.kind]
    return rotation[item.index % len(rotation)]


def _reader(path: Path) -> Callable[[], Any]:
    """The file's content as `read_document` parses it (None when it does not), once."""
    memo: list[Any] = []

    def document() -> Any:
        if not memo:
            try:
                memo.append(read_document(path))
            except Exception:
                memo.append(None)
        return memo[0]

    return document


def check_input(state: WorkerState, note: Callable[[str], None], item: FuzzInput, skip: Any):
    """The input through the in-memory entry points and one file entry point (but those in
    `skip`): a list of `Outcome`s."""
    outcomes: list[Outcome] = []
    data, folder, tools = item.data, state.folder, state.tools
    calls: dict[str, Callable[[], Any]] = {
        "validate_workflow": lambda: validate_workflow(data, source=DATA_SOURCE),
        "workflow_from_data": lambda: workflow_from_data(
            data, source=DATA_SOURCE, default_id="fuzzed"
        ),
        "import_reactflow": lambda: import_reactflow(data, default_id="fuzzed"),
        "fixture_from_data": lambda: fixture_from_data(
            data, source=DATA_SOURCE, base=folder, tools=tools
        ),
    }
    for entry in DATA_ENTRIES if item.has_data else ():
        if (item.index, entry) not in skip:
            note(f"{item.index} {entry}")
            source = None if entry == "import_reactflow" else DATA_SOURCE
            outcomes.append(_judge(entry, calls[entry], source, lambda: data))
    entry = file_entry(item)
    if item.raw is None or (item.index, entry) in skip:
        return outcomes
    path = folder / f"input{item.suffix}"
    path.write_bytes(item.raw)
    try:
        note(f"{item.index} {entry}")
        if entry == "validate_paths":
            outcomes.append(_judge_paths(path, tools))
        else:
            call = {
                "read_document": lambda: read_document(path),
                "load_workflow": lambda: load_workflow(path),
                "load_fixture": lambda: load_fixture(path, tools=tools),
                "load_target": lambda: load_target(path, tools),
            }[entry]
            outcomes.append(_judge(entry, call, str(path), _reader(path)))
    finally:
        path.unlink(missing_ok=True)  # a later fixture must not find it
    return outcomes


def check_batch(state: WorkerState, notes: Any, seed: int, start: int, stop: int, skip: Any):
    """Inputs `start` to `stop` of the run with `seed` (a worker task): for each, its index,
    origin, mutations and outcomes."""
    results = []
    for index in range(start, stop):
        if (index, "generate") in skip:  # making it failed: nothing to check
            results.append((index, "fuzzer", (), []))
            continue
        notes(f"{index} generate")
        item = make_input(seed, index)
        results.append((index, item.origin, item.mutations, check_input(state, notes, item, skip)))
    return results


# --------------------------------------------------------------------------- the CLI


def _cli_command() -> list[str]:
    script = Path(sys.executable).with_name("compat")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from compat.supervise import main; main()"]


def judge_cli(command: str, name: str, code: int, out: str, err: str) -> Outcome:
    """A `compat COMMAND NAME` run's outcome, by rule 4 of the module's docstring."""
    entry = f"cli {command}"
    err_lines = err.splitlines()
    if "Traceback" in out + err:
        tail = " / ".join(err_lines[-3:])[:400]
        return Outcome(entry, "traceback", f"exit {code}, a traceback: {tail}", "Traceback")
    if code not in ((0, 2) if command == "validate" else (0, 1, 2)):
        first = err_lines[0][:300] if err_lines else "(nothing on standard error)"
        return Outcome(entry, "traceback", f"exit {code}: {first}", f"exit {code}")
    if command == "validate":
        prefix = f"{name}: "
        bad = [line for line in out.splitlines() if not line.startswith(prefix) or line == prefix]
        if bad or (code == 0 and err_lines):
            shown = (bad or err_lines)[0][:300]
            return Outcome(entry, "unplaced", f"a line not naming the file: {shown!r}", "line")
    if code != 2:
        return Outcome(entry, "accepted")
    if len(err_lines) != 1 or not err_lines[0].startswith("compat:"):
        shown = " / ".join(err_lines)[:400]
        return Outcome(entry, "unplaced", f"not one `compat:` line on stderr: {shown!r}", "lines")
    if command != "validate" and name not in err_lines[0]:
        return Outcome(entry, "unplaced", f"does not name the file: {err_lines[0][:300]!r}", "name")
    return Outcome(entry, "refused")


_CLI_OPTIONS = {"check": ["--in-process", "--timeout", "5"], "run": ["--timeout", "5"]}


def run_cli(folder: Path, item: FuzzInput, command: str, timeout: float) -> Outcome:
    """The real `compat` on one input, in a subprocess (its process group killed if it
    does not answer within max(30, 3 × timeout) seconds)."""
    assert item.raw is not None
    name = f"input{item.suffix}"
    path = folder / name
    path.write_bytes(item.raw)
    args = [*_cli_command(), command, name]
    args += _CLI_OPTIONS.get(command, [])
    env = {k: v for k, v in os.environ.items() if k not in ("COMPAT_DEBUG", "COMPAT_UNSUPERVISED")}
    limit = max(30.0, 3 * timeout)
    process = subprocess.Popen(
        args,
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.communicate()
        return Outcome(f"cli {command}", "hang", f"no answer within {limit:g} s", "hang")
    finally:
        path.unlink(missing_ok=True)
    text = (out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return judge_cli(command, name, process.returncode, *text)
