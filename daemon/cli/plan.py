"""``flowd plan``: show what ``flowd sync`` would change, changing nothing.

Exit status: 0; with ``--exit-code``: 3 when flows would be created, updated or deleted, 1 when some files are
invalid, 2 when the sync would be refused (it would delete every deployed flow), 0 otherwise. A source that
cannot be read is always 2.
"""

from __future__ import annotations

import json
import sys

import click

from daemon.cli.common import db_option, handle_errors
from daemon.cli.sync import mass_delete_option, open_reconciler, source_options


@click.command("plan")
@source_options
@db_option
@click.option(
    "--exit-code", "exit_code", is_flag=True, help="Exit 3 when there are changes (1 invalid, 2 refused)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@mass_delete_option
@handle_errors
def command(
    source: str,
    ref: str | None,
    path: str | None,
    db: str | None,
    exit_code: bool,
    fmt: str,
    allow_mass_delete: bool,
) -> None:
    """Compare a source with the deployed flows and print the plan (create/update/delete/unchanged)."""
    sys.exit(
        run(source=source, ref=ref, path=path, db=db, exit_code=exit_code, fmt=fmt,
            allow_mass_delete=allow_mass_delete)
    )  # fmt: skip


def run(
    *,
    source: str,
    ref: str | None,
    path: str | None,
    db: str | None,
    exit_code: bool,
    fmt: str,
    allow_mass_delete: bool = False,
) -> int:
    """Print the plan; return the exit code. SourceError propagates (exit 2 through ``handle_errors``)."""
    from daemon.reconcile.render import plan_lines

    store, reconciler = open_reconciler(
        source=source, ref=ref, path=path, db=db, allow_mass_delete=allow_mass_delete
    )
    with store:
        plan = reconciler.plan()
    if fmt == "json":
        click.echo(json.dumps(plan.as_dict(), indent=2))
    else:
        click.echo("\n".join(plan_lines(plan)))
    if not exit_code:
        return 0
    if plan.refused:
        return 2
    if plan.invalid:
        return 1
    return 3 if plan.has_changes else 0
