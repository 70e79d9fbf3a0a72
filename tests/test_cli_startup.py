"""`compat` starts light: importing the CLI, `compat --help`, `compat validate` and `compat
check` import only what they use — never deepdiff, numpy, hypothesis or dask unless a
command needs them (compat/cli.py, compat/commands.py). Each check runs in a fresh
interpreter and looks at `sys.modules`: deterministic, no timing (bench/startup.py times it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Never imported by starting compat, by `--help`, `validate` or a plain `check`.
HEAVY = ("deepdiff", "numpy", "hypothesis", "dask")
#: Not needed to print help either: the models, YAML, the expression layer, rich.
NOT_FOR_HELP = ("pydantic", "engines.model", "yaml", "jinja2", "jsonschema", "rich")
#: Machinery of other commands (`perf`, `fuzz`, `shadow`) and of the comparison.
OTHER_COMMANDS = ("compat.fuzz", "compat.shadow", "compat.perf", "compat.compare")

_PROBE = """
import contextlib, io, json, sys
sys.argv = ["compat", *json.loads(sys.argv[1])]
import compat.cli
if len(sys.argv) > 1:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            compat.cli.main()
        except SystemExit as exc:
            code = exc.code
    assert code == 0, f"exit {code}"
print(json.dumps(sorted(sys.modules)))
"""


def imported(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after importing compat.cli and running `args`
    as the command line (in-process: COMPAT_UNSUPERVISED, no fork)."""
    env = {**os.environ, "COMPAT_UNSUPERVISED": "1"}
    env.pop("COMPAT_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of `modules` that are one of `packages` or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_importing_the_cli_imports_no_heavy_module() -> None:
    assert under(imported(), HEAVY) == []


def test_help_imports_neither_models_nor_other_commands() -> None:
    modules = imported("--help")
    assert under(modules, HEAVY + NOT_FOR_HELP + OTHER_COMMANDS) == []


def test_validate_imports_no_comparison_perf_or_fuzz_machinery() -> None:
    modules = imported("validate", "fixtures/")
    assert "engines.documents.read" in modules  # it did validate
    assert under(modules, HEAVY + OTHER_COMMANDS) == []


def test_check_imports_no_numpy_deepdiff_or_fuzzing_when_the_engines_agree() -> None:
    """deepdiff only describes differences, numpy only serves --perf."""
    modules = imported("check", "fixtures/implicit_termination.yaml", "--in-process")
    assert "compat.check" in modules
    assert under(modules, (*HEAVY, "compat.fuzz", "compat.shadow")) == []
