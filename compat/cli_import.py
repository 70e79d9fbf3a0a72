"""`compat import`: write the native workflow compat reads from a flow saved by another
product, so users can see (and edit) what compat understood.

The dialect comes from `--dialect` (a built-in name or a mapping file) or is detected from
the content. The output is validated before it is written; every node the dialect cannot map
is one line on stderr (file, node, kind, reason) and the exit code is 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from compat.cli_guard import EXIT_BAD_INPUT, guarded

DialectOption = Annotated[
    str | None,
    typer.Option(
        "--dialect",
        help="A built-in dialect (flowise-agentflow-v2) or a mapping file (.yaml); "
        "default: detected from the content.",
    ),
]
BindOption = Annotated[
    list[str] | None,
    typer.Option(
        "--bind",
        help="KIND=TOOL: the registered tool a foreign kind calls (LLM=my_llm, "
        "Tool:gmail=send_mail); default: the stand-in tool.",
    ),
]


def _yaml(document: dict[str, Any]) -> str:
    """The document as YAML, multi-line text as literal blocks so prompts stay readable."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        lines = value.split("\n")
        block = len(lines) > 1 and all(line == line.rstrip() for line in lines)
        style = "|" if block else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


def import_flow(
    path: Path, dialect: str | None, bind: list[str] | None, workflow_id: str | None
) -> tuple[str, list[str]]:
    """(the native workflow as YAML, the report lines). Raises our exceptions."""
    from engines.documents import read_document
    from engines.documents.dialects import DialectOptions, parse_bindings, resolve_dialect
    from engines.documents.load import dialect_import, document_kind
    from engines.errors import DocumentError
    from engines.model.validate import validate_workflow

    doc = read_document(path)
    if document_kind(doc) is None:
        raise DocumentError(str(path), "not a saved flow: no `nodes` found")
    chosen = resolve_dialect(dialect) if dialect else None
    imported = dialect_import(
        doc,
        source=str(path),
        default_id=workflow_id or path.stem,
        dialect=chosen,
        options=DialectOptions(parse_bindings(bind or [])),
        use_context=False,
    )
    if imported is None:
        from engines.documents.dialects import BUILTIN_DIALECTS

        raise DocumentError(
            str(path),
            "no built-in dialect recognises this flow; name one with --dialect "
            f"({', '.join(BUILTIN_DIALECTS)}) or a mapping file (docs/dialects.md)",
        )
    validate_workflow(imported.document, source=str(path), mapper=imported.mapper())
    header = [
        f"# Imported by `compat import` from {path.name} (dialect {imported.dialect}).",
        *(f"# {line}" for line in imported.report_lines()),
    ]
    return "\n".join(header) + "\n" + _yaml(imported.document), imported.report_lines()


@guarded
def import_command(
    file: Annotated[Path, typer.Argument(help="A flow saved by another product (JSON).")],
    dialect: DialectOption = None,
    bind: BindOption = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Write the workflow here (default: stdout)."),
    ] = None,
    workflow_id: Annotated[
        str | None, typer.Option("--id", help="The workflow's id (default: the file's stem).")
    ] = None,
) -> None:
    """Write the native workflow compat reads from another product's flow; exit 2 naming
    every node it cannot map."""
    from compat.safe_text import printable
    from engines.errors import InvalidDocument

    try:
        text, report = import_flow(file, dialect, bind, workflow_id)
    except InvalidDocument as exc:
        for line in exc.lines():
            typer.echo(f"compat: {printable(line)}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if output is None or output == "-":
        typer.echo(text, nl=False)
        for line in report:
            typer.echo(printable(line), err=True)
        return
    Path(output).write_text(text, encoding="utf-8")
    for line in report:
        typer.echo(printable(line))
    typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add `compat import` to the command line."""
    app.command("import")(import_command)
