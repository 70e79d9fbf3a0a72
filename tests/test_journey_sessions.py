"""Journey engine sessions: a session saved to JSON and loaded back (by the same engine, a
fresh one, or another process) ends exactly as the uninterrupted session; what a saved
session holds; refusals that change nothing; and the conversation the agent holds
(docs/semantics.md §7.10, §9)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import write
from journey_support import (
    CASE_IDS,
    CONVERSATION_CASES,
    FIXTURES,
    INPUT_FIXTURES,
    Transport,
    case_of,
    converse,
    facts,
    fixture,
    fresh_engine,
    is_json_data,
    journey_engine,
    same_engine,
    saved,
    templates_of,
    transcript,
)

from engines.journey import JourneyResult, Session
from engines.journey.driver import run_case, run_conversation
from engines.result import RunStatus

# --------------------------------------------------------------------------- round trips


def test_every_input_fixture_is_covered() -> None:
    assert {
        "conversation_sequence.yaml",
        "conversation_input_in_loop.yaml",
        "conversation_input_in_parallel.yaml",
        "conversation_independent_inputs.yaml",
        "input_schema_routed.yaml",
        "input_unrouted.yaml",
    } <= set(INPUT_FIXTURES)
    assert len(CONVERSATION_CASES) >= 15


def _everything(result: JourneyResult, session: Session) -> dict[str, Any]:
    return {
        **facts(result),
        "transcript": transcript(result),
        "said": result.said,
        "path": session.path,
        "states_visited": result.states_visited,
        "duration": result.metrics.duration,
    }


TRANSPORTS: dict[str, Transport] = {"same-engine": same_engine, "fresh-engine": fresh_engine}


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize(("name", "case"), CONVERSATION_CASES, ids=CASE_IDS)
def test_saved_and_loaded_at_every_pause_equals_uninterrupted(
    name: str, case: str, transport: str
) -> None:
    registry, the_case = fixture(name).registry, case_of(name, case)
    expected, session = converse(
        registry, the_case.inputs, the_case.conversation, cancel=the_case.cancel
    )
    actual, loaded = converse(
        registry,
        the_case.inputs,
        the_case.conversation,
        TRANSPORTS[transport],
        cancel=the_case.cancel,
    )
    assert _everything(actual, loaded) == _everything(expected, session)
    assert the_case.expect is not None and expected.status is the_case.expect.status
    assert expected.outputs == the_case.expect.outputs


@pytest.mark.parametrize(("name", "case"), CONVERSATION_CASES, ids=CASE_IDS)
def test_driver_round_trip_equals_in_memory(name: str, case: str) -> None:
    registry, the_case = fixture(name).registry, case_of(name, case)
    in_memory = run_case(journey_engine(), registry, the_case, roundtrip=False)
    round_trip = run_case(journey_engine(), registry, the_case, roundtrip=True)
    assert facts(round_trip) == facts(in_memory)
    assert transcript(round_trip) == transcript(in_memory)


@pytest.mark.parametrize("name", INPUT_FIXTURES)
def test_saved_session_is_versioned_json_naming_the_workflow_by_hash_only(name: str) -> None:
    registry = fixture(name).registry
    main = registry.main
    checked = 0
    for the_case in fixture(name).cases:
        session = journey_engine().start_session(registry, the_case.inputs)
        if session.engine.clock.run(session.start).status is not RunStatus.PAUSED:
            continue
        data = session.to_json()
        assert is_json_data(data)
        text = json.dumps(data, allow_nan=False)
        assert json.loads(text) == data
        assert (data["format"], data["version"]) == ("compat.journey.session", 1)
        assert data["workflow"] == {"id": main.id, "hash": main.content_hash}
        assert data["registry"] == {w: v.content_hash for w, v in registry.items()}
        for key in ("nodes", "edges", "params", "schema", "variables", "retry", "outputs"):
            assert f'"{key}":' not in text, key
        for template in templates_of(main.workflow.to_document()):
            assert json.dumps(template) not in text, template
        assert "{{" not in text
        prompts = sorted(q["prompt"] for q in data["questions"])  # rendered, not templates
        assert prompts == sorted(q.prompt for q in session.questions)
        checked += 1
    assert checked


def test_one_saved_session_loads_any_number_of_times() -> None:
    registry = fixture("conversation_input_in_loop.yaml").registry
    engine = journey_engine()
    session = engine.start_session(registry, {"n": 2})
    engine.clock.run(session.start)
    data = saved(session)
    frozen = json.dumps(data, sort_keys=True)
    first = engine.load_session(registry, data)
    engine.clock.run(lambda: first.reply(5))
    one = engine.clock.run(lambda: first.reply(6))
    second = engine.load_session(registry, data)
    engine.clock.run(lambda: second.reply(1))
    two = engine.clock.run(lambda: second.reply(1))
    assert json.dumps(data, sort_keys=True) == frozen
    assert (one.status, one.vars, two.vars) == (RunStatus.COMPLETED, {"total": 11}, {"total": 2})
    assert second.id == first.id == session.id
    last = engine.clock.run(lambda: session.reply(3))  # the original is still at question 1
    assert last.pause is not None and last.pause.prompt == "Amount 2 of 2"


# --------------------------------------------------------------------------- another process

CHILD = """
import json, sys
from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.journey import JourneyEngine
from engines.result import RunStatus
from engines.tools import builtin_registry

fixture_path, session_path, payloads = sys.argv[1:4]
registry = load_fixture(fixture_path, tools=builtin_registry()).registry
engine = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())
with open(session_path, encoding="utf-8") as file:
    session = engine.load_session(registry, json.load(file))
for payload in json.loads(payloads):
    result = engine.clock.run(lambda: session.reply(payload))
    if result.status is not RunStatus.PAUSED:
        break
if result.status is RunStatus.PAUSED:
    with open(session_path, "w", encoding="utf-8") as file:
        json.dump(session.to_json(), file)
print(result.model_dump_json())
"""

NEW_PROCESS = [
    # fixture, case, payloads answered by each child process in turn
    ("conversation_input_in_loop.yaml", "three-iterations", [[10], [2.5, 7]]),
    ("conversation_input_in_parallel.yaml", "branch-zero-first", [[4], [5]]),
    ("conversation_sequence.yaml", "two-answers", [["Ada", "blue"]]),
    ("conversation_independent_inputs.yaml", "lowest-order-key-first", [[75001], ["Paris"]]),
    ("conversation_input_in_loop.yaml", "invalid-payload-fails-loop", [[1, "two"]]),
]


@pytest.mark.parametrize(
    ("name", "case", "hops"), NEW_PROCESS, ids=[f"{f[:-5]}:{c}" for f, c, _ in NEW_PROCESS]
)
def test_resume_in_a_new_process(
    tmp_path: Path, name: str, case: str, hops: list[list[Any]]
) -> None:
    registry, the_case = fixture(name).registry, case_of(name, case)
    assert [p for hop in hops for p in hop] == list(the_case.conversation)
    expected, _ = converse(registry, the_case.inputs, the_case.conversation)
    engine = journey_engine()
    session = engine.start_session(registry, the_case.inputs)
    assert engine.clock.run(session.start).status is RunStatus.PAUSED
    stored = write(tmp_path / "session.json", session.to_json())
    script = write(tmp_path / "resume_child.py", CHILD)
    result: JourneyResult | None = None
    for payloads in hops:
        args = [
            sys.executable,
            str(script),
            str(FIXTURES / name),
            str(stored),
            json.dumps(payloads),
        ]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        result = JourneyResult.model_validate_json(done.stdout.strip().splitlines()[-1])
        if result.status is RunStatus.PAUSED:
            assert json.loads(stored.read_text())["questions"][0]["prompt"] in result.said
    assert result is not None
    assert facts(result) == facts(expected)
    assert transcript(result) == transcript(expected)
    assert the_case.expect is not None and result.status is the_case.expect.status
    assert result.outputs == the_case.expect.outputs


# --------------------------------------------------------------------------- conversation


def test_the_agent_asks_the_rendered_prompt_and_the_transcript_keeps_the_reply() -> None:
    registry = fixture("conversation_sequence.yaml").registry
    engine = journey_engine()
    session = engine.start_session(registry, {})
    first = engine.clock.run(session.start)
    assert first.said == ("What is your name?",)
    assert transcript(first) == [("agent", "What is your name?", "ask_name")]
    second = engine.clock.run(lambda: session.reply("Ada"))
    assert second.said == ("Favourite colour, Ada?",)
    assert second.pause is not None and second.pause.prompt == "Favourite colour, Ada?"
    assert transcript(second) == [
        ("agent", "What is your name?", "ask_name"),
        ("customer", "Ada", "ask_name"),
        ("agent", "Favourite colour, Ada?", "ask_color"),
    ]
    last = engine.clock.run(lambda: session.reply("blue"))
    assert transcript(last)[3] == ("customer", "blue", "ask_color")
    assert last.states_visited == len(session.path) > 0


def test_an_end_node_makes_the_agent_state_its_outputs() -> None:
    registry = fixture("conversation_independent_inputs.yaml").registry
    result, _ = converse(registry, {"country": "fr"}, [75001, "Paris"])
    assert result.status is RunStatus.COMPLETED
    assert [(m.role, m.node) for m in result.transcript] == [
        ("agent", "ask_zip"),
        ("customer", "ask_zip"),
        ("agent", "zip_end"),  # the zip branch ends as soon as it is answered
        ("agent", "ask_city"),
        ("customer", "ask_city"),
        ("agent", "city_end"),
    ]
    for message in result.transcript:
        if message.node in ("zip_end", "city_end"):
            assert json.dumps(result.node_outputs[message.node]) in message.text
    assert result.said == (result.transcript[-1].text,)


def test_two_pending_inputs_are_asked_lowest_order_key_first() -> None:
    registry = fixture("conversation_independent_inputs.yaml").registry
    engine = journey_engine()
    session = engine.start_session(registry, {"country": "fr"})
    first = engine.clock.run(session.start)
    assert first.said == ("Postal code?",)
    assert first.pause is not None and first.pause.node == "ask_zip"
    assert {q.node for q in session.questions} == {"ask_zip", "ask_city"}
    assert session.pending_question().node == "ask_zip"
    second = engine.clock.run(lambda: session.reply(75001))
    assert second.said[-1] == "City?" and "Postal code?" not in second.said
    assert second.pause is not None and second.pause.node == "ask_city"


def test_a_customer_reply_that_is_not_text_is_shown_as_json() -> None:
    registry = fixture("input_schema_routed.yaml").registry
    result, _ = converse(registry, {"name": "Ada"}, [{"age": 36, "unit": "years"}])
    assert transcript(result)[:2] == [
        ("agent", "How old are you, Ada?", "ask_age"),
        ("customer", '{"age": 36, "unit": "years"}', "ask_age"),
    ]


@pytest.mark.parametrize("payload", [{"age": "36"}, 36, object()], ids=["schema", "type", "json"])
def test_input_invalid_routed_by_the_error_port(payload: Any) -> None:
    registry = fixture("input_schema_routed.yaml").registry
    result, _ = converse(registry, {"name": "Ada"}, [payload])
    assert result.status is RunStatus.COMPLETED
    assert result.node_errors["ask_age"].code == "INPUT_INVALID"
    assert result.errors == ()
    assert result.vars == {"age_ok": False, "reason": "INPUT_INVALID"}
    assert [m.role for m in result.transcript] == ["agent", "customer", "agent"]


def test_input_invalid_unrouted_fails_and_the_agent_asks_nothing_more() -> None:
    registry = fixture("conversation_independent_inputs.yaml").registry
    result, session = converse(registry, {"country": "fr"}, ["Paris"])
    assert result.status is RunStatus.FAILED
    assert [(e.node, e.code) for e in result.errors] == [("ask_zip", "INPUT_INVALID")]
    assert result.pause is None and result.said == ()
    assert [e.detail for e in result.trace if e.node == "ask_city" and e.kind == "skipped"] == [
        {"reason": "abandoned"}
    ]
    assert session.questions == []


@pytest.mark.parametrize(
    ("name", "case", "node_id", "prompt", "schema", "path"),
    [
        ("conversation_input_in_loop.yaml", "paused-in-second-iteration", "ask",
         "Amount 2 of 3", {"type": "number"}, (("collect", 1),)),
        ("conversation_input_in_parallel.yaml", "paused-at-branch-one", "ask",
         "Rating from bob?", {"type": "integer"}, (("survey", 1),)),
        ("conversation_sequence.yaml", "no-answers", "ask_name",
         "What is your name?", {"type": "string"}, ()),
    ],
)  # fmt: skip
def test_a_conversation_that_runs_out_leaves_the_run_paused_at_the_next_question(
    name: str, case: str, node_id: str, prompt: str, schema: Any, path: Any
) -> None:
    the_case = case_of(name, case)
    result = run_conversation(
        journey_engine(), fixture(name).registry, the_case.inputs, the_case.conversation
    )
    assert result.status is RunStatus.PAUSED and result.outputs == {}
    assert result.pause is not None
    assert (result.pause.node, result.pause.prompt) == (node_id, prompt)
    assert (result.pause.schema_, result.pause.path) == (schema, path)
    assert result.said[-1] == prompt
    assert the_case.expect is not None and result.vars == the_case.expect.vars
