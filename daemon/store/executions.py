"""Executions (and, inherited from ``TaskRunRepository``, their task runs): ``store.executions``.

Rows come back as ``Execution`` frozen dataclasses. ``owner_id``/``heartbeat_at`` say which daemon drives
an execution; a daemon beats for its executions and adopts those whose owner stopped beating.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.columns import json_append, json_dumps
from daemon.store.tables import ADOPTABLE, OWNED_ACTIVE, executions
from daemon.store.task_runs import TaskRunRepository

# States in which an execution still needs a driver (Kestra's non-terminal states).
ACTIVE_STATES: tuple[str, ...] = (
    "CREATED",
    "QUEUED",
    "RUNNING",
    "PAUSED",
    "RETRYING",
    "RESTARTED",
    "KILLING",
)


@dataclass(frozen=True, slots=True)
class Execution:
    """One row of ``executions``; also what ``create`` takes. ``trigger`` is ``{id, type, variables}``."""

    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    state: str
    start_date: datetime
    histories: list[dict[str, Any]] = field(default_factory=list)
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    trigger: dict[str, Any] | None = None
    parent_execution_id: str | None = None
    parent_task_run_id: str | None = None
    end_date: datetime | None = None
    owner_id: str | None = None
    heartbeat_at: datetime | None = None
    epoch: int = 0


_FIELDS = tuple(f.name for f in fields(Execution))


@dataclass(frozen=True, slots=True)
class StateChange:
    """One ``set_state`` call (see there), for ``set_states``."""

    execution_id: str
    state: str
    date: datetime
    end_date: datetime | None = None
    outputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    only_from: Collection[str] | None = None
    fence: tuple[str, int] | None = None


def _row(row: sa.Row[Any]) -> Execution:
    return Execution(**row._mapping)


class ExecutionRepository(TaskRunRepository):
    """Executions (``executions``) and task runs (``task_runs``)."""

    def create(self, execution: Execution, *, conn: Connection | None = None) -> None:
        """Insert a new execution."""
        # a plain insert() with parameters compiles once; ``.values(...)`` would build a new statement
        with self._write(conn) as c:
            c.execute(executions.insert(), {name: getattr(execution, name) for name in _FIELDS})

    def create_many(self, rows: Sequence[Execution], *, conn: Connection | None = None) -> None:
        """Insert new executions in one statement (executemany)."""
        if not rows:
            return
        with self._write(conn) as c:
            c.execute(executions.insert(), [{name: getattr(e, name) for name in _FIELDS} for e in rows])

    def get(self, execution_id: str, *, conn: Connection | None = None) -> Execution | None:
        """One execution."""
        with self._read(conn) as c:
            row = c.execute(sa.select(executions).where(executions.c.id == execution_id)).one_or_none()
        return _row(row) if row else None

    def get_many(
        self, execution_ids: Collection[str], *, conn: Connection | None = None
    ) -> builtins.list[Execution]:
        """The executions of ``execution_ids`` that exist (in no particular order)."""
        if not execution_ids:
            return []
        query = sa.select(executions).where(executions.c.id.in_(list(execution_ids)))
        with self._read(conn) as c:
            return [_row(row) for row in c.execute(query)]

    def list(
        self,
        *,
        namespace: str | None = None,
        flow_id: str | None = None,
        states: Collection[str] | None = None,
        parent_execution_id: str | None = None,
        limit: int = 100,
        conn: Connection | None = None,
    ) -> builtins.list[Execution]:
        """Executions, newest first, filtered by flow, states and parent."""
        ex = executions
        query = sa.select(ex).order_by(ex.c.start_date.desc(), ex.c.id.desc()).limit(limit)
        if namespace is not None:
            query = query.where(ex.c.namespace == namespace)
        if flow_id is not None:
            query = query.where(ex.c.flow_id == flow_id)
        if states is not None:
            query = query.where(ex.c.state.in_(list(states)))
        if parent_execution_id is not None:
            query = query.where(ex.c.parent_execution_id == parent_execution_id)
        with self._read(conn) as c:
            return [_row(row) for row in c.execute(query)]

    def count(
        self, namespace: str, flow_id: str, *, states: Collection[str], conn: Connection | None = None
    ) -> int:
        """How many executions of a flow are in ``states`` (flow concurrency limits)."""
        ex = executions
        query = sa.select(sa.func.count()).where(
            ex.c.namespace == namespace, ex.c.flow_id == flow_id, ex.c.state.in_(list(states))
        )
        with self._read(conn) as c:
            return int(c.execute(query).scalar_one())

    def set_state(
        self,
        execution_id: str,
        state: str,
        *,
        date: datetime,
        end_date: datetime | None = None,
        outputs: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None,
        only_from: Collection[str] | None = None,
        fence: tuple[str, int] | None = None,
        conn: Connection | None = None,
    ) -> bool:
        """Move an execution to ``state`` at ``date`` (appended to its histories); ``end_date``,
        ``outputs`` and ``labels`` are written when given. With ``only_from`` the change happens only from
        one of those states; with ``fence=(owner_id, epoch)`` only while that owner holds the execution
        under that epoch. Returns whether the row changed (False: the guard refused the write)."""
        change = StateChange(execution_id, state, date, end_date, outputs, labels, only_from, fence)
        stmt, params = self._state_update(change)
        with self._write(conn) as c:
            return c.execute(stmt, params).rowcount > 0

    def set_states(self, changes: Sequence[StateChange], *, conn: Connection) -> None:
        """Several ``set_state`` calls, each execution's in the given order, with the statements of the
        same shape sent together (executemany: one compiled statement, no row count): for a writer whose
        transaction is already fenced (``fence`` above), the guards in SQL only backing it up."""
        rounds: list[dict[sa.Update, list[dict[str, Any]]]] = []
        seen: dict[str, int] = {}
        for change in changes:
            n = seen[change.execution_id] = seen.get(change.execution_id, -1) + 1
            if n == len(rounds):
                rounds.append({})
            stmt, params = self._state_update(change)
            rounds[n].setdefault(stmt, []).append(params)
        for shapes in rounds:  # an execution's second change after its first
            for stmt, rows in shapes.items():
                conn.execute(stmt, rows)

    def _state_update(self, change: StateChange) -> tuple[sa.Update, dict[str, Any]]:
        params: dict[str, Any] = {
            "b_id": change.execution_id,
            "b_state": change.state,
            "b_history": json_dumps({"state": change.state, "date": change.date}),
        }
        optional = {"end_date": change.end_date, "outputs": change.outputs, "labels": change.labels}
        given = tuple(name for name, value in optional.items() if value is not None)
        params.update({f"b_{name}": optional[name] for name in given})
        guard = None
        if change.only_from is not None:
            # one state (what a step writes): a plain bind parameter, not an expanding IN, whose SQL
            # would be rendered again at every execution (and cannot go in an executemany)
            only = list(change.only_from)
            guard = "one" if len(only) == 1 else "any"
            params["b_from"] = only[0] if guard == "one" else only
        if change.fence is not None:
            params["b_owner"], params["b_epoch"] = change.fence
        return self._state_statement(given, guarded=guard, fenced=change.fence is not None), params

    def _state_statement(self, given: tuple[str, ...], *, guarded: str | None, fenced: bool) -> sa.Update:
        """The UPDATE of ``set_state`` for one combination of optional columns, built once (building a
        statement and its cache key costs more than running it on SQLite). ``guarded``: None, ``one``
        (from one state) or ``any`` (from one of several)."""
        cache: dict[tuple[tuple[str, ...], str | None, bool], sa.Update] = self.__dict__.setdefault(
            "_state_cache", {}
        )
        key = (given, guarded, fenced)
        if key not in cache:
            ex = executions
            values: dict[str, Any] = {
                "state": sa.bindparam("b_state", type_=sa.String()),
                "histories": json_append(
                    self._dialect, ex.c.histories, sa.bindparam("b_history", type_=sa.String())
                ),
            }
            values.update({name: sa.bindparam(f"b_{name}", type_=ex.c[name].type) for name in given})
            stmt = ex.update().where(ex.c.id == sa.bindparam("b_id", type_=sa.String())).values(values)
            if guarded == "one":
                stmt = stmt.where(ex.c.state == sa.bindparam("b_from", type_=sa.String()))
            elif guarded == "any":
                stmt = stmt.where(ex.c.state.in_(sa.bindparam("b_from", expanding=True)))
            if fenced:
                stmt = stmt.where(
                    ex.c.owner_id == sa.bindparam("b_owner", type_=sa.String()),
                    ex.c.epoch == sa.bindparam("b_epoch", type_=sa.Integer()),
                )
            cache[key] = stmt
        return cache[key]

    def heartbeat(
        self,
        owner_id: str,
        now: datetime,
        *,
        active_states: Collection[str] = ACTIVE_STATES,
        conn: Connection | None = None,
    ) -> int:
        """Refresh ``heartbeat_at`` of the active executions ``owner_id`` drives; returns how many."""
        ex = executions
        stmt = (
            ex.update()
            .where(ex.c.owner_id == owner_id, ex.c.state.in_(list(active_states)))
            .values(heartbeat_at=now)
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount

    def beat(self, owner_id: str, now: datetime, *, conn: Connection | None = None) -> dict[str, int]:
        """``heartbeat`` that says which executions it beat for: {execution id: epoch}. An execution the
        owner drives but that is missing here was taken over (or ended) by someone else."""
        with self._write(conn) as c:
            rows = c.execute(_BEAT, {"b_owner": owner_id, "b_now": now})
            return {str(row.id): int(row.epoch) for row in rows}

    def fence(
        self, owner_id: str, execution_ids: Collection[str], now: datetime, *, conn: Connection
    ) -> dict[str, tuple[int, str]]:
        """The fence at the start of a writing transaction: beat for ``execution_ids`` where ``owner_id``
        still owns them and return {id: (epoch, state)} of those. The UPDATE holds their rows (PostgreSQL
        row locks, SQLite's write lock) until the transaction ends, so an adoption (which bumps the epoch)
        cannot slip in between this check and the commit: every write of the transaction is fenced."""
        if not execution_ids:
            return {}
        params: dict[str, Any] = {"b_owner": owner_id, "b_now": now}
        if len(execution_ids) == 1:
            (params["b_id"],) = execution_ids
            stmt = _FENCE_ONE
        else:
            params["b_ids"] = list(execution_ids)
            stmt = _FENCE_MANY
        return {str(row.id): (int(row.epoch), str(row.state)) for row in conn.execute(stmt, params)}

    def fence_off(self, execution_id: str, *, conn: Connection | None = None) -> None:
        """Take an execution away from its owner (none now, epoch bumped): whatever that owner writes
        later under its epoch is refused (a kill finished in the store while the owner looked gone)."""
        ex = executions
        stmt = ex.update().where(ex.c.id == execution_id).values(owner_id=None, epoch=ex.c.epoch + 1)
        with self._write(conn) as c:
            c.execute(stmt)

    def adopt(
        self,
        owner_id: str,
        *,
        stale_before: datetime,
        now: datetime,
        limit: int = 100,
        active_states: Collection[str] = ACTIVE_STATES,
        conn: Connection | None = None,
    ) -> builtins.list[Execution]:
        """Take over active executions that have no owner or whose owner's heartbeat is older than
        ``stale_before`` (crash recovery; also picks up executions created by the CLI).
        Atomic like a claim. The epoch is bumped: the previous owner's writes are refused from now on.
        The stale ones first (rare, and never starved by a backlog), then the oldest unowned ones; each
        set is read through its partial index (``tables.ADOPTABLE`` / ``OWNED_ACTIVE``) when ``active_states``
        are the default ones."""
        params: dict[str, Any] = {"b_owner": owner_id, "b_now": now, "b_stale": stale_before}
        # the daemon's poll, twice a second even when idle: with the default states, statements built
        # once (as ``fence``); building and cache-keying them cost more than running them on SQLite
        states = None if list(active_states) == list(ACTIVE_STATES) else tuple(active_states)
        statements = _adopt_statements(self._dialect == "postgresql", states)
        adopted: builtins.list[Execution] = []
        with self._write(conn) as c:
            for stmt in statements:
                left = limit - len(adopted)
                if left <= 0:
                    break
                adopted.extend(_row(row) for row in c.execute(stmt, {**params, "b_limit": left}))
        adopted.sort(key=lambda e: (e.start_date, e.id))
        return adopted

    def count_by_state(self, *, conn: Connection | None = None) -> dict[str, int]:
        """How many executions are in each state (metrics)."""
        ex = executions
        query = sa.select(ex.c.state, sa.func.count()).group_by(ex.c.state)
        with self._read(conn) as c:
            return {str(state): int(n) for state, n in c.execute(query)}

    def search(
        self,
        *,
        namespace: str | None = None,
        flow_id: str | None = None,
        states: Collection[str] | None = None,
        offset: int = 0,
        limit: int = 10,
        conn: Connection | None = None,
    ) -> tuple[builtins.list[Execution], int]:
        """One page of executions, newest first, and how many match in all (the HTTP API's search).
        ``namespace`` also matches its sub-namespaces, as Kestra's search does."""
        ex = executions
        where = []
        if namespace is not None:
            below = ex.c.namespace.startswith(namespace + ".", autoescape=True)
            where.append(sa.or_(ex.c.namespace == namespace, below))
        if flow_id is not None:
            where.append(ex.c.flow_id == flow_id)
        if states is not None:
            where.append(ex.c.state.in_(list(states)))
        page = sa.select(ex).where(*where).order_by(ex.c.start_date.desc(), ex.c.id.desc())
        total = sa.select(sa.func.count()).select_from(ex).where(*where)
        with self._read(conn) as c:
            rows = [_row(row) for row in c.execute(page.offset(offset).limit(limit))]
            return rows, int(c.execute(total).scalar_one())

    def release(
        self,
        owner_ids: Collection[str],
        *,
        active_states: Collection[str] = ACTIVE_STATES,
        conn: Connection | None = None,
    ) -> int:
        """Drop the ownership of active executions driven by ``owner_ids`` (a daemon known to be gone, or
        one shutting down), so the next ``adopt`` takes them at once; returns how many. The epoch is
        bumped: a released owner that was not gone after all (paused, partitioned) can write nothing more
        for them, even before anyone adopts them."""
        if not owner_ids:
            return 0
        ex = executions
        stmt = (
            ex.update()
            .where(ex.c.owner_id.in_(list(owner_ids)), ex.c.state.in_(list(active_states)))
            .values(owner_id=None, heartbeat_at=None, epoch=ex.c.epoch + 1)
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount

    def delete(self, execution_id: str, *, conn: Connection | None = None) -> bool:
        """Delete an execution with its task runs and logs (foreign keys cascade)."""
        with self._write(conn) as c:
            return c.execute(executions.delete().where(executions.c.id == execution_id)).rowcount > 0


def _fence_statement(one: bool) -> sa.Update:
    """``fence``'s UPDATE, built once: it starts every step's transaction, and building and cache-keying a
    new statement each time cost more than running it on SQLite (bench W5). One execution (the usual
    step) is matched with ``=``, several with an expanding ``IN``."""
    ex = executions
    match = (
        ex.c.id == sa.bindparam("b_id", type_=sa.String())
        if one
        else ex.c.id.in_(sa.bindparam("b_ids", expanding=True))
    )
    return (
        ex.update()
        .where(ex.c.owner_id == sa.bindparam("b_owner", type_=sa.String()), match)
        .values(heartbeat_at=sa.bindparam("b_now", type_=ex.c.heartbeat_at.type))
        .returning(ex.c.id, ex.c.epoch, ex.c.state)
    )


_FENCE_ONE = _fence_statement(one=True)
_FENCE_MANY = _fence_statement(one=False)
# ``beat``'s UPDATE (every 5 s, idle or not), built once as the fence's
_BEAT = (
    executions.update()
    .where(
        executions.c.owner_id == sa.bindparam("b_owner", type_=sa.String()),
        executions.c.state.in_(list(ACTIVE_STATES)),
    )
    .values(heartbeat_at=sa.bindparam("b_now", type_=executions.c.heartbeat_at.type))
    .returning(executions.c.id, executions.c.epoch)
)


def _adopt_statements(
    postgres: bool, active_states: tuple[str, ...] | None = None
) -> tuple[sa.Update, sa.Update]:
    """``adopt``'s two UPDATEs (the stale owners' executions, then the oldest unowned ones), with bound
    parameters ``b_owner``, ``b_now``, ``b_stale``, ``b_limit``. With the default active states they are
    built once per dialect and read each set through its partial index (``tables.ADOPTABLE`` /
    ``OWNED_ACTIVE``); other states build them anew."""
    if active_states is None:
        cached = _ADOPT.get(postgres)
        if cached is None:
            cached = _ADOPT[postgres] = _build_adopt(postgres, None)
        return cached
    return _build_adopt(postgres, active_states)


def _build_adopt(postgres: bool, active_states: tuple[str, ...] | None) -> tuple[sa.Update, sa.Update]:
    ex = executions
    if active_states is None:
        owned: sa.ColumnElement[bool] = sa.text(OWNED_ACTIVE)  # type: ignore[assignment]
        unowned: sa.ColumnElement[bool] = sa.text(ADOPTABLE)  # type: ignore[assignment]
    else:
        owned = sa.and_(ex.c.owner_id.is_not(None), ex.c.state.in_(list(active_states)))
        unowned = sa.and_(ex.c.owner_id.is_(None), ex.c.state.in_(list(active_states)))
    stale_before = sa.bindparam("b_stale", type_=ex.c.heartbeat_at.type)
    stale = sa.and_(owned, sa.or_(ex.c.heartbeat_at.is_(None), ex.c.heartbeat_at < stale_before))
    statements = []
    for where in (stale, unowned):
        candidates = (
            sa.select(ex.c.id)
            .where(where)
            .order_by(ex.c.start_date)
            .limit(sa.bindparam("b_limit", type_=sa.Integer()))
        )
        if postgres:
            candidates = candidates.with_for_update(skip_locked=True)
        statements.append(
            ex.update()
            .where(ex.c.id.in_(candidates.scalar_subquery()))
            .values(
                owner_id=sa.bindparam("b_owner", type_=sa.String()),
                heartbeat_at=sa.bindparam("b_now", type_=ex.c.heartbeat_at.type),
                epoch=ex.c.epoch + 1,
            )
            .returning(*ex.c)
        )
    return statements[0], statements[1]


_ADOPT: dict[bool, tuple[sa.Update, sa.Update]] = {}
