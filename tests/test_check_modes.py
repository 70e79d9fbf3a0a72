"""`compat check`'s verdict policies and its persistence modes: `--roundtrip` (every pause
resumed from a saved run by a fresh engine), `--handoff` (the shadow's run relayed between
the engines at every pause), and cancelled cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from compat.check import CheckOptions, check_options, run_check
from compat.cli import app
from compat.engines import GraphAdapter, JourneyAdapter, run_engine
from compat.relay import Relay
from engines.documents import Cancel, load_fixture
from engines.errors import ConfigError
from engines.tools import builtin_registry

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def compat(*args: str | Path) -> Any:
    """The command line, in process (one readable line on bad input, exit 2)."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_every_bundled_case_agrees_under_roundtrip_and_handoff() -> None:
    """The unmutated engines at 0 differences in every mode (with --replay too)."""
    report = run_check([FIXTURES], CheckOptions(roundtrip=True, handoff=True, replay=True))
    failing = [(c.fixture, c.case, c.worst) for c in report.cases if not c.passed]
    assert report.ok, failing
    assert report.settings.roundtrip and report.settings.handoff
    assert {c.shadow.engine for c in report.cases} == {"journey⇄graph"}
    assert all(c.score == 1.0 and c.policy == "equivalence" for c in report.cases)


def _sequence() -> Any:
    return load_fixture(FIXTURES / "conversation_sequence.yaml")


@pytest.mark.parametrize(("answers", "last"), [(0, "journey"), (1, "graph"), (2, "journey")])
def test_the_relay_changes_engine_at_every_pause(answers: int, last: str) -> None:
    fixture = _sequence()
    case = next(c for c in fixture.cases if len(c.conversation) >= 2)
    relay = Relay("journey", "graph", builtin_registry())
    run = run_engine(relay, fixture.registry, case.inputs, case.conversation[:answers])
    assert run.result is not None and run.result.engine == last
    plain = run_engine(JourneyAdapter(), fixture.registry, case.inputs, case.conversation[:answers])
    assert plain.result is not None
    assert run.result.outputs == plain.result.outputs
    assert [e.step() for e in run.result.trace] == [e.step() for e in plain.result.trace]


def test_roundtrip_resumes_every_pause_on_a_fresh_engine() -> None:
    made: list[Any] = []

    class Counting(GraphAdapter):
        def engine(self, tools: Any = None) -> Any:
            made.append(tools)
            return super().engine(tools)

    fixture = _sequence()
    case = next(c for c in fixture.cases if len(c.conversation) >= 2)
    adapter = Counting()
    run_engine(adapter, fixture.registry, case.inputs, case.conversation)
    assert len(made) == 1  # the cached engine only
    run_engine(adapter, fixture.registry, case.inputs, case.conversation, roundtrip=True)
    assert len(made) == 1 + len(case.conversation)  # one fresh engine per resume


def test_handoff_needs_the_built_in_engines() -> None:
    result = compat("check", FIXTURES / "sequence_basics.yaml", "--handoff", "--shadow",
                    "harness_engines:legacy")  # fmt: skip
    assert result.exit_code == 2
    assert "--handoff: engine 'harness_engines:legacy' is not built in" in result.output


def test_min_score_is_the_threshold_policy() -> None:
    options = check_options(min_score=0.9)
    assert options.min_score == 0.9
    with pytest.raises(ConfigError, match="--min-score is a similarity gate"):
        check_options(min_score=0.9, policy="equivalence")
    result = compat("check", FIXTURES / "sequence_basics.yaml", "--min-score", "0.9",
                    "--policy", "equivalence")  # fmt: skip
    assert result.exit_code == 2 and "similarity gate" in result.output
    report = run_check([FIXTURES / "sequence_basics.yaml"], CheckOptions(min_score=0.9))
    assert {c.policy for c in report.cases} == {"threshold"}


def test_the_policy_can_come_from_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "compat.toml"
    config.write_text('policy = "threshold"\n')
    report = run_check([FIXTURES / "sequence_basics.yaml"], CheckOptions(config=str(config)))
    assert report.settings.policy == "threshold"
    assert {c.policy for c in report.cases} == {"threshold"}
    config.write_text('policy = "lenient"\n')
    with pytest.raises(ConfigError, match="policy"):
        run_check([FIXTURES / "sequence_basics.yaml"], CheckOptions(config=str(config)))


def test_an_engine_that_cannot_cancel_says_so_per_case() -> None:
    report = run_check(
        [FIXTURES / "cancellation.yaml"], CheckOptions(shadow="harness_engines:legacy")
    )
    assert not report.ok
    for case in report.cases:
        assert case.shadow.status == "crashed"
        assert "cannot cancel a run: its run_case takes no `cancel` argument" in (
            case.shadow.problem or ""
        )
    plain = run_check(
        [FIXTURES / "sequence_basics.yaml"],
        CheckOptions(shadow="harness_engines:legacy", roundtrip=True),
    )
    assert all("cannot resume a saved run" in (c.shadow.problem or "") for c in plain.cases)
    assert run_check(
        [FIXTURES / "sequence_basics.yaml"], CheckOptions(shadow="harness_engines:legacy")
    ).ok


def test_a_cancelled_case_runs_alike_through_run_and_diff() -> None:
    case = "cancelled-inside-a-sub-workflow"
    result = compat("run", FIXTURES / "cancellation.yaml", "--engine", "journey", "--case", case)
    assert result.exit_code == 1 and "cancelled" in result.output
    diff = compat("diff", FIXTURES / "cancellation.yaml", "--case", case)
    assert diff.exit_code == 0, diff.output
    assert "compatible (equivalence)" in diff.output


def test_cancel_when_paused_after_a_roundtrip_compensates_what_was_saved() -> None:
    fixture = load_fixture(FIXTURES / "cancellation_paused.yaml")
    case = fixture.case("walked-away-with-two-approvals-pending")
    for adapter in (GraphAdapter(), JourneyAdapter()):
        run = run_engine(
            adapter,
            fixture.registry,
            case.inputs,
            case.conversation,
            cancel=Cancel(when="paused"),
            roundtrip=True,
        )
        assert run.result is not None
        compensated = [(e.node, e.path) for e in run.result.trace if e.kind == "compensated"]
        assert compensated == [
            ("confirm", ()),
            ("hold", (("rows", 1),)),
            ("hold", (("rows", 0),)),
            ("reserve", ()),
        ]
        abandoned = [e.path for e in run.result.trace if e.detail.get("reason") == "abandoned"]
        assert abandoned == [(("approvals", 0),), (("approvals", 1),)]
