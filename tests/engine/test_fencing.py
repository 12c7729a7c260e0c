"""Fault injection: two executors on one store, the owner stalled past the stale threshold (its loop stops
stepping while its shell attempt runs on). Each attempt's side effect happens once per recorded attempt,
the history never shows two ends, the stalled owner's late writes are refused, and a kill is never
overwritten."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon.clock import SystemClock
from daemon.engine import states as S
from daemon.engine.executor import STALE_AFTER, Executor, kill_in_store
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS
from tests.engine.conftest import deploy

pytestmark = pytest.mark.integration


class AheadClock:
    """The system clock, ``offset`` ahead: to this executor the other one's heartbeat looks stale."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return SystemClock().now() + self.offset


def flow(side: Path, seconds: float) -> str:
    return f"""
id: fenced
namespace: test.faults
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - echo attempt >> {side}
      - sleep {seconds}
"""


def executor(store: Store, home: Path, name: str, clock: object = None) -> Executor:
    return Executor(
        store, Settings(home=home / name), clock or SystemClock(), PLUGINS, worker_id=name, environ={}
    )  # type: ignore[arg-type]


async def stall_after_start(owner: Executor, execution_id: str, side: Path) -> None:
    """Drive until the attempt has started (its side effect happened), then stop the loop."""
    driver = asyncio.ensure_future(owner.run_until_done(execution_id))
    while not side.exists():
        await asyncio.sleep(0.01)
    driver.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await driver


def ends(histories: list[dict[str, object]]) -> list[object]:
    return [h["state"] for h in histories if S.is_terminal(str(h["state"]))]


@pytest.mark.parametrize("noticed_by", ["heartbeat", "commit"])
def test_a_stalled_owner_is_fenced_off_and_the_attempt_runs_once_per_record(
    store: Store, tmp_path: Path, noticed_by: str
) -> None:
    side = tmp_path / "side.txt"
    record = deploy(store, flow(side, 0.6))
    a = executor(store, tmp_path, "A")
    b = executor(store, tmp_path, "B", AheadClock(STALE_AFTER + timedelta(seconds=5)))

    async def scenario() -> str:
        execution_id = a.create_execution(record, {})
        await stall_after_start(a, execution_id, side)
        assert b.recover() == [execution_id]  # adoption bumps the epoch
        run_id = next(iter(a.views[execution_id].runs))
        if noticed_by == "heartbeat":
            a.claims.beat(a.clock.now())  # the beat's row count says the execution is gone
            assert execution_id not in a.views
            assert a.state.cancel[run_id].is_set()  # its running attempt is cancelled
        else:
            while not a.state.finished:  # A's attempt ends (SUCCESS) while A's loop is stalled
                await asyncio.sleep(0.01)
        ended = await asyncio.wait_for(b.run_until_done(execution_id), 30)
        assert ended.state == S.SUCCESS
        late = await asyncio.wait_for(a.run_until_done(execution_id), 30)  # A's loop resumes
        assert late.state == S.SUCCESS and late.owner_id == "B"
        assert execution_id not in a.views
        return execution_id

    execution_id = asyncio.run(scenario())
    row = store.executions.get(execution_id)
    assert row is not None and ends(row.histories) == [S.SUCCESS]
    (run,) = store.executions.list_task_runs(execution_id)
    assert len(ends(run.histories)) == 1 and run.state == S.SUCCESS
    # one side effect per recorded attempt: A's (recorded KILLED by the adopter) and B's
    assert side.read_text().count("attempt") == len(run.attempts) == 2
    assert [a["state"] for a in run.attempts] == [S.KILLED, S.SUCCESS]


def test_a_kill_while_the_owner_looks_gone_is_never_overwritten(store: Store, tmp_path: Path) -> None:
    side = tmp_path / "side.txt"
    record = deploy(store, flow(side, 0.3))
    a = executor(store, tmp_path, "A")

    async def scenario() -> str:
        execution_id = a.create_execution(record, {})
        await stall_after_start(a, execution_id, side)
        later = SystemClock().now() + STALE_AFTER + timedelta(seconds=5)
        assert kill_in_store(store, execution_id, now=later)  # the owner looks gone: killed in the store
        while not a.state.finished:  # the stalled owner's attempt succeeds meanwhile
            await asyncio.sleep(0.01)
        await asyncio.wait_for(a.run_until_done(execution_id), 30)  # and its loop resumes
        return execution_id

    execution_id = asyncio.run(scenario())
    row = store.executions.get(execution_id)
    assert row is not None and row.state == S.KILLED
    assert ends(row.histories) == [S.KILLED]
    (run,) = store.executions.list_task_runs(execution_id)
    assert run.state == S.KILLED and ends(run.histories) == [S.KILLED]


def test_a_kill_written_while_the_owner_is_alive_wins_over_its_next_step(
    store: Store, tmp_path: Path
) -> None:
    side = tmp_path / "side.txt"
    record = deploy(store, flow(side, 0.3))
    a = executor(store, tmp_path, "A")
    a.claims.poll_store = lambda now, adopt: None  # type: ignore[method-assign]  # the kill is seen by the fence only

    async def scenario() -> str:
        execution_id = a.create_execution(record, {})
        await stall_after_start(a, execution_id, side)
        assert kill_in_store(store, execution_id, now=SystemClock().now())  # owner alive: KILLING only
        row = store.executions.get(execution_id)
        assert row is not None and row.state == S.KILLING
        await asyncio.wait_for(a.run_until_done(execution_id), 30)
        return execution_id

    execution_id = asyncio.run(scenario())
    row = store.executions.get(execution_id)
    assert row is not None and row.state == S.KILLED
    assert ends(row.histories) == [S.KILLED]
