# ruff: noqa: E501  (tables of figures read better on one line)
"""What one execution costs PostgreSQL: rows, statements, transactions and bytes of WAL, per execution.

Method: a fresh database (``flowd_walbench_<hex>`` on 127.0.0.1:5432), migrated; the engine runs in this
process (``Executor`` with the real plugins, 8 workers, as the daemon builds it) so every statement it sends
is counted (a SQLAlchemy ``before_cursor_execute`` listener on the store's engine; a batch of
``executemany`` counts once). For each scenario N executions are created and run to the end one after the
other, then the store is closed (its backends exit and flush their statistics) and the figures are read:
- rows: ``pg_stat_user_tables`` (inserted + updated + deleted, per table) before/after;
- transactions: ``pg_stat_database.xact_commit`` of the database (includes the few of the bench's reads);
- WAL: the records of ``pg_walinspect`` between the flushed LSNs before and after each batch of 10
  executions that touch this database's relations (the server is shared: the LSN difference alone counts
  other databases' writes too, so it is printed for reference only). A temporary replication slot keeps
  the batch's WAL until it is read. Commit records carry no relation and are not counted (~ 40 B each).

Usage: ``python bench/wal_bench.py [--count 300]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 10
RET = "io.kestra.plugin.core.debug.Return"
SCENARIOS = {
    "one-task (Return)": f"id: one\nnamespace: bench.wal\ntasks:\n  - {{id: only, type: {RET}, format: x}}\n",
    "three tasks (Log, one line each)": "id: three\nnamespace: bench.wal\ntasks:\n"
    + "".join(
        f"  - {{id: t{i}, type: io.kestra.plugin.core.log.Log, message: 'step {i}'}}\n" for i in range(3)
    ),
    "three shell tasks (echo)": "id: shell\nnamespace: bench.wal\ntasks:\n"
    + "".join(
        f"  - id: s{i}\n    type: io.kestra.plugin.scripts.shell.Commands\n"
        f"    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}\n    commands: ['echo {i}']\n"
        for i in range(3)
    ),
}


def one(conn: psycopg.Connection[Any], text: str, *args: object) -> Any:
    row = conn.execute(text, args or None).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def table_rows(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"
    ).fetchall()
    return {str(name): int(n) for name, n in rows}


def wal_bytes(conn: psycopg.Connection[Any], start: str, end: str, dboid: int) -> int:
    return int(one(conn, "SELECT coalesce(sum(record_length), 0) FROM pg_get_wal_records_info(%s, %s) "
                         "WHERE block_ref LIKE %s", start, end, f"%/{dboid}/%"))  # fmt: skip


async def run(executor: Executor, record: Any, count: int) -> None:
    for _ in range(count):
        await executor.run_until_done(executor.create_execution(record, {}))


def measure(url: str, label: str, text: str, count: int, home: Path) -> dict[str, Any]:
    store = Store.open(url)
    statements = [0]
    sa.event.listen(
        store.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1)
    )
    flow_id = text.split("\n", 1)[0].removeprefix("id: ")
    record = store.flows.deploy("bench.wal", flow_id, source=text, hash=hashlib.sha256(text.encode()).hexdigest(),
                                path=None, commit=None, now=datetime.now(UTC))  # fmt: skip
    executor = Executor(store, Settings(home=home), SystemClock(), PLUGINS, workers=8, environ={})
    executor.flows.revision("bench.wal", flow_id, record.revision)
    asyncio.run(run(executor, record, 5))  # warm-up: caches, prepared plans
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        time.sleep(11.0)
        rows0, xact0 = (
            table_rows(conn),
            one(conn, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"),
        )
        dboid = one(conn, "SELECT oid FROM pg_database WHERE datname = current_database()")
    statements[0] = 0
    elapsed, ours, server = 0.0, 0, 0
    with psycopg.connect(url, autocommit=True) as conn:
        # in batches, reading each batch's WAL at once: a busy shared server recycles segments quickly
        # a replication slot held for one batch keeps its WAL until it is read (a few seconds)
        slot = f"flowd_walbench_{uuid.uuid4().hex[:8]}"
        for batch in range(0, count, BATCH):
            conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (slot,))
            try:
                lsn0 = one(conn, "SELECT pg_current_wal_flush_lsn()::text")
                started = time.perf_counter()
                asyncio.run(run(executor, record, min(BATCH, count - batch)))
                elapsed += time.perf_counter() - started
                lsn1 = one(conn, "SELECT pg_current_wal_flush_lsn()::text")
                ours += wal_bytes(conn, lsn0, lsn1, int(dboid))
                server += int(one(conn, "SELECT pg_wal_lsn_diff(%s, %s)", lsn1, lsn0))
            finally:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    sent = statements[0]
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        time.sleep(
            11.0
        )  # statistics are flushed by idle backends within 10 s (the executor keeps its own connection)
        rows1, xact1 = (
            table_rows(conn),
            one(conn, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"),
        )
    per_table = {
        t: (rows1.get(t, 0) - rows0.get(t, 0)) / count for t in rows1 if rows1.get(t, 0) != rows0.get(t, 0)
    }
    return {"label": label, "count": count, "elapsed": elapsed, "statements": sent / count,
            "xacts": (xact1 - xact0) / count, "rows": sum(per_table.values()), "per_table": per_table,
            "wal": ours / count, "server_wal": server / count}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args(argv)
    name = f"flowd_walbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        print(
            f"per execution, {args.count} executions per scenario, run one after the other (PostgreSQL 127.0.0.1)"
        )
        print(
            "| scenario | statements | transactions | rows written | WAL bytes (this database) | WAL bytes (whole server) | rows by table |"
        )
        print("|---|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as home:
            for label, text in SCENARIOS.items():
                r = measure(url, label, text, args.count, Path(home))
                tables = ", ".join(f"{t} {n:.1f}" for t, n in sorted(r["per_table"].items()))
                print(f"| {label} | {r['statements']:.1f} | {r['xacts']:.1f} | {r['rows']:.1f} | {r['wal']:,.0f} | "
                      f"{r['server_wal']:,.0f} | {tables} |", flush=True)  # fmt: skip
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
