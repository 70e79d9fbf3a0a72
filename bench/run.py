"""Run every benchmark (`make bench`). Figures go to stdout; record them in bench/RESULTS.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_compare
import bench_expressions
import bench_graph
import bench_journey
import bench_validation
import campaign
import compare_equal
import false_verdicts
import html_report
import instructions
import isolation
import loading
import memory
import shadow
import startup


def main() -> None:
    bench_expressions.main([])
    print()
    bench_validation.main([])
    print()
    bench_graph.main([])
    print()
    bench_journey.main([])
    print()
    instructions.main(["--shapes", "chain,fan_out,loop"])
    print()
    memory.main([])
    print()
    compare_equal.main([])
    print()
    startup.main([])
    print()
    loading.main([])
    print()
    bench_compare.main([])
    print()
    false_verdicts.main([])
    print()
    shadow.main([])
    print()
    isolation.main([])
    print()
    campaign.main(["--fixtures"])  # the bundled suite: --workers 2 against one worker
    print()
    campaign.main([])  # a generated suite of 1,000 cases
    print()
    html_report.main([])


if __name__ == "__main__":
    main()
