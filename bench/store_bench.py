"""Store throughput: task-run inserts, claims and updates (and log lines) per second, SQLite and PostgreSQL.

How it is measured: for each backend a fresh migrated database (SQLite: a file in a temp folder, WAL,
synchronous=NORMAL; PostgreSQL: a new database on 127.0.0.1:5432, dropped afterwards). ``--count`` task
runs of one execution go through the engine's store calls, each phase timed with ``time.perf_counter``
around the whole loop (wall clock, one thread, connection pool warm):
  insert  ``insert_task_runs`` in batches of ``--batch``
  claim   ``claim_task_runs(worker, --batch, now)`` until nothing is left
  update  ``update_task_runs`` (state SUCCESS + histories + attempts + outputs) in batches of ``--batch``
  cycle   insert + claim + update of one batch at a time (what the executor does per no-op task)
  logs    ``logs.insert`` of ``--count`` lines in batches of 500
Rates are rows per second. Usage: ``python bench/store_bench.py [--count N] [--batch B] [--backend ...]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from daemon.store import Execution, LogEntry, Store, TaskRun, TaskRunUpdate, new_id

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2024, 1, 1, tzinfo=UTC)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    name = f"flowd_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _runs(execution_id: str, count: int) -> list[TaskRun]:
    history = [{"state": "CREATED", "date": "2024-01-01T00:00:00Z"}]
    return [
        TaskRun(
            id=new_id(),
            execution_id=execution_id,
            task_id=f"t{i}",
            state="CREATED",
            ready_at=NOW,
            histories=history,
        )
        for i in range(count)
    ]


def _done(run: TaskRun) -> TaskRunUpdate:
    return TaskRunUpdate(
        id=run.id,
        state="SUCCESS",
        histories=[*run.histories, {"state": "SUCCESS", "date": "2024-01-01T00:00:01Z"}],
        attempts=[
            {"state": "SUCCESS", "startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-01T00:00:01Z"}
        ],
        outputs={"value": run.task_id},
    )


def _timed(fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    rows = fn()
    return rows / (time.perf_counter() - start)


def bench(url: str, count: int, batch: int) -> dict[str, float]:
    store = Store.open(url)
    try:
        execution_id = new_id()
        store.executions.create(
            Execution(
                id=execution_id,
                namespace="bench",
                flow_id="f",
                flow_revision=1,
                state="RUNNING",
                start_date=NOW,
            )
        )
        runs = _runs(execution_id, count)
        claimed: list[TaskRun] = []

        def insert() -> int:
            for i in range(0, count, batch):
                store.executions.insert_task_runs(runs[i : i + batch])
            return count

        def claim() -> int:
            while got := store.executions.claim_task_runs("w", batch, NOW):
                claimed.extend(got)
            return len(claimed)

        def update() -> int:
            for i in range(0, len(claimed), batch):
                store.executions.update_task_runs([_done(r) for r in claimed[i : i + batch]], worker_id="w")
            return len(claimed)

        def cycle() -> int:
            for _ in range(0, count, batch):
                store.executions.insert_task_runs(_runs(execution_id, batch))
                got = store.executions.claim_task_runs("w", batch, NOW)
                store.executions.update_task_runs([_done(r) for r in got], worker_id="w")
            return count

        def logs() -> int:
            lines = [
                LogEntry(execution_id=execution_id, level="INFO", timestamp=NOW, message=f"line {i}")
                for i in range(count)
            ]
            for i in range(0, count, 500):
                store.logs.insert(lines[i : i + 500])
            return count

        return {
            name: _timed(fn)
            for name, fn in [
                ("insert", insert),
                ("claim", claim),
                ("update", update),
                ("cycle", cycle),
                ("logs", logs),
            ]
        }
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = {"sqlite": sqlite_url, "postgresql": postgres_url}
    chosen = list(backends) if args.backend == "both" else [args.backend]
    print(f"{args.count} task runs, batches of {args.batch}; rows/s (one thread, wall clock)")
    print(f"{'backend':<12}{'insert':>10}{'claim':>10}{'update':>10}{'cycle':>10}{'logs':>10}")
    for name in chosen:
        with backends[name]() as url:
            rates = bench(url, args.count, args.batch)
        print(
            f"{name:<12}"
            + "".join(f"{rates[k]:>10.0f}" for k in ("insert", "claim", "update", "cycle", "logs"))
        )


if __name__ == "__main__":
    main()
