"""`--history`, the regression gate (`--baseline`) and `compat history …`, through the real
command line on real engines: record a run, check a buggy engine against it, check the real
engines again."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

import pytest

from tests.cli_support import Run, compat

ROOT = Path(__file__).resolve().parents[2]
ROUTER = "fixtures/router_first_match.yaml"
BASICS = "fixtures/sequence_basics.yaml"
BUGGY = "tests.mutants.router_last:engine"
DIVERGING = {"first-match-wins", "every-route-matches", "second-route"}


def check(db: Path, *extra: str) -> Run:
    return compat(
        "check", ROUTER, BASICS, "--in-process", "--history-db", str(db), *extra, cwd=ROOT
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "h.db"
    first = check(path)
    assert first.code == 0, first.err
    assert "history: recorded run" in first.out
    return path


def test_the_gate_names_what_got_worse_and_passes_the_real_engines_again(db: Path) -> None:
    worse = check(db, "--shadow", BUGGY, "--baseline", "last-green")
    assert worse.code == 1, worse.err
    named = {
        line.split("::")[1].split(":")[0] for line in worse.lines if line.startswith("regression ")
    }
    assert named == DIVERGING
    assert "3 regression(s) against baseline" in worse.out
    again = check(db, "--baseline", "last-green")
    assert again.code == 0, again.out + again.err
    assert "no regression against baseline" in again.out


def test_known_failures_fail_the_gate_unless_allowed(db: Path) -> None:
    bad = check(db, "--shadow", BUGGY)  # recorded: the buggy run is the branch's newest
    assert bad.code == 1
    runs = compat("history", "list", "--history-db", str(db), "--limit", "1", cwd=ROOT)
    newest = runs.out.split("│")[1].strip()
    strict = check(db, "--shadow", BUGGY, "--baseline", newest)
    assert strict.code == 1 and strict.out.count("regression ") == 3
    allowed = check(db, "--shadow", BUGGY, "--baseline", newest, "--allow-known")
    assert allowed.code == 0, allowed.out
    assert "no regression" in allowed.out


def test_history_list_show_trend_diff_and_prune(db: Path) -> None:
    listed = compat("history", "list", "--history-db", str(db), cwd=ROOT)
    assert listed.code == 0 and "check" in listed.out
    ids = [
        line.split("│")[1].strip()
        for line in listed.lines
        if line.startswith("│") and line.split("│")[1].strip()
    ]
    assert len(ids) >= 2
    shown = compat("history", "show", ids[-1], "--history-db", str(db), cwd=ROOT)
    assert shown.code == 0 and "first-match-wins" in shown.out
    trend = compat("history", "trend", f"{ROUTER}::second-route", "--history-db", str(db), cwd=ROOT)
    assert trend.code == 0 and "score" in trend.out
    assert any(ch in trend.out for ch in "▁█")
    same = compat("history", "diff", ids[-1], ids[-1], "--history-db", str(db), cwd=ROOT)
    assert same.code == 0 and "no case changed" in same.out
    pruned = compat("history", "prune", "--keep", "1", "--history-db", str(db), cwd=ROOT)
    assert pruned.code == 0 and "deleted" in pruned.out
    after = compat("history", "list", "--history-db", str(db), cwd=ROOT)
    assert sum(1 for line in after.lines if " check " in line) == 1


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    for args in (
        ("history", "show", "nope", "--history-db", str(db)),
        ("history", "list", "--kind", "nothing", "--history-db", str(db)),
        ("check", BASICS, "--in-process", "--history-db", str(db), "--baseline", "last-green"),
        ("history", "list", "--history-db", "mysql://nowhere/x"),
    ):
        run = compat(*args, cwd=ROOT)
        assert run.code == 2, (args, run.out, run.err)
        assert len(run.err_lines) == 1 and "Traceback" not in run.err, run.err


def test_a_configured_history_records_without_the_flag(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "fixtures").mkdir(parents=True)
    (project / "fixtures" / "basics.yaml").write_text((ROOT / BASICS).read_text())
    (project / "pyproject.toml").write_text('[tool.compat]\nhistory = "ci/history.db"\n')
    run = compat("check", "fixtures/basics.yaml", "--in-process", cwd=project)
    assert run.code == 0, run.err
    assert (project / "ci" / "history.db").is_file()
    listed = compat("history", "list", cwd=project)
    assert listed.code == 0 and "4/4 passed" in listed.out  # the recorded run, its 4 cases


def recorded(run: Run) -> str:
    """The run id (its first 10 characters) a command says it recorded."""
    found = re.search(r"history: recorded run (\w{10}) in ", run.out)
    assert found, run.out + run.err
    return found[1]


def test_a_branch_baseline_is_that_branchs_newest_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--baseline BRANCH`: the branch's newest check run, green or not (the CI variable
    names the branch each run is recorded on); then `diff`, `trend`'s sparkline and the HTML
    page's trend over the same runs."""
    db = tmp_path / "h.db"
    for variable in ("GITHUB_REF_NAME", "CI_COMMIT_REF_NAME"):
        monkeypatch.delenv(variable, raising=False)

    def on(branch: str, *args: str | Path) -> Run:
        monkeypatch.setenv("GITHUB_HEAD_REF", branch)
        return compat("check", ROUTER, "--in-process", "--history-db", db, *args, cwd=ROOT)

    release = recorded(on("release"))
    topic = on("topic", "--shadow", BUGGY)
    assert topic.code == 1
    topic_id = recorded(topic)
    # Gated on `topic`: its newest run had the same three failures, known ones.
    known = on("topic", "--shadow", BUGGY, "--baseline", "topic")
    assert known.code == 1, known.out + known.err
    assert f"3 regression(s) against baseline {topic_id} " in known.out
    assert known.out.count("a known failure") == 3
    # Gated on `release`: its green run, so the same three cases are newly incompatible.
    page = tmp_path / "page.html"
    worse = on("topic", "--shadow", BUGGY, "--baseline", "release", "--html", page)
    assert worse.code == 1, worse.out + worse.err
    assert f"3 regression(s) against baseline {release} " in worse.out
    assert worse.out.count(": passed -> incompatible (score 1.000 -> ") == 3
    # The page's overview draws the mean score of the four recorded runs, this one last.
    assert '<svg class="trend"' in page.read_text()
    assert "mean score over the last 4 runs" in page.read_text()
    unknown = on("topic", "--baseline", "nowhere")
    assert unknown.code == 2
    assert "--baseline nowhere: neither a run id nor a branch with a check run" in unknown.err

    diff = compat("history", "diff", release, topic_id, "--history-db", db, cwd=ROOT)
    assert diff.code == 1, diff.out + diff.err
    changed = {
        (cells[1].strip(), cells[2].strip(), cells[3].strip())
        for cells in (line.split("│") for line in diff.lines if line.startswith("│"))
        if cells[1].strip()
    }
    assert {(f"{ROUTER}::{case}", "verdict", "passed → incompatible") for case in DIVERGING} <= (
        changed
    )
    assert {case for case, what, _ in changed if what == "score"} == {
        f"{ROUTER}::{case}" for case in DIVERGING
    }
    assert "6 change(s)" in diff.out

    # second-route: 1.000 on release, 0.054 on each of the three buggy runs.
    trend = compat("history", "trend", f"{ROUTER}::second-route", "--history-db", db, cwd=ROOT)
    assert trend.code == 0, trend.err
    assert "score  █▁▁▁  1.000 → 0.054 (min 0.054, max 1.000)" in trend.out


def test_a_history_of_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    assert check(db).code == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
        conn.commit()
    for args in (("history", "list"), ("check", BASICS, "--in-process")):
        refused = compat(*args, "--history-db", db, cwd=ROOT)
        assert refused.code == 2, refused.out + refused.err
        assert refused.err_lines == [
            f"compat: sqlite:///{db}: history schema version 99 is newer than this compat "
            "understands (2); upgrade compat"
        ]


def test_a_shadow_turned_surely_slower_fails_the_gate(tmp_path: Path) -> None:
    """`check --perf`: the shadow goes from faster than the primary to five times slower
    (sleeps, see tests/history/sleepy.py): every case is a perf regression, though every case
    is still compatible; gated on the slow run itself, nothing got worse."""
    db = tmp_path / "h.db"

    def perf_check(shadow: str, *args: str) -> Run:
        return compat(
            "check", BASICS, "--in-process", "--perf", "--history-db", db,
            "--primary", "tests.history.sleepy:base", "--shadow", f"tests.history.sleepy:{shadow}",
            *args, cwd=ROOT,
        )  # fmt: skip

    first = perf_check("quick")
    assert first.code == 0, first.out + first.err
    slower = perf_check("slow", "--baseline", "last-green")
    assert slower.code == 1, slower.out + slower.err
    assert "4 cases: 4 passed" in slower.out, slower.out
    regressions = [line for line in slower.lines if line.startswith("regression ")]
    assert len(regressions) == 4
    for line in regressions:
        assert re.fullmatch(
            rf"regression {BASICS}::[\w-]+: wall time [\d.]+x the primary's \(95 % interval "
            r"[\d.]+-[\d.]+, above 1 \+ band 0\.10\); baseline faster at [\d.]+x",
            line,
        ), line
    same = perf_check("slow", "--baseline", recorded(slower))
    assert same.code == 0, same.out + same.err
    assert "no regression against baseline" in same.out


def test_perf_and_fuzz_runs_are_recorded_too(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    perf = compat(
        "perf", BASICS, "--case", "int-input", "--repeat", "3", "--in-process",
        "--history-db", db, cwd=ROOT,
    )  # fmt: skip
    assert perf.code == 0, perf.out + perf.err
    fuzz = compat(
        "fuzz", "--examples", "5", "--seed", "1", "--no-save", "--no-db", "--history-db", db,
        cwd=ROOT,
    )  # fmt: skip
    assert fuzz.code == 0, fuzz.out + fuzz.err
    listed = compat("history", "list", "--history-db", db, cwd=ROOT)
    kinds = [line.split("│")[3].strip() for line in listed.lines if line.startswith("│ ")]
    assert [k for k in kinds if k] == ["fuzz", "perf"], listed.out
    shown = compat("history", "show", recorded(perf), "--history-db", db, cwd=ROOT)
    assert shown.code == 0 and "int-input" in shown.out and "measured" in shown.out
    fuzzed = compat("history", "show", recorded(fuzz), "--history-db", db, cwd=ROOT)
    assert fuzzed.code == 0 and "examples=5" in fuzzed.out, fuzzed.out
    # A perf run's wall-time ratio over time (no score: perf runs are not scored).
    ratio = compat("history", "trend", "int-input", "--kind", "perf", "--history-db", db, cwd=ROOT)
    assert ratio.code == 0, ratio.out + ratio.err
    assert re.search(
        r"^ratio  █  [\d.]+ → [\d.]+ .*\(shadow / primary wall time\)$", ratio.out, re.M
    )
    assert not re.search(r"^score ", ratio.out, re.M)
    checks = compat("history", "trend", "int-input", "--history-db", db, cwd=ROOT)
    assert checks.code == 0 and "no recorded check runs of int-input" in checks.out
