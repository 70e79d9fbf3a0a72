"""What a mutant's run says: caught by comparison, caught only by golden answers, survived —
or the mutant's process crashed or hung — and how that reads on one line.

Pure functions over the worker's JSON (tests/mutants/worker.py), so the runner's parent
process never imports the engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.mutants.catalog import Mutant

CAUGHT, GOLDEN, SURVIVED, CRASHED, HUNG = "caught", "golden-only", "survived", "crashed", "hung"


@dataclass
class Verdict:
    mutant: Mutant
    kind: str
    #: mode -> dimensions that showed the bug in the cases reported incompatible there.
    caught_in: dict[str, list[str]] = field(default_factory=dict)
    #: mode -> number of cases whose golden answers failed.
    golden_in: dict[str, int] = field(default_factory=dict)
    #: Modes the harness did not offer.
    unavailable: list[str] = field(default_factory=list)
    #: For a survivor: what changed below the threshold, or what only the probe saw.
    notes: list[str] = field(default_factory=list)
    #: Nothing observable changed on any case (equivalent, or no fixture reaches it).
    no_effect: bool = False
    error: str | None = None
    seconds: float = 0.0
    raw: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Caught by comparison, or a survivor the catalog shows to be equivalent."""
        return self.kind == CAUGHT or (self.kind == SURVIVED and bool(self.mutant.equivalent))

    def line(self) -> str:
        m = self.mutant
        head = f"{m.id:<44} §{m.section:<5} {m.engine:<8} {self.kind.upper():<12}"
        if self.kind == CAUGHT:
            shown = "; ".join(f"{mode}: {', '.join(d)}" for mode, d in self.caught_in.items())
            if m.equivalent:
                shown += " (declared equivalent in the catalog: the claim is wrong)"
            return f"{head} {shown}"
        if self.kind in (CRASHED, HUNG):
            return f"{head} {self.error}"
        extra = []
        if self.golden_in:
            extra.append(
                "golden answers failed: "
                + ", ".join(f"{mode} ({n} cases)" for mode, n in self.golden_in.items())
            )
        if m.equivalent and self.kind == SURVIVED:
            extra.append("equivalent")
        if self.no_effect:
            extra.append("no observable change on any case")
        extra += self.notes
        missing = [mode for mode in m.modes if mode in self.unavailable]
        if missing:
            extra.append(f"meant for {'/'.join(missing)}, which this harness does not offer")
        return f"{head} {'; '.join(extra)}"


def _probe_notes(probe: dict[str, Any] | None) -> tuple[list[str], bool]:
    """Readable notes from the probe, and whether it saw nothing at all."""
    if probe is None:
        return [], False
    notes = []
    for mode, rows in probe.items():
        if not rows:
            continue
        counts: dict[str, int] = {}
        for row in rows:
            for name in row["fields"]:
                counts[name] = counts.get(name, 0) + 1
        fields = ", ".join(f"{n} ({c})" for n, c in sorted(counts.items()))
        notes.append(f"{mode} probe: {len(rows)} cases differ in {fields}; e.g. {rows[0]['case']}")
    return notes, not notes


def baseline_noise(baseline: dict[str, Any] | None, mode: str) -> set[str]:
    """Cases that say nothing about a mutant in `mode`: the real engines already disagree
    on them, or their golden answers already fail."""
    summary = (baseline or {}).get("modes", {}).get(mode)
    if not summary:
        return set()
    return {row["case"] for row in summary["incompatible"]} | set(summary["golden"])


def _without(summary: dict[str, Any], noise: set[str]) -> dict[str, Any]:
    if not noise:
        return summary
    kept = {
        key: [row for row in summary[key] if row["case"] not in noise]
        for key in ("incompatible", "differing")
    }
    return {**summary, **kept, "golden": [c for c in summary["golden"] if c not in noise]}


def judge(
    mutant: Mutant,
    data: dict[str, Any],
    seconds: float = 0.0,
    baseline: dict[str, Any] | None = None,
) -> Verdict:
    """The verdict of one worker result, leaving out the cases the baseline (the real
    engines' check) shows to be noise."""
    verdict = Verdict(mutant, SURVIVED, seconds=seconds, raw=data)
    differing = 0
    for mode, summary in data["modes"].items():
        if summary is None:
            verdict.unavailable.append(mode)
            continue
        if not isinstance(summary, dict):  # skipped: an earlier mode caught it
            continue
        summary = _without(summary, baseline_noise(baseline, mode))
        if summary["incompatible"]:
            dims = sorted({d for row in summary["incompatible"] for d in row["dimensions"]})
            verdict.caught_in[mode] = dims
        if summary["golden"]:
            verdict.golden_in[mode] = len(summary["golden"])
        if summary["differing"] and not summary["incompatible"]:
            rows = summary["differing"]
            dims = sorted({d for row in rows for d in row["dimensions"]})
            low = min(row["score"] for row in rows)
            verdict.notes.append(
                f"{mode}: {len(rows)} cases differ below the threshold in {', '.join(dims)} "
                f"(lowest score {low:.3f}); e.g. {rows[0]['case']}"
            )
        differing += len(summary["differing"]) + len(summary["incompatible"])
    if verdict.caught_in:
        verdict.kind = CAUGHT
        return verdict
    if verdict.golden_in:
        verdict.kind = GOLDEN
    notes, nothing = _probe_notes(data.get("probe"))
    verdict.notes += notes
    verdict.no_effect = nothing and not differing and not verdict.golden_in
    return verdict


def failed(mutant: Mutant, kind: str, error: str, seconds: float) -> Verdict:
    return Verdict(mutant, kind, error=error, seconds=seconds)


def summary_line(verdicts: list[Verdict]) -> str:
    counted = [v for v in verdicts if not v.mutant.equivalent]
    caught = sum(v.kind == CAUGHT for v in counted)
    golden = sum(v.kind == GOLDEN for v in counted)
    return f"caught {caught}/{len(counted)} (by comparison; {golden} more only by golden answers)"
