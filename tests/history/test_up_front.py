"""`compat check`, `compat perf` and `compat fuzz` settle the history before any case runs:
the store is opened (its schema checked) and `--baseline` resolved to a run up front, so a
bad baseline,
a history of a newer schema or a database that cannot be reached is one line and exit 2
with nothing run, shown or recorded — not a whole run wasted first. "Nothing ran" is seen
without a clock: the primary engine (tests/history/marking.py) writes a marker file on
every case it runs, and a refused command leaves none. On both backends."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from compat.history import RunRecord, open_history
from tests.cli_support import Run, compat
from tests.history import marking
from tests.history.test_schema import execute_raw

ROOT = Path(__file__).resolve().parents[2]
BASICS = "fixtures/sequence_basics.yaml"
MARKING = "tests.history.marking:engine"


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the marking engine writes when it runs a case (inherited by `compat`)."""
    path = tmp_path / "ran.txt"
    monkeypatch.setenv(marking.MARKER, str(path))
    monkeypatch.delenv(marking.RECORD_INTO, raising=False)
    return path


def check(db: str | Path, *extra: str) -> Run:
    return compat(
        "check", BASICS, "--in-process", "--primary", MARKING, "--history-db", db, *extra,
        cwd=ROOT,
    )  # fmt: skip


def perf(db: str | Path) -> Run:
    return compat(
        "perf", BASICS, "--case", "int-input", "--repeat", "3", "--in-process",
        "--primary", MARKING, "--history-db", db, cwd=ROOT,
    )  # fmt: skip


def fuzz(db: str | Path) -> Run:
    return compat(
        "fuzz", "--examples", "2", "--no-save", "--no-db", "--primary", MARKING,
        "--history-db", db, cwd=ROOT,
    )  # fmt: skip


def refused(run: Run, marker: Path) -> str:
    """The one line a command refused before running anything said."""
    assert run.code == 2, run.out + run.err
    assert len(run.err_lines) == 1, run.err
    assert run.out == ""  # no table, no summary: nothing was checked
    assert not marker.exists(), "a case ran before the refusal"
    return run.err_lines[0]


def runs_in(url: str) -> list[RunRecord]:
    with open_history(url) as store:
        return store.runs()


def test_a_bad_baseline_is_refused_before_any_case_runs(url: str, marker: Path) -> None:
    empty = refused(check(url, "--baseline", "last-green"), marker)
    assert empty.startswith("compat: --baseline last-green: ")
    assert empty.endswith(" has no green check run yet")
    assert runs_in(url) == []  # nothing recorded either

    first = check(url)
    assert first.code == 0, first.out + first.err
    assert marker.read_text().count("ran\n") == 4  # the marking engine ran every case
    marker.unlink()
    with open_history(url) as store:
        perf_run = store.record(RunRecord(kind="perf", primary="graph", shadow="journey", ok=True))
    typo = refused(check(url, "--baseline", "no-such-branch"), marker)
    assert typo.startswith("compat: --baseline no-such-branch: neither a run id nor a branch ")
    other_kind = refused(check(url, "--baseline", perf_run), marker)
    assert other_kind.startswith(f"compat: --baseline {perf_run}: run {perf_run[:10]} in ")
    assert other_kind.endswith(" is a perf run; a check run is gated on a check run")
    assert len(runs_in(url)) == 2


def test_the_baseline_is_the_run_as_it_was_when_the_command_started(
    url: str, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A green run recorded while this one runs (by its engine's first case, standing in
    for another CI job) is newer, but `last-green` was resolved before: the run before."""
    first = check(url)
    assert first.code == 0, first.out + first.err
    (before,) = runs_in(url)
    monkeypatch.setenv(marking.RECORD_INTO, url)
    gated = check(url, "--baseline", "last-green")
    assert gated.code == 0, gated.out + gated.err
    assert f"no regression against baseline {before.id[:10]} " in gated.out
    assert "not checked in this run" not in gated.out  # the meanwhile run has no cases
    ids = [run.id for run in runs_in(url)]
    assert len(ids) == 3 and marking.MEANWHILE in ids and before.id in ids


def test_a_history_of_a_newer_schema_is_refused_before_any_case_runs(
    url: str, backend: str, marker: Path
) -> None:
    with open_history(url) as store:
        shown = store.url
    execute_raw(url, backend, "UPDATE schema_version SET version = 99")
    newer = (
        f"compat: {shown}: history schema version 99 is newer than this compat understands "
        "(2); upgrade compat"
    )
    for run in (check(url), check(url, "--baseline", "last-green"), perf(url), fuzz(url)):
        assert refused(run, marker) == newer


def _closed_port() -> int:
    """A localhost port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_history_that_cannot_be_opened_is_refused_before_any_case_runs(
    backend: str, tmp_path: Path, marker: Path
) -> None:
    """SQLite: a file under a file (its folder cannot be made); PostgreSQL: a server that is
    not there (the connection refused at once, not after a timeout)."""
    if backend == "sqlite":
        (tmp_path / "plain").write_text("not a folder")
        url = str(tmp_path / "plain" / "h.db")
        reason = f"compat: {tmp_path / 'plain'}: cannot create the history's folder: "
    else:
        url = f"postgresql://nobody@127.0.0.1:{_closed_port()}/history"
        reason = f"compat: {url}: cannot open the history: "
    for run in (check(url), check(url, "--baseline", "last-green"), perf(url), fuzz(url)):
        assert refused(run, marker).startswith(reason)
