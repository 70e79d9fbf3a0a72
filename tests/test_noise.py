"""Noise filtering the Diffy way (compat/noise.py): a field that differs between runs of the
same engine is noise; a field that differs only between the engines is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compat.check import CheckOptions, run_check
from compat.noise import PathNoise
from compat.report import CaseReport
from compat.tolerances import Tolerances

NOISY_TOOLS = '''
import uuid


def register_tools(registry):
    """`stamp`: a fresh random token on every call, like a request id from a real service."""
    registry.register("stamp", lambda args, ctx: uuid.uuid4().hex)
'''

SHIFTED_ENGINE = '''
from compat.engines import JourneyAdapter


class Shifted(JourneyAdapter):
    """The journey engine, with outputs.total one too high: a real incompatibility."""

    name = "shifted"

    def run_case(self, registry, inputs, conversation, *, tools=None):
        result = super().run_case(registry, inputs, conversation, tools=tools)
        outputs = {**result.outputs, "total": result.outputs["total"] + 1}
        return result.model_copy(update={"outputs": outputs})


engine = Shifted()
'''

FIXTURE = {
    "workflow": {
        "id": "stamped",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "stamp", "type": "tool", "params": {"tool": "stamp"}},
            {
                "id": "end",
                "type": "end",
                "params": {
                    "outputs": {
                        "token": "{{ nodes.stamp.output }}",
                        "total": "{{ inputs.a + inputs.b }}",
                    }
                },
            },
        ],
        "edges": [{"source": "start", "target": "stamp"}, {"source": "stamp", "target": "end"}],
    },
    "cases": [{"name": "sum", "inputs": {"a": 2, "b": 3}}],
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compat.toml").write_text('tool_modules = ["noisy_tools"]\n')
    (tmp_path / "noisy_tools.py").write_text(NOISY_TOOLS)
    (tmp_path / "shifted_engine.py").write_text(SHIFTED_ENGINE)
    (tmp_path / "stamped.yaml").write_text(yaml.safe_dump(FIXTURE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _check(project: Path, **options: Any) -> CaseReport:
    report = run_check([project / "stamped.yaml"], CheckOptions(**options))
    (case,) = report.cases
    return case


def test_without_noise_runs_a_random_token_looks_incompatible(project: Path) -> None:
    case = _check(project)
    assert not case.compatible
    paths = {d.path for dim in case.dimensions for d in dim.differences}
    assert "outputs.token" in paths


def test_noise_runs_filter_the_token_and_list_it(project: Path) -> None:
    case = _check(project, noise_runs=3)
    assert case.compatible and case.score == 1.0
    assert all(not dim.differences for dim in case.dimensions)
    assert "outputs.token" in case.noisy_paths
    assert "context.nodes.stamp" in case.noisy_paths
    assert "outputs.total" not in case.noisy_paths


def test_a_real_difference_survives_the_noise_filter(project: Path) -> None:
    case = _check(project, noise_runs=3, shadow="shifted_engine:engine")
    assert not case.compatible
    outputs = next(d for d in case.dimensions if d.name == "outputs")
    assert [d.path for d in outputs.differences] == ["outputs.total"]
    assert outputs.differences[0].primary == 5 and outputs.differences[0].shadow == 6
    # the noisy token is left out, so the one output leaf left is the one that differs
    assert outputs.score == 0.0
    assert "outputs.token" in case.noisy_paths


def test_the_noisy_path_can_be_ignored_for_good(project: Path) -> None:
    (project / "compat.toml").write_text(
        'tool_modules = ["noisy_tools"]\n[tolerances]\n'
        'ignore_paths = ["**.token", "context.nodes.stamp"]\n'
    )
    case = _check(project)
    assert case.compatible and case.score == 1.0


@pytest.mark.parametrize(
    ("raw", "noise", "reported"),
    [
        (1.0, 0.0, True),  # differs only across engines
        (1.0, 1.0, False),  # differs as much within one engine
        (0.0, 0.5, False),  # noise only
        (1.0, 0.2, True),  # relative .67, absolute .8
        (1.0, 0.9, False),  # relative .05 < .2
    ],
)
def test_diffy_formulas(raw: float, noise: float, reported: bool) -> None:
    evidence = PathNoise("p", raw, noise)
    total = raw + noise
    assert evidence.relative == pytest.approx(abs(raw - noise) / total)
    assert evidence.absolute == pytest.approx(abs(raw - noise))
    assert evidence.reported(Tolerances()) is reported


def test_thresholds_are_configurable() -> None:
    evidence = PathNoise("p", 1.0, 0.5)  # relative 1/3, absolute .5
    assert evidence.reported(Tolerances())
    assert not evidence.reported(Tolerances(noise_relative_threshold=0.5))
    assert not evidence.reported(Tolerances(noise_absolute_threshold=0.6))
