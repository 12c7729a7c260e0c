"""``flowd execute NAMESPACE/FLOW_ID``: start an execution of a deployed flow and follow it to its end.

A daemon alive on the same store (a recent heartbeat) is handed the execution (created without an owner, it
adopts it) and this command follows it; otherwise the execution runs in this process. The execution id is
printed at once, then the task tree live (states, durations, a failed task's error) and the log lines as they
come; ``--quiet`` prints only the end. Ctrl-C leaves a daemon's execution running and says how to kill it
(``--kill-on-interrupt`` kills it). Inputs are checked first, every problem reported at once.
Exit status: 0 for SUCCESS/WARNING, 1 for FAILED/KILLED/CANCELLED, 2 for usage or input errors, 130 when
interrupted.
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
@click.option("--quiet", "-q", is_flag=True, help="Print only the id and the end (no live tree, no logs).")
@click.option(
    "--kill-on-interrupt", is_flag=True, help="On Ctrl-C, kill the execution (default: leave it running)."
)
@db_option
@handle_errors
def command(
    flow_ref: str,
    inputs: tuple[str, ...],
    as_json: bool,
    mode: str | None,
    no_wait: bool,
    quiet: bool,
    kill_on_interrupt: bool,
    db: str | None,
) -> None:
    """Run a deployed flow and follow it to its end."""
    raise SystemExit(
        execute(flow_ref, parse_inputs(inputs), as_json=as_json, mode=mode, no_wait=no_wait, db=db,
                quiet=quiet, kill_on_interrupt=kill_on_interrupt)
    )  # fmt: skip


def execute(
    flow_ref: str,
    inputs: dict[str, str],
    *,
    as_json: bool = False,
    mode: str | None = None,
    no_wait: bool = False,
    db: str | None = None,
    quiet: bool = False,
    kill_on_interrupt: bool = False,
) -> int:
    """The command without click; returns the exit status."""
    from daemon.cli.inputs import check_inputs
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
        flow = executor.flows.revision(namespace, flow_id, record.revision).flow
        check_inputs(flow_ref, flow.inputs, inputs)
        execution_id = executor.create_execution(record, inputs, own=local)
        if no_wait and not local:
            click.echo(execution_id)
            return 0
        if as_json and local:
            # nothing is shown while it runs: no console, no follower (importing rich alone is ~0.1 s of a
            # cold start, bench W3)
            try:
                asyncio.run(executor.run_until_done(execution_id))
            except KeyboardInterrupt:
                return _interrupted(store, execution_id, local=local, kill=kill_on_interrupt)
            return print_result(store, execution_id, as_json=as_json)
        from daemon.cli.live import ExecutionFollower
        from daemon.cli.tables import console as make_console

        out = make_console()
        if not as_json:
            where = "running in this process (no daemon is running)" if local else "handed to the daemon"
            out.print(
                f"execution [bold]{execution_id}[/bold] of {flow_ref} revision {record.revision}: {where}"
            )
        follower = ExecutionFollower(store, execution_id, out, logs=not (quiet or as_json))
        live = None if quiet or as_json or not out.is_terminal else _live(out, follower)
        try:
            if local:
                asyncio.run(_run_here(executor, follower, live))
            else:
                _follow(follower, live)
        except KeyboardInterrupt:
            if live is not None:
                live.stop()
            return _interrupted(store, execution_id, local=local, kill=kill_on_interrupt)
        if live is not None:
            live.stop()
        return print_result(store, execution_id, as_json=as_json)
    finally:
        store.close()


def _live(out: Any, follower: Any) -> Any:
    from rich.live import Live

    live = Live(follower.tree(), console=out, transient=True, refresh_per_second=8)
    live.start()
    return live


def _tick(follower: Any, live: Any) -> Any:
    from daemon.clock import SystemClock

    row = follower.poll()
    if live is not None:
        live.update(follower.tree(SystemClock().now()))
    return row


async def _run_here(executor: Any, follower: Any, live: Any) -> None:
    task = asyncio.ensure_future(executor.run_until_done(follower.execution_id))
    if live is None and not follower.logs:
        # nothing to show while it runs (--json, --quiet): a poll reads every task run from the store on
        # this loop, which slowed a 100-task run by a third (bench W5)
        await task
        return
    while not task.done():
        await asyncio.wait({task}, timeout=POLL_SECONDS)
        _tick(follower, live)
    task.result()
    _tick(follower, live)  # the lines written at the very end


def _follow(follower: Any, live: Any) -> None:
    from daemon.engine.states import is_terminal

    while True:
        row = _tick(follower, live)
        if row is not None and is_terminal(row.state):
            _tick(follower, live)  # the lines written at the very end
            return
        time.sleep(POLL_SECONDS)


def _interrupted(store: Any, execution_id: str, *, local: bool, kill: bool) -> int:
    """Ctrl-C: say what happens to the execution and how to stop it (or kill it with --kill-on-interrupt)."""
    from daemon.clock import SystemClock
    from daemon.engine.executor import kill_in_store

    if kill:
        kill_in_store(store, execution_id, now=SystemClock().now())
        row = store.executions.get(execution_id)
        click.echo(
            f"\ninterrupted: execution {execution_id} killed ({row.state if row else 'KILLING'})", err=True
        )
    elif local:
        click.echo(
            f"\ninterrupted: execution {execution_id} ran in this process (no daemon is running) and stopped "
            f"with it; record it as killed with: flowd kill {execution_id}",
            err=True,
        )
    else:
        click.echo(
            f"\ninterrupted: execution {execution_id} keeps running in the daemon.\n"
            f"  follow it: flowd logs {execution_id} --follow\n"
            f"  stop it:   flowd kill {execution_id}",
            err=True,
        )
    return 130


def print_result(store: Any, execution_id: str, *, as_json: bool) -> int:
    """Print an execution (summary or JSON) and return the exit status its state maps to."""
    from daemon.engine.api_shape import execution_to_api

    row = store.executions.get(execution_id)
    shape = execution_to_api(row, store.executions.list_task_runs(execution_id))
    if as_json:
        click.echo(json.dumps(shape, indent=2, default=str))
    else:
        from daemon.cli.live import error_lines

        print_execution(shape, error_lines(store, execution_id))
    return 0 if row.state in OK_STATES else 1


def print_execution(shape: dict[str, Any], errors: dict[str, str] | None = None) -> None:
    """A readable summary: the task run tree with states, durations, attempts and errors, then outputs."""
    from daemon.cli.live import execution_tree, print_outputs
    from daemon.cli.tables import console

    out = console()
    out.print(execution_tree(shape, errors), soft_wrap=False)  # long errors wrap, never cut
    print_outputs(out, shape)
