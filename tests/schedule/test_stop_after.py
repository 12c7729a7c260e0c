"""``stopAfter``: a schedule whose execution ends in a listed state is disabled; no later tick fires."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from daemon.clock import FrozenClock
from daemon.engine.executor import Executor
from daemon.schedule.scheduler import Scheduler
from daemon.schedule.stop_after import StopAfterHook
from daemon.store import Store
from tests.schedule.conftest import START

Deploy = Callable[[dict[str, str]], None]

FLOW = """
id: critical
namespace: test.sched
tasks:
  - id: work
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ {fail} }}}}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/5 * * * *"
    stopAfter: [FAILED]
"""


def run_ticks(store: Store, executor: Executor, clock: FrozenClock, ticks: int) -> list[str]:
    """Fire ``ticks`` ticks five minutes apart, running each execution to its end; their end states."""
    hook = StopAfterHook(
        store, clock, parse=lambda e: executor.flows.revision(e.namespace, e.flow_id, e.flow_revision).flow
    )
    executor.end_hooks.append(hook)
    scheduler = Scheduler(store, executor, clock)
    states: list[str] = []
    for _ in range(ticks):
        scheduler.reload(clock.now())
        scheduler.fire_due(clock.now())
        for row in store.executions.list(namespace="test.sched", flow_id="critical", limit=50):
            if row.id not in {s.split(":")[0] for s in states}:
                ended = asyncio.run(asyncio.wait_for(executor.run_until_done(row.id), 60))
                states.append(f"{row.id}:{ended.state}")
        clock.advance(timedelta(minutes=5))
    return [s.split(":")[1] for s in states]


def test_a_failed_execution_stops_the_schedule(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"c.yml": FLOW.format(fail="true")})
    assert clock.now() == START
    assert run_ticks(store, executor, clock, 3) == ["FAILED"]
    state = store.triggers.get("test.sched", "critical", "daily")
    assert state is not None and state.disabled


def test_successful_executions_keep_it_running(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"c.yml": FLOW.format(fail="false")})
    assert run_ticks(store, executor, clock, 3) == ["SUCCESS", "SUCCESS", "SUCCESS"]
    state = store.triggers.get("test.sched", "critical", "daily")
    assert state is not None and not state.disabled


def test_a_new_revision_enables_it_again(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"c.yml": FLOW.format(fail="true")})
    run_ticks(store, executor, clock, 1)
    deploy({"c.yml": FLOW.format(fail="true") + "description: fixed\n"})
    state = store.triggers.get("test.sched", "critical", "daily")
    assert state is not None and not state.disabled and state.revision == 2
