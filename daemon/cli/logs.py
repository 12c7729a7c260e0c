"""``flowd logs EXECUTION_ID [--task ID] [--follow]``: print the log lines of an execution."""

from __future__ import annotations

import time
from typing import Any

import click

from daemon.cli.common import db_option, handle_errors
from daemon.cli.execute import open_store
from daemon.errors import UsageError

FOLLOW_POLL = 0.3


@click.command(name="logs")
@click.argument("execution_id")
@click.option("--task", "task_id", default=None, help="Only lines of this task.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the execution ends.")
@db_option
@handle_errors
def command(execution_id: str, task_id: str | None, follow: bool, db: str | None) -> None:
    """Print the logs of an execution."""
    from daemon.engine.states import is_terminal

    store = open_store(db)
    try:
        if store.executions.get(execution_id) is None:
            raise UsageError(f"no execution {execution_id!r}")
        after = 0
        while True:
            for line in store.logs.for_execution(execution_id, task_id=task_id, after_id=after):
                after = line.id
                click.echo(_format(line))
            row = store.executions.get(execution_id)
            if not follow or row is None or is_terminal(row.state):
                if follow:  # lines written at the very end
                    for line in store.logs.for_execution(execution_id, task_id=task_id, after_id=after):
                        click.echo(_format(line))
                return
            time.sleep(FOLLOW_POLL)
    finally:
        store.close()


def _format(line: Any) -> str:
    stamp = line.timestamp.isoformat().replace("+00:00", "Z")
    return f"{stamp} {line.level:<5} {line.task_id or '-'} {line.message}"
