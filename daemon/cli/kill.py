"""``flowd kill EXECUTION_ID``: kill a running execution (its owner finishes the kill, or this command
does when no live process drives it)."""

from __future__ import annotations

import click

from daemon.cli.common import db_option, handle_errors
from daemon.cli.execute import open_store
from daemon.errors import UsageError


@click.command(name="kill")
@click.argument("execution_id")
@db_option
@handle_errors
def command(execution_id: str, db: str | None) -> None:
    """Kill a running execution."""
    from daemon.clock import SystemClock
    from daemon.engine.executor import kill_in_store

    store = open_store(db)
    try:
        row = store.executions.get(execution_id)
        if row is None:
            raise UsageError(f"no execution {execution_id!r}")
        if not kill_in_store(store, execution_id, now=SystemClock().now()):
            click.echo(f"execution {execution_id} is already {row.state}")
            return
        after = store.executions.get(execution_id)
        click.echo(f"execution {execution_id}: {after.state if after else 'KILLING'}")
    finally:
        store.close()
