"""Flow-level ``retry`` with ``behavior: CREATE_NEW_EXECUTION`` (Kestra): a FAILED execution ends RETRIED
and, after the retry's delay, a new execution of the same flow revision starts with the same inputs, trigger
and labels (``system.correlationId`` included). Attempts are counted by the label ``system.retryAttempt``
(absent on the first execution, ``2`` on the first retry, ...) and ``maxDuration`` runs from the first
attempt's start, kept in the label ``system.retryOriginalDate`` (Kestra keeps both in the execution's
metadata, which flowd does not have).

``plan_retry`` is pure and decides when the execution ends. The new execution is created from an outbox row
(kind ``retry``, due when the delay is over) written in the transaction that records the end; its id is
derived from the failed execution's, so it is created exactly once across crashes and racing consumers.
A subflow execution is not retried this way (its parent waits on it): its flow's retry is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.engine.retry import retry_delay
from daemon.engine.runtime import parse_date
from daemon.engine.states import iso
from daemon.errors import FlowdError
from daemon.language.common import Retry
from daemon.store import Execution, Store
from daemon.store.ids import derived_id
from daemon.store.outbox import OutboxRow

log = logging.getLogger(__name__)

KIND = "retry"
ATTEMPT = "system.retryAttempt"
ORIGINAL_DATE = "system.retryOriginalDate"


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """The next attempt of a failed execution: its number, the first attempt's start, when it starts."""

    attempt: int
    original: datetime
    due_at: datetime


def plan_retry(
    retry: Retry | None, execution: Execution, labels: Mapping[str, str], now: datetime
) -> RetryPlan | None:
    """The new execution a failed one gets, or None (no such retry, a subflow, no attempt left)."""
    if retry is None or retry.behavior != "CREATE_NEW_EXECUTION" or execution.parent_execution_id:
        return None
    try:
        attempt = int(labels.get(ATTEMPT, "1"))
    except ValueError:
        attempt = 1
    original = parse_date(labels.get(ORIGINAL_DATE), execution.start_date or now)
    delay = retry_delay(retry, attempts_done=attempt, first_start=original, now=now)
    if delay is None:
        return None
    return RetryPlan(attempt=attempt + 1, original=original, due_at=now + delay)


def retry_key(execution_id: str) -> str:
    return f"{execution_id}:{KIND}"


def retry_rows(plans: Iterable[tuple[str, RetryPlan]], now: datetime) -> list[OutboxRow]:
    """The outbox rows recording the retries decided for ended executions (written with their end)."""
    rows = []
    for execution_id, plan in plans:
        payload = {"attempt": plan.attempt, "original": iso(plan.original)}
        key = retry_key(execution_id)
        rows.append(OutboxRow(key, execution_id, KIND, created_at=now, due_at=plan.due_at, payload=payload))
    return rows


def retry_id(execution_id: str) -> str:
    """The id of the execution that retries ``execution_id`` (the idempotency key)."""
    return derived_id(execution_id, KIND)


class FlowRetries:
    """Acts on ``retry`` outbox rows: creates the new execution, once (``EndFollowUps.kinds``)."""

    def __init__(self, store: Store, create: Callable[..., str]) -> None:
        self.store = store
        self.create = create  # the executor's ``create_execution``

    def __call__(self, row: OutboxRow) -> None:
        """Errors propagate: the outbox keeps the row and calls again later."""
        old = self.store.executions.get(row.execution_id)
        if old is None:
            return  # deleted meanwhile: nothing to retry
        record = self.store.flows.get_revision(old.namespace, old.flow_id, old.flow_revision)
        if record is None:
            log.warning("execution %s: its flow revision is gone, not retried", old.id)
            return
        payload: dict[str, Any] = row.payload or {}
        labels = {
            **(old.labels or {}),
            ATTEMPT: str(payload.get("attempt", 2)),
            ORIGINAL_DATE: str(payload.get("original") or iso(old.start_date or row.created_at)),
        }
        new = retry_id(old.id)
        with self.store.begin() as conn:
            if self.store.executions.get(new, conn=conn) is not None:
                return  # created before (the row acted on again after a crash)
            try:
                self.create(
                    record, old.inputs or {}, trigger=old.trigger, labels=labels, execution_id=new, conn=conn
                )
            except FlowdError as exc:  # e.g. an input no longer valid: retrying the row would not help
                log.warning("execution %s failed and cannot be retried: %s", old.id, exc.message)
                return
        log.info("execution %s failed: retried as %s (attempt %s)", old.id, new, labels[ATTEMPT])
