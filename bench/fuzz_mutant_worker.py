"""One mutant against `compat fuzz`, in a fresh process of its own (bench/fuzz_mutants.py
starts it; run from the repository root with PYTHONPATH set to it):

    python bench/fuzz_mutant_worker.py MUTANT_ID --out RESULT.json --save DIR
                                       [--budget 60] [--seed 0] [--features +a,-b]

The mutant's import hook (tests/mutants/hook.py) goes in before anything imports `engines`,
then one in-process campaign runs — `compat fuzz --duration BUDGET --seed SEED`, no
fixtures, no example database, stopping after the first round that finds a divergence —
and its findings are saved under DIR and checked with `compat check` (in this process, so
against the mutant). The id `baseline` runs the same campaign on the real engines.

While the campaign runs, a side file (`RESULT.json.progress`) records the first divergent
example (its number and time) as soon as it is seen, so a worker killed while shrinking
still says when it found the divergence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.mutants.catalog import select
from tests.mutants.hook import check_active, install

BASELINE = "baseline"
ROOT = Path(__file__).resolve().parent.parent


def fuzz_digest() -> str:
    """A digest of compat/fuzz's sources as this process read them (the generator may be
    edited between two workers' starts)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "compat" / "fuzz").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _watch(progress: Path, started: list[float]) -> dict[str, Any]:
    """Wrap the fuzzer's comparison of one example: count examples and note the first
    incompatible one (written to `progress` at once)."""
    from compat.fuzz.campaign import Fuzzer

    seen: dict[str, Any] = {"examples": 0, "first": None}
    compare = Fuzzer.compare

    def counted(self: Fuzzer, example: Any) -> Any:
        done = compare(self, example)
        seen["examples"] += 1
        if seen["first"] is None and not done[0].compatible:
            seen["first"] = {
                "example": seen["examples"],
                "seconds": round(time.perf_counter() - started[0], 3),
            }
            progress.write_text(json.dumps(seen["first"]), encoding="utf-8")
        return done

    Fuzzer.compare = counted  # type: ignore[method-assign]
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/fuzz_mutant_worker.py")
    parser.add_argument("mutant")
    parser.add_argument("--out", required=True)
    parser.add_argument("--save", required=True, help="folder for the saved fixtures")
    parser.add_argument("--budget", type=float, default=60.0, help="campaign duration, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", help="compat fuzz --features (for diagnosis)")
    args = parser.parse_args(argv)

    finder = None
    if args.mutant != BASELINE:
        finder = install(select([args.mutant])[0])  # before anything imports `engines`
        check_active(finder)

    digest = fuzz_digest()
    from compat.fuzz.campaign import FuzzOptions
    from compat.fuzz.drive import run_fuzz

    out = Path(args.out)
    started = [time.perf_counter()]
    seen = _watch(out.with_name(out.name + ".progress"), started)
    options = FuzzOptions(
        duration=args.budget, seed=args.seed, database=None, first=True, features=args.features
    )
    started[0] = time.perf_counter()
    report = run_fuzz(options, save=args.save)
    total = time.perf_counter() - started[0]

    findings = [
        {
            "key": list(f.found.key),
            "nodes": f.found.nodes,
            "modes": list(f.found.modes),
            "round": f.found.round,
            "flaky": f.found.flaky,
            "reproduced": f.reproduced,
            "saved": str(f.path) if f.path else None,
        }
        for f in report.findings
    ]
    result = {
        "id": args.mutant,
        "seed": args.seed,
        "fuzz_source": digest,
        "budget": args.budget,
        "served": finder.served if finder is not None else 0,
        "examples": report.examples,
        "compared": seen["examples"],
        "campaign_seconds": round(report.seconds, 3),
        "total_seconds": round(total, 3),
        "first_divergence": (
            None if report.first_divergence is None else round(report.first_divergence, 3)
        ),
        "first_example": seen["first"]["example"] if seen["first"] else None,
        "findings": findings,
    }
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
