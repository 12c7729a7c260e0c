# ruff: noqa: E501  (flow YAML is clearer on one line)
"""Retry, timeout, failure handling, concurrency, inputs, secrets, kill and recovery (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import timedelta

import pytest

from daemon.clock import SystemClock
from daemon.engine.executor import Executor, kill_in_store
from daemon.errors import InputError
from daemon.tasks.registry import PLUGINS
from tests.engine.conftest import Harness, deploy

HEAD = "id: f\nnamespace: test\n"


@pytest.mark.parametrize("kind", ["constant", "exponential", "random"])
def test_retry_records_attempts_then_fails(harness: Harness, kind: str) -> None:
    extra = "maxInterval: PT0.02S" if kind != "constant" else ""
    ex = harness.run(
        HEAD
        + f"""
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    retry: {{type: {kind}, interval: PT0.01S, maxAttempt: 3, {extra}}}
"""
    )
    assert ex.state == "FAILED"
    run = harness.runs(ex.id, "flaky")[0]
    assert [a["state"] for a in run.attempts] == ["FAILED", "FAILED", "FAILED"]
    assert all(a["startDate"] and a["endDate"] for a in run.attempts)
    assert [h["state"] for h in run.histories].count("RETRYING") == 2


def test_retry_succeeds_later_with_warning_on_retry(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 2 }}"
    retry: {type: constant, interval: PT0.01S, maxAttempt: 5, warningOnRetry: true}
"""
    )
    run = harness.runs(ex.id, "flaky")[0]
    assert [a["state"] for a in run.attempts] == ["FAILED", "FAILED", "SUCCESS"]
    assert run.state == "WARNING" and ex.state == "WARNING"


def test_timeout_fails_the_attempt(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + "tasks:\n  - {id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT30S, timeout: PT0.05S}\n"
    )
    assert ex.state == "FAILED"
    assert any("timeout" in line for line in harness.logs(ex.id))


def test_allow_failure_and_run_if_and_disabled(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: bad, type: io.kestra.plugin.core.execution.Fail, allowFailure: true}
  - {id: skipped, type: io.kestra.plugin.core.log.Log, message: s, runIf: "{{ 1 == 2 }}"}
  - {id: disabled-one, type: io.kestra.plugin.core.log.Log, message: o, disabled: true}
  - {id: ok, type: io.kestra.plugin.core.log.Log, message: k}
"""
    )
    assert ex.state == "WARNING"
    assert harness.states(ex.id) == {"bad": "FAILED", "skipped": "SKIPPED", "ok": "SUCCESS"}


def test_errors_and_finally(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail, errorMessage: "it broke"}
  - {id: never, type: io.kestra.plugin.core.log.Log, message: never}
errors:
  - {id: handler, type: io.kestra.plugin.core.log.Log, message: "handling"}
finally:
  - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: "cleanup"}
"""
    )
    assert ex.state == "FAILED"
    assert harness.states(ex.id) == {"boom": "FAILED", "handler": "SUCCESS", "cleanup": "SUCCESS"}
    assert harness.logs(ex.id) == ["it broke", "handling", "cleanup"]


def test_flowable_errors_block(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks: [{id: boom, type: io.kestra.plugin.core.execution.Fail}]
    errors: [{id: local, type: io.kestra.plugin.core.log.Log, message: local}]
"""
    )
    assert ex.state == "FAILED"
    assert harness.states(ex.id)["local"] == "SUCCESS"


def test_execution_status_condition_on_task(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail, allowFailure: true}
finally:
  - id: notify_ok
    type: io.kestra.plugin.core.log.Log
    message: ok
    conditions: [{type: io.kestra.plugin.core.condition.ExecutionStatus, in: [SUCCESS]}]
  - id: notify_any
    type: io.kestra.plugin.core.log.Log
    message: any
    conditions: [{type: io.kestra.plugin.core.condition.ExecutionStatus, in: [SUCCESS, WARNING]}]
"""
    )
    assert harness.states(ex.id)["notify_ok"] == "SKIPPED"
    assert harness.states(ex.id)["notify_any"] == "SUCCESS"


def test_inputs_are_validated_before_anything_is_created(harness: Harness) -> None:
    flow = (
        HEAD
        + "inputs:\n  - {id: n, type: INT, min: 1}\ntasks:\n  - {id: l, type: io.kestra.plugin.core.log.Log, message: x}\n"
    )
    record = deploy(harness.store, flow)
    with pytest.raises(InputError, match="'n'"):
        harness.executor.create_execution(record, {"n": "zero"})
    with pytest.raises(InputError, match="'n'"):
        harness.executor.create_execution(record, {})
    assert harness.store.executions.list() == []


def test_input_values_are_data_not_templates(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + "inputs: [{id: s, type: STRING}]\ntasks:\n  - {id: r, type: io.kestra.plugin.core.debug.Return, format: '{{ inputs.s }}'}\n",
        {"s": "{{ flow.id }}"},
    )
    assert harness.runs(ex.id, "r")[0].outputs == {"value": "{{ flow.id }}"}


def test_secrets_are_masked_in_logs_and_outputs(make_harness: Callable[..., Harness]) -> None:
    encoded = base64.b64encode(b"hunter22").decode()
    harness = make_harness({"SECRET_PASSWORD": encoded, "FLOWD_SECRET_TOKEN": "tok-123", "ENV_REGION": "eu"})
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: l, type: io.kestra.plugin.core.log.Log, message: "pw={{ secret('PASSWORD') }} t={{ secret.TOKEN }} {{ envs.region }}"}
  - {id: r, type: io.kestra.plugin.core.debug.Return, format: "{{ secret('PASSWORD') }}"}
"""
    )
    assert ex.state == "SUCCESS"
    assert harness.logs(ex.id) == ["pw=****** t=****** eu"]
    assert harness.runs(ex.id, "r")[0].outputs == {"value": "******"}


@pytest.mark.parametrize(
    ("behavior", "second"), [("CANCEL", "CANCELLED"), ("FAIL", "FAILED"), ("QUEUE", "SUCCESS")]
)
def test_flow_concurrency(harness: Harness, behavior: str, second: str) -> None:
    flow = (
        HEAD
        + f"concurrency: {{limit: 1, behavior: {behavior}}}\n"
        + "tasks:\n  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.2S}\n"
    )
    record = deploy(harness.store, flow)
    ex = harness.executor
    first = ex.create_execution(record, {})
    other = ex.create_execution(record, {})
    state = harness.store.executions.get(other).state  # type: ignore[union-attr]
    assert state == {"CANCEL": "CANCELLED", "FAIL": "FAILED", "QUEUE": "QUEUED"}[behavior]

    async def both() -> tuple[str, str]:
        a = await ex.run_until_done(first)
        b = await ex.run_until_done(other)
        return a.state, b.state

    assert asyncio.run(asyncio.wait_for(both(), 30)) == ("SUCCESS", second)
    if behavior == "QUEUE":
        queued = harness.store.executions.get(other)
        assert [h["state"] for h in queued.histories][:3] == ["CREATED", "QUEUED", "CREATED"]  # type: ignore[union-attr]


def test_kill_running_execution(harness: Harness) -> None:
    record = deploy(
        harness.store,
        HEAD
        + "tasks:\n  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT30S}\n  - {id: l, type: io.kestra.plugin.core.log.Log, message: x}\n",
    )
    ex = harness.executor
    execution_id = ex.create_execution(record, {})

    async def go() -> str:
        runner = asyncio.ensure_future(ex.run_until_done(execution_id))
        while not ex.state.tasks:  # the sleep has started
            await asyncio.sleep(0.01)
        assert ex.kill(execution_id)
        return (await asyncio.wait_for(runner, 20)).state

    assert asyncio.run(go()) == "KILLED"
    assert harness.states(execution_id) == {"s": "KILLED"}
    states = [h["state"] for h in harness.store.executions.get(execution_id).histories]  # type: ignore[union-attr]
    assert states[-2:] == ["KILLING", "KILLED"]


def test_kill_from_another_process_view(harness: Harness) -> None:
    record = deploy(
        harness.store, HEAD + "tasks:\n  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT30S}\n"
    )
    ex = harness.executor
    execution_id = ex.create_execution(record, {})

    async def go() -> str:
        runner = asyncio.ensure_future(ex.run_until_done(execution_id))
        while not ex.state.tasks:
            await asyncio.sleep(0.01)
        # what `flowd kill` does: the owner is alive, so it only asks
        assert kill_in_store(harness.store, execution_id, now=SystemClock().now())
        return (await asyncio.wait_for(runner, 20)).state

    assert asyncio.run(go()) == "KILLED"


def test_recovery_of_abandoned_running_execution(harness: Harness) -> None:
    record = deploy(
        harness.store,
        HEAD
        + "tasks:\n  - {id: a, type: io.kestra.plugin.core.kv.Set, key: k, value: a}\n  - {id: b, type: io.kestra.plugin.core.log.Log, message: b}\n",
    )
    clock = SystemClock()
    dead = Executor(harness.store, harness.settings, clock, PLUGINS, worker_id="dead-worker", environ={})
    # creating writes the execution RUNNING with task 'a' (not an inline task: creating does not run it)
    # claimed by dead-worker; then the process "dies"
    execution_id = dead.create_execution(record, {})
    a = harness.runs(execution_id, "a")[0]
    assert a.state == "RUNNING" and a.claimed_by == "dead-worker"
    assert harness.store.executions.get(execution_id).state == "RUNNING"  # type: ignore[union-attr]
    # its heartbeat is old
    later = Executor(
        harness.store, harness.settings, _Later(clock), PLUGINS, worker_id="new-worker", environ={}
    )
    assert later.recover() == [execution_id]
    done = asyncio.run(asyncio.wait_for(later.run_until_done(execution_id), 20))
    assert done.state == "SUCCESS"
    assert harness.logs(execution_id)[-1:] == ["b"]
    assert [a["state"] for a in harness.runs(execution_id, "a")[0].attempts] == ["KILLED", "SUCCESS"]


def test_recovery_fails_execution_whose_flow_cannot_be_loaded(harness: Harness) -> None:
    record = deploy(
        harness.store, HEAD + "tasks:\n  - {id: a, type: io.kestra.plugin.core.kv.Set, key: k, value: a}\n"
    )
    clock = SystemClock()
    dead = Executor(harness.store, harness.settings, clock, PLUGINS, worker_id="dead-worker", environ={})
    execution_id = dead.create_execution(record, {})  # RUNNING, 'a' claimed (not inline: not run yet)
    with harness.store.begin() as conn:
        conn.exec_driver_sql("DELETE FROM flow_revisions")
    later = Executor(harness.store, harness.settings, _Later(clock), PLUGINS, worker_id="w2", environ={})
    later.recover()
    row = harness.store.executions.get(execution_id)
    assert row is not None and row.state == "FAILED"
    assert any("cannot resume" in line for line in harness.logs(execution_id))


class _Later:
    """A clock a minute ahead, so the other executor's heartbeat looks stale."""

    def __init__(self, clock: SystemClock) -> None:
        self._clock = clock

    def now(self):  # type: ignore[no-untyped-def]
        return self._clock.now() + timedelta(minutes=1)


def test_recovery_adopts_a_backlog_in_batches_with_each_ones_task_runs(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import daemon.engine.lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "ADOPT_LIMIT", 3)
    record = deploy(
        harness.store,
        HEAD
        + "tasks:\n  - {id: a, type: io.kestra.plugin.core.kv.Set, key: k, value: a}\n  - {id: b, type: io.kestra.plugin.core.log.Log, message: b}\n",
    )
    clock = SystemClock()
    dead = Executor(harness.store, harness.settings, clock, PLUGINS, worker_id="dead-worker", environ={})
    started = [dead.create_execution(record, {}) for _ in range(2)]  # task 'a' RUNNING on a dead worker
    unowned = [dead.create_execution(record, {}, own=False) for _ in range(3)]  # no task run yet
    later = Executor(
        harness.store, harness.settings, _Later(clock), PLUGINS, worker_id="new-worker", environ={}
    )
    first = later.recover()
    assert len(first) == 3 and later.state.adopted_full  # a full batch: the loop looks again at once
    for execution_id in first:  # each one's own runs, read for the whole batch at once
        tasks = sorted(r.task_id for r in later.views[execution_id].runs.values())
        assert tasks == (["a"] if execution_id in started else [])
    second = later.recover()
    assert sorted(first + second) == sorted(started + unowned) and not later.state.adopted_full

    async def drive() -> list[str]:
        return [(await later.run_until_done(i)).state for i in started + unowned]

    assert asyncio.run(asyncio.wait_for(drive(), 30)) == ["SUCCESS"] * 5


def test_attempt_hooks_get_every_stored_attempts_duration(harness: Harness) -> None:
    from daemon.engine.runtime import parse_date

    seen: list[float] = []
    harness.executor.attempt_hooks.append(seen.append)  # the daemon's task-duration metric (no read back)
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 2 }}"
    retry: {type: constant, interval: PT0.01S, maxAttempt: 5}
  - id: after
    type: io.kestra.plugin.core.kv.Set
    key: k
    value: v
"""
    )
    stored = [
        (parse_date(a["endDate"], ex.start_date) - parse_date(a["startDate"], ex.start_date)).total_seconds()
        for task_id in ("flaky", "after")
        for run in harness.runs(ex.id, task_id)
        for a in run.attempts
    ]
    assert len(stored) == 4 and sorted(seen) == sorted(stored)
