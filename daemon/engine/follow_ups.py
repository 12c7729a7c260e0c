"""What follows an execution's end, through the outbox: a collaborator of the executor with one job.

The executor records an end's outbox row in the transaction that records the end (``rows``), then hands
the ended row here (``run``): the end hooks (flow triggers, metrics) run; once they all succeeded the row's
key is kept for deletion with the executor's next transaction (``take_done``), or at once by ``flush``;
after an error the row is postponed with a backoff. ``drain`` acts on rows left by a crash or an error.
The hooks must be idempotent for what must happen once (a flow trigger derives its execution's id from
the upstream end); others (metrics) are at least once. Rows of other kinds (``kinds``: a flow-level retry's
new execution) go to their own consumer once due, even at start-up (their due date is a delay, not a lease).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from daemon.store import Execution, Store
from daemon.store.engine import describe_error
from daemon.store.outbox import OutboxRow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # an end's row is left to the process that wrote it this long
RETRY = timedelta(seconds=5)  # first delay after a failed hook (doubling, capped at MAX_RETRY)
MAX_RETRY = timedelta(minutes=5)

EndHook = Callable[[Execution], None]
RowConsumer = Callable[[OutboxRow], None]


def end_key(execution_id: str) -> str:
    """The outbox key of an execution's end (one row per end)."""
    return f"{execution_id}:end"


class EndFollowUps:
    """Runs the end hooks of ended executions from their outbox rows; see the module docstring."""

    def __init__(self, store: Store, hooks: list[EndHook]) -> None:
        self.store = store
        self.hooks = hooks  # the executor's ``end_hooks`` list (appended to after construction)
        self.kinds: dict[str, RowConsumer] = {}  # consumers of rows that are not ``end`` rows, by kind
        self._done: list[str] = []

    def rows(self, execution_ids: Iterable[str], now: datetime) -> list[OutboxRow]:
        """The rows to insert with these executions' ends (none without hooks: nothing follows)."""
        if not self.hooks:
            return []
        return [
            OutboxRow(key=end_key(i), execution_id=i, kind="end", created_at=now, due_at=now + LEASE)
            for i in execution_ids
        ]

    def run(self, key: str, final: Execution, *, attempts: int, now: datetime) -> None:
        """Run every hook for one ended execution; the row goes once they all succeeded."""
        try:
            for hook in self.hooks:
                hook(final)
        except Exception as exc:
            log.warning("end hooks of execution %s failed (retried later): %s", final.id, exc)
            delay = min(RETRY * (2**attempts), MAX_RETRY)
            try:
                self.store.outbox.postpone(key, due_at=now + delay, error=describe_error(exc))
            except Exception:  # the row keeps its first due date: retried then
                log.warning("could not postpone outbox row %s", key, exc_info=True)
            return
        self._done.append(key)

    def drain(self, now: datetime, *, every: bool = False) -> None:
        """Act on the rows that are due (``every``: all of them, at start-up after a crash)."""
        if not self.hooks and not self.kinds:
            return
        pending = set(self._done)
        for row in self.store.outbox.due(None if every else now):
            if row.key in pending:
                continue
            if row.kind != "end":
                if row.due_at <= now:
                    self._consume(row, now)
                continue
            final = self.store.executions.get(row.execution_id)
            if final is None:  # deleted meanwhile: nothing follows any more
                self._done.append(row.key)
                continue
            self.run(row.key, final, attempts=row.attempts, now=now)
        self.flush()

    def _consume(self, row: OutboxRow, now: datetime) -> None:
        consumer = self.kinds.get(row.kind)
        if consumer is None:
            return  # a kind this process does not know (a newer version wrote it): left for one that does
        try:
            consumer(row)
        except Exception as exc:
            log.warning("outbox row %s failed (retried later): %s", row.key, exc)
            delay = min(RETRY * (2**row.attempts), MAX_RETRY)
            try:
                self.store.outbox.postpone(row.key, due_at=now + delay, error=describe_error(exc))
            except Exception:
                log.warning("could not postpone outbox row %s", row.key, exc_info=True)
            return
        self._done.append(row.key)

    def take_done(self) -> list[str]:
        """The keys acted on, for the caller's transaction to delete (``give_back`` if it fails)."""
        keys, self._done = self._done, []
        return keys

    def give_back(self, keys: list[str]) -> None:
        self._done = keys + self._done

    def flush(self) -> None:
        """Delete the rows acted on now, in their own transaction."""
        keys = self.take_done()
        try:
            self.store.outbox.delete(keys)
        except Exception:
            self.give_back(keys)
            raise

    @property
    def pending(self) -> bool:
        return bool(self._done)
