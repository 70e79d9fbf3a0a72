"""Record and replay (compat/record.py): the shadow sees the primary's outside world exactly,
and whatever the recording cannot answer is a difference of its own."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import condition, end, linear, node, start, tool, workflow

from compat.compare import compare_runs
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.record import Recording, RecordingRegistry, ReplayRegistry, ToolCall
from compat.tolerances import Tolerances
from engines.documents import load_fixture
from engines.errors import SnapshotInvalid
from engines.model import WorkflowRegistry, validate_workflow
from engines.tools import ToolContext, ToolRegistry, builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def counting_tools() -> ToolRegistry:
    """Built-ins plus `ticket`, whose answer changes on every call: an outside world that is
    never the same twice."""
    tools = builtin_registry()
    counter = itertools.count(1)

    def ticket(args: Mapping[str, Any], ctx: ToolContext) -> Any:
        return {"ticket": next(counter), "for": args.get("who")}

    tools.register("ticket", ticket)
    return tools


def _registry(doc: dict[str, Any]) -> WorkflowRegistry:
    return WorkflowRegistry([validate_workflow(doc)], tools=counting_tools())


TICKETS = _registry(
    linear(
        start(),
        tool("a", "ticket", who="{{ inputs.who }}"),
        tool("b", "ticket", who="again"),
        end(first="{{ nodes.a.output.ticket }}", second="{{ nodes.b.output.ticket }}"),
    )
)


def _record(
    engine: Any, registry: WorkflowRegistry, inputs: dict[str, Any], tools: ToolRegistry
) -> tuple[EngineRun, Recording]:
    recorder = RecordingRegistry(tools)
    run = run_engine(engine, registry, inputs, (), tools=recorder)
    return run, recorder.recording()


def test_the_recording_holds_every_call_with_its_place_and_result() -> None:
    run, recording = _record(GraphAdapter(), TICKETS, {"who": "ann"}, counting_tools())
    assert run.status == "completed"
    assert [(c.node, c.tool, c.attempt) for c in recording.calls] == [
        ("a", "ticket", 1),
        ("b", "ticket", 1),
    ]
    assert recording.calls[0].args == {"who": "ann"}
    assert recording.calls[0].result == {"ticket": 1, "for": "ann"}
    assert run.result is not None and run.result.outputs == {"first": 1, "second": 2}


def test_replay_gives_the_shadow_the_primarys_world() -> None:
    primary, recording = _record(GraphAdapter(), TICKETS, {"who": "ann"}, counting_tools())
    live = counting_tools()
    for _ in range(5):  # this world has moved on: live, its next ticket would be 6
        live.get("ticket").fn({}, None)  # type: ignore[arg-type]
    replay = ReplayRegistry(recording, live)
    shadow = run_engine(JourneyAdapter(), TICKETS, {"who": "ann"}, (), tools=replay)
    assert shadow.result is not None and shadow.result.outputs == {"first": 1, "second": 2}
    dimension = replay.dimension()
    assert dimension.differences == () and dimension.score == 1.0
    assert replay.served == 2
    assert compare_runs(primary, shadow, TICKETS.main, Tolerances()).score == 1.0


def test_without_replay_the_same_world_gives_different_answers() -> None:
    tools = counting_tools()
    primary = run_engine(GraphAdapter(), TICKETS, {"who": "ann"}, (), tools=tools)
    shadow = run_engine(JourneyAdapter(), TICKETS, {"who": "ann"}, (), tools=tools)
    comparison = compare_runs(primary, shadow, TICKETS.main, Tolerances())
    assert "outputs" in comparison.differing_dimensions()


def test_a_call_the_recording_lacks_is_a_miss_answered_live() -> None:
    replay = ReplayRegistry(Recording(), counting_tools())
    shadow = run_engine(JourneyAdapter(), TICKETS, {"who": "ann"}, (), tools=replay)
    assert shadow.status == "completed"
    assert shadow.result is not None and shadow.result.outputs == {"first": 1, "second": 2}
    dimension = replay.dimension()
    assert [d.kind for d in dimension.differences] == ["unrecorded_call", "unrecorded_call"]
    assert dimension.differences[0].path == "replay.wf/a#1:ticket"
    assert dimension.score == 0.0


def test_other_arguments_are_a_miss_and_unmade_calls_are_reported() -> None:
    _, recording = _record(GraphAdapter(), TICKETS, {"who": "ann"}, counting_tools())
    replay = ReplayRegistry(recording, counting_tools())
    run_engine(JourneyAdapter(), TICKETS, {"who": "bob"}, (), tools=replay)
    kinds = {d.path: d.kind for d in replay.dimension().differences}
    assert kinds == {"replay.wf/a#1:ticket": "args_changed"}
    assert replay.dimension().score == pytest.approx(0.5)

    branchy = _registry(
        workflow(
            [
                start(),
                condition("c", "inputs.x"),
                tool("yes", "ticket", who="y"),
                tool("no", "ticket", who="n"),
                end(),
            ],
            ["start -> c", "c[true] -> yes", "c[false] -> no", "yes -> end", "no -> end"],
        )
    )
    _, recorded_yes = _record(GraphAdapter(), branchy, {"x": True}, counting_tools())
    replay = ReplayRegistry(recorded_yes, counting_tools())
    run_engine(JourneyAdapter(), branchy, {"x": False}, (), tools=replay)
    found = {(d.path, d.kind, d.severity.value) for d in replay.dimension().differences}
    assert found == {
        ("replay.wf/no#1:ticket", "unrecorded_call", "high"),
        ("replay.wf/yes#1:ticket", "unused_call", "high"),
    }


def test_recorded_errors_and_attempts_replay_exactly() -> None:
    fixture = load_fixture(FIXTURES / "retries.yaml")
    for case in fixture.cases:
        primary, recording = _record(
            GraphAdapter(), fixture.registry, dict(case.inputs), builtin_registry()
        )
        failed = [c for c in recording.calls if c.error is not None]
        if case.name == "exhausts-attempts":
            assert failed and max(c.attempt for c in recording.calls) > 1
        replay = ReplayRegistry(recording, builtin_registry())
        shadow = run_engine(
            JourneyAdapter(), fixture.registry, case.inputs, case.conversation, tools=replay
        )
        comparison = compare_runs(
            primary, shadow, fixture.workflow, Tolerances(), extra=(replay.dimension(),)
        )
        assert comparison.score == 1.0, (case.name, comparison.differences)


def test_a_recorded_timeout_times_out_the_shadow_alike() -> None:
    fixture = load_fixture(FIXTURES / "wait_and_timeout.yaml")
    cancelled = []
    for case in fixture.cases:
        primary, recording = _record(
            GraphAdapter(), fixture.registry, dict(case.inputs), builtin_registry()
        )
        replay = ReplayRegistry(recording, builtin_registry())
        shadow = run_engine(JourneyAdapter(), fixture.registry, case.inputs, (), tools=replay)
        assert compare_runs(primary, shadow, fixture.workflow, Tolerances()).score == 1.0
        cancelled += [c for c in recording.calls if c.cancelled]
    assert cancelled, "the fixture's slow tool call should have been cancelled by its timeout"
    assert all(c.duration > 0 for c in cancelled)


def test_a_subworkflow_called_twice_replays_by_arguments() -> None:
    fixture = load_fixture(FIXTURES / "subworkflow.yaml")
    case = fixture.cases[0]
    _, recording = _record(GraphAdapter(), fixture.registry, dict(case.inputs), builtin_registry())
    places = [c.where for c in recording.calls]
    assert len(places) > len(set(places)), "the fixture should call one place twice"
    replay = ReplayRegistry(recording, builtin_registry())
    run_engine(JourneyAdapter(), fixture.registry, case.inputs, (), tools=replay)
    assert replay.dimension().differences == ()


def test_recordings_save_and_load(tmp_path: Path) -> None:
    _, recording = _record(GraphAdapter(), TICKETS, {"who": "ann"}, counting_tools())
    file = tmp_path / "rec.json"
    recording.save(file)
    assert Recording.load(file) == recording


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "rec.json"),
        ('{"calls": [{"node": "a"}]}', "calls.0.tool"),
        ('{"calls": [], "extra": 1}', "extra"),
    ],
)
def test_a_bad_recording_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "rec.json"
    file.write_text(text)
    with pytest.raises(SnapshotInvalid, match=message.replace(".", r"\.")):
        Recording.load(file)


def test_a_missing_recording_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotInvalid, match="cannot read the recording"):
        Recording.load(tmp_path / "nope.json")


def test_labels_name_the_place() -> None:
    call = ToolCall(tool="t", workflow="w", node="n", path=(("L", 2),), attempt=3)
    assert call.label == "w/n[L=2]#3:t"


def test_recording_does_not_change_the_run() -> None:
    doc = linear(
        start(), node("x", "transform", value="{{ inputs.v * 2 }}"), end(v="{{ nodes.x.output }}")
    )
    registry = WorkflowRegistry([validate_workflow(doc)], tools=builtin_registry())
    plain = run_engine(GraphAdapter(), registry, {"v": 4}, ())
    recorded, recording = _record(GraphAdapter(), registry, {"v": 4}, builtin_registry())
    assert recording.calls == ()
    assert plain.result is not None and recorded.result is not None
    assert plain.result.outputs == recorded.result.outputs == {"v": 8}
