"""The executions search shared by ``/ui/executions`` and ``GET /api/v1/executions/search``.

A filter (namespace prefix, flow, states, labels, trigger type, start-date range) and a sort become one
SELECT. Pages are keyset pages: the cursor is the sort key of the last (or first) row shown, so page 1,000
costs what page 1 costs (the indexes of migration 0005 serve the default sorts). The API's ``page`` keeps
Kestra's offset paging for existing scripts. Counts can be capped so a page never counts a million rows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from daemon.errors import UsageError
from daemon.store import Execution, Store
from daemon.store.tables import executions

ex = executions

# sort name -> the columns ordered on (the id is always last: a total order for the keyset)
SORT_COLUMNS: dict[str, tuple[sa.Column[Any], ...]] = {
    "start": (ex.c.start_date,),
    "flow": (ex.c.namespace, ex.c.flow_id, ex.c.start_date),
    "state": (ex.c.state, ex.c.start_date),
}
# Kestra's and friendlier spellings of the sort fields
SORT_ALIASES = {
    "start": "start", "startdate": "start", "start_date": "start", "state.startdate": "start",
    "flow": "flow", "flowid": "flow", "flow_id": "flow", "namespace": "flow",
    "state": "state", "state.current": "state",
}  # fmt: skip
# trigger type filter -> the canonical types an execution's ``trigger.type`` holds (MANUAL: no trigger and no
# parent). Equality, not LIKE: the planner then walks the start-date index instead of sorting every match.
_CORE = "io.kestra.plugin.core.trigger."
TRIGGER_TYPES = {
    "SCHEDULE": (_CORE + "Schedule", _CORE + "ScheduleOnDates"),
    "FLOW": (_CORE + "Flow",),
    "WEBHOOK": (_CORE + "Webhook",),
}
TRIGGER_CHOICES = ("MANUAL", "SCHEDULE", "FLOW", "WEBHOOK", "SUBFLOW")


@dataclass(frozen=True, slots=True)
class Sort:
    """A sort field (a key of ``SORT_COLUMNS``) and its direction."""

    key: str = "start"
    descending: bool = True

    @classmethod
    def parse(cls, text: str | None) -> Sort:
        """``start:desc``, ``state.startDate:asc`` (Kestra), ``flow``; raises UsageError naming it."""
        if not text:
            return cls()
        name, _, direction = text.partition(":")
        key = SORT_ALIASES.get(name.strip().lower())
        if key is None or direction.lower() not in ("", "asc", "desc"):
            raise UsageError(f"sort '{text}': expected one of start, flow, state with :asc or :desc")
        return cls(key, direction.lower() != "asc")

    def text(self) -> str:
        return f"{self.key}:{'desc' if self.descending else 'asc'}"


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    """What to search for; every part is optional and the parts combine with AND."""

    namespace: str | None = None  # this namespace and those below it
    flow_id: str | None = None
    states: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    trigger_type: str | None = None  # one of TRIGGER_CHOICES, or a full trigger type
    start_from: datetime | None = None  # inclusive
    start_to: datetime | None = None  # exclusive

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The filter as SQL conditions."""
        out: list[sa.ColumnElement[bool]] = []
        if self.namespace:
            below = ex.c.namespace.startswith(self.namespace + ".", autoescape=True)
            out.append(sa.or_(ex.c.namespace == self.namespace, below))
        if self.flow_id:
            out.append(ex.c.flow_id == self.flow_id)
        if self.states:
            out.append(ex.c.state.in_(self.states) if len(self.states) > 1 else ex.c.state == self.states[0])
        for key, value in self.labels:
            out.append(ex.c.labels[key].as_string() == value)
        if self.trigger_type:
            out.append(_trigger_condition(self.trigger_type))
        if self.start_from is not None:
            out.append(ex.c.start_date >= self.start_from)
        if self.start_to is not None:
            out.append(ex.c.start_date < self.start_to)
        return out


def _trigger_condition(kind: str) -> sa.ColumnElement[bool]:
    upper = kind.upper()
    trigger_type = ex.c.trigger["type"].as_string()
    if upper == "MANUAL":
        return sa.and_(ex.c.trigger.is_(None), ex.c.parent_execution_id.is_(None))
    if upper == "SUBFLOW":
        return ex.c.parent_execution_id.is_not(None)
    if upper in TRIGGER_TYPES:
        return trigger_type.in_(TRIGGER_TYPES[upper])
    return trigger_type == kind


def parse_labels(pairs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``key:value`` texts -> pairs; raises UsageError naming a malformed one."""
    out: list[tuple[str, str]] = []
    for pair in pairs:
        if not pair.strip():
            continue
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"label '{pair}': expected key:value")
        out.append((key.strip(), value.strip()))
    return tuple(out)


# --- cursors ------------------------------------------------------------------------------------------
def encode_cursor(row: Execution, sort: Sort) -> str:
    """The keyset cursor of a row for a sort: its sort values and id, as URL-safe text."""
    values = [_value(row, column.name) for column in SORT_COLUMNS[sort.key]] + [row.id]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _value(row: Execution, name: str) -> Any:
    value = getattr(row, name)
    return value.isoformat() if isinstance(value, datetime) else value


def decode_cursor(text: str, sort: Sort) -> list[Any]:
    """A cursor back to typed values; raises UsageError when it does not belong to this sort."""
    columns = [*SORT_COLUMNS[sort.key], ex.c.id]
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("shape")
        return [
            datetime.fromisoformat(v) if column.name.endswith("_date") else str(v)
            for column, v in zip(columns, values, strict=True)
        ]
    except (ValueError, TypeError):
        raise UsageError(f"cursor '{text[:40]}' is not a cursor of sort {sort.text()}") from None


# --- the search ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExecutionPage:
    """One page: rows in display order, cursors to the next and previous pages (None: no such page),
    and the number of matches (``total_capped``: at least ``total``, the count stopped there)."""

    rows: list[Execution]
    next_cursor: str | None
    prev_cursor: str | None
    total: int | None = None
    total_capped: bool = False
    sort: Sort = field(default_factory=Sort)


def search(
    store: Store,
    criteria: ExecutionFilter,
    *,
    sort: Sort = Sort(),
    size: int = 50,
    after: str | None = None,
    before: str | None = None,
    offset: int | None = None,
    count_limit: int | None = None,
    count: bool = True,
) -> ExecutionPage:
    """One page of matching executions. ``after``/``before`` are keyset cursors (the next/previous page);
    ``offset`` is Kestra's offset paging. ``count_limit`` caps the count (None: exact)."""
    where = criteria.where()
    columns = [*SORT_COLUMNS[sort.key], ex.c.id]
    backwards = before is not None
    cursor = before if backwards else after
    if cursor is not None:
        key = sa.tuple_(*columns)
        values = sa.tuple_(
            *[sa.literal(v, type_=c.type) for v, c in zip(decode_cursor(cursor, sort), columns, strict=True)]
        )
        # descending and reading forwards, or ascending and reading backwards: the smaller keys
        where.append(key < values if sort.descending != backwards else key > values)
    descending = sort.descending != backwards
    order = [c.desc() if descending else c.asc() for c in columns]
    query = sa.select(ex).where(*where).order_by(*order).limit(size + 1)
    if offset and cursor is None:
        query = query.offset(offset)
    with store.engine.connect() as conn:
        rows = [Execution(**row._mapping) for row in conn.execute(query)]
        total, capped = _count(conn, criteria.where(), count_limit) if count else (None, False)
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_next = more if not backwards else True
    has_prev = (cursor is not None or bool(offset)) if not backwards else more
    return ExecutionPage(
        rows,
        encode_cursor(rows[-1], sort) if rows and has_next else None,
        encode_cursor(rows[0], sort) if rows and has_prev else None,
        total,
        capped,
        sort,
    )


def _count(conn: sa.Connection, where: list[sa.ColumnElement[bool]], limit: int | None) -> tuple[int, bool]:
    if limit is None:
        return int(conn.execute(sa.select(sa.func.count()).select_from(ex).where(*where)).scalar_one()), False
    capped = sa.select(ex.c.id).where(*where).limit(limit + 1).subquery()
    n = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return min(n, limit), n > limit
