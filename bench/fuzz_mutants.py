"""`compat fuzz` against the mutant suite (tests/mutants/catalog.yaml): for each mutant not
shown to be equivalent, a fresh process installs the mutant and runs `compat fuzz` alone — no
fixtures, no example database — for `--budget` seconds, stopping after the first round that
finds a divergence; the divergence is shrunk, saved as a fixture and checked with
`compat check` (with the mutant in place). A mutant is *caught* when its first divergent
example came within the budget and a saved fixture reproduces a difference.

The real engines run the same campaign first-in-line (the baseline): on them the fuzzer must
find nothing in the same budget. A worker still running at budget + `--slack` seconds is
killed: shrinking after detection may outlast the budget (hypothesis stops shrinking after
300 s of it, and each distinct divergence of the round is shrunk), so the slack is above that;
the total time, shrinking included, is reported.

    python bench/fuzz_mutants.py [--only ID,ID] [--seed 0] [--budget 60] [--jobs 2]
                                 [--slack 360] [--json PATH] [--save DIR] [--features +a,-b]
                                 [--resume PATH]

Prints a markdown table and the summary to stdout (progress to stderr) and writes every
result as JSON (default reports/fuzz_mutants.json), rewritten as each job finishes so that
`--resume` that file carries on an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mutants.catalog import Mutant, load_catalog, select  # noqa: E402

WORKER = ROOT / "bench" / "fuzz_mutant_worker.py"
BASELINE = "baseline"

CAUGHT = "caught"
SURVIVED = "survived"
#: A divergence was found but no saved fixture reproduced it.
UNREPRODUCED = "not reproduced"
#: The first divergence came after the budget (a round started in time ran on).
LATE = "late"
HUNG = "hung"
CRASHED = "crashed"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONSTARTUP", None)
    return env


def spawn(job: str, args: argparse.Namespace, save: Path) -> dict[str, Any]:
    """Run one worker (a mutant's id or `baseline`); its JSON, plus `status` and `wall`."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-mutant-") as tmp:
        out = Path(tmp) / "result.json"
        progress = Path(tmp) / "result.json.progress"
        command = [
            sys.executable,
            str(WORKER),
            job,
            "--out",
            str(out),
            "--save",
            str(save / job),
            "--budget",
            str(args.budget),
            "--seed",
            str(args.seed),
            *(["--features", args.features] if args.features else []),
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: killed whole
        )
        limit = args.budget + args.slack
        try:
            _, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.communicate()
            first = json.loads(progress.read_text()) if progress.is_file() else None
            return {
                "id": job,
                "status": HUNG,
                "reason": f"killed after {limit:g} s"
                + (" (while shrinking)" if first else " (no divergence seen)"),
                "first_divergence": first["seconds"] if first else None,
                "first_example": first["example"] if first else None,
                "findings": [],
                "wall": round(time.perf_counter() - started, 2),
            }
        wall = round(time.perf_counter() - started, 2)
        if process.returncode != 0 or not out.is_file():
            tail = " | ".join(stderr.strip().splitlines()[-3:]) or "no output"
            return {
                "id": job,
                "status": CRASHED,
                "reason": f"exit {process.returncode}: {tail}",
                "first_divergence": None,
                "findings": [],
                "wall": wall,
            }
        data = json.loads(out.read_text(encoding="utf-8"))
    data["wall"] = wall
    data["status"] = _status(data, args.budget)
    return data


def _status(data: dict[str, Any], budget: float) -> str:
    if not data["findings"]:
        return SURVIVED
    if not any(f["reproduced"] for f in data["findings"]):
        return UNREPRODUCED
    first = data["first_divergence"]
    if first is None or first > budget:
        return LATE
    return CAUGHT


def best(data: dict[str, Any]) -> dict[str, Any] | None:
    """The finding reported for a mutant: the smallest one that reproduced (else the first)."""
    found = [f for f in data.get("findings", []) if f["reproduced"]] or data.get("findings", [])
    return min(found, key=lambda f: f["nodes"]) if found else None


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(mutants: list[Mutant], results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| mutant | engine | verdict | s to 1st divergence | examples to it | total s "
        "| shrunk nodes | modes | key (dimension / kind / path) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in mutants:
        r = results[m.id]
        f = best(r)
        key = " / ".join(f["key"]) if f else (r.get("reason") or "")
        lines.append(
            f"| {m.id} | {m.engine} | {r['status']} | {_num(r.get('first_divergence'))} "
            f"| {r.get('first_example') or '–'} | {_num(r.get('total_seconds', r['wall']))} "
            f"| {f['nodes'] if f else '–'} | {','.join(f['modes']) if f and f['modes'] else '–'} "
            f"| {key.replace('|', '¦')} |"
        )
    return lines


def summary(mutants: list[Mutant], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    caught = [results[m.id] for m in mutants if results[m.id]["status"] == CAUGHT]
    times = [r["first_divergence"] for r in caught]
    sizes = [best(r)["nodes"] for r in caught]  # type: ignore[index]
    return {
        "caught": len(caught),
        "total": len(mutants),
        "percent": round(100 * len(caught) / len(mutants), 1) if mutants else 0.0,
        "median_first_divergence": statistics.median(times) if times else None,
        "p90_first_divergence": _p90(times) if times else None,
        "max_first_divergence": max(times) if times else None,
        "median_total_seconds": (
            statistics.median(r["total_seconds"] for r in caught) if caught else None
        ),
        "median_nodes": statistics.median(sizes) if sizes else None,
        "survivors": [m.id for m in mutants if results[m.id]["status"] != CAUGHT],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/fuzz_mutants.py", description=__doc__)
    parser.add_argument("--only", help="comma-separated mutant ids (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="the campaign seed (every mutant)")
    parser.add_argument("--budget", type=float, default=60.0, help="campaign seconds per mutant")
    parser.add_argument("--jobs", type=int, default=2, help="workers run at once")
    parser.add_argument("--slack", type=float, default=360.0, help="kill at budget + this, s")
    parser.add_argument("--json", dest="json_path", default="reports/fuzz_mutants.json")
    parser.add_argument("--save", help="keep the saved fixtures here (default: a temp folder)")
    parser.add_argument(
        "--features", help="compat fuzz --features, to diagnose a survivor (default: none)"
    )
    parser.add_argument(
        "--resume", help="a JSON this script wrote: skip the jobs it holds (bar crashed ones)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the real engines' run")
    args = parser.parse_args(argv)

    ids = [i for i in (args.only or "").split(",") if i]
    mutants = [m for m in select(ids, load_catalog()) if ids or m.equivalent is None]
    jobs = ([] if args.no_baseline else [BASELINE]) + [m.id for m in mutants]
    results: dict[str, dict[str, Any]] = {}
    if args.resume:
        # The results of an interrupted run (its partial JSON): those jobs are not run again.
        done = json.loads(Path(args.resume).read_text(encoding="utf-8")).get("results", {})
        results.update({k: v for k, v in done.items() if k in jobs and v["status"] != CRASHED})
        jobs = [j for j in jobs if j not in results]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-mutants-") as tmp:
        save = Path(args.save).resolve() if args.save else Path(tmp)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(spawn, job, args, save): job for job in jobs}
            for future in as_completed(futures):
                r = future.result()
                results[r["id"]] = r
                if args.json_path:  # so far: what --resume reads after an interruption
                    _write(Path(args.json_path), {"partial": True, "results": results})
                f = best(r)
                print(
                    f"[{time.perf_counter() - started:7.0f} s] {r['id']}: {r['status']}"
                    f" first {_num(r.get('first_divergence'))} s"
                    f" nodes {f['nodes'] if f else '–'} ({r.get('reason', '')})",
                    file=sys.stderr,
                    flush=True,
                )
    wall = time.perf_counter() - started

    stats = summary(mutants, results)
    lines = [
        f"compat fuzz against the mutant suite: seed {args.seed}, budget {args.budget:g} s, "
        + (f"features {args.features}, " if args.features else "")
        + f"{args.jobs} at a time; {date.today()}, {platform.python_version()}, "
        f"{os.cpu_count()} cores; wall {wall:.0f} s",
        "",
        *table(mutants, results),
        "",
    ]
    base = results.get(BASELINE)
    if base is not None:
        divergences = len(base.get("findings", []))
        lines.append(
            f"Baseline (real engines, same seed and budget): {base['status']}, "
            f"{base.get('examples', '–')} examples in {_num(base.get('campaign_seconds'))} s, "
            f"{divergences} divergence(s)"
            + (f": {[' / '.join(f['key']) for f in base['findings']]}" if divergences else "")
        )
    lines.append(
        f"caught {stats['caught']}/{stats['total']} ({stats['percent']} %); time to first "
        f"divergence median {_num(stats['median_first_divergence'])} s, "
        f"p90 {_num(stats['p90_first_divergence'])} s, "
        f"max {_num(stats['max_first_divergence'])} s; "
        f"median total incl. shrinking {_num(stats['median_total_seconds'])} s; "
        f"median shrunk size {_num(stats['median_nodes'])} nodes"
    )
    if stats["survivors"]:
        lines.append("not caught: " + ", ".join(stats["survivors"]))
    versions: dict[str, int] = {}
    for r in results.values():
        if r.get("fuzz_source"):
            versions[r["fuzz_source"]] = versions.get(r["fuzz_source"], 0) + 1
    if len(versions) > 1:
        lines.append(
            "compat/fuzz was edited during the run; its sources' digests (workers): "
            + ", ".join(f"{k} ({n})" for k, n in versions.items())
        )
    print("\n".join(lines))

    if args.json_path:
        data = {
            "seed": args.seed,
            "budget": args.budget,
            "jobs": args.jobs,
            "features": args.features,
            "date": str(date.today()),
            "wall": round(wall, 1),
            "summary": stats,
            "baseline": base,
            "mutants": [results[m.id] for m in mutants],
            "results": results,
        }
        _write(Path(args.json_path), data)
    return 0


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
