"""Reading the bundled fixtures with libyaml's C parser and with PyYAML's pure-Python one.

    python bench/loading.py [--repeat 5] [--big-kb 1200]

Three measures, each with both parsers (engines/documents/read.py, `LIBYAML`): parsing every
bundled document (`read_document`), validating the bundled fixtures as `compat validate
fixtures/` does (reading, the model and its rules), and parsing one generated workflow
fixture of about `--big-kb` KB (a chain of transform nodes, written in a temporary folder).
Figures are CPU seconds (`time.process_time`), the median of `--repeat` rounds after one
warm-up round; the big file is parsed once, without warm-up (the pure-Python parser takes
seconds). CPU time, not wall time: it barely moves with the neighbours' load.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from compat.validation import validate_paths
from engines.config import load_config
from engines.documents import DOCUMENT_SUFFIXES, read, read_document

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@contextmanager
def yaml_parser(libyaml: bool) -> Iterator[None]:
    """`read_document` parses YAML with libyaml (True) or pure Python (False) inside."""
    before = read.LIBYAML
    read.LIBYAML = libyaml
    try:
        yield
    finally:
        read.LIBYAML = before


def cpu_seconds(work: Callable[[], object], repeat: int, warm_up: bool = True) -> float:
    """Median user+system CPU seconds of `work` (after one warm-up call: imports, caches)."""
    if warm_up:
        work()
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def big_fixture(folder: Path, kilobytes: int) -> Path:
    """A valid fixture of about `kilobytes` KB: a chain of block-style transform nodes."""
    head = "description: generated for bench/loading.py\nworkflow:\n  id: big\n  nodes:\n"
    node = (
        "    - id: t{i}\n      type: transform\n      params:\n"
        '        value: "{{{{ inputs.x }}}} and some text to make the line longer {i}"\n'
    )
    size = len(node.format(i=1000))
    count = max(1, kilobytes * 1024 // (size + 40))
    names = ["start", *(f"t{i}" for i in range(count)), "end"]
    lines = [head, "    - {id: start, type: start}\n"]
    lines += [node.format(i=i) for i in range(count)]
    lines.append('    - {id: end, type: end, params: {outputs: {x: "{{ inputs.x }}"}}}\n')
    lines.append("  edges:\n")
    lines += [f"    - {{source: {a}, target: {b}}}\n" for a, b in itertools.pairwise(names)]
    lines.append("cases:\n  - name: one\n    inputs: {x: 1}\n")
    path = folder / "big.yaml"
    path.write_text("".join(lines))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds per figure (median)")
    parser.add_argument("--big-kb", type=int, default=1200, help="size of the generated file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat: give at least 1")
    if not read.HAS_LIBYAML:
        print("loading: this PyYAML is built without libyaml; only pure Python is measured")
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in DOCUMENT_SUFFIXES)
    settings = load_config()
    tools, roots = settings.tool_registry(), settings.workflow_root_paths()

    def parse_all() -> None:
        for path in files:
            read_document(path)

    def validate_all() -> None:
        validate_paths([FIXTURES], tools, roots)

    with tempfile.TemporaryDirectory() as tmp:
        big = big_fixture(Path(tmp), args.big_kb)
        kb = big.stat().st_size / 1024
        measures = [
            (f"parse {len(files)} bundled documents", parse_all, args.repeat, True),
            ("validate fixtures/ (compat validate)", validate_all, args.repeat, True),
            (f"parse one {kb:,.0f} KB fixture", lambda: read_document(big), 1, False),
        ]
        modes = [False, True] if read.HAS_LIBYAML else [False]
        print(f"loading: CPU seconds, median of {args.repeat} rounds (the big file: 1, no warm-up)")
        print(f"{'':<40} {'pure Python':>12} {'libyaml':>10} {'ratio':>7}")
        for label, work, repeat, warm_up in measures:
            figures = []
            for libyaml in modes:
                with yaml_parser(libyaml):
                    figures.append(cpu_seconds(work, repeat, warm_up))
            if len(figures) == 2:
                pure, fast = figures
                print(f"{label:<40} {pure:>11.3f}s {fast:>9.3f}s {pure / fast:>6.1f}x")
            else:
                print(f"{label:<40} {figures[0]:>11.3f}s")


if __name__ == "__main__":
    main()
