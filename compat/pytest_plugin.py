"""compat's pytest plugin: every case of every workflow fixture as a pytest test.

Registered through the `pytest11` entry point, so every pytest run where compat is installed
loads this module. It is cheap to import and does nothing unless asked: without `--compat`
and without configured `pytest_paths` that the run reaches, it collects nothing, changes no
argument and imports nothing of compat's harness (compat/pytest_items.py holds the working
parts, imported only when the plugin is in use). Off: `pytest -p no:compat`.

Which fixtures are collected
----------------------------
* `pytest --compat PATH` (repeatable): fixture files, folders (walked like `compat check`)
  or globs (`'fixtures/router_*.yaml'`), relative to the working directory. When the command
  line names no test paths, only these are collected (not `testpaths`, not the configured
  `pytest_paths`); when it names some, these are collected beside them, except where a
  named path already lies inside one (`pytest --compat fixtures fixtures/x.yaml::case` runs
  that one case).
* `[tool.compat] pytest_paths = ["fixtures"]` (pyproject.toml or compat.toml, found from
  the working directory as compat finds its configuration, or the file `--compat-config`
  names; paths relative to that file, globs allowed): collected like `testpaths`, on every
  run that names no paths (plain `pytest`), beside `testpaths`. A run that names paths
  (`pytest tests/test_x.py`) collects them only where it names them
  (`pytest fixtures/x.yaml::case`); `--compat PATH` replaces them.
* A file named directly that is not a fixture is a collection error; workflow files met in
  a folder or through a glob (those fixtures read) are skipped, as `compat check` does.

Items
-----
One collector per fixture file, one item per case: `fixtures/x.yaml::case` (`-k`, `-m`,
`--lf`, `-x`, `--junitxml` and xdist's `-n` work as for any test; collection is the
file-system walk of pytest itself, so every xdist worker collects the same ids in the same
order). Every item carries the `compat` mark (`pytest -m "not compat"` leaves them out) and
the marks the fixture lists in `markers: [slow, ...]` (registered, so `--strict-markers`
accepts them).

Each item runs the case as `compat check` does — both engines through `compat.check.Runner`,
compared under the fixture's tolerances, golden answers checked — with `--compat-primary`,
`--compat-shadow` (graph, journey or module:attr), `--compat-policy`, `--compat-min-score`,
`--compat-roundtrip`, `--compat-handoff`, `--compat-replay` and `--compat-timeout`, and the
configuration (`--compat-config`, else found from the working directory). It runs
in-process, in pytest's own process (each xdist worker is already a process of its own):
engines run in threads, so an engine that times out cannot be stopped and one that crashes
the interpreter takes pytest with it; for untrusted engines use `compat check`, which runs
every engine in a killable worker process. A case that does not pass fails with plain text
(no colour): the verdict, the differences worst first (path, primary, shadow, severity,
note), the golden answers that failed and the engines that gave no result.

Python tests
------------
`assert_compatible(workflow, inputs, conversation, primary=..., shadow=..., ...)` runs one
workflow (a mapping, a path to a workflow file, or a validated workflow) on two engines
(specs or engine objects) and returns the case's `CaseReport`, or raises an AssertionError
holding the same table. The `compat` fixture gives the same with the run's `--compat-*`
options as defaults: `compat.assert_compatible(workflow, {"x": 1})`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from compat.pytest_items import Harness
    from compat.report import CaseReport
    from engines.tools import ToolRegistry

HARNESS: pytest.StashKey[Harness] = pytest.StashKey()
SUFFIXES = (".json", ".yaml", ".yml")
_MAGIC = ("*", "?", "[")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("compat", "compat: workflow fixtures on two engines")
    group.addoption(
        "--compat",
        action="append",
        dest="compat_paths",
        default=[],
        metavar="PATH",
        help="collect every case of the fixtures at PATH (a file, a folder or a glob); repeatable",
    )
    group.addoption(
        "--compat-config",
        dest="compat_config",
        metavar="FILE",
        help="compat's configuration (compat.toml or pyproject.toml) instead of the one "
        "found from the working directory; its pytest_paths are collected as configured",
    )
    group.addoption(
        "--compat-primary",
        default="graph",
        metavar="ENGINE",
        help="the primary engine: graph, journey or module:attr (default: graph)",
    )
    group.addoption(
        "--compat-shadow",
        default="journey",
        metavar="ENGINE",
        help="the shadow engine: graph, journey or module:attr (default: journey)",
    )
    group.addoption(
        "--compat-policy",
        choices=("equivalence", "threshold"),
        help="the verdict policy for every case (default: the configured or the fixture's)",
    )
    group.addoption(
        "--compat-min-score",
        type=float,
        metavar="SCORE",
        help="a similarity gate: the threshold policy with this threshold for every case",
    )
    group.addoption(
        "--compat-roundtrip",
        action="store_true",
        help="every pause is saved and resumed by a fresh engine instance",
    )
    group.addoption(
        "--compat-handoff",
        action="store_true",
        help="the shadow's run is handed to the other built-in engine at every pause",
    )
    group.addoption(
        "--compat-replay",
        action="store_true",
        help="the primary's tool calls are recorded and replayed to the shadow",
    )
    group.addoption(
        "--compat-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds each engine run may take (default: 60)",
    )


# --------------------------------------------------------------------------- which paths


def _configured(start: Path, file: str | None) -> tuple[Path, Any]:
    """(the configuration's directory, its `pytest_paths` or None), read with tomllib only:
    cheap enough for every pytest run. The same files as `engines.config.load_config`; an
    unreadable file counts as saying nothing here (`compat check` reports it)."""
    import tomllib

    if file is not None:
        sources = [Path(file)]
        root = Path(file).resolve().parent
    else:
        found = next(
            (
                d
                for d in (start, *start.parents)
                if (d / "compat.toml").is_file() or (d / "pyproject.toml").is_file()
            ),
            None,
        )
        if found is None:
            return start, None
        root, sources = found, [found / "pyproject.toml", found / "compat.toml"]
    paths = None
    for source in sources:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if source.name == "pyproject.toml" or isinstance(data.get("tool"), dict):
            tool = data.get("tool")
            data = tool.get("compat") if isinstance(tool, dict) else None
        if isinstance(data, dict) and "pytest_paths" in data:
            paths = data["pytest_paths"]
    return root, paths


def _expand(raw: Iterable[str], base: Path, where: str) -> tuple[list[Path], list[Path]]:
    """(every path, the files named directly): globs expanded, relative paths taken from
    `base`. Raises `pytest.UsageError` for a path that is nothing."""
    paths: list[Path] = []
    named: list[Path] = []
    for text in raw:
        path = base / os.path.expanduser(text)
        if path.exists():
            paths.append(path)
            if path.is_file():
                named.append(path.resolve())
        elif any(c in text for c in _MAGIC):
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise pytest.UsageError(f"{where} {text}: no file or folder matches")
            paths += [Path(m) for m in matches]
        else:
            raise pytest.UsageError(f"{where} {text}: no such file or directory")
    return paths, named


def _within(outer: Path, inner: Path) -> bool:
    return inner == outer or inner.is_relative_to(outer)


def _named_paths(config: pytest.Config) -> list[Path] | None:
    """The paths the command line names (None: it names none, pytest uses `testpaths` or
    the working directory)."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return None
    if config.option.pyargs:
        return []
    base = config.invocation_params.dir
    return [(base / arg.split("::")[0]).resolve() for arg in config.args]


def _plan(config: pytest.Config) -> tuple[list[Path], list[Path], list[str]] | None:
    """(fixture roots, files named directly, pytest's new args), or None: not in use."""
    base = config.invocation_params.dir
    given = config.getoption("compat_paths")
    named_args = _named_paths(config)
    if given:
        paths, named = _expand(given, base, "--compat")
    else:
        root, configured = _configured(base, config.getoption("compat_config"))
        if not configured:
            return None
        if not isinstance(configured, list) or not all(isinstance(p, str) for p in configured):
            return [], [], list(config.args)  # in use: loading the configuration says why
        paths, named = _expand(configured, root, "[tool.compat] pytest_paths:")
    roots = [p.resolve() for p in paths]
    # A file the command line names under a root counts as named directly too.
    named += [a for a in named_args or () if a.is_file() and any(_within(r, a) for r in roots)]
    if named_args is not None and not given:
        # Configured paths on a run that names its paths: only where it names them.
        if not any(_within(r, a) for r in roots for a in named_args):
            return None
        return roots, named, list(config.args)
    if named_args is None and given:
        return roots, named, [str(p) for p in paths]  # instead of testpaths
    current = named_args
    if current is None:  # testpaths, or the working directory
        current = [(base / arg).resolve() for arg in config.args]
    added = [
        str(path)
        for path, root in zip(paths, roots, strict=True)
        if not any(_within(root, a) or _within(a, root) for a in current)
    ]
    return roots, named, [*config.args, *added]


# --------------------------------------------------------------------------- hooks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "compat: a case of a compat workflow fixture, run on two engines (compat's plugin)",
    )
    if config.getoption("help", False):
        return
    plan = _plan(config)
    if plan is None:
        return
    roots, named, args = plan
    from compat.pytest_items import Harness
    from engines.errors import SetupError

    try:
        harness = Harness(
            config_file=config.getoption("compat_config"),
            start=config.invocation_params.dir,
            roots=roots,
            named=named,
            values=_options(config),
        )
    except SetupError as exc:
        raise pytest.UsageError(f"compat: {exc}") from None
    config.stash[HARNESS] = harness
    if config.getoption("compat_paths"):  # instead of testpaths (for the report header)
        config.args_source = pytest.Config.ArgsSource.ARGS
    config.args = args


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    harness = parent.config.stash.get(HARNESS, None)
    if harness is None or file_path.suffix.lower() not in SUFFIXES:
        return None
    if file_path.name.startswith("."):
        return None
    resolved = file_path.resolve()
    if not any(_within(root, resolved) for root in harness.roots):
        return None
    from compat.pytest_items import FixtureFile

    return FixtureFile.from_parent(parent, path=file_path)  # type: ignore[no-any-return]


def pytest_report_header(config: pytest.Config) -> str | None:
    harness = config.stash.get(HARNESS, None)
    return None if harness is None else harness.describe()


# --------------------------------------------------------------------------- Python tests


def assert_compatible(
    workflow: Any,
    inputs: Mapping[str, Any] | None = None,
    conversation: Sequence[Any] = (),
    *,
    primary: Any = "graph",
    shadow: Any = "journey",
    tools: ToolRegistry | None = None,
    policy: str | None = None,
    **options: Any,
) -> CaseReport:
    """Run `workflow` (a mapping, a path to a workflow file, or a `ValidatedWorkflow`) with
    `inputs` and `conversation` on `primary` and `shadow` (graph, journey, module:attr, or
    an engine object), compare as `compat check` does and return the `CaseReport`; raise an
    AssertionError with the differences table when the case does not pass.

    More keywords: `min_score`, `tolerances` (a mapping, as a fixture's), `workflows` (the
    sub-workflows it calls), `expect` (a golden answer, as a fixture case's), `cancel`,
    `roundtrip`, `handoff`, `replay`, `timeout`, `config` (a compat.toml), `name`."""
    __tracebackhide__ = True
    from compat.pytest_items import assert_compatible as run

    return run(
        workflow,
        inputs,
        conversation,
        primary=primary,
        shadow=shadow,
        tools=tools,
        policy=policy,
        **options,
    )


#: The `--compat-*` options that are `compat check`'s options of the same name.
_CHECK_OPTIONS = (
    "primary", "shadow", "policy", "min_score", "roundtrip", "handoff", "replay", "timeout",
)  # fmt: skip


def _options(config: pytest.Config) -> dict[str, Any]:
    """The run's `--compat-*` values for `compat check`'s options."""
    return {name: config.getoption(f"compat_{name}") for name in _CHECK_OPTIONS}


class Compat:
    """The `compat` fixture: `assert_compatible` and `check` (the report, never raising)
    with the run's `--compat-*` options as defaults."""

    def __init__(self, config: pytest.Config) -> None:
        self.defaults: dict[str, Any] = {
            **_options(config),
            "config": config.getoption("compat_config"),
        }

    def assert_compatible(
        self,
        workflow: Any,
        inputs: Mapping[str, Any] | None = None,
        conversation: Sequence[Any] = (),
        **options: Any,
    ) -> CaseReport:
        __tracebackhide__ = True
        return assert_compatible(workflow, inputs, conversation, **{**self.defaults, **options})

    def check(
        self,
        workflow: Any,
        inputs: Mapping[str, Any] | None = None,
        conversation: Sequence[Any] = (),
        **options: Any,
    ) -> CaseReport:
        from compat.pytest_items import check_workflow

        return check_workflow(workflow, inputs, conversation, **{**self.defaults, **options})


@pytest.fixture
def compat(request: pytest.FixtureRequest) -> Compat:
    """compat's harness for tests in Python: `compat.assert_compatible(workflow, inputs)`."""
    return Compat(request.config)
