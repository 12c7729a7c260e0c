"""Flow-level ``retry`` with ``behavior: CREATE_NEW_EXECUTION`` (Kestra): a failed execution ends RETRIED and
a new execution (same inputs and labels, the attempt in ``system.retryAttempt``) starts after the retry's
delay, exactly once, up to ``maxAttempt``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.engine import states as S
from daemon.engine.flow_retry import ATTEMPT, ORIGINAL_DATE, plan_retry, retry_id
from daemon.language.common import Retry
from daemon.store import Execution, Store
from tests.engine.conftest import Harness

pytestmark = pytest.mark.integration

ALWAYS_FAILS = """
id: flaky
namespace: test.retry
labels: {team: data}
inputs:
  - {id: n, type: INT}
retry:
  type: constant
  interval: PT1H
  maxAttempt: 3
  behavior: CREATE_NEW_EXECUTION
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail, errorMessage: "n={{ inputs.n }}"}
"""

FAILS_ONCE = """
id: once
namespace: test.retry
retry:
  type: constant
  interval: PT1S
  maxAttempt: 5
  behavior: CREATE_NEW_EXECUTION
tasks:
  - id: first_only
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ (labels['system.retryAttempt'] ?? '1') == '1' }}"
  - {id: done, type: io.kestra.plugin.core.log.Log, message: "attempt {{ labels['system.retryAttempt'] }}"}
"""


def retried(harness: Harness, old: Execution, *, after: timedelta) -> Execution:
    """Act on the outbox ``after`` the old execution's end; run the new execution to its end."""
    assert old.end_date is not None
    harness.executor.follow_ups.drain(old.end_date + after)
    new = harness.store.executions.get(retry_id(old.id))
    assert new is not None
    return asyncio.run(asyncio.wait_for(harness.executor.run_until_done(new.id), 60))


def history(execution: Execution) -> list[str]:
    return [h["state"] for h in execution.histories or []]


def test_a_failed_execution_ends_retried_and_a_new_one_starts_after_the_delay(harness: Harness) -> None:
    first = harness.run(ALWAYS_FAILS, {"n": 7}, labels={"who": "me"})
    assert first.state == S.RETRIED
    assert history(first)[-2:] == [S.FAILED, S.RETRIED]
    harness.executor.follow_ups.drain(first.end_date or harness.executor.clock.now())  # not due yet
    assert harness.store.executions.get(retry_id(first.id)) is None

    second = retried(harness, first, after=timedelta(hours=1, seconds=1))
    assert second.inputs == {"n": 7}
    assert second.labels is not None and first.labels is not None
    assert second.labels["system.correlationId"] == first.labels["system.correlationId"] == first.id
    assert (second.labels["team"], second.labels["who"], second.labels[ATTEMPT]) == ("data", "me", "2")
    assert second.state == S.RETRIED

    third = retried(harness, second, after=timedelta(hours=1, seconds=1))
    assert third.labels is not None and third.labels[ATTEMPT] == "3"
    assert third.state == S.FAILED  # maxAttempt counts every execution: no fourth
    assert harness.store.outbox.due(None) == []
    flows = harness.store.executions.list(namespace="test.retry", flow_id="flaky")
    assert sorted(e.state for e in flows) == [S.FAILED, S.RETRIED, S.RETRIED]


def test_the_retry_that_succeeds_ends_the_chain(harness: Harness) -> None:
    first = harness.run(FAILS_ONCE)
    assert first.state == S.RETRIED
    second = retried(harness, first, after=timedelta(seconds=2))
    assert second.state == S.SUCCESS
    assert "attempt 2" in harness.logs(second.id)


def test_the_new_execution_is_created_once_however_often_the_row_is_acted_on(
    harness: Harness, store: Store, tmp_path: Path
) -> None:
    first = harness.run(ALWAYS_FAILS, {"n": 1})
    later = (first.end_date or harness.executor.clock.now()) + timedelta(hours=2)
    (row,) = store.outbox.due(None)
    consumer = harness.executor.follow_ups.kinds["retry"]
    consumer(row)  # acted on, then the process "dies" before deleting the row
    other = Harness(store, tmp_path / "other")  # another daemon takes the row left behind
    other.executor.follow_ups.drain(later, every=True)
    other.executor.follow_ups.drain(later, every=True)
    assert store.outbox.due(None) == []
    flows = store.executions.list(namespace="test.retry", flow_id="flaky")
    assert sorted(e.id for e in flows) == sorted([first.id, retry_id(first.id)])


def test_a_success_is_not_retried(harness: Harness) -> None:
    ok = harness.run(ALWAYS_FAILS.replace("execution.Fail, errorMessage", "log.Log, message"), {"n": 1})
    assert ok.state == S.SUCCESS
    assert harness.store.outbox.due(None) == []


def test_plan_retry_counts_attempts_and_bounds_the_whole_chain_by_max_duration() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    failed = Execution(id="e", namespace="n", flow_id="f", flow_revision=1, state=S.FAILED, start_date=start)
    retry = Retry(type="constant", interval=timedelta(minutes=1), maxDuration=timedelta(minutes=10),
                  behavior="CREATE_NEW_EXECUTION")  # fmt: skip
    now = start + timedelta(minutes=2)
    plan = plan_retry(retry, failed, {}, now)
    assert plan is not None
    assert (plan.attempt, plan.original, plan.due_at) == (2, start, now + timedelta(minutes=1))
    later = start + timedelta(minutes=9, seconds=30)  # a later attempt, started long after the first
    labels = {ATTEMPT: "4", ORIGINAL_DATE: S.iso(start)}
    assert plan_retry(retry, replace(failed, start_date=later), labels, later) is None  # past maxDuration
    assert plan_retry(retry.model_copy(update={"behavior": None}), failed, {}, now) is None
    assert plan_retry(retry, replace(failed, parent_execution_id="p"), {}, now) is None  # a subflow's
