"""Tools and their registry, configuration, clocks, the result contract, input schemas."""

from __future__ import annotations

import asyncio
import math
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_words, write
from pydantic import ValidationError

from engines import failures
from engines.clock import RealClock, VirtualClock
from engines.config import EngineConfig, find_root, load_config
from engines.errors import (
    ConfigError,
    EngineStateError,
    ErrorCode,
    InputInvalid,
    NodeFailure,
    SetupError,
    ToolError,
    ToolRegistryError,
)
from engines.model import InputSchema, RetryPolicy
from engines.result import (
    NodeError,
    PauseInfo,
    RunMetrics,
    RunResult,
    RunStatus,
    TraceEvent,
    TraceKind,
)
from engines.tools import BUILTINS, ToolContext, ToolRegistry, builtin_registry

# --------------------------------------------------------------------------- helpers


def call(
    name: str,
    args: Mapping[str, Any],
    *,
    attempt: int = 1,
    node: str = "n",
    registry: ToolRegistry | None = None,
    clock: VirtualClock | None = None,
) -> Any:
    """Call a tool through a registry on a virtual clock."""
    tools = registry or builtin_registry()
    clock = clock or VirtualClock()

    async def main() -> Any:
        ctx = ToolContext(clock=clock, node=node, attempt=attempt, workflow="wf")
        return await tools.call(name, args, ctx)

    return clock.run(main)


def tool_error(name: str, args: Mapping[str, Any], **kwargs: Any) -> ToolError:
    with pytest.raises(ToolError) as info:
        call(name, args, **kwargs)
    return info.value


# --------------------------------------------------------------------------- builtins


def test_every_documented_builtin_is_registered() -> None:
    documented = {
        "echo",
        "add",
        "subtract",
        "multiply",
        "divide",
        "sum",
        "concat",
        "upper",
        "lower",
        "split",
        "length",
        "lookup",
        "sleep",
        "flaky",
        "raise",
        "crash",
    }
    assert set(BUILTINS) == documented
    assert set(builtin_registry()) == documented


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("echo", {"a": [1, {"b": None}], "c": "x"}, {"a": [1, {"b": None}], "c": "x"}),
        ("echo", {}, {}),
        ("add", {"a": 2, "b": 3.5}, 5.5),
        ("subtract", {"a": 2, "b": 5}, -3),
        ("multiply", {"a": 4, "b": 2.5}, 10.0),
        ("divide", {"a": 7, "b": 2}, 3.5),
        ("sum", {"values": [1, 2, 3.5]}, 6.5),
        ("sum", {"values": []}, 0),
        ("concat", {"values": ["a", 1, None, True]}, "a1NoneTrue"),
        ("concat", {"values": ["a", "b"], "separator": ", "}, "a, b"),
        ("upper", {"text": "abc"}, "ABC"),
        ("lower", {"text": "ÀBC"}, "àbc"),
        ("split", {"text": " a  b\tc "}, ["a", "b", "c"]),
        ("split", {"text": "a,b,,c", "separator": ","}, ["a", "b", "", "c"]),
        ("split", {"text": "a b", "separator": None}, ["a", "b"]),
        ("length", {"value": "abcd"}, 4),
        ("length", {"value": [1, 2]}, 2),
        ("length", {"value": {"a": 1}}, 1),
        ("lookup", {"table": {"k": [1]}, "key": "k"}, [1]),
        ("lookup", {"table": {}, "key": "k", "default": None}, None),
        ("flaky", {"failures": 0}, {"attempts": 1}),
    ],
)
def test_builtin_results(name: str, args: dict[str, Any], expected: Any) -> None:
    assert call(name, args) == expected


def test_echo_returns_a_copy_of_its_args() -> None:
    args = {"a": 1}
    result = call("echo", args)
    assert result == args
    assert result is not args


@pytest.mark.parametrize(
    ("name", "args", "words"),
    [
        ("add", {"a": 1}, ("missing argument 'b'",)),
        ("add", {"a": "1", "b": 2}, ("'a'", "number")),
        ("add", {"a": True, "b": 2}, ("'a'", "number")),
        ("multiply", {"a": None, "b": 2}, ("'a'",)),
        ("divide", {"a": 1, "b": "0"}, ("'b'",)),
        ("sum", {"values": "12"}, ("'values'", "list")),
        ("sum", {"values": [1, "2"]}, ("'values'", "numbers")),
        ("sum", {"values": [1, True]}, ("'values'", "numbers")),
        ("concat", {"values": "ab"}, ("'values'", "list")),
        ("concat", {"values": [], "separator": 1}, ("'separator'", "string")),
        ("upper", {"text": 3}, ("'text'", "string")),
        ("lower", {}, ("missing argument 'text'",)),
        ("split", {"text": ["a"]}, ("'text'",)),
        ("length", {"value": 3}, ("'value'",)),
        ("length", {"value": None}, ("'value'",)),
        ("lookup", {"table": [], "key": "k"}, ("'table'", "mapping")),
        ("lookup", {"table": {}, "key": 1}, ("'key'", "string")),
        ("sleep", {"seconds": -1}, ("'seconds'", "negative")),
        ("sleep", {"seconds": "1"}, ("'seconds'",)),
        ("flaky", {"failures": "2"}, ("'failures'", "integer")),
        ("flaky", {"failures": True}, ("'failures'",)),
        ("raise", {}, ("missing argument 'code'",)),
        ("raise", {"code": "X", "recoverable": "yes"}, ("'recoverable'", "boolean")),
    ],
)
def test_bad_arguments_are_bad_args_and_not_recoverable(
    name: str, args: dict[str, Any], words: tuple[str, ...]
) -> None:
    error = tool_error(name, args)
    assert error.code == "BAD_ARGS"
    assert error.recoverable is False
    assert_words(error.message, *words)


def test_divide_by_zero() -> None:
    error = tool_error("divide", {"a": 1, "b": 0})
    assert error.code == "DIVISION_BY_ZERO"
    assert error.recoverable is False


def test_lookup_missing_key_is_not_found() -> None:
    error = tool_error("lookup", {"table": {"a": 1}, "key": "b"})
    assert error.code == "NOT_FOUND"
    assert error.recoverable is False
    assert_words(error.message, "'b'")


def test_flaky_fails_recoverably_on_the_first_attempts() -> None:
    for attempt in (1, 2):
        error = tool_error("flaky", {"failures": 2}, attempt=attempt, node="charge")
        assert error.code == "FLAKY"
        assert error.recoverable is True
        assert_words(error.message, "charge", f"attempt {attempt}")
    assert call("flaky", {"failures": 2}, attempt=3) == {"attempts": 3}
    assert call("flaky", {"failures": 2, "value": "done"}, attempt=4) == "done"


def test_flaky_with_its_own_code() -> None:
    error = tool_error("flaky", {"failures": 1, "code": "BUSY"})
    assert (error.code, error.recoverable) == ("BUSY", True)


def test_raise_maps_code_message_and_recoverability() -> None:
    error = tool_error("raise", {"code": "NOPE", "message": "no way"})
    assert (error.code, error.message, error.recoverable) == ("NOPE", "no way", False)
    error = tool_error("raise", {"code": "AGAIN", "recoverable": True})
    assert (error.code, error.recoverable) == ("AGAIN", True)


def test_crash_is_a_tool_error_not_recoverable() -> None:
    error = tool_error("crash", {"message": "boom"})
    assert error.code == ErrorCode.TOOL_ERROR
    assert error.recoverable is False
    assert_words(error.message, "'crash'", "RuntimeError", "boom")


def test_sleep_advances_virtual_time_and_returns_value_or_seconds() -> None:
    clock = VirtualClock()
    assert call("sleep", {"seconds": 2.5}, clock=clock) == 2.5
    assert clock.now() == 2.5
    assert call("sleep", {"seconds": 1, "value": {"x": 1}}, clock=clock) == {"x": 1}
    assert clock.now() == 3.5


def test_sleep_of_a_million_virtual_seconds_completes() -> None:
    clock = VirtualClock()
    assert call("sleep", {"seconds": 1_000_000}, clock=clock) == 1_000_000
    assert clock.now() == 1_000_000


# --------------------------------------------------------------------------- registry


def test_register_and_duplicate_registration() -> None:
    registry = ToolRegistry()
    registry.register("a", lambda args, ctx: 1)
    with pytest.raises(ToolRegistryError) as info:
        registry.register("a", lambda args, ctx: 2)
    assert_words(str(info.value), "'a'", "already registered")
    assert call("a", {}, registry=registry) == 1


def test_register_as_decorator_keeps_the_docstring() -> None:
    registry = ToolRegistry()

    @registry.register("greet")
    def greet(args: Mapping[str, Any], ctx: ToolContext) -> str:
        """Say hello.

        More text."""
        return f"hi {args['name']}"

    assert greet({"name": "x"}, ToolContext(RealClock())) == "hi x"
    assert registry.get("greet").description == "Say hello."
    assert call("greet", {"name": "bob"}, registry=registry) == "hi bob"


@pytest.mark.parametrize("bad", [3, "text", {"a": 1}])
def test_register_refuses_what_is_not_callable(bad: Any) -> None:
    registry = ToolRegistry()
    with pytest.raises(ToolRegistryError):
        registry.register("x", bad)
    with pytest.raises(ToolRegistryError):
        registry.register("y")(bad)
    assert len(registry) == 0


def test_register_refuses_an_empty_name() -> None:
    with pytest.raises(ToolRegistryError):
        ToolRegistry().register("", lambda args, ctx: 1)


def test_get_unknown_tool_lists_the_registered_ones() -> None:
    with pytest.raises(ToolRegistryError) as info:
        builtin_registry().get("nope")
    assert_words(str(info.value), "unknown tool 'nope'", "echo", "sleep")
    with pytest.raises(ToolRegistryError) as info:
        ToolRegistry().get("nope")
    assert_words(str(info.value), "none")


def test_registry_container_protocol_and_copy() -> None:
    registry = ToolRegistry()
    registry.register("b", lambda args, ctx: 1)
    registry.register("a", lambda args, ctx: 1)
    assert list(registry) == ["a", "b"]
    assert len(registry) == 2
    assert "a" in registry and "z" not in registry
    clone = registry.copy()
    clone.register("c", lambda args, ctx: 1)
    assert "c" in clone and "c" not in registry


def test_calling_an_unknown_tool_is_a_tool_error() -> None:
    error = tool_error("nope", {}, registry=ToolRegistry())
    assert (error.code, error.recoverable) == (ErrorCode.TOOL_ERROR, False)
    assert_words(error.message, "unknown tool 'nope'")


def test_async_tools_and_context_are_supported() -> None:
    registry = ToolRegistry()
    seen: list[ToolContext] = []

    async def slow(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        seen.append(ctx)
        await ctx.clock.sleep(3)
        return [ctx.node, ctx.attempt, ctx.workflow]

    registry.register("slow", slow)
    clock = VirtualClock()
    assert call("slow", {}, registry=registry, clock=clock, attempt=2, node="x") == ["x", 2, "wf"]
    assert clock.now() == 3
    assert seen[0].path == () and seen[0].idempotency_key is None


def test_tool_error_passes_through_unchanged() -> None:
    registry = ToolRegistry()

    def fails(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        raise ToolError("MINE", "mine", recoverable=False)

    registry.register("fails", fails)
    error = tool_error("fails", {}, registry=registry)
    assert (error.code, error.message, error.recoverable) == ("MINE", "mine", False)


def test_timeout_error_raised_by_a_tool_is_a_recoverable_timeout() -> None:
    registry = ToolRegistry()

    async def slow(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        raise TimeoutError("upstream")

    registry.register("slow", slow)
    error = tool_error("slow", {}, registry=registry)
    assert (error.code, error.recoverable) == (ErrorCode.TIMEOUT, True)
    assert_words(error.message, "'slow'", "upstream")


def test_plain_exception_in_an_async_tool_is_tool_error() -> None:
    registry = ToolRegistry()

    async def broken(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        return {}["missing"]

    registry.register("broken", broken)
    error = tool_error("broken", {}, registry=registry)
    assert (error.code, error.recoverable) == (ErrorCode.TOOL_ERROR, False)
    assert_words(error.message, "KeyError")


@pytest.mark.parametrize(
    "result", [{1, 2}, object(), math.nan, {"a": math.inf}, {1: "x"}, [b"bytes"]]
)
def test_non_json_tool_result_is_tool_error(result: Any) -> None:
    registry = ToolRegistry()
    registry.register("odd", lambda args, ctx: result)
    error = tool_error("odd", {}, registry=registry)
    assert (error.code, error.recoverable) == (ErrorCode.TOOL_ERROR, False)
    assert_words(error.message, "'odd'", "not JSON data")


def test_tuple_results_become_lists() -> None:
    registry = ToolRegistry()
    registry.register("pair", lambda args, ctx: {"p": (1, (2, 3))})
    assert call("pair", {}, registry=registry) == {"p": [1, [2, 3]]}


# --------------------------------------------------------------------------- tool modules


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for tool modules; modules imported from it are forgotten
    afterwards."""
    directory = tmp_path / "mods"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        if module is not None and str(directory) in str(getattr(module, "__file__", "")):
            del sys.modules[name]


def _package(directory: Path, body: str) -> str:
    name = f"toolpkg_{uuid.uuid4().hex[:8]}"
    write(directory / name / "__init__.py", "")
    write(directory / name / "mod.py", body)
    return name


TOOLS_MODULE = """
def register_tools(registry):
    registry.register("greet", lambda args, ctx: "hi " + args["name"])

def other(registry):
    registry.register("wave", lambda args, ctx: "o/")

not_callable = 3
"""


def test_load_module_calls_register_tools(module_dir: Path) -> None:
    package = _package(module_dir, TOOLS_MODULE)
    registry = builtin_registry()
    registry.load_module(f"{package}.mod")
    assert "greet" in registry and "wave" not in registry
    assert call("greet", {"name": "ann"}, registry=registry) == "hi ann"


def test_load_module_with_a_named_function(module_dir: Path) -> None:
    package = _package(module_dir, TOOLS_MODULE)
    registry = ToolRegistry()
    registry.load_module(f"{package}.mod:other")
    assert list(registry) == ["wave"]


@pytest.mark.parametrize("attr", ["missing", "not_callable"])
def test_load_module_without_the_hook(module_dir: Path, attr: str) -> None:
    package = _package(module_dir, TOOLS_MODULE)
    with pytest.raises(ToolRegistryError) as info:
        ToolRegistry().load_module(f"{package}.mod:{attr}")
    assert_words(str(info.value), package, f"no callable '{attr}'")


def test_load_module_that_cannot_be_imported(module_dir: Path) -> None:
    package = _package(module_dir, "def register_tools(registry:\n")
    with pytest.raises(ToolRegistryError) as info:
        ToolRegistry().load_module(f"{package}.mod")
    assert_words(str(info.value), "could not be imported", "SyntaxError")
    with pytest.raises(ToolRegistryError) as info:
        ToolRegistry().load_module("no_such_module_anywhere_42")
    assert_words(str(info.value), "no_such_module_anywhere_42", "ModuleNotFoundError")


def test_module_that_raises_during_registration_leaves_the_registry_unchanged(
    module_dir: Path,
) -> None:
    package = _package(
        module_dir,
        "def register_tools(registry):\n"
        "    registry.register('half', lambda args, ctx: 1)\n"
        "    raise ValueError('config missing')\n",
    )
    registry = builtin_registry()
    before = list(registry)
    with pytest.raises(ToolRegistryError) as info:
        registry.load_module(f"{package}.mod")
    assert_words(str(info.value), f"{package}.mod", "ValueError", "config missing")
    assert list(registry) == before
    assert "half" not in registry


def test_module_registering_a_duplicate_leaves_the_registry_unchanged(module_dir: Path) -> None:
    package = _package(
        module_dir,
        "def register_tools(registry):\n"
        "    registry.register('fresh', lambda args, ctx: 1)\n"
        "    registry.register('echo', lambda args, ctx: 2)\n",
    )
    registry = builtin_registry()
    with pytest.raises(ToolRegistryError) as info:
        registry.load_module(f"{package}.mod")
    assert_words(str(info.value), "'echo'", "already registered")
    assert "fresh" not in registry
    assert call("echo", {"a": 1}, registry=registry) == {"a": 1}


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


# --------------------------------------------------------------------------- clocks


def test_virtual_concurrent_sleeps_overlap() -> None:
    clock = VirtualClock()

    async def main() -> float:
        await asyncio.gather(clock.sleep(5), clock.sleep(3), clock.sleep(5))
        return clock.now()

    assert clock.run(main) == 5


def test_virtual_sequential_sleeps_add_up() -> None:
    clock = VirtualClock()

    async def main() -> list[float]:
        seen = []
        for seconds in (1, 2.5, 0, -4):
            await clock.sleep(seconds)
            seen.append(clock.now())
        return seen

    assert clock.run(main) == [1, 3.5, 3.5, 3.5]


def test_virtual_timeout_is_in_virtual_seconds() -> None:
    clock = VirtualClock()

    async def main() -> str:
        try:
            async with clock.timeout(2):
                await clock.sleep(3600)
        except TimeoutError:
            return "timed out"
        return "finished"

    assert clock.run(main) == "timed out"
    assert clock.now() == 2


def test_virtual_timeout_not_reached() -> None:
    clock = VirtualClock()

    async def main() -> str:
        async with clock.timeout(10):
            await clock.sleep(4)
        return "finished"

    assert clock.run(main) == "finished"
    assert clock.now() == 4


def test_virtual_asyncio_wait_for_uses_virtual_time() -> None:
    clock = VirtualClock()

    async def main() -> bool:
        try:
            await asyncio.wait_for(clock.sleep(100), timeout=7)
        except TimeoutError:
            return True
        return False

    assert clock.run(main) is True
    assert clock.now() == 7


def test_successive_runs_continue_the_timeline() -> None:
    clock = VirtualClock(start=100)
    assert clock.now() == 100

    async def wait(seconds: float) -> float:
        await clock.sleep(seconds)
        return clock.now()

    assert clock.run(lambda: wait(4)) == 104
    assert clock.now() == 104
    assert clock.run(lambda: wait(1)) == 105


def test_run_returns_the_value_and_propagates_exceptions() -> None:
    clock = VirtualClock()

    async def ok() -> int:
        return 42

    async def boom() -> None:
        await clock.sleep(1)
        raise KeyError("x")

    assert clock.run(ok) == 42
    with pytest.raises(KeyError):
        clock.run(boom)
    assert clock.now() == 1
    assert clock.run(ok) == 42


def test_virtual_clock_outside_its_loop_raises_setup_error() -> None:
    clock = VirtualClock()
    with pytest.raises(SetupError) as info:
        asyncio.run(clock.sleep(1))
    assert_words(str(info.value), "VirtualClock", "clock.run")

    async def timeout_elsewhere() -> None:
        async with clock.timeout(1):
            pass

    with pytest.raises(SetupError):
        asyncio.run(timeout_elsewhere())


def test_virtual_clock_of_another_clock_run_is_refused() -> None:
    mine, other = VirtualClock(), VirtualClock()

    async def main() -> None:
        await other.sleep(1)

    with pytest.raises(SetupError):
        mine.run(main)


def test_virtual_clock_run_is_not_reentrant() -> None:
    clock = VirtualClock()

    async def never() -> None:  # pragma: no cover - never started
        return None

    async def main() -> None:
        clock.run(never)

    with pytest.raises(EngineStateError):
        clock.run(main)


def test_real_clock_basics() -> None:
    clock = RealClock()
    first = clock.now()

    async def main() -> tuple[float, float, bool]:
        inside = clock.now()
        await clock.sleep(0)
        await clock.sleep(-5)
        timed_out = False
        try:
            async with clock.timeout(0.01):
                await clock.sleep(30)
        except TimeoutError:
            timed_out = True
        return inside, clock.now(), timed_out

    inside, after, timed_out = clock.run(main)
    assert timed_out
    assert after >= inside
    assert clock.now() >= first


# --------------------------------------------------------------------------- result contract


def _result() -> RunResult:
    inner = NodeError(
        node="x", code="BOOM", message="inner", recoverable=True, attempts=3, path=(("L", 2),)
    )
    return RunResult(
        engine="graph",
        workflow_id="wf",
        status=RunStatus.PAUSED,
        outputs={},
        vars={"v": [1, {"a": None}]},
        node_outputs={"start": {"x": 1}},
        node_errors={"t": NodeError(node="t", code="TOOL_ERROR", message="m")},
        trace=(
            TraceEvent(seq=0, kind=TraceKind.STARTED, node="start"),
            TraceEvent(seq=1, kind=TraceKind.COMPLETED, node="start", time=0.5),
            TraceEvent(
                seq=2,
                kind=TraceKind.RETRYING,
                node="x",
                attempt=1,
                path=(("L", 2),),
                detail={"code": "BOOM", "delay": 1.0},
            ),
            TraceEvent(
                seq=3, kind=TraceKind.DEDUPLICATED, node="d", attempt=0, detail={"key": "k"}
            ),
        ),
        errors=(NodeError(node="L", code="BOOM", message="inner", cause=inner),),
        pause=PauseInfo(node="ask", prompt="Name?", schema={"type": "string"}, path=(("L", 0),)),
        metrics=RunMetrics(node_executions=3, duration=12.5, wall_seconds=0.01, custom=1),
    )


def test_result_json_round_trip() -> None:
    result = _result()
    text = result.model_dump_json()
    again = RunResult.model_validate_json(text)
    assert again == result
    assert again.errors[0].cause is not None and again.errors[0].cause.path == (("L", 2),)
    assert again.metrics.model_extra == {"custom": 1}


def test_result_pause_schema_is_serialised_as_schema() -> None:
    dumped = _result().model_dump(mode="json")
    assert dumped["pause"]["schema"] == {"type": "string"}
    assert "schema_" not in dumped["pause"]
    assert dumped["trace"][2]["path"] == [["L", 2]]


def test_result_helpers() -> None:
    result = _result()
    assert result.executed_nodes() == frozenset({"start", "d"})
    assert result.error_codes() == [("L", "BOOM")]
    assert result.trace[2].step() == ("x", (("L", 2),), 1, "retrying")
    assert result.node_errors["t"].as_scope() == {
        "code": "TOOL_ERROR",
        "message": "m",
        "attempts": 1,
    }


def test_result_refuses_unknown_fields_and_statuses() -> None:
    data = _result().model_dump(mode="json")
    with pytest.raises(ValidationError):
        RunResult.model_validate({**data, "extra": 1})
    with pytest.raises(ValidationError):
        RunResult.model_validate({**data, "status": "done"})
    with pytest.raises(ValidationError):
        TraceEvent.model_validate({"seq": 0, "kind": "exploded", "node": "x"})


def test_result_subclass_may_add_fields() -> None:
    class JourneyResult(RunResult):
        transcript: tuple[str, ...] = ()

    result = JourneyResult(
        engine="journey", workflow_id="w", status="completed", transcript=("hi",)
    )
    assert RunResult.model_validate(result.model_dump(exclude={"transcript"})).status == (
        RunStatus.COMPLETED
    )


# --------------------------------------------------------------------------- failures


def test_shared_failures_have_fixed_codes_and_messages() -> None:
    timeout = failures.timeout(1.5)
    assert (timeout.code, timeout.message, timeout.recoverable) == (
        "TIMEOUT",
        "timed out after 1.5 s",
        True,
    )
    limit = failures.loop_limit("L", 3)
    assert (limit.code, limit.recoverable) == ("LOOP_LIMIT", False)
    assert_words(limit.message, "'L'", "max_iterations (3)")
    depth = failures.subworkflow_depth("child")
    assert depth.code == "SUBWORKFLOW_DEPTH"
    assert_words(depth.message, "'child'", str(failures.MAX_SUBWORKFLOW_DEPTH))
    assert (failures.cancelled().code, failures.cancelled().message) == ("CANCELLED", "cancelled")


def test_node_error_wrapped_and_compensation_failed() -> None:
    failure = ToolError("X", "bad", recoverable=True)
    error = failures.node_error("t", failure, attempts=3, path=(("P", 1),))
    assert error == NodeError(
        node="t", code="X", message="bad", recoverable=True, attempts=3, path=(("P", 1),)
    )
    outer = failures.wrapped("P", error)
    assert (outer.node, outer.code, outer.message, outer.recoverable, outer.attempts) == (
        "P",
        "X",
        "bad",
        False,
        1,
    )
    assert outer.cause == error
    comp = failures.compensation_failed("t", "undo", NodeFailure("TOOL_ERROR", "oops"))
    assert comp.code == "COMPENSATION_FAILED"
    assert_words(comp.message, "'undo'", "TOOL_ERROR", "oops")


# --------------------------------------------------------------------------- retry policy


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(max_attempts=5, initial_interval=1, backoff_coefficient=3, max_interval=10)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 3, 9, 10]
    assert RetryPolicy(initial_interval=2).effective_max_interval == 200


def test_retry_policy_decides_retries() -> None:
    policy = RetryPolicy(max_attempts=3, non_retryable_codes=("FATAL",))
    assert policy.retries("X", True, 1)
    assert policy.retries("X", True, 2)
    assert not policy.retries("X", True, 3)
    assert not policy.retries("X", False, 1)
    assert not policy.retries("FATAL", True, 1)
    assert not RetryPolicy().retries("X", True, 1)


# --------------------------------------------------------------------------- input schemas


SCHEMA = InputSchema.model_validate(
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "integer"}},
            "size": {"enum": ["s", "m"]},
        },
        "required": ["name"],
    }
)


def _invalid(schema: InputSchema, payload: Any) -> InputInvalid:
    with pytest.raises(InputInvalid) as info:
        schema.check(payload)
    assert info.value.code == ErrorCode.INPUT_INVALID
    assert info.value.recoverable is False
    return info.value


def test_input_schema_accepts_a_matching_payload() -> None:
    SCHEMA.check({"name": "a", "tags": [1, 2], "size": "m", "extra": True})


def test_input_schema_names_the_payload_path() -> None:
    assert_words(_invalid(SCHEMA, {"name": 1}).message, "payload.name", "not of type 'string'")
    assert_words(
        _invalid(SCHEMA, {"name": "a", "tags": [1, "x"]}).message,
        "payload.tags[1]",
        "'x'",
        "integer",
    )
    assert_words(
        _invalid(SCHEMA, {"name": "a", "size": "xl"}).message, "payload.size", "not one of"
    )
    assert_words(_invalid(SCHEMA, "text").message, "payload:", "object")


def test_input_schema_reports_several_places() -> None:
    message = _invalid(SCHEMA, {"tags": ["x"]}).message
    assert_words(message, "payload: 'name' is a required property", "payload.tags[0]")


def test_input_schema_caps_the_list_of_problems() -> None:
    message = _invalid(SCHEMA, {"name": "a", "tags": ["a", "b", "c", "d", "e", "f", "g"]}).message
    assert message.count("payload.tags[") == 5
    assert_words(message, "(and 2 more)")


def test_input_schema_lists_list_positions_in_order() -> None:
    """With more than ten bad items the first ones listed must be [0]..[4], not [0], [1],
    [10], [11], [2] (positions compared as text)."""
    message = _invalid(SCHEMA, {"name": "a", "tags": [str(i) for i in range(12)]}).message
    listed = [int(part.split("]")[0]) for part in message.split("payload.tags[")[1:]]
    assert listed == [0, 1, 2, 3, 4]


def test_input_schema_type_lists_and_json_schema() -> None:
    schema = InputSchema.model_validate({"type": ["string", "null"], "description": "d"})
    schema.check(None)
    schema.check("x")
    assert_words(_invalid(schema, 3).message, "payload")
    assert schema.as_json_schema() == {"type": ["string", "null"], "description": "d"}


def test_input_schema_refuses_unknown_keywords() -> None:
    with pytest.raises(ValidationError):
        InputSchema.model_validate({"type": "string", "pattern": "x"})
    with pytest.raises(ValidationError):
        InputSchema.model_validate({"type": "text"})
