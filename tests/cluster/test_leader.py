"""Leadership through the advisory lock: one leader at a time, a successor within the bound when the
leader's connection is terminated or its node stops."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from daemon.cluster.leader import AdvisoryLeader, AlwaysLeader, NeverLeader, while_leading
from daemon.cluster.pgconn import libpq_url
from tests.cluster.conftest import postgres_only

FAILOVER = 4.0
BOUND = 10.0  # the documented default bound; generous for a loaded machine


async def _watch(nodes: list[AdvisoryLeader], stop: asyncio.Event, worst: list[int]) -> None:
    """Record the largest number of nodes that believed they led at one instant."""
    while not stop.is_set():
        worst[0] = max(worst[0], sum(n.is_leader for n in nodes))
        await asyncio.sleep(0.02)


async def _until(predicate: object, timeout: float) -> float:
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not reached within {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def _terminate(url: str, node_id: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"flowd-leader {node_id}",),
        ).fetchall()
    return len(rows)


@postgres_only
def test_one_leader_and_takeover_after_connection_killed(db_url: str) -> None:
    url = libpq_url(db_url)

    async def scenario() -> None:
        nodes = [AdvisoryLeader(url, f"n{i}", failover=FAILOVER) for i in range(3)]
        stop, worst = asyncio.Event(), [0]
        tasks = [asyncio.ensure_future(n.run(stop)) for n in nodes]
        watcher = asyncio.ensure_future(_watch(nodes, stop, worst))
        await _until(lambda: any(n.is_leader for n in nodes), BOUND)
        for _round in range(3):
            leader = next(n for n in nodes if n.is_leader)
            assert _terminate(url, leader.node_id) == 1
            old = leader
            took = await _until(lambda old=old: any(n.is_leader and n is not old for n in nodes), BOUND)
            assert took <= BOUND
        await asyncio.sleep(0.5)
        assert worst[0] == 1  # never two at once
        stop.set()
        await asyncio.gather(*tasks, watcher)
        assert not any(n.is_leader for n in nodes)

    asyncio.run(scenario())


@postgres_only
def test_stopping_leader_hands_over(db_url: str) -> None:
    url = libpq_url(db_url)

    async def scenario() -> None:
        first, second = (
            AdvisoryLeader(url, "a", failover=FAILOVER),
            AdvisoryLeader(url, "b", failover=FAILOVER),
        )
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        task_a = asyncio.ensure_future(first.run(stop_a))
        await _until(lambda: first.is_leader, BOUND)
        task_b = asyncio.ensure_future(second.run(stop_b))
        await asyncio.sleep(FAILOVER / 2)
        assert not second.is_leader  # the lock is held
        stop_a.set()
        await task_a
        await _until(lambda: second.is_leader, BOUND)
        stop_b.set()
        await task_b

    asyncio.run(scenario())


def test_unreachable_database_never_leads() -> None:
    async def scenario() -> None:
        node = AdvisoryLeader("postgresql://postgres@127.0.0.1:1/none", "x", failover=1.0)
        stop = asyncio.Event()
        task = asyncio.ensure_future(node.run(stop))
        await asyncio.sleep(0.8)
        assert not node.is_leader
        stop.set()
        await task

    asyncio.run(scenario())


def test_duties_run_only_while_leading() -> None:
    async def scenario() -> None:
        leadership, stop = AlwaysLeader(), asyncio.Event()
        runs: list[str] = []

        async def duty(part_stop: asyncio.Event) -> None:
            runs.append("start")
            await part_stop.wait()
            runs.append("stop")

        lead = asyncio.ensure_future(leadership.run(stop))
        gate = asyncio.ensure_future(while_leading(leadership, stop, duty, name="duty"))
        await asyncio.sleep(0.05)
        assert runs == ["start"]
        leadership._set(False)  # leadership lost: the duty stops, and restarts when it comes back
        await asyncio.sleep(0.05)
        assert runs == ["start", "stop"]
        leadership._set(True)
        await asyncio.sleep(0.05)
        assert runs == ["start", "stop", "start"]
        stop.set()
        await asyncio.gather(lead, gate)
        assert runs[-1] == "stop"

    asyncio.run(scenario())


def test_never_leader_follows() -> None:
    async def scenario() -> None:
        node, stop = NeverLeader(), asyncio.Event()
        task = asyncio.ensure_future(node.run(stop))
        await asyncio.sleep(0.01)
        assert not node.is_leader and node.following.is_set()
        stop.set()
        await task

    asyncio.run(scenario())


@pytest.mark.parametrize("failover", [10.0, 3.0])
def test_timings_fit_the_bound(failover: float) -> None:
    node = AdvisoryLeader("postgresql://x@127.0.0.1/y", "n", failover=failover)
    # a follower's attempt, then the take-over wait, fit in the bound
    assert node.retry + node.takeover_delay + node.query_timeout <= failover
    # the old leader steps down (check + bounded query) before the new one acts
    assert node.check + node.query_timeout < node.takeover_delay
