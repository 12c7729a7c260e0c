"""``flowd validate PATH...``: check flow files (YAML, structure, semantics) before they are committed."""

from __future__ import annotations

import sys

import click


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="flowd's checks beyond Kestra's (undeclared inputs, ...) are errors; fail on warnings too.",
)
def command(paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Validate flow files and folders (*.yml, *.yaml, recursively).

    Exit status: 0 valid, 1 errors (or warnings with --strict), 2 wrong usage.
    """
    sys.exit(run(paths, fmt=fmt, strict=strict, color=sys.stdout.isatty()))


def run(paths: tuple[str, ...], *, fmt: str = "text", strict: bool = False, color: bool = False) -> int:
    """Validate ``paths``, print the report, return the exit code."""
    # imported here: ``flowd --help`` must not pay for pydantic and the flow model
    from daemon.language import report
    from daemon.language.validate import validate_paths

    results = validate_paths(list(paths), strict=strict)
    if fmt == "json":
        click.echo(report.render_json(results), nl=False)
    elif color:
        report.print_text_color(results)
    else:
        click.echo(report.render_text(results), nl=False)
    errors, warnings = report.count(results)
    return 1 if errors or (strict and warnings) else 0
