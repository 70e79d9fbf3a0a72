"""Tools: the built-in tools, the tool registry, tool modules."""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_words, write

from engines.clock import RealClock, VirtualClock
from engines.errors import (
    ErrorCode,
    ToolError,
    ToolRegistryError,
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
        "stand_in",
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
