"""``flowd backfill NAMESPACE/FLOW_ID --start T --end T``: one execution per schedule tick in [start, end).

Each tick is recorded under the same unique key the scheduler uses, so repeating a backfill (or backfilling
what the scheduler already fired) creates nothing new. When a daemon is alive (heartbeat) the executions are
created for it to run; otherwise they run here, ``--parallel`` at a time. Times without a zone are in the
trigger's time zone. Exit status: 0 done (or handed over), 1 some execution did not succeed, 2 usage error.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

if TYPE_CHECKING:
    from daemon.engine.executor import Executor

from daemon.cli.common import db_option, handle_errors
from daemon.errors import UsageError


def parse_time(text: str, tz: str, *, option: str) -> datetime:
    """An ISO-8601 date or date-time; without a zone it is read in ``tz``."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} '{text}' is not an ISO-8601 date-time (e.g. 2024-01-31T00:00)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(tz))


@click.command("backfill")
@click.argument("target", metavar="NAMESPACE/FLOW_ID")
@click.option("--start", required=True, help="First instant (inclusive), ISO-8601.")
@click.option("--end", required=True, help="Last instant (exclusive), ISO-8601.")
@click.option(
    "--trigger", "trigger_id", default=None, help="Schedule trigger id (when the flow has several)."
)
@click.option(
    "--parallel", default=4, type=int, show_default=True, help="Executions run at once (no daemon)."
)
@db_option
@handle_errors
def command(target: str, start: str, end: str, trigger_id: str | None, parallel: int, db: str | None) -> None:
    """Create one execution per schedule tick in [START, END), each tick at most once ever."""
    sys.exit(run(target=target, start=start, end=end, trigger_id=trigger_id, parallel=parallel, db=db))


def run(*, target: str, start: str, end: str, trigger_id: str | None, parallel: int, db: str | None) -> int:
    """Backfill and print what was done; returns the exit status."""
    from daemon.clock import SystemClock
    from daemon.engine.executor import Executor
    from daemon.errors import FlowNotFound
    from daemon.schedule.backfill import backfill_ticks, create_backfill
    from daemon.schedule.cursor import SCHEDULE_TYPES
    from daemon.server.heartbeat import live_daemons
    from daemon.settings import Settings, normalize_db_url
    from daemon.store import Store
    from daemon.tasks.registry import PLUGINS

    namespace, _, flow_id = target.rpartition("/")
    if not namespace or not flow_id:
        raise UsageError(f"'{target}' is not NAMESPACE/FLOW_ID")
    if parallel < 1:
        raise UsageError(f"--parallel must be at least 1 (got {parallel})")
    settings = Settings()
    clock = SystemClock()
    with Store.open(normalize_db_url(db) if db else settings.db_url()) as store:
        record = store.flows.get(namespace, flow_id)
        if record is None:
            raise FlowNotFound(namespace, flow_id)
        executor = Executor(store, settings, clock, PLUGINS, workers=max(parallel, 1) * 4)
        flow = executor.flows.revision(namespace, flow_id, record.revision).flow
        schedules = [t for t in flow.triggers if isinstance(t, SCHEDULE_TYPES)]
        if trigger_id is not None:
            schedules = [t for t in schedules if t.id == trigger_id]
        if len(schedules) != 1:
            found = ", ".join(t.id for t in flow.triggers if isinstance(t, SCHEDULE_TYPES)) or "none"
            wanted = (
                f"no schedule trigger '{trigger_id}'"
                if trigger_id
                else "pick a schedule trigger with --trigger"
            )
            raise UsageError(f"{target}: {wanted} (schedule triggers: {found})")
        trigger = schedules[0]
        begin = parse_time(start, trigger.timezone, option="--start")
        finish = parse_time(end, trigger.timezone, option="--end")
        if finish < begin:
            raise UsageError(f"--end {end} is before --start {start}")
        schedule, ticks = backfill_ticks(namespace, flow_id, trigger, begin, finish)
        handed = bool(live_daemons(store, clock.now()))
        chunk = len(ticks) if handed else parallel  # run here: create and run ``parallel`` at a time
        created: list[str] = []
        states: list[str] = []
        for first in range(0, len(ticks), max(chunk, 1)):
            batch = []
            for execution_id, tick in create_backfill(
                store, executor, record, flow, trigger, schedule, ticks[first : first + chunk],
                now=clock.now, own=not handed,
            ):  # fmt: skip
                batch.append(execution_id)
                # the id, then the tick it runs for (in the trigger's time zone, as trigger.date)
                click.echo(f"{execution_id}  {tick.astimezone(ZoneInfo(trigger.timezone)).isoformat()}")
            created.extend(batch)
            if not handed and batch:
                states.extend(asyncio.run(_run_all(executor, batch)))
        done = len(ticks) - len(created)
        click.echo(f"{target} {trigger.id}: {len(ticks)} tick(s), {len(created)} created, {done} done before")
        if handed:
            if created:
                click.echo("handed to the running daemon")
            return 0
        failed = [s for s in states if s not in ("SUCCESS", "WARNING")]
        if states:
            click.echo(f"ran {len(states)}: {len(states) - len(failed)} succeeded, {len(failed)} did not")
        return 1 if failed else 0


async def _run_all(executor: Executor, execution_ids: list[str]) -> list[str]:
    """Drive the executions (the executor drives every one it owns while waiting for one); final states."""
    return [(await executor.run_until_done(execution_id)).state for execution_id in execution_ids]
