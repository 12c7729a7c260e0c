"""The outbox: what follows an execution's end (here a flow trigger) is recorded with the end and done
exactly once, across a crash between the end's commit and the hook, and across errors in the hook."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.schedule.flow_triggers import FlowTriggerHook
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS
from tests.engine.conftest import deploy

pytestmark = pytest.mark.integration

UP = """
id: up
namespace: test.outbox
tasks:
  - {id: a, type: io.kestra.plugin.core.log.Log, message: up}
"""
DOWN = """
id: down
namespace: test.outbox
tasks:
  - {id: b, type: io.kestra.plugin.core.log.Log, message: "after {{ trigger.executionId }}"}
triggers:
  - id: after_up
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: test.outbox
        flowId: up
"""


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the executor catches it)."""


def daemon_executor(store: Store, home: Path, name: str) -> tuple[Executor, FlowTriggerHook]:
    executor = Executor(store, Settings(home=home / name), SystemClock(), PLUGINS, worker_id=name, environ={})
    hook = FlowTriggerHook(
        store, executor, executor.clock,
        parse=lambda r: executor.flows.revision(r.namespace, r.flow_id, r.revision).flow,
    )  # fmt: skip
    executor.end_hooks.append(hook)
    return executor, hook


def downstream(store: Store) -> list[str]:
    return [e.id for e in store.executions.list(namespace="test.outbox", flow_id="down")]


def test_a_crash_between_the_end_and_its_trigger_still_starts_one_downstream(
    store: Store, tmp_path: Path
) -> None:
    up = deploy(store, UP)
    deploy(store, DOWN)
    first, _ = daemon_executor(store, tmp_path, "first")

    def crash(*_args: object, **_kw: object) -> None:
        raise Crash

    first.follow_ups.run = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        first.create_execution(up, {})  # ends within its first transaction, then "dies"
    assert downstream(store) == []
    assert len(store.outbox.due(None)) == 1  # the end's follow-up was recorded with the end

    second, _ = daemon_executor(store, tmp_path, "second")  # the restarted daemon
    second.follow_ups.drain(second.clock.now(), every=True)
    second.follow_ups.drain(second.clock.now(), every=True)  # acting twice creates nothing more
    third, _ = daemon_executor(store, tmp_path, "third")  # nor does another daemon racing on it
    third.follow_ups.drain(third.clock.now(), every=True)
    created = downstream(store)
    assert len(created) == 1
    row = asyncio.run(asyncio.wait_for(second.run_until_done(created[0]), 30))
    assert row.state == "SUCCESS"
    assert store.outbox.due(None) == []  # deleted with the step's transaction


def test_an_error_in_the_trigger_is_retried_later(store: Store, tmp_path: Path) -> None:
    up = deploy(store, UP)
    deploy(store, DOWN)
    executor, hook = daemon_executor(store, tmp_path, "only")
    real = hook.fire
    calls = []

    def flaky(execution: object) -> list[str]:
        calls.append(execution)
        if len(calls) == 1:
            raise ConnectionResetError("injected: connection reset by peer")
        return real(execution)  # type: ignore[arg-type]

    hook.fire = flaky  # type: ignore[method-assign]
    upstream = executor.create_execution(up, {})
    asyncio.run(asyncio.wait_for(executor.run_until_done(upstream), 30))
    assert downstream(store) == []
    (pending,) = store.outbox.due(None)
    assert pending.attempts == 1 and "connection reset" in (pending.last_error or "")
    assert pending.due_at > executor.clock.now()  # postponed, not dropped
    executor.follow_ups.drain(pending.due_at)  # later, when due
    created = downstream(store)
    assert len(created) == 1
    asyncio.run(asyncio.wait_for(executor.run_until_done(created[0]), 30))
    assert store.outbox.due(None) == []
    executor.follow_ups.drain(pending.due_at)
    assert len(downstream(store)) == 1
