"""The options several `compat` commands share, declared once (`compat.cli` uses them)."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="A compat.toml or pyproject.toml to use instead of searching."),
]


EngineOption = Annotated[str, typer.Option(help="graph, journey, or module:attr.")]
InputsOption = Annotated[
    str | None, typer.Option("--inputs", help="Inputs as a JSON object, or @file.json.")
]
ConversationOption = Annotated[
    str | None,
    typer.Option("--conversation", help="Payloads answering input nodes: a JSON list, or @file."),
]
CaseOption = Annotated[
    str | None, typer.Option("--case", help="For a fixture: the case to run (default: the first).")
]
#: The longest deadline compat accepts (a week): every wait must end.
MAX_SECONDS = 604_800.0


def seconds_option(value: float) -> float:
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise typer.BadParameter(
            f"{value:g}: give a number of seconds above 0 and at most {MAX_SECONDS:,.0f}"
        )
    return value


TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", help="Seconds an engine may take for one case.", callback=seconds_option
    ),
]


InProcessOption = Annotated[
    bool,
    typer.Option(
        "--in-process",
        help="Run the engines in compat's own process (trusted engines only; faster). "
        "By default each run is in a worker process that is killed at the timeout.",
    ),
]
MemoryOption = Annotated[
    int,
    typer.Option(
        "--memory-limit",
        help="MiB a worker process's runs may allocate (0: no limit); past it a run crashes.",
        min=0,
    ),
]


class PolicyChoice(StrEnum):
    EQUIVALENCE = "equivalence"
    THRESHOLD = "threshold"


PolicyOption = Annotated[
    PolicyChoice | None,
    typer.Option(
        "--policy",
        help="equivalence: any difference is incompatible (default); threshold: no critical "
        "difference and score >= threshold.",
    ),
]


HtmlOption = Annotated[
    str | None,
    typer.Option("--html", help="Write the report as one self-contained HTML page here."),
]
JunitOption = Annotated[
    str | None,
    typer.Option("--junit", help="Write the report as JUnit XML here (for CI servers)."),
]


class OutputFormat(StrEnum):
    TEXT = "text"
    GITHUB = "github"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="text: tables (default); github: GitHub Actions annotations, one ::error line "
        "per failing case.",
    ),
]


HistoryOption = Annotated[
    bool,
    typer.Option(
        "--history",
        help="Record this run in the history (the configured one, else .compat/history.db); "
        "on by default when [tool.compat] history is set.",
    ),
]
HistoryDbOption = Annotated[
    str | None,
    typer.Option(
        "--history-db",
        help="Record into this history instead: a SQLite file or a database URL "
        "(postgresql://…); implies --history.",
    ),
]
BaselineOption = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="Gate on what got worse against a recorded run: last-green, a run id, or a "
        "branch (its newest run); exit 1 on any regression.",
    ),
]
AllowKnownOption = Annotated[
    bool,
    typer.Option(
        "--allow-known", help="With --baseline: cases failing in the baseline too do not fail."
    ),
]
ScoreMarginOption = Annotated[
    float,
    typer.Option(
        "--score-margin",
        min=0.0,
        max=1.0,
        help="With --baseline: a score may drop this much before it is a regression.",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on a Dask cluster: local, local:N (N worker processes here) or "
        "tcp://HOST:PORT (a running scheduler); needs compat[cluster].",
    ),
]
