"""The overview's aggregates over a period: executions by state per time bucket, failure rate per namespace,
the slowest and the most-failing flows. Read-only, one GROUP BY each, portable (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from daemon.store import Store
from daemon.store.tables import executions

ex = executions
FAILED_STATES = ("FAILED", "KILLED")


@dataclass(frozen=True, slots=True)
class NamespaceRate:
    """Executions of a namespace over the period and how many failed."""

    namespace: str
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class FlowFigure:
    """A flow and a figure: its longest and mean duration in seconds, or its failures and runs."""

    namespace: str
    flow_id: str
    value: float
    runs: int
    extra: float = 0.0


def executions_by_bucket(
    store: Store, *, now: datetime, buckets: int, width: timedelta
) -> list[dict[str, int]]:
    """For each of ``buckets`` periods of ``width`` ending now (oldest first), executions started then by
    state. The bucket is a CASE over the boundaries, so one GROUP BY answers on both databases."""
    start = now - width * buckets
    bounds = [start + width * i for i in range(1, buckets)]
    bucket = sa.case(
        *[(ex.c.start_date >= bound, buckets - 1 - i) for i, bound in enumerate(reversed(bounds))], else_=0
    ).label("bucket")
    query = (
        sa.select(bucket, ex.c.state, sa.func.count())
        .where(ex.c.start_date >= start, ex.c.start_date <= now)
        .group_by(bucket, ex.c.state)
    )
    out: list[dict[str, int]] = [{} for _ in range(buckets)]
    with store.engine.connect() as conn:
        for index, state, n in conn.execute(query):
            out[int(index)][str(state)] = int(n)
    return out


def failure_by_namespace(store: Store, *, since: datetime, limit: int) -> list[NamespaceRate]:
    """Namespaces with executions since ``since``, the highest failure rate first (then the busiest)."""
    failed = sa.func.sum(sa.case((ex.c.state.in_(FAILED_STATES), 1), else_=0))
    query = (
        sa.select(ex.c.namespace, sa.func.count(), failed)
        .where(ex.c.start_date >= since)
        .group_by(ex.c.namespace)
    )
    with store.engine.connect() as conn:
        rows = [NamespaceRate(str(ns), int(n), int(f or 0)) for ns, n, f in conn.execute(query)]
    rows.sort(key=lambda r: (-r.rate, -r.total, r.namespace))
    return rows[:limit]


def _seconds(store: Store) -> sa.ColumnElement[float]:
    if store.dialect == "postgresql":
        return sa.cast(sa.extract("epoch", ex.c.end_date - ex.c.start_date), sa.Float)
    return (sa.func.julianday(ex.c.end_date) - sa.func.julianday(ex.c.start_date)) * 86400.0


def slowest_flows(store: Store, *, since: datetime, limit: int) -> list[FlowFigure]:
    """Flows by their longest finished execution since ``since`` (value: longest, extra: mean seconds)."""
    took = _seconds(store)
    query = (
        sa.select(ex.c.namespace, ex.c.flow_id, sa.func.max(took), sa.func.count(), sa.func.avg(took))
        .where(ex.c.start_date >= since, ex.c.end_date.is_not(None))
        .group_by(ex.c.namespace, ex.c.flow_id)
        .order_by(sa.func.max(took).desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [
            FlowFigure(ns, f, float(m or 0), int(n), float(a or 0)) for ns, f, m, n, a in conn.execute(query)
        ]


def most_failing_flows(store: Store, *, since: datetime, limit: int) -> list[FlowFigure]:
    """Flows with failed (or killed) executions since ``since``, most failures first (value: failures)."""
    failed = sa.func.sum(sa.case((ex.c.state.in_(FAILED_STATES), 1), else_=0))
    query = (
        sa.select(ex.c.namespace, ex.c.flow_id, failed, sa.func.count())
        .where(ex.c.start_date >= since)
        .group_by(ex.c.namespace, ex.c.flow_id)
        .having(failed > 0)
        .order_by(failed.desc(), sa.func.count().desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [FlowFigure(ns, f, float(n_failed), int(n)) for ns, f, n_failed, n in conn.execute(query)]
