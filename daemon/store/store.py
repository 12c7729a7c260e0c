"""``Store``: the engine, the migrations and the repositories, built once per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from daemon.errors import StoreError
from daemon.store import migrate
from daemon.store.admission import Admission
from daemon.store.engine import BEGIN_OPTION, create_engine, describe_error
from daemon.store.executions import ExecutionRepository
from daemon.store.flows import FlowRepository
from daemon.store.heartbeats import HeartbeatRepository
from daemon.store.kv import KvRepository
from daemon.store.logs import LogRepository
from daemon.store.namespace_files import NamespaceFilesRepository
from daemon.store.outbox import OutboxRepository
from daemon.store.syncs import SyncRepository
from daemon.store.triggers import TriggerRepository


class Store:
    """The persistence layer. Repositories: ``flows``, ``syncs``, ``executions`` (with task runs), ``logs``,
    ``triggers`` (with schedule ticks), ``kv``, ``heartbeats``, ``outbox``, ``admission`` (flow concurrency
    locks); each method takes an optional ``conn``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.flows = FlowRepository(engine)
        self.syncs = SyncRepository(engine)
        self.executions = ExecutionRepository(engine)
        self.logs = LogRepository(engine)
        self.triggers = TriggerRepository(engine)
        self.kv = KvRepository(engine)
        self.heartbeats = HeartbeatRepository(engine)
        self.namespace_files = NamespaceFilesRepository(engine)
        self.outbox = OutboxRepository(engine)
        self.admission = Admission(engine)

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` (SQLite file or PostgreSQL) and, unless told not to, migrate it to the newest
        schema. Raises StoreError when the database cannot be reached or migrated."""
        engine = create_engine(url)
        try:
            if upgrade:
                migrate.upgrade(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot open database {engine.url.render_as_string()}: {describe_error(exc)}"
            ) from exc
        return cls(engine)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction spanning several repository calls (pass the connection as ``conn=``); commits on
        success, rolls back on error. On SQLite it takes the write lock at once (BEGIN IMMEDIATE)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction spanning several repository reads (pass it as ``conn=``): one pool
        checkout and one BEGIN/COMMIT for all of them. On SQLite it takes no write lock (BEGIN DEFERRED)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
            with conn.begin():
                yield conn

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
