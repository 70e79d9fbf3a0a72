"""Project configuration: `[tool.compat]` in pyproject.toml, then `compat.toml` (which wins).

A `compat.toml` holds the same settings either bare (`policy = ...`, `[tolerances]`) or under
a `[tool.compat]` table, exactly as written in pyproject.toml (not both in one file).

Both files are looked for in the starting directory and its parents; the nearest directory
holding either is the project root. Configuration is trusted (it is the user's own), unlike
workflow documents, which never name code to run.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engines.documents.files import read_regular, regular_file_problem
from engines.errors import ConfigError, DocumentError
from engines.model.problems import problems_from
from engines.model.tools import ToolName, ToolSettings, breakers_of
from engines.tools import ToolRegistry, builtin_registry


class EngineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Modules that register user tools: "pkg.mod" calls pkg.mod.register_tools(registry),
    #: "pkg.mod:func" calls func(registry).
    tool_modules: tuple[str, ...] = ()
    #: Environment variables templates may read as `env.<NAME>`; no others are visible.
    env: tuple[str, ...] = ()
    #: Per-tool settings (`[tool.compat.tools.<name>.circuit_breaker]`, docs/semantics.md §6):
    #: every run of every workflow uses them unless the workflow declares its own.
    tools: dict[ToolName, ToolSettings] = Field(default_factory=dict)
    #: Harness settings (later issues); kept as given.
    tolerances: dict[str, Any] = Field(default_factory=dict)
    #: The harness's verdict policy (`equivalence` or `threshold`); the harness checks it.
    policy: str | None = None
    #: Folders, relative to the configuration file, from which a fixture may name workflow
    #: files besides its own folder tree (`workflow_roots = ["../shared"]`).
    workflow_roots: tuple[str, ...] = ()
    #: Where `compat check`, `perf` and `fuzz` record their runs (a SQLite file path relative
    #: to the configuration's directory, or a database URL); unset: only with `--history`.
    history: str | None = None
    #: Fixture files, folders or globs the pytest plugin collects on every `pytest` run.
    pytest_paths: tuple[str, ...] = ()
    #: The directory the configuration was found in (None when nothing was found).
    root: Path | None = None

    def workflow_root_paths(self) -> tuple[Path, ...]:
        """`workflow_roots`, resolved against the configuration's directory (or the working
        directory when no configuration was found)."""
        base = self.root if self.root is not None else Path.cwd()
        return tuple((base / root).resolve() for root in self.workflow_roots)

    def environment(self) -> dict[str, str]:
        """The allow-listed environment variables that are set, for the `env` scope."""
        return {name: os.environ[name] for name in self.env if name in os.environ}

    def tool_registry(self) -> ToolRegistry:
        """The built-in tools plus every configured tool module's tools."""
        registry = builtin_registry()
        registry.breakers.update(breakers_of(self.tools))
        if not self.tool_modules:
            self._check_tool_names(registry)
            return registry
        added = False
        if self.root is not None and str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
            added = True
        try:
            for spec in self.tool_modules:
                registry.load_module(spec)
        finally:
            if added:
                sys.path.remove(str(self.root))
        self._check_tool_names(registry)
        return registry

    def _check_tool_names(self, registry: ToolRegistry) -> None:
        """Settings for a tool nobody registered are a typo, not something to ignore."""
        unknown = sorted(name for name in self.tools if name not in registry)
        if unknown:
            where = self.root if self.root is not None else "configuration"
            raise ConfigError(
                f"{where}: tools.{unknown[0]}: settings for unknown tool {unknown[0]!r} "
                f"(registered: {', '.join(registry)})"
            )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path, what="a configuration file").decode("utf-8"))
    except DocumentError as exc:  # a FIFO, a device, too large: refused without opening
        raise ConfigError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _compat_toml_settings(file: Path, data: dict[str, Any]) -> Any:
    """The settings of a `compat.toml`: written bare (`policy = ...`, `[tolerances]`) or, as
    in pyproject.toml, under `[tool.compat]` (`[tool.compat.tolerances]`); not both at once."""
    if "tool" not in data:
        return data
    tool = data["tool"]
    others = sorted(k for k in tool if k != "compat") if isinstance(tool, dict) else []
    if not isinstance(tool, dict) or "compat" not in tool or others:
        found = ", ".join(f"[tool.{k}]" for k in others) or "tool"
        raise ConfigError(
            f"{file}: {found} is not compat's; a compat.toml holds compat's settings either "
            'bare (policy = "threshold", [tolerances]) or under [tool.compat] '
            "([tool.compat.tolerances]), as in pyproject.toml"
        )
    bare = sorted(k for k in data if k != "tool")
    if bare:
        raise ConfigError(
            f"{file}: mixes bare settings ({', '.join(bare)}) with a [tool.compat] table; "
            "write every setting in one form: all bare, or all under [tool.compat]"
        )
    return tool["compat"]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: tables merge key by key at every depth; anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def find_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / "compat.toml").is_file() or (directory / "pyproject.toml").is_file():
            return directory
    return None


def load_config(start: str | Path | None = None, *, path: str | Path | None = None) -> EngineConfig:
    """Load the configuration found from `start` (default: the working directory), or from an
    explicit `compat.toml`/`pyproject.toml` `path`. Raises `ConfigError`."""
    merged: dict[str, Any] = {}
    sources: list[Path] = []
    if path is not None:
        file = Path(path)
        if not file.is_file():
            why = regular_file_problem(file, "a configuration file") if file.exists() else None
            raise ConfigError(f"{file}: {why or 'no such configuration file'}")
        root: Path | None = file.resolve().parent
        sources.append(file)
    else:
        root = find_root(Path(start or Path.cwd()).resolve())
        if root is not None:
            sources += [root / "pyproject.toml", root / "compat.toml"]
    for file in sources:
        if not file.is_file():
            continue
        data = _read_toml(file)
        if file.name == "pyproject.toml":
            data = data.get("tool", {}).get("compat", {})
        else:
            data = _compat_toml_settings(file, data)
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: [tool.compat] must be a table")
        merged = _merge(merged, data)
        try:
            EngineConfig.model_validate({**merged, "root": root})
        except ValidationError as exc:
            problems = "; ".join(str(p) for p in problems_from(exc))
            raise ConfigError(f"{file}: {problems}") from None
    return EngineConfig.model_validate({**merged, "root": root})
