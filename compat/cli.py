"""The `compat` command line.

Exit codes: 0 all good, 1 a check found a difference (or a run failed), 2 bad input (one
readable line per problem, never a traceback), 3 an internal error of compat itself, or a
command that stopped without a verdict (compat/supervise.py), 130 interrupted.
The commands' work lives in `compat.commands`; this module only declares the options.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

# Only what declaring the options needs: each command imports its own work when it runs, so
# `compat --help` (and a usage error) costs typer and little else (bench/startup.py).
from compat import commands
from compat.cli_guard import EXIT_BAD_INPUT, EXIT_INTERRUPTED, guarded
from compat.cli_guard import printable as _printable
from compat.cli_history import history_app
from compat.cli_import import BindOption, DialectOption
from compat.cli_import import register as register_import
from compat.cli_options import (
    AllowKnownOption,
    BaselineOption,
    CaseOption,
    ClusterOption,
    ConfigOption,
    ConversationOption,
    EngineOption,
    FormatOption,
    HistoryDbOption,
    HistoryOption,
    HtmlOption,
    InProcessOption,
    InputsOption,
    JunitOption,
    MemoryOption,
    OutputFormat,
    PolicyOption,
    ScoreMarginOption,
    TimeoutOption,
    seconds_option,
)
from compat.executors.process import DEFAULT_MEMORY_MB
from engines.errors import ConfigError

app = typer.Typer(
    name="compat",
    help="Prove that a workflow gives the same result as a graph and as a journey.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # -h as well as --help, on every command (subcommands inherit it).
    context_settings={"help_option_names": ["-h", "--help"]},
    # Plain (click-style) help: typer's rich help prints a type after every option, flags
    # included (`--replay <bool>`, `--help <bool>`), as if they took a value.
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if not value:
        return
    import importlib.metadata

    try:
        version = importlib.metadata.version("compat")
    except importlib.metadata.PackageNotFoundError:
        version = "(unknown: the package is not installed; run make install)"
    typer.echo(f"compat {version}")
    raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print compat's version and exit.",
        ),
    ] = False,
) -> None:
    """compat: run one workflow in two execution modes and prove they agree."""


@app.command()
@guarded
def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="Fixtures, workflows, ReactFlow files or folders.")
    ],
    dialect: DialectOption = None,
    bind: BindOption = None,
    config: ConfigOption = None,
) -> None:
    """Check documents against the model and its rules; exit 2 if any is invalid."""
    from compat.validation import validate_paths
    from engines.config import load_config
    from engines.documents.dialects import parse_bindings
    from engines.documents.load import dialect_context

    settings = load_config(path=config) if config else load_config()
    if settings.tool_modules:  # a tool module that exits or hangs does so in a worker
        from compat.executors.adhoc import probe_tools

        probe_tools(config, DEFAULT_MEMORY_MB)
    with dialect_context(dialect, parse_bindings(bind or [])):
        reports = validate_paths(paths, settings.tool_registry(), settings.workflow_root_paths())
    for report in reports:
        for line in report.lines():
            typer.echo(line)
    if not reports:
        typer.echo("compat: no documents found (looked for .json, .yaml and .yml files)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    bad = sum(1 for r in reports if not r.ok)
    if bad:
        typer.echo(f"compat: {bad} of {len(reports)} documents invalid", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
@guarded
def check(
    paths: Annotated[list[Path], typer.Argument(help="Fixture files or folders of fixtures.")],
    primary: EngineOption = "graph",
    shadow: EngineOption = "journey",
    json_path: Annotated[
        str | None,
        typer.Option("--json", help="Write the full report (JSON) to this path; - for stdout."),
    ] = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", help="Every case needs at least this score.")
    ] = None,
    noise_runs: Annotated[
        int, typer.Option("--noise-runs", help="Extra primary runs to tell noise from change.")
    ] = 0,
    replay: Annotated[
        bool, typer.Option("--replay", help="Replay the primary's tool calls to the shadow.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", help="Cases in parallel processes.")] = 1,
    timeout: TimeoutOption = 60.0,
    perf: Annotated[
        bool, typer.Option("--perf", help="Measure both engines' performance too (not scored).")
    ] = False,
    max_slowdown: Annotated[
        float | None,
        typer.Option(
            "--max-slowdown",
            help="With --perf: fail a case whose shadow is surely slower than this × primary.",
        ),
    ] = None,
    policy: PolicyOption = None,
    roundtrip: Annotated[
        bool,
        typer.Option(
            "--roundtrip", help="Save every pause and resume it on a fresh engine instance."
        ),
    ] = False,
    handoff: Annotated[
        bool,
        typer.Option("--handoff", help="Hand the shadow's run to the other engine at every pause."),
    ] = False,
    in_process: InProcessOption = False,
    memory_limit: MemoryOption = DEFAULT_MEMORY_MB,
    html: HtmlOption = None,
    junit: JunitOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    history: HistoryOption = False,
    history_db: HistoryDbOption = None,
    baseline: BaselineOption = None,
    allow_known: AllowKnownOption = False,
    score_margin: ScoreMarginOption = 0.0,
    config: ConfigOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Run every case on two engines; exit 0 if all are compatible and correct, 1 if not
    (with --baseline: 1 if anything got worse than in the baseline run)."""
    ok = commands.check(
        paths,
        primary=primary,
        shadow=shadow,
        json_path=json_path,
        min_score=min_score,
        noise_runs=noise_runs,
        replay=replay,
        workers=workers,
        timeout=timeout,
        perf=perf,
        max_slowdown=max_slowdown,
        policy=policy.value if policy else None,
        roundtrip=roundtrip,
        handoff=handoff,
        in_process=in_process,
        memory_mb=memory_limit,
        config=config,
        targets=_targets(html, junit, output_format),
        history=_history(history, history_db),
        gate=(baseline, allow_known, score_margin) if baseline else None,
        cluster=cluster,
    )
    if not ok:
        raise typer.Exit(1)


def _history(flag: bool, url: str | None) -> Any:
    """What `--history` / `--history-db` ask for, resolved later against the configuration."""
    return (flag, url)


def _targets(html: str | None, junit: str | None, output_format: OutputFormat) -> Any:
    from compat.publish import Targets

    return Targets(html=html, junit=junit, format=output_format.value)


@app.command()
@guarded
def perf(
    paths: Annotated[list[Path], typer.Argument(help="Fixture files or folders of fixtures.")],
    primary: EngineOption = "graph",
    shadow: EngineOption = "journey",
    repeat: Annotated[
        int | None,
        typer.Option("--repeat", help="Measured pairs per case (default: about 1 s per case)."),
    ] = None,
    isolate: Annotated[
        bool, typer.Option("--isolate", help="Measure each engine in a fresh subprocess.")
    ] = False,
    scaling: Annotated[
        bool, typer.Option("--scaling", help="Also fit how cost grows on built-in shapes.")
    ] = False,
    band: Annotated[
        float, typer.Option("--band", help="Parity band: ratios within 1 ± band are parity.")
    ] = 0.10,
    case: Annotated[str | None, typer.Option("--case", help="Only the cases of this name.")] = None,
    json_path: Annotated[
        str | None,
        typer.Option("--json", help="Write the full report (JSON, raw samples) to this path."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds one case's measurement may take.", callback=seconds_option
        ),
    ] = 600.0,
    in_process: InProcessOption = False,
    memory_limit: MemoryOption = DEFAULT_MEMORY_MB,
    cluster: ClusterOption = None,
    html: HtmlOption = None,
    junit: JunitOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    history: HistoryOption = False,
    history_db: HistoryDbOption = None,
    config: ConfigOption = None,
) -> None:
    """Measure both engines on every case, compare with statistics, and recommend; exit 1
    if a case could not be measured."""
    ok = commands.perf(
        paths,
        primary=primary,
        shadow=shadow,
        repeat=repeat,
        isolate=isolate,
        scaling=scaling,
        band=band,
        case=case,
        json_path=json_path,
        timeout=timeout,
        in_process=in_process,
        memory_mb=memory_limit,
        cluster=cluster,
        config=config,
        targets=_targets(html, junit, output_format),
        history=_history(history, history_db),
    )
    if not ok:
        raise typer.Exit(1)


@app.command()
@guarded
def run(
    target: Annotated[Path, typer.Argument(help="A workflow, ReactFlow file or fixture.")],
    engine: EngineOption = "graph",
    inputs: InputsOption = None,
    conversation: ConversationOption = None,
    case: CaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    timeout: TimeoutOption = 60.0,
    in_process: InProcessOption = False,
    memory_limit: MemoryOption = DEFAULT_MEMORY_MB,
    config: ConfigOption = None,
) -> None:
    """Run one engine and show its result; exit 1 if the run failed or crashed."""
    ok = commands.run(
        target,
        engine=engine,
        inputs=inputs,
        conversation=conversation,
        case=case,
        as_json=as_json,
        timeout=timeout,
        in_process=in_process,
        memory_mb=memory_limit,
        config=config,
    )
    if not ok:
        raise typer.Exit(1)


@app.command()
@guarded
def diff(
    target: Annotated[Path, typer.Argument(help="A workflow, ReactFlow file or fixture.")],
    inputs: InputsOption = None,
    conversation: ConversationOption = None,
    case: CaseOption = None,
    primary: EngineOption = "graph",
    shadow: EngineOption = "journey",
    timeout: TimeoutOption = 60.0,
    policy: PolicyOption = None,
    in_process: InProcessOption = False,
    memory_limit: MemoryOption = DEFAULT_MEMORY_MB,
    config: ConfigOption = None,
) -> None:
    """Compare two engines on one run, side by side; exit 1 if they are incompatible."""
    ok = commands.diff(
        target,
        inputs=inputs,
        conversation=conversation,
        case=case,
        primary=primary,
        shadow=shadow,
        timeout=timeout,
        policy=policy.value if policy else None,
        in_process=in_process,
        memory_mb=memory_limit,
        config=config,
    )
    if not ok:
        raise typer.Exit(1)


@app.command()
@guarded
def fuzz(
    primary: EngineOption = "graph",
    shadow: EngineOption = "journey",
    examples: Annotated[
        int | None,
        typer.Option("--examples", min=1, help="Examples to generate (default 1000)."),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--duration", help="Fuzz for this long instead: 90s, 10m, 1h."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Seed: the same seed and options, the same examples."),
    ] = None,
    max_nodes: Annotated[
        int, typer.Option("--max-nodes", min=1, max=200, help="Nodes per workflow, at most.")
    ] = 12,
    max_depth: Annotated[
        int, typer.Option("--max-depth", min=1, max=4, help="Containers nested, at most.")
    ] = 2,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Force features on (+name) or off (-name), e.g. +retry,-wait,-modes.",
        ),
    ] = None,
    save: Annotated[
        str,
        typer.Option("--save", help="Folder for the fixtures that reproduce each divergence."),
    ] = "fixtures/found",
    no_save: Annotated[bool, typer.Option("--no-save", help="Save nothing.")] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes (disjoint seeds).")
    ] = 1,
    timeout: TimeoutOption = 30.0,
    tools: Annotated[
        str | None,
        typer.Option(
            "--tools", help="module:attr of {tool name: hypothesis strategy for its args}."
        ),
    ] = None,
    no_database: Annotated[
        bool,
        typer.Option("--no-db", help="Do not read or write hypothesis's example database."),
    ] = False,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write the campaign's report (JSON) here.")
    ] = None,
    invalid: Annotated[
        bool,
        typer.Option(
            "--invalid",
            help="Fuzz every entry point with invalid documents instead: any traceback, hang "
            "or message that does not name the place is a finding.",
        ),
    ] = False,
    lifecycle: Annotated[
        bool,
        typer.Option(
            "--lifecycle",
            help="Fuzz the run lifecycle instead: answer, save, restore, hand over and cancel "
            "paused runs in random order on both engines; each must end as the "
            "uninterrupted run (--examples: machines, default 50).",
        ),
    ] = False,
    cluster: ClusterOption = None,
    html: HtmlOption = None,
    junit: JunitOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    history: HistoryOption = False,
    history_db: HistoryDbOption = None,
    config: ConfigOption = None,
) -> None:
    """Generate workflows and cases, run both engines, and shrink every divergence to a
    fixture; exit 0 if nothing diverged, 1 if something did."""
    from compat.fuzz.command import fuzz as run_fuzz
    from compat.fuzz.command import invalid_campaign, new_seed, parse_duration

    if examples is not None and duration is not None:
        raise ConfigError("--examples and --duration: give one of them")
    chosen = new_seed() if seed is None else seed
    seconds = parse_duration(duration)
    if invalid and lifecycle:
        raise ConfigError("--invalid and --lifecycle: give one of them")
    targets = _targets(html, junit, output_format)
    if (invalid or lifecycle) and (html or junit or output_format is OutputFormat.GITHUB):
        raise ConfigError(
            "--html, --junit and --format github report a divergence campaign; "
            "--invalid and --lifecycle campaigns print their own report"
        )
    if (invalid or lifecycle) and cluster:
        raise ConfigError("--cluster runs a divergence campaign; not --invalid or --lifecycle")
    if lifecycle:
        from compat.fuzz.command import lifecycle_campaign

        ok = lifecycle_campaign(examples=examples or 50, seed=chosen)
    elif invalid:
        ok = invalid_campaign(
            examples=examples,
            duration=seconds,
            seed=chosen,
            workers=workers,
            json_path=json_path,
            save=None if no_save else ".compat/invalid",
        )
    else:
        options = fuzz_options(
            primary=primary,
            shadow=shadow,
            examples=examples,
            duration=seconds,
            seed=chosen,
            max_nodes=max_nodes,
            max_depth=max_depth,
            features=features,
            workers=workers,
            cluster=cluster,
            timeout=timeout,
            tools=tools,
            database=None if no_database else ".compat/fuzz",
            config=str(config) if config else None,
        )
        report = run_fuzz(
            options,
            save=None if no_save else save,
            json_path=json_path,
            targets=targets,
            history=_history(history, history_db),
            config=config,
        )
        if report.stopped == "interrupted":
            raise typer.Exit(EXIT_INTERRUPTED)
        if report.stopped is not None:
            raise ConfigError(f"compat fuzz stopped early: {report.stopped} (findings kept)")
        ok = report.ok
    if not ok:
        raise typer.Exit(1)


def fuzz_options(**values: Any) -> Any:
    """`FuzzOptions`, or a `ConfigError` naming the bad option."""
    from compat.check import options_of
    from compat.fuzz.campaign import FuzzOptions

    return options_of(FuzzOptions, values)


@app.command("export-journey")
@guarded
def export_journey(
    target: Annotated[Path, typer.Argument(help="A workflow, ReactFlow file or fixture.")],
    format: Annotated[
        commands.ExportFormat, typer.Option("--format", help="parlant or mermaid.")
    ] = commands.ExportFormat.MERMAID,
    workflow: Annotated[
        str | None,
        typer.Option("--workflow", help="For a fixture: which of its workflows (default: main)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the journey a workflow compiles to: a Parlant SDK script or a Mermaid diagram."""
    typer.echo(commands.export_journey(target, format, workflow=workflow, config=config), nl=False)


@app.command()
@guarded
def report(
    saved: Annotated[
        str, typer.Argument(help="A report saved by compat check, perf or fuzz with --json.")
    ],
    html: HtmlOption = None,
    junit: JunitOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Render a saved JSON report again: as HTML, JUnit XML or GitHub annotations (a CI
    artifact, read later); exit 1 if the report says something failed."""
    if not (html or junit or output_format is OutputFormat.GITHUB):
        raise ConfigError("give --html PATH, --junit PATH or --format github: what to render")
    if not commands.report(saved, _targets(html, junit, output_format)):
        raise typer.Exit(1)


app.add_typer(history_app, name="history")
register_import(app)


@app.command()
@guarded
def schema() -> None:
    """Print the JSON Schema of `compat check --json` reports."""
    typer.echo(commands.report_schema_text(), nl=False)


def main() -> None:
    """The console script: like `app()`, but a usage error (an unknown option, a bad value)
    is one line too, as every other bad input is."""
    try:
        code = app(standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("compat: interrupted; no verdict (nothing was checked to the end)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        # Click's usage errors (typer vendors click, so they are known by their shape).
        if getattr(exc, "exit_code", None) != EXIT_BAD_INPUT or not hasattr(exc, "format_message"):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `compat`: its help, as is
            typer.echo(exc.format_message(), err=True)
            sys.exit(EXIT_BAD_INPUT)
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "compat"
        message = " ".join(_printable(exc.format_message()).split())
        typer.echo(f"compat: {message} (see '{where} -h')", err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
