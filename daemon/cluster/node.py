"""This daemon as a node of a cluster: its roles, its row in ``nodes`` (beaten every ``BEAT`` s), its
leadership and its LISTEN connection. ``flowd run`` builds one ``ClusterNode`` and runs it beside the
other parts; ``daemon.server.process`` asks it who leads and gates the leader's duties on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from daemon.clock import Clock
from daemon.cluster import notify
from daemon.cluster.guard import check_storage
from daemon.cluster.leader import AdvisoryLeader, AlwaysLeader, Leadership, NeverLeader
from daemon.cluster.nodes import Node, NodeRepository
from daemon.cluster.pgconn import libpq_url
from daemon.cluster.roles import Roles
from daemon.reconcile import SyncOutcome
from daemon.store import Store

log = logging.getLogger("flowd.cluster")

BEAT = 5.0
HAND_OFF = 0.2  # seconds between hand-offs of a node that runs no executions
REAP = 2.0  # seconds between the leader's looks for nodes that are gone
FORWARD_WAIT = 60.0  # how long a follower waits for the leader's sync it asked for


@functools.cache
def flowd_version() -> str:
    """The installed flowd version (looked up once: the node row carries it at every beat, and the code
    running is the code imported at start whatever is installed later)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowd")
    except PackageNotFoundError:
        return "0"


class ClusterNode:
    """One daemon's membership of the cluster on ``store``."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        node_id: str,
        *,
        roles: Roles,
        listen: str | None = None,
        failover: float = 10.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.node_id = node_id
        self.roles = roles
        self.listen = listen
        self.nodes = NodeRepository(store.engine)
        self.started_at = clock.now()
        self.postgres = store.dialect == "postgresql"
        self.leadership: Leadership
        if not roles.scheduler:
            self.leadership = NeverLeader()
        elif self.postgres:
            self.leadership = AdvisoryLeader(libpq_url(store.engine), node_id, failover=failover)
        else:
            self.leadership = AlwaysLeader()
        self.leadership.on_change.append(self._leader_changed)
        self.listener = (
            notify.Listener(
                libpq_url(store.engine), (notify.WORK, notify.SYNC), name=f"flowd-listen {node_id}"
            )
            if self.postgres
            else None
        )

    # --- start-up -------------------------------------------------------------------------------------
    def check_start(self, *, storage: str, storage_shared: bool) -> None:
        """Refuse a multi-node cluster on node-local storage (UsageError). (A second daemon on SQLite is
        refused earlier, by ``guard.SqliteLock``.)"""
        if self.postgres:
            check_storage(
                self.nodes.list(), self.clock.now(), me=self.node_id, storage=storage, shared=storage_shared
            )

    def on_wake(self, channel: str, handler: Callable[[str], None]) -> None:
        """Call ``handler(payload)`` when another node notifies ``channel`` (``notify.WORK``,
        ``notify.SYNC``); nothing on SQLite."""
        if self.listener is not None:
            self.listener.on(channel, handler)

    # --- the heartbeat row ----------------------------------------------------------------------------
    def row(self, now: datetime) -> Node:
        """This node's row as of ``now``."""
        return Node(
            node_id=self.node_id, host=socket.gethostname(), pid=os.getpid(), roles=str(self.roles),
            version=flowd_version(), listen=self.listen, leader=self.leadership.is_leader,
            started_at=self.started_at, last_beat=now,
        )  # fmt: skip

    def beat(self) -> None:
        """Write this node's row now."""
        self.nodes.beat(self.row(self.clock.now()))

    def _leader_changed(self, leader: bool) -> None:
        try:
            if leader:
                self.nodes.step_down_others(self.node_id)
            self.beat()  # the registry shows the new leader at once
        except Exception:  # a failed write is retried at the next beat
            log.debug("could not record the leadership change", exc_info=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Beat, hold or seek leadership, and listen, until ``stop``; then leave the registry."""
        parts = [asyncio.ensure_future(self.leadership.run(stop)), asyncio.ensure_future(self._beat(stop))]
        if self.listener is not None:
            parts.append(asyncio.ensure_future(self.listener.run(stop)))
        if not self.roles.runs_executions:
            parts.append(asyncio.ensure_future(self._hand_off(stop)))
        try:
            await asyncio.gather(*parts)
        finally:
            for part in parts:
                part.cancel()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.nodes.remove, self.node_id)

    async def _hand_off(self, stop: asyncio.Event) -> None:
        """A node that runs no executions (``--role webserver`` / ``scheduler``) hands those it creates
        (API, schedule ticks) back at once: the release notifies ``flowd_work``, an executor adopts them."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.store.executions.release, [self.node_id])
            except Exception as exc:  # the store is down: try again later
                log.debug("hand-off failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HAND_OFF)

    async def reap(self, stop: asyncio.Event) -> None:
        """Leader duty: find nodes that are gone (no heartbeat for ``STALE_AFTER``, 30 s, or on this host a
        process that no longer exists) and hand their executions back at once (with a new epoch): the
        release wakes the executors (``flowd_work``), one adopts each execution, and its interrupted task
        runs run again."""
        while not stop.is_set():
            try:
                released = await asyncio.to_thread(self.reap_once)
                if released:
                    log.info("released %d execution(s) of nodes that are gone", released)
            except Exception as exc:  # the store is down: look again later
                log.warning(
                    "looking for gone nodes failed: %s", str(exc).splitlines()[0] if str(exc) else exc
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REAP)

    def reap_once(self) -> int:
        """One look for gone nodes; returns how many executions were released."""
        from daemon.server.heartbeat import gone_daemons

        gone = gone_daemons(
            self.store, self.clock.now(), me=self.node_id, host=socket.gethostname(), pid=os.getpid()
        )
        if not gone:
            return 0
        ids = [beat.daemon_id for beat in gone]
        released = self.store.executions.release(ids)
        for node_id in ids:
            self.store.heartbeats.remove(node_id)
            self.nodes.remove(node_id)
        return released

    async def _beat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.beat)
            except Exception as exc:  # the store is down: beat again later
                log.warning("node heartbeat failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BEAT)

    # --- syncs requested on a follower ----------------------------------------------------------------
    def sync_hook(
        self, leader_sync: Callable[[], Awaitable[SyncOutcome]]
    ) -> Callable[[], Awaitable[SyncOutcome]]:
        """What ``Services.sync_now`` calls: the leader syncs itself; a follower notifies the leader
        (``notify.SYNC``) and returns the outcome of the next sync the leader records. With no live leader
        elsewhere (none elected yet), the node syncs itself rather than not at all."""

        async def hook() -> SyncOutcome:
            if self.leadership.is_leader or not self.postgres or not await self._leader_elsewhere():
                return await leader_sync()
            latest = await asyncio.to_thread(self.store.syncs.latest, limit=1)
            before = latest[0].id if latest else 0
            asked = self.clock.now()
            await asyncio.to_thread(notify.publish_now, self.store.engine, notify.SYNC, self.node_id)
            deadline = time.monotonic() + FORWARD_WAIT
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                rows = await asyncio.to_thread(self.store.syncs.latest, limit=1)
                # a new row, or (a sync that changed nothing is folded into the row before it) that row
                # counting one more unchanged poll since this request
                new = bool(rows) and rows[0].id > before and rows[0].finished_at is not None
                folded = (
                    bool(rows) and rows[0].unchanged_until is not None and rows[0].unchanged_until >= asked
                )
                if (new or folded) and rows[0].result:
                    run = rows[0]
                    counts = dict(run.counts or {}) if new else {}  # folded: nothing changed this time
                    said = "" if new else ": nothing changed"
                    return SyncOutcome(
                        run.result, run.id, run.commit_applied, counts=counts,  # type: ignore[arg-type]
                        message=f"synced by the leader node for {self.node_id}{said}",
                    )  # fmt: skip
            return SyncOutcome(
                "SOURCE_ERROR", None, None,
                message=f"no leader node synced within {FORWARD_WAIT:.0f}s (is a scheduler node running?)",
            )  # fmt: skip

        return hook

    async def _leader_elsewhere(self) -> bool:
        rows = await asyncio.to_thread(self.nodes.list)
        now = self.clock.now()
        return any(n.leader and n.alive(now) and n.node_id != self.node_id for n in rows)
