"""`compat fuzz`: the strategies reach every feature, a campaign is deterministic for a seed
(whatever the number of workers), and a divergence is shrunk into a fixture that `compat
check` reproduces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compat.fuzz import FEATURES, FeatureChoice, cases, fixtures, workflows
from compat.fuzz.campaign import (
    Fuzzer,
    FuzzOptions,
    divergence_type,
    key_path,
    normalise,
    round_seed,
    rounds,
)
from compat.fuzz.command import parse_duration
from compat.fuzz.drive import run_fuzz
from engines.documents import fixture_from_data, load_fixture
from engines.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "docs.examples.broken_engine:engine"


class Recording(Fuzzer):
    """A fuzzer that keeps every example it compares (as fixture JSON)."""

    def __init__(self, options: FuzzOptions) -> None:
        super().__init__(options)
        self.seen: list[str] = []

    def compare(self, example):  # type: ignore[no-untyped-def]
        self.seen.append(json.dumps(example.fixture(), sort_keys=True))
        return super().compare(example)


def test_every_feature_is_generated_and_executed() -> None:
    coverage = run_fuzz(FuzzOptions(database=None, seed=11, examples=400)).coverage
    rows = list(coverage.rows())
    assert {name for _, name, _, _ in rows} == set(FEATURES)
    assert [name for _, name, generated, _ in rows if not generated] == []
    assert coverage.missing() == []


def test_the_same_seed_gives_the_same_examples_and_another_seed_others() -> None:
    first, second, other = (
        Recording(FuzzOptions(database=None, seed=s, batch=30)) for s in (5, 5, 6)
    )
    results = [f.run_round(0, 30) for f in (first, second, other)]
    assert first.seen == second.seen and len(first.seen) == 30
    assert results[0].coverage.to_data() == results[1].coverage.to_data()
    assert other.seen != first.seen


def test_rounds_cover_the_plan_and_have_independent_seeds() -> None:
    plan = list(rounds(FuzzOptions(examples=250, batch=100)))
    assert plan == [(0, 100), (1, 100), (2, 50)]
    assert len({round_seed(1, i) for i in range(100)}) == 100
    assert round_seed(1, 0) != round_seed(2, 0)


@given(
    workflows(max_nodes=6, features="+subworkflow,+recursion,+nesting,+loop,+parallel"),
    st.data(),
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_public_strategies_give_valid_documents(generated, data) -> None:  # type: ignore[no-untyped-def]
    case = data.draw(cases(generated))
    assert set(case.inputs) == {"flags", "d", "z", "items"}
    top = [n for n in generated.document["nodes"] if "parent" not in n]
    assert len([n for n in top if n["type"] != "start"]) <= 6
    assert any(doc["id"].endswith("_rec") for doc in generated.library)


@given(fixtures(max_nodes=5, cases_per_fixture=2))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fixture_documents_load_as_fixtures(document) -> None:  # type: ignore[no-untyped-def]
    fixture = fixture_from_data(document, source="<drawn>", base=ROOT)
    assert 1 <= len(fixture.cases) <= 2


def test_node_types_and_features_are_honoured() -> None:
    @given(workflows(node_types=["transform", "tool"], features="-error_ports"))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def only(generated) -> None:  # type: ignore[no-untyped-def]
        for node in generated.document["nodes"]:
            assert node["type"] in ("start", "transform", "tool")
        assert all(e["handle"] != "error" for e in generated.document["edges"])

    only()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: workflows(max_nodes=0), "max_nodes"),
        (lambda: workflows(node_types=["teleport"]), "unknown node type 'teleport'"),
        (lambda: workflows(features="+warp"), "unknown feature 'warp'"),
        (lambda: workflows(features="+retry,-retry"), "both forced and forbidden"),
        (lambda: workflows(tools={"nope": st.just({})}), "'nope' is not in the tool registry"),
        (lambda: cases("not a workflow"), "cases(): expected"),  # type: ignore[arg-type]
        (lambda: fixtures(cases_per_fixture=0), "cases_per_fixture"),
        (lambda: parse_duration("soon"), "--duration 'soon'"),
    ],
)
def test_bad_arguments_are_named(call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_feature_groups_and_durations() -> None:
    choice = FeatureChoice.parse("-modes,+retry")
    assert choice.forbidden == {"roundtrip", "handoff", "replay"} and choice.forced == {"retry"}
    assert [parse_duration(t) for t in ("90", "90s", "10m", "1.5h")] == [90, 90, 600, 5400]


def test_keys_name_the_bug_not_the_example() -> None:
    types = {"n2": "loop", "n7": "tool", "n3b0": "transform"}
    assert normalise('trace.n7@[["n2", 1]]#2', types) == 'trace.tool@[["loop", #]]##'
    assert key_path("context", "context.nodes.n2.results[0].all[1]", types) == (
        "context.nodes.loop"
    )
    assert key_path("outputs", "outputs.o_n3b0.x", types) == "outputs.o_transform"
    assert divergence_type(("a", "b", "c")) is divergence_type(("a", "b", "c"))
    assert divergence_type(("a", "b", "c")) is not divergence_type(("a", "b", "d"))


def test_a_divergence_is_shrunk_saved_and_reproduced(tmp_path: Path) -> None:
    options = FuzzOptions(
        shadow=BROKEN,
        examples=300,
        seed=7,
        database=None,
        features="+loop",
        first=True,
        max_nodes=6,
    )
    report = run_fuzz(options, save=str(tmp_path))
    assert report.findings, "the reversed-loop bug was not found"
    assert report.first_divergence is not None and report.first_divergence <= report.seconds
    for finding in report.findings:
        assert finding.found.key[0] in ("context", "outputs")
        assert finding.reproduced is True
        assert finding.path is not None and finding.path.parent == tmp_path
        fixture = load_fixture(finding.path)  # an ordinary, valid fixture
        assert [c.name for c in fixture.cases] == ["found"]
        assert f"--shadow {BROKEN}" in (fixture.description or "")
        assert finding.found.nodes <= 12, "shrinking left a large workflow"


def test_the_database_replays_an_earlier_failure_first(tmp_path: Path) -> None:
    database = str(tmp_path / "db")
    found = run_fuzz(
        FuzzOptions(
            shadow=BROKEN,
            examples=300,
            seed=7,
            database=database,
            features="+loop",
            first=True,
            max_nodes=6,
        )
    )
    assert found.findings
    # Another seed, too few examples to find it by chance: only the replay can.
    again = run_fuzz(
        FuzzOptions(
            shadow=BROKEN, examples=1, seed=99, database=database, features="+loop", max_nodes=6
        )
    )
    assert {f.found.key for f in again.findings} & {f.found.key for f in found.findings}


def test_two_workers_give_what_one_gives() -> None:
    common = {"examples": 60, "batch": 20, "seed": 3, "database": None}
    one = run_fuzz(FuzzOptions(**common))
    two = run_fuzz(FuzzOptions(**common, workers=2))
    assert one.examples == two.examples == 60
    assert one.rounds == two.rounds == 3
    assert one.coverage.to_data() == two.coverage.to_data()
    assert [f.found.key for f in one.findings] == [f.found.key for f in two.findings] == []


def _compat(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat.cli", "fuzz", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "120"},
    )


def test_cli_exit_codes(tmp_path: Path) -> None:
    clean = _compat("--examples", "40", "--seed", "1", "--no-db", "--no-save", cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert "coverage over 40 examples" in clean.stdout
    assert "seed 1: no divergence" in clean.stdout
    bad = _compat("--features", "+warp", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("compat: --features: unknown feature")
    assert "Traceback" not in bad.stderr
    both = _compat("--examples", "5", "--duration", "5s", cwd=tmp_path)
    assert both.returncode == 2 and "give one of them" in both.stderr


def test_cli_finds_saves_and_reports(tmp_path: Path) -> None:
    found = _compat(
        "--shadow",
        BROKEN,
        "--examples",
        "100",
        "--seed",
        "7",
        "--features",
        "+loop",
        "--max-nodes",
        "6",
        "--no-db",
        "--save",
        str(tmp_path / "found"),
        "--json",
        str(tmp_path / "report.json"),
        cwd=ROOT,
    )
    assert found.returncode == 1, found.stderr
    assert "divergence in context" in found.stdout
    saved = sorted((tmp_path / "found").glob("fuzz-*.yaml"))
    assert saved
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["ok"] is False and all(f["reproduced"] for f in data["findings"])
    assert {f["saved"] for f in data["findings"]} == {str(p) for p in saved}


def test_cli_invalid_and_lifecycle_campaigns(tmp_path: Path) -> None:
    invalid = _compat("--invalid", "--examples", "30", "--seed", "2", "--no-save", cwd=tmp_path)
    assert invalid.returncode == 0, invalid.stdout + invalid.stderr
    assert "no findings" in invalid.stdout
    lifecycle = _compat("--lifecycle", "--examples", "5", "--seed", "2", cwd=tmp_path)
    assert lifecycle.returncode == 0, lifecycle.stdout + lifecycle.stderr
    assert "every run ended as the uninterrupted run" in lifecycle.stdout
    both = _compat("--invalid", "--lifecycle", cwd=tmp_path)
    assert both.returncode == 2 and "give one of them" in both.stderr
