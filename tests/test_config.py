"""Configuration: compat.toml and [tool.compat] in pyproject.toml."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from conftest import assert_words, write
from pydantic import ValidationError

from engines.config import EngineConfig, find_root, load_config
from engines.errors import (
    ConfigError,
)
from engines.tools import BUILTINS

# --------------------------------------------------------------------------- configuration


def test_tool_compat_in_pyproject_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n[tool.compat]\nenv = ["A"]\ntool_modules = ["m"]\n',
    )
    (tmp_path / "deep" / "er").mkdir(parents=True)
    config = load_config(tmp_path / "deep" / "er")
    assert config.env == ("A",)
    assert config.tool_modules == ("m",)
    assert config.root == tmp_path


def test_compat_toml_overrides_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.compat]\nenv = ["A"]\ntool_modules = ["m"]\n')
    write(tmp_path / "compat.toml", 'env = ["B", "C"]\n[tolerances]\nx = 1\n')
    config = load_config(tmp_path)
    assert config.env == ("B", "C")
    assert config.tool_modules == ("m",)
    assert config.tolerances == {"x": 1}


def test_pyproject_without_a_compat_section_gives_defaults(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    config = load_config(tmp_path)
    assert (config.env, config.tool_modules, config.tolerances) == ((), (), {})
    assert config.root == tmp_path


def test_nearest_directory_with_configuration_is_the_root(tmp_path: Path) -> None:
    write(tmp_path / "compat.toml", 'env = ["OUTER"]\n')
    write(tmp_path / "inner" / "compat.toml", 'env = ["INNER"]\n')
    assert load_config(tmp_path / "inner").env == ("INNER",)
    assert find_root(tmp_path / "inner") == tmp_path / "inner"


def test_no_configuration_found(tmp_path: Path) -> None:
    expected = next(
        (
            d
            for d in (tmp_path, *tmp_path.parents)
            if (d / "compat.toml").is_file() or (d / "pyproject.toml").is_file()
        ),
        None,
    )
    assert load_config(tmp_path).root == expected
    if expected is None:
        assert load_config(tmp_path) == EngineConfig()


def test_explicit_configuration_path(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "my.toml", 'env = ["X"]\n')
    write(tmp_path / "compat.toml", 'env = ["IGNORED"]\n')
    config = load_config(tmp_path, path=tmp_path / "elsewhere" / "my.toml")
    assert config.env == ("X",)
    assert config.root == (tmp_path / "elsewhere").resolve()


def test_explicit_pyproject_path_reads_its_tool_compat(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.compat]\nenv = ["P"]\n')
    assert load_config(path=tmp_path / "pyproject.toml").env == ("P",)


def test_missing_explicit_configuration_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path=tmp_path / "nope.toml")
    assert_words(str(info.value), "nope.toml", "no such configuration file")


@pytest.mark.parametrize(
    ("file", "text", "words"),
    [
        ("compat.toml", 'evn = ["X"]\n', ("evn", "unknown field")),
        ("compat.toml", 'env = "HOME"\n', ("env",)),
        ("pyproject.toml", '[tool.compat]\ntool_module = ["x"]\n', ("tool_module", "unknown")),
        ("pyproject.toml", "[tool]\ncompat = 3\n", ("[tool.compat]", "table")),
        ("compat.toml", "env = [\n", ("not valid TOML",)),
    ],
)
def test_bad_configuration_names_the_file(
    tmp_path: Path, file: str, text: str, words: tuple[str, ...]
) -> None:
    write(tmp_path / file, text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path / file) in str(info.value)
    assert_words(str(info.value), *words)


def test_bad_compat_toml_is_blamed_not_the_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.compat]\nenv = ["A"]\n')
    write(tmp_path / "compat.toml", "colour = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path / "compat.toml") in str(info.value)
    assert "pyproject" not in str(info.value)


def test_environment_is_the_allow_list_of_set_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPAT_T_ALLOWED", "yes")
    monkeypatch.setenv("COMPAT_T_SECRET", "no")
    monkeypatch.delenv("COMPAT_T_UNSET", raising=False)
    config = EngineConfig(env=("COMPAT_T_ALLOWED", "COMPAT_T_UNSET"))
    assert config.environment() == {"COMPAT_T_ALLOWED": "yes"}
    assert EngineConfig().environment() == {}


def test_config_tool_registry_loads_modules_from_the_root(tmp_path: Path) -> None:
    name = f"cfgtools_{uuid.uuid4().hex[:8]}"
    write(tmp_path / "compat.toml", f'tool_modules = ["{name}"]\n')
    write(
        tmp_path / f"{name}.py",
        "def register_tools(registry):\n    registry.register('ping', lambda a, c: 'pong')\n",
    )
    path_before = list(sys.path)
    try:
        registry = load_config(tmp_path).tool_registry()
    finally:
        sys.modules.pop(name, None)
    assert "ping" in registry and "echo" in registry
    assert sys.path == path_before


def test_config_without_tool_modules_gives_the_builtins() -> None:
    assert set(EngineConfig().tool_registry()) == set(BUILTINS)


def test_config_refuses_unknown_fields_in_code() -> None:
    with pytest.raises(ValidationError):
        EngineConfig.model_validate({"envs": []})
