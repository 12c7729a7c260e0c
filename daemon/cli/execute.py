"""``flowd execute NAMESPACE/FLOW_ID``: start an execution of a deployed flow and wait for it.

A daemon alive on the same store (a recent heartbeat) is handed the execution (created without an owner, it
adopts it) and this command polls until it ends; otherwise the execution runs in this process.
Exit status: 0 for SUCCESS/WARNING, 1 for FAILED/KILLED/CANCELLED, 2 for usage or input errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

import click

from daemon.cli.common import db_option, handle_errors
from daemon.errors import FlowNotFound, UsageError
from daemon.settings import Settings, normalize_db_url

POLL_SECONDS = 0.2
DAEMON_MAX_AGE = timedelta(seconds=30)
OK_STATES = ("SUCCESS", "WARNING")


def split_flow_ref(ref: str) -> tuple[str, str]:
    """``namespace/flow_id`` -> (namespace, flow_id); UsageError otherwise."""
    namespace, sep, flow_id = ref.rpartition("/")
    if not sep or not namespace or not flow_id:
        raise UsageError(f"expected NAMESPACE/FLOW_ID, got {ref!r}")
    return namespace, flow_id


def parse_inputs(pairs: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` pairs -> dict; UsageError on a pair without ``=``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected -i KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def open_store(db: str | None) -> Any:
    """The store of ``--db`` or the settings' database."""
    from daemon.store import Store

    return Store.open(normalize_db_url(db) if db else Settings().db_url())


def daemon_alive(store: Any, now: datetime) -> bool:
    """Whether a daemon beat recently on this store."""
    return bool(store.heartbeats.alive(now, DAEMON_MAX_AGE))


@click.command(name="execute")
@click.argument("flow_ref", metavar="NAMESPACE/FLOW_ID")
@click.option(
    "-i", "--input", "inputs", multiple=True, metavar="KEY=VALUE", help="An input value (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON (Kestra's API shape).")
@click.option("--local", "mode", flag_value="local", help="Run here even when a daemon is alive.")
@click.option("--submit", "mode", flag_value="submit", help="Hand the execution to the daemon.")
@click.option("--no-wait", is_flag=True, help="Print the execution id and return without waiting.")
@db_option
@handle_errors
def command(
    flow_ref: str, inputs: tuple[str, ...], as_json: bool, mode: str | None, no_wait: bool, db: str | None
) -> None:
    """Run a deployed flow and wait for it to end."""
    raise SystemExit(
        execute(flow_ref, parse_inputs(inputs), as_json=as_json, mode=mode, no_wait=no_wait, db=db)
    )


def execute(
    flow_ref: str,
    inputs: dict[str, str],
    *,
    as_json: bool = False,
    mode: str | None = None,
    no_wait: bool = False,
    db: str | None = None,
) -> int:
    """The command without click; returns the exit status."""
    from daemon.clock import SystemClock
    from daemon.engine.executor import Executor
    from daemon.tasks.registry import PLUGINS

    namespace, flow_id = split_flow_ref(flow_ref)
    settings = Settings()
    clock = SystemClock()
    store = open_store(db)
    try:
        record = store.flows.get(namespace, flow_id)
        if record is None:
            raise FlowNotFound(namespace, flow_id)
        local = mode == "local" or (mode is None and not no_wait and not daemon_alive(store, clock.now()))
        executor = Executor(store, settings, clock, PLUGINS, workers=settings.workers)
        execution_id = executor.create_execution(record, inputs, own=local)
        if no_wait and not local:
            click.echo(execution_id)
            return 0
        row = asyncio.run(executor.run_until_done(execution_id)) if local else _poll(store, execution_id)
        return print_result(store, row.id, as_json=as_json)
    finally:
        store.close()


def _poll(store: Any, execution_id: str) -> Any:
    from daemon.engine.states import is_terminal

    while True:
        row = store.executions.get(execution_id)
        if row is not None and is_terminal(row.state):
            return row
        time.sleep(POLL_SECONDS)


def print_result(store: Any, execution_id: str, *, as_json: bool) -> int:
    """Print an execution (summary or JSON) and return the exit status its state maps to."""
    from daemon.engine.api_shape import execution_to_api

    row = store.executions.get(execution_id)
    shape = execution_to_api(row, store.executions.list_task_runs(execution_id))
    if as_json:
        click.echo(json.dumps(shape, indent=2, default=str))
    else:
        print_execution(shape)
    return 0 if row.state in OK_STATES else 1


STATE_STYLE = {
    "SUCCESS": "green", "WARNING": "yellow", "FAILED": "red", "KILLED": "red", "CANCELLED": "red",
    "RUNNING": "cyan", "SKIPPED": "dim", "PAUSED": "magenta", "CREATED": "blue", "QUEUED": "blue",
}  # fmt: skip


def _duration(state: dict[str, Any]) -> str:
    start, end = state.get("startDate"), state.get("endDate")
    if not start or not end:
        return ""
    seconds = (_parse(end) - _parse(start)).total_seconds()
    return f"{seconds:.2f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _label(item: dict[str, Any]) -> str:
    current = item["state"]["current"]
    style = STATE_STYLE.get(current, "white")
    value = f" [dim]\\[{item['value']}][/dim]" if item.get("value") is not None else ""
    attempts = len(item.get("attempts") or [])
    extra = f" [dim]{attempts} attempts[/dim]" if attempts > 1 else ""
    return (
        f"{item['taskId']}{value} [{style}]{current}[/{style}] [dim]{_duration(item['state'])}[/dim]{extra}"
    )


def print_execution(shape: dict[str, Any]) -> None:
    """A readable summary: header, the task run tree with states, durations and attempts, outputs."""
    from rich.console import Console
    from rich.tree import Tree

    console = Console(highlight=False)
    current = shape["state"]["current"]
    style = STATE_STYLE.get(current, "white")
    tree = Tree(
        f"[bold]{shape['namespace']}/{shape['flowId']}[/bold] rev {shape['flowRevision']} "
        f"execution {shape['id']} [{style}]{current}[/{style}] [dim]{_duration(shape['state'])}[/dim]"
    )
    nodes: dict[str | None, Tree] = {None: tree}
    pending = list(shape["taskRunList"])
    while pending:  # parents before children, whatever the list order
        progressed = False
        for item in list(pending):
            parent = nodes.get(item.get("parentTaskRunId"))
            if parent is not None:
                nodes[item["id"]] = parent.add(_label(item))
                pending.remove(item)
                progressed = True
        if not progressed:
            for item in pending:
                nodes[item["id"]] = tree.add(_label(item))
            break
    console.print(tree)
    if shape.get("outputs"):
        console.print("outputs: " + json.dumps(shape["outputs"], default=str))
