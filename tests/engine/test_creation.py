# ruff: noqa: E501  (flow YAML is clearer on one line)
"""Creating an execution runs its first step in the creating transaction (SQLite, PostgreSQL): inline core
tasks run there, so an execution of Log tasks only is written already ended; nested creations plan only;
a creation whose transaction fails leaves nothing behind in memory."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
import sqlalchemy.exc

from daemon.store import Execution
from tests.engine.conftest import Harness, deploy

LOGS = "id: logs\nnamespace: test\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: 'a {{ execution.id }}'}\n  - {id: b, type: io.kestra.plugin.core.log.Log, message: b}\n"
SLEEPY = "id: sleepy\nnamespace: test\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: a}\n  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.01S}\n  - {id: c, type: io.kestra.plugin.core.log.Log, message: c}\n"


def test_inline_only_execution_ends_in_its_creating_transaction(harness: Harness) -> None:
    record = deploy(harness.store, LOGS)
    ended: list[Execution] = []
    harness.executor.end_hooks.append(ended.append)
    execution_id = harness.executor.create_execution(record, {})
    row = harness.store.executions.get(execution_id)
    assert row is not None and row.state == "SUCCESS" and row.end_date is not None
    assert [h["state"] for h in row.histories] == ["CREATED", "RUNNING", "SUCCESS"]
    assert harness.states(execution_id) == {"a": "SUCCESS", "b": "SUCCESS"}
    assert harness.logs(execution_id) == [f"a {execution_id}", "b"]
    assert [e.id for e in ended] == [execution_id]  # the hook saw the committed end, once
    assert execution_id not in harness.executor.views
    done = asyncio.run(harness.executor.run_until_done(execution_id))
    assert done == row  # the row create_execution wrote, not read back
    assert asyncio.run(harness.executor.run_until_done(execution_id)) == row  # then from the store


def test_creation_stops_at_the_first_task_that_waits(harness: Harness) -> None:
    record = deploy(harness.store, SLEEPY)
    execution_id = harness.executor.create_execution(record, {})
    row = harness.store.executions.get(execution_id)
    assert row is not None and row.state == "RUNNING"
    assert harness.states(execution_id) == {"a": "SUCCESS", "nap": "RUNNING"}
    done = asyncio.run(harness.executor.run_until_done(execution_id))
    assert done.state == "SUCCESS" and harness.logs(execution_id) == ["a", "c"]
    assert [h["state"] for h in done.histories] == ["CREATED", "RUNNING", "SUCCESS"]


def test_execution_created_in_a_callers_transaction_records_running(harness: Harness) -> None:
    record = deploy(harness.store, LOGS)
    with harness.store.begin() as conn:
        execution_id = harness.executor.create_execution(record, {}, conn=conn)
    row = harness.store.executions.get(execution_id)
    assert row is not None and row.state == "CREATED"  # planned and run by the loop's next step
    done = asyncio.run(harness.executor.run_until_done(execution_id))
    assert done.state == "SUCCESS"
    stored = harness.store.executions.get(execution_id)
    assert stored is not None
    # CREATED -> RUNNING -> SUCCESS within one step: RUNNING is in the history too
    assert (
        [h["state"] for h in stored.histories]
        == ["CREATED", "RUNNING", "SUCCESS"]
        == [h["state"] for h in done.histories]
    )


def test_execution_created_by_an_end_hook_is_planned_only(harness: Harness) -> None:
    record = deploy(harness.store, LOGS)
    created: list[str] = []

    def again(row: Execution) -> None:  # would recurse without end if creating ran it
        if len(created) < 3:
            created.append(harness.executor.create_execution(record, {}))

    harness.executor.end_hooks.append(again)
    first = harness.executor.create_execution(record, {})
    assert len(created) == 1
    nested = harness.store.executions.get(created[0])
    assert nested is not None and nested.state == "RUNNING"  # written, its Log tasks not run yet
    assert asyncio.run(harness.executor.run_until_done(created[0])).state == "SUCCESS"
    assert harness.store.executions.get(first).state == "SUCCESS"  # type: ignore[union-attr]


def test_failed_creating_transaction_leaves_nothing_in_memory(harness: Harness) -> None:
    record = deploy(harness.store, LOGS)
    taken = harness.executor.create_execution(record, {}, own=False)  # left for a daemon: not driven here
    with pytest.raises(sqlalchemy.exc.IntegrityError):  # the same id: the insert fails, reported as itself
        harness.executor.create_execution(record, {}, execution_id=taken)
    assert taken not in harness.executor.views
    assert not harness.executor.busy
    row = harness.store.executions.get(taken)
    assert row is not None and row.state == "CREATED" and row.owner_id is None
    assert harness.runs(taken) == [] and harness.logs(taken) == []
    # the executor goes on working (a fresh connection after the failed one)
    other = harness.executor.create_execution(record, {})
    assert asyncio.run(harness.executor.run_until_done(other)).state == "SUCCESS"


class TickingClock:
    """A clock that moves 1 ms each time it is read: every date the engine records must be a fresh read."""

    def __init__(self) -> None:
        from datetime import UTC, datetime

        self.at = datetime(2025, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        from datetime import timedelta

        self.at += timedelta(milliseconds=1)
        return self.at


def test_inline_tasks_keep_their_own_dates(harness: Harness) -> None:
    """Tasks run in one step must not share the step's date: the Gantt chart and the gap between tasks
    are computed from these dates."""
    harness.executor.clock = TickingClock()
    record = deploy(harness.store, LOGS)
    execution_id = harness.executor.create_execution(record, {})
    row = harness.store.executions.get(execution_id)
    assert row is not None and row.end_date is not None
    a, b = (harness.runs(execution_id, task)[0] for task in ("a", "b"))
    a_end, b_start = a.attempts[0]["endDate"], b.attempts[0]["startDate"]
    assert a.attempts[0]["startDate"] < a_end <= b_start < b.attempts[0]["endDate"]
    assert row.histories[-1]["date"] >= b.attempts[0]["endDate"]
    assert row.end_date > row.start_date


def test_grouped_creations_are_written_together_when_the_group_ends(harness: Harness) -> None:
    record, sleepy = deploy(harness.store, LOGS), deploy(harness.store, SLEEPY)
    ended: list[Execution] = []
    harness.executor.end_hooks.append(ended.append)
    with harness.executor.grouped_creations():
        first = harness.executor.create_execution(record, {})
        second = harness.executor.create_execution(sleepy, {})
        assert harness.store.executions.get(first) is None  # planned and run, not written yet
        assert ended == []  # an end is acted on only once committed
    row = harness.store.executions.get(first)
    assert row is not None and row.state == "SUCCESS"
    assert harness.states(first) == {"a": "SUCCESS", "b": "SUCCESS"}
    assert harness.logs(first) == [f"a {first}", "b"]
    assert [e.id for e in ended] == [first]
    assert harness.states(second) == {"a": "SUCCESS", "nap": "RUNNING"}
    assert asyncio.run(harness.executor.run_until_done(first)) == row  # the row the group wrote
    assert asyncio.run(harness.executor.run_until_done(second)).state == "SUCCESS"


def test_failed_group_write_stores_none_of_it_and_leaves_nothing_in_memory(harness: Harness) -> None:
    record, sleepy = deploy(harness.store, LOGS), deploy(harness.store, SLEEPY)
    taken = harness.executor.create_execution(record, {}, own=False)  # left for a daemon: not driven here
    ended: list[Execution] = []
    harness.executor.end_hooks.append(ended.append)
    created = []
    # one duplicate id fails the group's transaction
    with pytest.raises(sqlalchemy.exc.IntegrityError), harness.executor.grouped_creations():
        created.append(harness.executor.create_execution(record, {}))
        created.append(harness.executor.create_execution(sleepy, {}))
        harness.executor.create_execution(record, {}, execution_id=taken)
    assert [harness.store.executions.get(i) for i in created] == [None, None]
    assert not any(i in harness.executor.views for i in created) and not harness.executor.busy
    assert ended == []
    # the executor goes on working, grouped or not
    with harness.executor.grouped_creations():
        again = harness.executor.create_execution(sleepy, {})
    assert asyncio.run(harness.executor.run_until_done(again)).state == "SUCCESS"
