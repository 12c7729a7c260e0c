"""Logs: bulk insert and reading by execution, task, level and after an id (follow)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Execution, LogEntry, Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _setup(store: Store) -> None:
    store.executions.create(
        Execution(id="e1", namespace="ns", flow_id="f", flow_revision=1, state="RUNNING", start_date=T0)
    )


def test_bulk_insert_and_follow(store: Store) -> None:
    _setup(store)
    entries = [
        LogEntry(
            execution_id="e1",
            level="DEBUG" if i % 2 else "INFO",
            timestamp=T0 + timedelta(milliseconds=i),
            message=f"line {i}",
            task_run_id="tr-a" if i < 500 else "tr-b",
            task_id="a" if i < 500 else "b",
            attempt=1,
        )
        for i in range(1000)
    ]
    store.logs.insert(entries)
    lines = store.logs.for_execution("e1")
    assert [line.message for line in lines] == [e.message for e in entries]
    assert lines[3].timestamp == T0 + timedelta(milliseconds=3)
    ids = [line.id for line in lines]
    assert ids == sorted(ids)
    assert [line.message for line in store.logs.for_execution("e1", after_id=ids[997])] == [
        "line 998",
        "line 999",
    ]
    assert len(store.logs.for_execution("e1", task_id="b")) == 500
    assert len(store.logs.for_execution("e1", min_level="INFO")) == 500
    assert len(store.logs.for_execution("e1", limit=10)) == 10


def test_empty_insert_and_delete(store: Store) -> None:
    _setup(store)
    store.logs.insert([])
    store.logs.insert([LogEntry(execution_id="e1", level="ERROR", timestamp=T0, message="x")])
    assert store.logs.delete_for_execution("e1") == 1
    assert store.logs.for_execution("e1") == []


def test_a_nul_byte_in_a_line_is_stored_as_a_replacement_character(store: Store) -> None:
    # PostgreSQL text refuses NUL: a task printing one must not break the executor's batched writes
    _setup(store)
    store.logs.insert([LogEntry(execution_id="e1", level="INFO", timestamp=T0, message="a\x00b")])
    [message] = [line.message for line in store.logs.for_execution("e1")]
    assert message.startswith("a\ufffdb") and "replaced with U+FFFD" in message  # said so in the line
