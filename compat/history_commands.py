"""The work behind `compat history …`, `--history` and `--baseline`: which store a command
records into, recording a run, the regression gate, and the terminal views of the history
(runs, one run, trends as sparklines, the difference between two runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from engines.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from compat.history import HistoryStore, RunRecord

SPARKS = "▁▂▃▄▅▆▇█"
DEFAULT_DB = Path(".compat") / "history.db"


def history_url(url: str | None, config: Path | None) -> str | None:
    """The store to use: `url` (from `--history-db`), else the configuration's `history`
    (a path relative to the configuration's folder, or a URL); None when neither is set."""
    if url:
        return url
    from engines.config import load_config

    settings = load_config(path=config) if config else load_config()
    if not settings.history:
        return None
    if "://" in settings.history:
        return settings.history
    base = settings.root if settings.root is not None else Path.cwd()
    return str((base / settings.history).resolve())


def open_store(url: str | None, config: Path | None = None) -> HistoryStore:
    from compat.history import open_history

    return open_history(history_url(url, config))


def wanted(flag: bool, url: str | None, config: Path | None) -> tuple[bool, str | None]:
    """Whether a command records its run, and where: `--history-db URL`, else a configured
    `history` (which turns recording on), else `--history` into the default store."""
    if url:
        return True, url
    configured = history_url(None, config)
    if configured:
        return True, configured
    return flag, None


# ---------------------------------------------------------------- recording and the gate


@dataclass(frozen=True)
class HistoryPlan:
    """What a command does with the history, settled by `plan` before it runs anything."""

    #: Whether the run is recorded (`finish` opens the store again to record it).
    recording: bool
    #: The store, as `open_store` takes it (None: the default one).
    url: str | None
    #: Where the run is recorded, as said to the user (a URL's password hidden).
    where: str
    #: The run gated on, as it was before this run (None: no gate).
    baseline: RunRecord | None = None
    allow_known: bool = False
    margin: float = 0.0


def plan(
    history: tuple[bool, str | None],
    gate: tuple[str, bool, float] | None,
    config: Path | None,
    *,
    kind: str = "check",
) -> HistoryPlan | None:
    """Before a command runs anything: whether it records its run and gates it, with the
    store opened (an older schema migrated; a newer one, an unreachable database or a bad
    URL refused) and the baseline `gate` names resolved to a run of `kind` — so a bad
    `--baseline` or history costs one line and exit 2 up front, not a whole run. None when
    the command does neither. The store is closed again: no connection is held idle through
    a long run (a PostgreSQL server or a proxy in between may drop one); `finish` opens it
    again to record the run in one transaction."""
    flag, url = wanted(*history, config)
    if not flag and gate is None:
        return None
    with open_store(url, config) as store:
        baseline = None if gate is None else baseline_of(store, gate[0], kind=kind)
        where = store.url if url and "://" in url else (url or str(DEFAULT_DB))
    if gate is None:
        return HistoryPlan(recording=flag, url=url, where=where)
    _, allow_known, margin = gate
    if margin < 0:
        raise ConfigError(f"--score-margin: {margin} is below 0")
    return HistoryPlan(flag, url, where, baseline, allow_known, margin)


def finish(console: Console, planned: HistoryPlan | None, current: RunRecord) -> bool | None:
    """After the run: check `current` against the planned baseline (if any), then record it
    (if asked); print what came of both on `console` (rich markup). Returns the gate's
    verdict (None without a gate)."""
    from compat.history import open_history
    from compat.history.gate import regressions

    if planned is None:
        return None
    verdict: bool | None = None
    baseline = planned.baseline
    if baseline is not None:
        every = regressions(
            baseline, current, margin=planned.margin, allow_known=planned.allow_known
        )
        # A case this run did not check (a subset of the fixtures) is not worse than before.
        found = [r for r in every if r.kind != "missing"]
        missing = len(every) - len(found)
        against = f"baseline {baseline.id[:10]} ({_commit(baseline)}, {baseline.started_at[:19]})"
        for regression in found:
            console.print(f"[red]regression[/] {escape(regression.message)}", soft_wrap=True)
        if missing:
            console.print(f"{missing} case(s) of the baseline were not checked in this run")
        if found:
            console.print(f"{len(found)} regression(s) against {escape(against)}")
        else:
            console.print(f"no regression against {escape(against)}")
        verdict = not found
    if planned.recording:
        with open_history(planned.url) as store:
            run_id = store.record(current)
        console.print(f"history: recorded run {run_id[:10]} in {escape(planned.where)}")
    return verdict


def baseline_of(store: HistoryStore, baseline: str, *, kind: str = "check") -> RunRecord:
    """`last-green`, a run id (or a unique prefix of one), or a branch (its newest run): a
    run of `kind`, the kind of run it gates."""
    from compat.history.errors import HistoryError

    if baseline == "last-green":
        found = store.last_green(kind=kind)
        if found is None:
            raise ConfigError(f"--baseline last-green: {store.url} has no green {kind} run yet")
        return found
    try:
        found = store.run(baseline)
    except HistoryError as unknown:
        found = store.latest(kind=kind, branch=baseline)
        if found is None:
            raise ConfigError(
                f"--baseline {baseline}: neither a run id nor a branch with a {kind} run in "
                f"{store.url} ({unknown})"
            ) from None
        return found
    if found.kind != kind:
        raise ConfigError(
            f"--baseline {baseline}: run {found.id[:10]} in {store.url} is a {found.kind} run; "
            f"a {kind} run is gated on a {kind} run"
        )
    return found


# ---------------------------------------------------------------- views


def spark(values: list[float | None]) -> str:
    """A sparkline of `values` scaled between their minimum and maximum (· for a gap)."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    out = []
    for value in values:
        if value is None:
            out.append("·")
        elif span == 0:
            out.append(SPARKS[-1])
        else:
            out.append(SPARKS[round((value - low) / span * (len(SPARKS) - 1))])
    return "".join(out)


def _commit(run: RunRecord) -> str:
    if not run.commit:
        return "-"
    return run.commit[:8] + ("*" if run.dirty else "")


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title=None, show_lines=False)
    for column in ("run", "when (UTC)", "kind", "commit", "branch", "engines", "verdict"):
        table.add_column(column)
    table.add_column("cases", justify="right")
    table.add_column("mean score", justify="right")
    for run in runs:
        total, passed = run.counts.get("cases"), run.counts.get("passed")
        extra = [
            f"{v} {k}" for k, v in sorted(run.counts.items()) if v and k not in ("cases", "passed")
        ]
        counts = ", ".join(
            ([f"{passed}/{total} passed"] if total is not None and passed is not None else [])
            + extra
        )
        table.add_row(
            run.id[:10],
            run.started_at[:19].replace("T", " "),
            run.kind,
            _commit(run),
            escape(run.branch or "-"),
            escape(f"{run.primary} vs {run.shadow}"),
            "[green]ok[/]" if run.ok else "[red]not ok[/]",
            escape(counts),
            "-" if run.mean_score is None else f"{run.mean_score:.3f}",
        )
    return table


def run_table(run: RunRecord) -> Table:
    table = Table()
    for column in ("fixture", "case", "status"):
        table.add_column(column)
    table.add_column("score", justify="right")
    table.add_column("worst difference")
    for case in run.cases:
        worst = case.differences[0] if case.differences else None
        table.add_row(
            escape(case.fixture),
            escape(case.case),
            escape(case.status),
            "-" if case.score is None else f"{case.score:.3f}",
            escape(f"{worst.get('severity', '')} {worst.get('note', '')}") if worst else "",
        )
    return table


def show_trend(
    console: Console, store: HistoryStore, case: str | None, limit: int, *, kind: str = "check"
) -> None:
    points = store.trend(case, kind=kind, limit=limit)
    if not points:
        console.print(f"no recorded {kind} runs{' of ' + escape(case) if case else ''}")
        return
    scores = [p.score for p in points]
    ratios = [p.ratio for p in points]
    what = escape(case) if case else "mean score of every case"
    console.print(f"{what}: {len(points)} runs, oldest first")
    if any(s is not None for s in scores):  # a perf run's cases have no score
        console.print(f"score  {spark(scores)}  {_span(scores)}")
    if any(r is not None for r in ratios):
        console.print(f"ratio  {spark(ratios)}  {_span(ratios)} (shadow / primary wall time)")
    table = Table()
    for column in ("run", "when (UTC)", "commit", "score", "status", "ratio [95 %]", "perf"):
        table.add_column(column)
    for p in points:
        interval = (
            f"{p.ratio:.3f} [{p.low:.3f}, {p.high:.3f}]"
            if p.ratio is not None and p.low is not None and p.high is not None
            else "-"
        )
        table.add_row(
            p.run_id[:10],
            p.started_at[:19].replace("T", " "),
            (p.commit or "-")[:8],
            "-" if p.score is None else f"{p.score:.3f}",
            escape(p.status or "-"),
            interval,
            escape(p.perf_verdict or "-"),
        )
    console.print(table)


def _span(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return ""
    return f"{present[0]:.3f} → {present[-1]:.3f} (min {min(present):.3f}, max {max(present):.3f})"


def changes(a: RunRecord, b: RunRecord) -> list[tuple[str, str, str]]:
    """Cases whose verdict, score or perf verdict differs from run `a` to run `b`:
    (case, what, a → b)."""
    before = {c.key: c for c in a.cases}
    after = {c.key: c for c in b.cases}
    out: list[tuple[str, str, str]] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            out.append((key, "case", "absent → present" if old is None else "present → absent"))
            continue
        if old.status != new.status:
            out.append((key, "verdict", f"{old.status} → {new.status}"))
        if old.score is not None and new.score is not None and abs(old.score - new.score) > 1e-9:
            out.append((key, "score", f"{old.score:.3f} → {new.score:.3f}"))
        verdicts = [_perf_verdict(c) for c in (old, new)]
        if verdicts[0] != verdicts[1]:
            out.append((key, "perf", f"{verdicts[0] or '-'} → {verdicts[1] or '-'}"))
    return out


def _perf_verdict(case: Any) -> str | None:
    if not case.perf:
        return None
    wall = case.perf.get("wall_seconds")
    return None if wall is None else str(wall.get("verdict"))
