"""`python -m tests.mutants` (`make mutants`): run the mutant suite against the harness.

First checks the real engines (the baseline: a case they already disagree on is left out of
every verdict). Then prints one line per mutant as it finishes (id, section, engine, verdict,
and the modes and dimensions that caught it), the survivors, and last `caught N/M (by
comparison; G more only by golden answers)`. Exits 0 only if every mutant not shown to be
equivalent is caught by comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.mutants.catalog import MODES, CatalogError, load_catalog, select
from tests.mutants.runner import (
    DEFAULT_TIMEOUT,
    FIXTURES,
    BaselineError,
    run_all,
    run_baseline,
)
from tests.mutants.verdict import CAUGHT, Verdict, baseline_noise, summary_line


def _ids(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants", description=__doc__)
    parser.add_argument("--only", help="comma-separated mutant ids (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--json", dest="json_path", help="write every verdict as JSON here")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="check modes to run, among plain,roundtrip,handoff,replay (modes the harness does not "
        "offer yet are skipped and reported)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per mutant, s")
    parser.add_argument(
        "--all-modes",
        action="store_true",
        help="run every mode even after one caught the mutant (default: stop there)",
    )
    parser.add_argument(
        "--fixtures", default=FIXTURES, help="comma-separated fixture paths (default: fixtures/)"
    )
    parser.add_argument(
        "--probe",
        choices=("auto", "always", "never"),
        default="auto",
        help="compare full results field by field (auto: for mutants the harness missed)",
    )
    return parser.parse_args(argv)


def _record(verdict: Verdict) -> dict[str, object]:
    m = verdict.mutant
    return {
        "id": m.id,
        "engine": m.engine,
        "module": m.module,
        "section": m.section,
        "bug": m.bug,
        "equivalent": m.equivalent,
        "verdict": verdict.kind,
        "caught_in": verdict.caught_in,
        "golden_in": verdict.golden_in,
        "unavailable": verdict.unavailable,
        "no_effect": verdict.no_effect,
        "notes": verdict.notes,
        "error": verdict.error,
        "seconds": round(verdict.seconds, 2),
        "worker": verdict.raw,
    }


def _baseline_line(baseline: dict[str, Any], modes: list[str]) -> str:
    """What the real engines' check says: the cases left out of every verdict, if any."""
    parts = []
    for mode in modes:
        summary = baseline["modes"].get(mode)
        if summary is None:
            parts.append(f"{mode}: not offered by this harness")
            continue
        noise = sorted(baseline_noise(baseline, mode))
        shown = f"{len(noise)} left out ({', '.join(noise[:5])}{' ...' if len(noise) > 5 else ''})"
        parts.append(f"{mode}: {summary['cases']} cases, {shown if noise else 'all agree'}")
    return "baseline (the real engines): " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    modes = _ids(args.modes)
    try:
        mutants = select(_ids(args.only), load_catalog())
        if set(modes) - set(MODES) or not modes:
            raise CatalogError(f"--modes must be among {', '.join(MODES)}")
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    fixtures = _ids(args.fixtures)
    try:
        baseline = run_baseline(modes, timeout=args.timeout, fixtures=fixtures)
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(_baseline_line(baseline, modes), flush=True)
    print(f"{len(mutants)} mutants, modes {','.join(modes)}, {args.jobs} at a time", flush=True)
    verdicts = run_all(
        mutants,
        modes,
        jobs=args.jobs,
        timeout=args.timeout,
        probe=args.probe,
        fixtures=fixtures,
        baseline=baseline,
        every=args.all_modes,
        progress=lambda v: print(v.line(), flush=True),
    )
    survivors = [v for v in verdicts if v.kind != CAUGHT]
    if survivors:
        print("\nnot caught by comparison:")
        for verdict in survivors:
            print(f"  {verdict.line()}\n      bug: {verdict.mutant.bug}")
    offered = [m for m in modes if baseline["modes"].get(m) is not None]
    elapsed = time.perf_counter() - started
    print(f"\nmodes run: {', '.join(offered) or 'none'}; {elapsed:.0f} s")
    print(summary_line(verdicts))
    if args.json_path:
        document = {"baseline": baseline, "mutants": [_record(v) for v in verdicts]}
        Path(args.json_path).write_text(json.dumps(document, indent=1), encoding="utf-8")
    return 0 if all(v.ok for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
