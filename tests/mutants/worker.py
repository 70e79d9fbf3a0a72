"""One mutant, in its own fresh process: install the hook, then run the real harness.

    python -m tests.mutants.worker MUTANT_ID --out RESULT.json [--modes plain,roundtrip]
                                   [--fixtures fixtures/]

The hook goes in before anything imports `engines`; then `compat.check.run_check` checks
every bundled fixture with the default pair (graph primary, journey shadow), once per mode.
The patched module has replaced the real one in this process, so that comparison is the
mutant against the other, unmutated engine — exactly `compat check fixtures/`. Modes the
harness does not offer yet (`CheckOptions` has no such field) are reported unavailable;
once a mode has caught the mutant the later ones are skipped, unless `--all-modes`.
The result (per mode: the incompatible cases and the dimensions that showed them, the cases
whose golden answers failed) is written as JSON for the runner. The id `baseline` runs the
same check with no mutant: the real engines, which every mutant's result is read against.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.mutants.catalog import MODES, select
from tests.mutants.hook import check_active, install
from tests.mutants.verdict import baseline_noise

FIXTURES = "fixtures/"
#: The mutant id that runs no mutant: the real engines, what every mutant is measured against.
BASELINE = "baseline"


def _summary(report: Any) -> dict[str, Any]:
    """What the runner needs of a `CheckReport`."""
    incompatible, golden, differing = [], [], []
    for case in report.cases:
        label = f"{Path(case.fixture).stem}::{case.case}"
        shown = [d.name for d in case.dimensions if d.differences]
        critical = sorted(
            {d.name for d in case.dimensions for x in d.differences if x.severity == "critical"}
        )
        if not case.compatible:
            incompatible.append(
                {"case": label, "dimensions": shown, "critical": critical, "score": case.score}
            )
        elif shown:
            differing.append({"case": label, "dimensions": shown, "score": case.score})
        if case.expect.held is False:
            golden.append(label)
    return {
        "cases": len(report.cases),
        "incompatible": incompatible,
        "golden": golden,
        "differing": differing,
    }


def available_modes() -> list[str]:
    """The modes this tree's harness offers: plain always, the others once `CheckOptions`
    has their field."""
    from compat.check import CheckOptions

    return [m for m in MODES if m == "plain" or m in CheckOptions.model_fields]


#: A mode left out because an earlier one already caught the mutant.
SKIPPED = "skipped"


def _caught(results: dict[str, Any], baseline: dict[str, Any] | None) -> bool:
    """Some mode found a case incompatible that the real engines agree on."""
    return any(
        row["case"] not in baseline_noise(baseline, mode)
        for mode, summary in results.items()
        if isinstance(summary, dict)
        for row in summary["incompatible"]
    )


def run_modes(
    modes: list[str],
    paths: list[str],
    case_timeout: float,
    *,
    every: bool = True,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Mode -> its summary, None if the harness does not offer it, or `SKIPPED` when
    `every` is false and an earlier mode already caught the mutant."""
    from compat.check import CheckOptions, run_check

    offered = available_modes()
    results: dict[str, Any] = {}
    for mode in modes:
        if mode not in offered:
            results[mode] = None
            continue
        if not every and _caught(results, baseline):
            results[mode] = SKIPPED
            continue
        options: dict[str, Any] = {"timeout": case_timeout}
        if "in_process" in CheckOptions.model_fields:
            # The mutant is patched into this process's engines; worker processes would
            # import the real ones.
            options["in_process"] = True
        if mode != "plain":
            options[mode] = True
        started = time.perf_counter()
        summary = _summary(run_check(paths, CheckOptions(**options)))
        summary["seconds"] = round(time.perf_counter() - started, 2)
        results[mode] = summary
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants.worker")
    parser.add_argument("mutant")
    parser.add_argument("--out", required=True)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--fixtures", default=FIXTURES, help="comma-separated fixture paths")
    parser.add_argument("--case-timeout", type=float, default=20.0)
    parser.add_argument("--probe", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--all-modes", action="store_true", help="do not stop once caught")
    parser.add_argument("--baseline", help="the real engines' check (JSON), to leave noise out")
    args = parser.parse_args(argv)
    mutant = None if args.mutant == BASELINE else select([args.mutant])[0]
    finder = None
    if mutant is not None:
        finder = install(mutant)  # before anything imports `engines`
        check_active(finder)
    started = time.perf_counter()
    paths = [p for p in args.fixtures.split(",") if p]
    requested = [m for m in args.modes.split(",") if m]
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    modes = run_modes(requested, paths, args.case_timeout, every=args.all_modes, baseline=baseline)
    caught = _caught(modes, baseline)
    probed = None
    if mutant is not None and (args.probe == "always" or (args.probe == "auto" and not caught)):
        from tests.mutants.probe import probe

        probed = probe(mutant.engine, paths)
    result = {
        "id": args.mutant,
        "modes": modes,
        "probe": probed,
        "served": finder.served if finder is not None else 0,
        "seconds": round(time.perf_counter() - started, 2),
    }
    Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
