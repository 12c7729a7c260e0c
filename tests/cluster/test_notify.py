"""LISTEN/NOTIFY: a notification published in a transaction arrives at commit (not on rollback); the
execution triggers notify for unowned and released executions; a listener survives a killed connection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa

from daemon.cluster import notify
from daemon.cluster.pgconn import libpq_url
from daemon.store import Store
from tests.cluster.conftest import postgres_only


async def _listening(
    db_url: str, channel: str
) -> tuple[notify.Listener, asyncio.Event, asyncio.Event, asyncio.Task[None]]:
    listener = notify.Listener(libpq_url(db_url), [channel])
    woke, stop = listener.event(channel), asyncio.Event()
    task = asyncio.ensure_future(listener.run(stop))
    await asyncio.wait_for(listener.connected.wait(), 10)
    return listener, woke, stop, task


async def _woken(event: asyncio.Event, timeout: float = 5.0) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    event.clear()
    return True


@postgres_only
def test_publish_is_delivered_at_commit_only(db_url: str) -> None:
    store = Store.open(db_url)

    async def scenario() -> None:
        _, woke, stop, task = await _listening(db_url, notify.WORK)
        with pytest.raises(RuntimeError), store.engine.begin() as conn:
            notify.publish(conn, notify.WORK, "x")
            raise RuntimeError("rolled back")
        assert not await _woken(woke, 1.0)
        with store.engine.begin() as conn:
            notify.publish(conn, notify.WORK, "y")
            await asyncio.sleep(0.3)
            assert not woke.is_set()  # not before the commit
        assert await _woken(woke)
        stop.set()
        await task

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def _insert_execution(store: Store, execution_id: str, owner: str | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO executions (id, namespace, flow_id, flow_revision, state, histories, "
                "start_date, owner_id) VALUES (:id, 'ns', 'f', 1, 'CREATED', '[]', now(), :owner)"
            ),
            {"id": execution_id, "owner": owner},
        )


@postgres_only
def test_unowned_and_released_executions_wake_listeners(db_url: str) -> None:
    store = Store.open(db_url)

    async def scenario() -> None:
        _, woke, stop, task = await _listening(db_url, notify.WORK)
        _insert_execution(store, "owned", "node-a")
        assert not await _woken(woke, 1.0)  # its owner drives it: nobody else needs waking
        _insert_execution(store, "queued", None)  # e.g. `flowd execute` with daemons alive
        assert await _woken(woke)
        epoch = store.executions.get("owned").epoch  # type: ignore[union-attr]
        assert store.executions.release(["node-a"]) == 1  # a stopping node hands its work back
        assert await _woken(woke)
        # and node-a, were it not gone after all, could write nothing more for it
        assert store.executions.get("owned").epoch == epoch + 1  # type: ignore[union-attr]
        stop.set()
        await task

    try:
        asyncio.run(scenario())
    finally:
        store.close()


@postgres_only
def test_kill_requests_and_child_ends_wake_listeners(db_url: str) -> None:
    store = Store.open(db_url)
    now = datetime.now(UTC)

    async def scenario() -> None:
        _, woke, stop, task = await _listening(db_url, notify.WORK)
        _insert_execution(store, "parent", "node-a")
        _insert_execution(store, "child", "node-b")
        _insert_execution(store, "alone", "node-b")
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE executions SET parent_execution_id = 'parent' WHERE id = 'child'"))
        assert not await _woken(woke, 1.0)
        store.executions.set_state("alone", "RUNNING", date=now)
        store.executions.set_state("child", "RUNNING", date=now)
        assert not await _woken(woke, 1.0)  # nothing another node must act on
        store.executions.set_state("alone", "KILLING", date=now)  # asked through node-a's API, say
        assert await _woken(woke)
        store.executions.set_state("alone", "KILLED", date=now)
        assert not await _woken(woke, 1.0)  # not a child: nobody waits for it
        store.executions.set_state("child", "SUCCESS", date=now)  # its parent may wait on node-a
        assert await _woken(woke)
        stop.set()
        await task

    try:
        asyncio.run(scenario())
    finally:
        store.close()


@postgres_only
def test_listener_reconnects_and_wakes_everyone_once(db_url: str) -> None:
    store = Store.open(db_url)

    async def scenario() -> None:
        listener, woke, stop, task = await _listening(db_url, notify.SYNC)
        with psycopg.connect(libpq_url(db_url), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'flowd-listen'"
            )
        # notifications may have been missed while disconnected: handlers are called once
        assert await _woken(woke, 10.0)
        await asyncio.wait_for(listener.connected.wait(), 10)
        notify.publish_now(store.engine, notify.SYNC, "node-b")
        assert await _woken(woke)
        stop.set()
        await task

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_publish_is_a_no_op_on_sqlite(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/x.db")
    try:
        notify.publish_now(store.engine, notify.WORK)
        with store.engine.begin() as conn:
            notify.publish(conn, notify.WORK)
    finally:
        store.close()
