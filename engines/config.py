"""Project configuration: `[tool.compat]` in pyproject.toml, then `compat.toml` (which wins).

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

from engines.errors import ConfigError
from engines.model.problems import problems_from
from engines.tools import ToolRegistry, builtin_registry


class EngineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Modules that register user tools: "pkg.mod" calls pkg.mod.register_tools(registry),
    #: "pkg.mod:func" calls func(registry).
    tool_modules: tuple[str, ...] = ()
    #: Environment variables templates may read as `env.<NAME>`; no others are visible.
    env: tuple[str, ...] = ()
    #: Harness settings (later issues); kept as given.
    tolerances: dict[str, Any] = Field(default_factory=dict)
    #: The harness's verdict policy (`equivalence` or `threshold`); the harness checks it.
    policy: str | None = None
    #: The directory the configuration was found in (None when nothing was found).
    root: Path | None = None

    def environment(self) -> dict[str, str]:
        """The allow-listed environment variables that are set, for the `env` scope."""
        return {name: os.environ[name] for name in self.env if name in os.environ}

    def tool_registry(self) -> ToolRegistry:
        """The built-in tools plus every configured tool module's tools."""
        registry = builtin_registry()
        if not self.tool_modules:
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
        return registry


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


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
            raise ConfigError(f"{file}: no such configuration file")
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
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: [tool.compat] must be a table")
        merged = _merge(merged, data)
        try:
            EngineConfig.model_validate({**merged, "root": root})
        except ValidationError as exc:
            problems = "; ".join(str(p) for p in problems_from(exc))
            raise ConfigError(f"{file}: {problems}") from None
    return EngineConfig.model_validate({**merged, "root": root})
