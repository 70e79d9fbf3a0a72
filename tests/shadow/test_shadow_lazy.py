"""The process runner's answers are read in two steps (compat/shadow/lazy.py): the header
(statuses, the verdict, the costs) at once, the body (both runs, the shadow's value or
exception, the comparison) when a hook or publisher first reads it. What they read is what
the thread runner gives (tests/shadow/test_shadow_process.py compares every scenario); here:
what stays unread, that reading is done once, and what copies and pickles give."""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import threading
from typing import Any

import pytest
from shadow_engines import SERVICE_PID, Echo
from shadow_support import INPUTS, REGISTRY, WAIT, experiment, one_result

from compat.shadow import Experiment, ExperimentResult, Observation, ShadowProcessError


def process(made: list[Experiment], primary: Any, shadow: Any, **options: Any) -> Experiment:
    exp = experiment(primary, shadow, shadow_runner="process", **options)
    made.append(exp)
    return exp


def decoded(result: ExperimentResult) -> bool:
    return result._body.decoded  # type: ignore[attr-defined,no-any-return]


def test_a_match_is_decided_counted_and_summarised_without_reading_the_body(
    made: list[Experiment],
) -> None:
    exp = process(made, "graph", "journey")
    value = exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.matched and exp.stats.matched == 1
    assert "matched: primary graph completed" in result.summary()
    assert result.shadow.status == "completed" and not result.shadow.raised
    assert result.shadow.error is None and result.primary.status == "completed"
    assert result.shadow.describe().startswith("journey completed (")
    assert result.primary.value is value and result.primary.cleaned is value
    assert not decoded(result), "nothing above needs the shadow's runs or the comparison"
    shadow = result.shadow.value
    assert decoded(result)
    assert shadow.engine == "journey" and result.shadow.run.result is shadow
    assert result.shadow.cleaned is shadow
    assert result.primary.run.result is value, "the service's own object, not a copy"
    assert result.comparison is not None and result.comparison.compatible


def test_what_is_not_a_match_is_read_at_once(made: list[Experiment]) -> None:
    exp = process(made, "graph", "shadow_support:OtherOutput")
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.mismatched and decoded(result)
    assert result.comparison is not None and "outputs" in result.comparison.differing_dimensions()


def test_the_first_reads_from_many_threads_decode_once(made: list[Experiment]) -> None:
    exp = process(made, "graph", "journey")
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    seen: list[Any] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait(WAIT)
        seen.append((result.shadow.value, result.shadow.run, result.comparison))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(seen) == 8
    for value, run, comparison in seen:
        assert value is seen[0][0] and run is seen[0][1] and comparison is seen[0][2]


def test_copies_pickles_and_replacements_are_the_plain_classes(made: list[Experiment]) -> None:
    exp = process(made, Echo(), "shadow_engines:Echo")
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert isinstance(result, ExperimentResult) and isinstance(result.shadow, Observation)
    # A result holds its call's registry, which does not pickle; its observations do.
    for made_again in (
        copy.copy(result),
        dataclasses.replace(result, queued_seconds=result.queued_seconds),
    ):
        assert type(made_again) is ExperimentResult and repr(made_again) == repr(result)
        assert made_again == result and result == made_again
        assert made_again.shadow == result.shadow and result.shadow == made_again.shadow
        assert made_again.comparison == result.comparison
    for observed in (result.primary, result.shadow):
        for again in (pickle.loads(pickle.dumps(observed)), copy.deepcopy(observed)):
            assert type(again) is Observation and again == observed and observed == again
            assert repr(again) == repr(observed) and repr(again).startswith("Observation(")
    for frozen, name in ((result, "outcome"), (result.shadow, "value"), (result.shadow, "other")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(frozen, name, None)
    replaced = dataclasses.replace(result.shadow, cleaned="kept")
    assert type(replaced) is Observation and replaced.cleaned == "kept"
    assert replaced.value == result.shadow.value


@pytest.fixture
def service_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers started from here on build `Unreadable` values this process cannot read."""
    monkeypatch.setenv(SERVICE_PID, str(os.getpid()))


@pytest.mark.usefixtures("service_pid")
def test_a_match_that_cannot_be_read_here_says_so_when_read(made: list[Experiment]) -> None:
    exp = process(made, Echo(), "shadow_engines:UnreadableEcho")
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.matched and exp.stats.hook_errors == 0
    assert result.summary().startswith("experiment 'test' on 'sequence_basics': matched")
    with pytest.raises(ShadowProcessError, match=r"cannot be read in this process.*Unreadable"):
        _ = result.shadow.value


@pytest.mark.usefixtures("service_pid")
def test_a_mismatch_that_cannot_be_read_here_is_skipped_and_said_so(
    made: list[Experiment],
) -> None:
    exp = process(made, Echo(), "shadow_engines:UnreadableEcho")
    exp.run(REGISTRY, {**INPUTS, "differ": True})
    assert exp.wait(WAIT)
    assert exp.published == []  # type: ignore[attr-defined]
    stats = exp.stats
    assert stats.skipped_by == {"error": 1} and stats.hook_errors == 1
    error = exp.errors[-1]
    assert error.operation == "experiment" and isinstance(error.exception, ShadowProcessError)
    assert "cannot be read in this process" in str(error.exception)
