"""The result contract (JSON round trip), shared failures, retry policy, input schemas."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import assert_words
from pydantic import ValidationError

from engines import failures
from engines.errors import (
    ErrorCode,
    InputInvalid,
    NodeFailure,
    ToolError,
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


def test_trusted_trace_event_is_the_validated_one() -> None:
    """`TraceEvent.trusted` skips validation; what it builds must be indistinguishable."""
    for args in (
        (0, "started", "a", 1, (), 0.0, None),
        (7, "failed", "b", 3, (("L", 2),), 1.5, {"code": "X", "handled": False}),
    ):
        seq, kind, node, attempt, path, time, detail = args
        trusted = TraceEvent.trusted(*args)
        valid = TraceEvent(
            seq=seq,
            kind=kind,
            node=node,
            attempt=attempt,
            path=path,
            time=time,
            detail=detail if detail is not None else {},
        )
        assert type(trusted) is TraceEvent
        assert trusted == valid
        assert list(trusted.__dict__.items()) == list(valid.__dict__.items())
        assert trusted.model_fields_set == valid.model_fields_set
        assert trusted.__pydantic_extra__ is None and trusted.__pydantic_private__ is None
        assert trusted.model_dump_json() == valid.model_dump_json()
        assert repr(trusted) == repr(valid)
    first = TraceEvent.trusted(0, "started", "a", 1, (), 0.0, None)
    second = TraceEvent.trusted(1, "started", "a", 1, (), 0.0, None)
    assert first.detail == {} and first.detail is not second.detail
    copied = first.model_copy(update={"seq": 5})
    assert copied.seq == 5 and first.seq == 0
    assert first.model_fields_set == set(TraceEvent.model_fields)


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
