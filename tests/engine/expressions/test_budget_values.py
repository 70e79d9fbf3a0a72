"""Large integers and large values, wherever they can enter a run (docs/semantics.md §5,
"Budgets"): a template's result, the run's inputs, an answer, a tool's result, a literal in a
document. Both engines refuse the same ones the same way, through the shared code, and what
they accept can be printed, saved, compared and shown everywhere — an integer of more than
4,300 digits used to crash one engine's printing and not the other's."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from budget_support import ADAPTERS, one_node, run_both, same_failure, same_outputs
from rich.console import Console

from compat.compare import compare_runs
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.render import comparison_table, print_result, side_by_side
from compat.tolerances import Tolerances
from engines.errors import ExpressionError, SetupError, WorkflowInvalid
from engines.expressions import as_json, compile_template
from engines.expressions.budgets import MAX_DEPTH, MAX_INT_DIGITS, MAX_VALUE_ITEMS
from engines.model import WorkflowRegistry, validate_workflow
from engines.tools import builtin_registry

#: The longest integer allowed (4,000 nines) and the shortest refused (10 ** 4000).
LONGEST = 10**MAX_INT_DIGITS - 1
TOO_LONG = 10**MAX_INT_DIGITS


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def ask() -> dict[str, Any]:
    return one_node(None, "input", prompt="n?")


# --------------------------------------------------------------------------- integers


def test_integers_up_to_the_limit_travel_alike_and_print_everywhere() -> None:
    doc = one_node("{{ inputs.n - 1 }}")
    results = run_both(doc, {"n": LONGEST})
    assert same_outputs(results) == {"v": LONGEST - 1}
    for result in results.values():
        assert str(LONGEST - 1) in result.model_dump_json()
        json.dumps(result.model_dump(mode="json"))
    console = Console(file=io.StringIO(), width=120)
    print_result(console, results["graph"])
    assert str(LONGEST - 1)[:40] in console.file.getvalue()  # type: ignore[attr-defined]


def test_integers_up_to_the_limit_survive_a_saved_and_resumed_pause() -> None:
    doc = one_node(None, "input", prompt="{{ inputs.n }}")
    tools = builtin_registry()
    registry = WorkflowRegistry([validate_workflow(doc)], tools=tools)
    for adapter in ADAPTERS:
        result = adapter(tools).run_case(registry, {"n": LONGEST}, [LONGEST], roundtrip=True)
        assert result.status.value == "completed", result.errors
        assert result.outputs == {"v": LONGEST}


def test_a_template_integer_past_the_limit_is_an_expression_error_in_both() -> None:
    message = same_failure(
        run_both(one_node("{{ inputs.n + 1 }}"), {"n": LONGEST}), "t", "EXPRESSION_ERROR"
    )
    assert "(limit: MAX_INT_DIGITS)" in message


def test_inputs_with_an_integer_past_the_limit_are_refused_alike() -> None:
    registry = WorkflowRegistry([validate_workflow(one_node(1))], tools=builtin_registry())
    messages = []
    for adapter in ADAPTERS:
        with pytest.raises(SetupError) as info:
            adapter().run_case(registry, {"n": [TOO_LONG]}, [])
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "(limit: MAX_INT_DIGITS)" in messages[0]


def test_an_answer_with_an_integer_past_the_limit_is_input_invalid_in_both() -> None:
    message = same_failure(run_both(ask(), conversation=[{"n": TOO_LONG}]), "t", "INPUT_INVALID")
    assert "(limit: MAX_INT_DIGITS)" in message


def test_a_tool_result_past_the_limit_is_the_tools_error_in_both() -> None:
    doc = one_node(
        None, "tool", tool="multiply", args={"a": "{{ 10 ** 2500 }}", "b": "{{ 10 ** 2500 }}"}
    )
    message = same_failure(run_both(doc), "t", "TOOL_ERROR")
    assert "'multiply'" in message and "(limit: MAX_INT_DIGITS)" in message


def test_a_tool_failing_with_an_unprintable_integer_is_reported_alike() -> None:
    def fails(args: Any, ctx: Any) -> Any:
        raise ValueError(TOO_LONG * 10**400)  # str() of it raises

    tools = builtin_registry()
    tools.register("fails", fails)
    message = same_failure(
        run_both(one_node(None, "tool", tool="fails", args={}), tools=tools), "t", "TOOL_ERROR"
    )
    assert message == "tool 'fails' raised ValueError: (a message that cannot be printed)"


def test_a_document_literal_past_the_limit_is_refused_at_validation() -> None:
    with pytest.raises(WorkflowInvalid, match=r"limit: MAX_INT_DIGITS"):
        validate_workflow(one_node({"n": [TOO_LONG]}))
    validate_workflow(one_node({"n": [LONGEST]}))


def test_seconds_too_big_for_a_float_are_an_expression_error_in_both() -> None:
    doc = one_node(None, "wait", seconds="{{ 10 ** 400 }}")
    assert "seconds" in same_failure(run_both(doc), "t", "EXPRESSION_ERROR")


def test_the_comparator_and_the_printers_take_integers_beyond_floats() -> None:
    registry = WorkflowRegistry([validate_workflow(one_node(1))], tools=builtin_registry())
    runs = [run_engine(adapter(), registry, {}, []) for adapter in (GraphAdapter, JourneyAdapter)]

    def with_output(run: EngineRun, value: Any) -> EngineRun:
        assert run.result is not None
        return run.model_copy(
            update={"result": run.result.model_copy(update={"outputs": {"v": value}})}
        )

    for left, right in [(LONGEST, LONGEST - 1), (LONGEST, 1.5), (LONGEST, LONGEST)]:
        primary, shadow = with_output(runs[0], left), with_output(runs[1], right)
        comparison = compare_runs(primary, shadow, registry.main, Tolerances())
        differs = any(d.differences for d in comparison.dimensions if d.name == "outputs")
        assert differs is (left != right)
        console = Console(file=io.StringIO(), width=120)
        console.print(comparison_table(comparison, primary, shadow))
        console.print(side_by_side(primary, shadow))
        json.dumps(comparison.model_dump(mode="json"))


def test_tolerances_compare_integers_beyond_floats_exactly() -> None:
    tolerant = Tolerances(rel_tol=1e-9)
    assert tolerant.numbers_equal(LONGEST, LONGEST - 1)
    assert not tolerant.numbers_equal(LONGEST, LONGEST // 2)
    assert not Tolerances().numbers_equal(LONGEST, 1.5)


# --------------------------------------------------------------------------- size and depth


def _tools(result: Any) -> Any:
    tools = builtin_registry()
    tools.register("make", lambda args, ctx: result)
    return tools


def _looped() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


@pytest.mark.parametrize(
    ("result", "limit"),
    [
        ([[0] * 100_000] * 101, "MAX_VALUE_ITEMS"),
        (nested(MAX_DEPTH + 1), "MAX_DEPTH"),
        ({"n": TOO_LONG}, "MAX_INT_DIGITS"),
        (_looped(), "MAX_DEPTH"),
    ],
    ids=["shared-list", "too-deep", "long-int", "contains-itself"],
)
def test_a_tool_result_over_a_value_budget_is_the_tools_error(result: Any, limit: str) -> None:
    doc = one_node(None, "tool", tool="make", args={})
    message = same_failure(run_both(doc, tools=_tools(result)), "t", "TOOL_ERROR")
    assert f"(limit: {limit})" in message


def test_inputs_as_deep_as_allowed_are_read_by_templates_alike() -> None:
    deep = nested(MAX_DEPTH - 1)  # the inputs mapping itself is the first level
    assert same_outputs(run_both(one_node("{{ inputs.x | list }}"), {"x": deep})) == {"v": deep}


def test_inputs_too_deep_are_refused_alike() -> None:
    registry = WorkflowRegistry([validate_workflow(one_node(1))], tools=builtin_registry())
    for adapter in ADAPTERS:
        with pytest.raises(SetupError, match=r"limit: MAX_DEPTH"):
            adapter().run_case(registry, {"x": nested(MAX_DEPTH)}, [])


def test_a_shared_part_is_walked_once_and_counted_each_time() -> None:
    inner = [0] * 1000
    within = [inner] * (MAX_VALUE_ITEMS // 1001)
    assert as_json(within) is within
    with pytest.raises(ExpressionError, match=r"limit: MAX_VALUE_ITEMS"):
        as_json([inner] * (MAX_VALUE_ITEMS // 1000))
    shared = tuple(range(40))
    converted = as_json([shared] * 3)
    assert converted == [list(shared)] * 3 and converted[0] is converted[2]


def test_integers_are_measured_by_their_bits_exactly_at_the_limit() -> None:
    assert as_json(LONGEST) == LONGEST and as_json(-LONGEST) == -LONGEST
    for value in (TOO_LONG, -TOO_LONG, TOO_LONG * 2**40):
        with pytest.raises(ExpressionError, match=r"limit: MAX_INT_DIGITS"):
            as_json(value)


# --------------------------------------------------------------------------- the fast path


SCOPE: dict[str, Any] = {
    "inputs": {"big": "x" * 600_000, "rows": [[1, 2], {"a": "b"}], "deep": nested(MAX_DEPTH)},
}


@pytest.mark.parametrize(
    "source",
    [
        "a {{ inputs.big }}{{ inputs.big }}",
        "a {{ inputs.big }}",
        "rows: {{ inputs.rows }}",
        "{{ inputs.rows }} and {{ inputs.big }}",
        "deep: {{ inputs.deep }}",
    ],
)
def test_the_fast_path_agrees_with_jinja_on_the_budgets(source: str) -> None:
    out = []
    for fast in (True, False):
        try:
            out.append(compile_template(source, fast=fast).render(SCOPE))
        except ExpressionError as exc:
            out.append(("error", exc.message))
    assert out[0] == out[1]
