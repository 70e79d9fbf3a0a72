"""`--history`, the regression gate (`--baseline`) and `compat history …`, through the real
command line on real engines: record a run, check a buggy engine against it, check the real
engines again."""

from __future__ import annotations

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
