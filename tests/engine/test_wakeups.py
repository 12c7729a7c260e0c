"""A ``flowd_work`` wake-up makes the executor read the store in its very next step (adopting unowned
executions, acting on kill requests), instead of at its next poll."""

from __future__ import annotations

import asyncio

from tests.engine.conftest import Harness, deploy

FLOW = "id: f\nnamespace: test\ntasks:\n  - {id: l, type: io.kestra.plugin.core.log.Log, message: hi}\n"


def test_wake_to_poll_adopts_at_the_next_step(harness: Harness) -> None:
    ex = harness.executor
    record = deploy(harness.store, FLOW)
    execution_id = ex.create_execution(record, {}, own=False)  # e.g. handed back by another node

    async def steps() -> tuple[str | None, str | None]:
        ex.loop._last_poll = 100.0  # just polled
        ex.loop._step(100.1, adopt=True)
        before = harness.store.executions.get(execution_id).owner_id  # type: ignore[union-attr]
        ex.wake_to_poll()  # the notification
        ex.loop._step(100.2, adopt=True)
        after = harness.store.executions.get(execution_id).owner_id  # type: ignore[union-attr]
        return before, after

    before, after = asyncio.run(steps())
    assert before is None  # a plain step between polls does not look
    assert after == ex.worker_id
    ex.close()


def test_the_executor_opens_the_storage_flowd_storage_names(harness: Harness) -> None:
    """``flowd execute --local``, flow tests and the daemon build the executor alike: with
    ``FLOWD_STORAGE=database`` its files (inputs, task outputs) go to the database every node reads."""
    from daemon.clock import SystemClock
    from daemon.engine.executor import Executor
    from daemon.settings import Settings
    from daemon.store.storage_db import DatabaseStorage
    from daemon.tasks.registry import PLUGINS

    settings = Settings(home=harness.settings.home, storage="database")
    executor = Executor(harness.store, settings, SystemClock(), PLUGINS, environ={})
    assert isinstance(executor.storage, DatabaseStorage)
    assert not isinstance(harness.executor.storage, DatabaseStorage)  # the default: a local folder
    executor.close()
