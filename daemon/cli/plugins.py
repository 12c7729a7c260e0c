"""``flowd plugins [TYPE]``: the task and trigger types flowd supports, or one of them with an example."""

from __future__ import annotations

import json
import sys

import click


@click.command("plugins")
@click.argument("type_name", metavar="[TYPE]", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format (markdown: the compatibility table's generated section).",
)
def command(type_name: str | None, fmt: str) -> None:
    """List supported types (status and properties), or show TYPE: properties, other names, an example.

    TYPE may be a full name, a legacy one, or its end (``log.Log``, ``Switch``). Exit status 2 when no
    supported type matches.
    """
    sys.exit(run(type_name, fmt=fmt))


def run(type_name: str | None = None, *, fmt: str = "text") -> int:
    """Print the catalogue (or one entry); return the exit code."""
    # imported here: ``flowd --help`` must not pay for pydantic and the flow model
    from daemon.language.catalogue import catalogue, find, render_markdown

    entries = catalogue() if type_name is None else find(type_name)
    if not entries:
        click.echo(
            f"flowd: '{type_name}' is not a type flowd supports (run 'flowd plugins' for the list)", err=True
        )
        return 2
    if fmt == "json":
        click.echo(json.dumps([e.as_dict() for e in entries], indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(entries), nl=False)
    elif type_name is None:
        for entry in entries:
            required = ", ".join(p.name for p in entry.properties if p.required) or "-"
            click.echo(f"{entry.type}  [{entry.kind}, {entry.status}]  required: {required}")
    else:
        for entry in entries:
            click.echo(_detail(entry))
    return 0


def _detail(entry: object) -> str:
    from daemon.language.catalogue import Entry

    assert isinstance(entry, Entry)
    lines = [f"{entry.type}  ({entry.kind}, {entry.status})"]
    if entry.aliases:
        lines.append("other names: " + ", ".join(entry.aliases))
    lines.append("properties:")
    for prop in entry.properties:
        lines.append(f"  {prop.name}: {prop.type}{'  (required)' if prop.required else ''}")
    if entry.ignored:
        lines.append("accepted and ignored: " + ", ".join(entry.ignored))
    lines += ["example:", *("  " + line for line in entry.example().splitlines()), ""]
    return "\n".join(lines)
