"""Server-side render time of the web UI's pages on a large store (target: under 300 ms each).

Method: a fresh migrated store (SQLite file in a temp folder by default; ``--backend postgresql`` uses a new
database on 127.0.0.1:5432, dropped afterwards) is populated directly through the repositories:
``--flows`` flows (default 10,000) in 100 namespaces, each with a Schedule trigger state, three executions
for one flow in ten, one execution with ``--tasks`` task runs (default 1,000: a ForEach parent and its
iterations, each run with one attempt, the last few with two) and two log lines per task run, and 50 sync
records. The daemon's app (``create_app``, UI included) is then called in-process through
``httpx.AsyncClient(transport=ASGITransport(app))``: no network, no server, the full ASGI stack, routing,
queries, Jinja2 rendering. Each page is requested once to warm caches, then ``--repeat`` times; the wall
time of each request is taken with ``time.perf_counter`` and the median and worst are printed in ms.

Usage: ``python bench/ui_bench.py [--flows N] [--tasks N] [--repeat N] [--backend sqlite|postgresql]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.reconcile.hashing import content_hash
from daemon.server.api import create_app
from daemon.server.services import Services
from daemon.settings import Settings
from daemon.store import Execution, LogEntry, Store, TaskRun, TriggerState, new_id
from daemon.store.flows import FlowSource
from daemon.tasks.registry import PLUGINS

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_MS = 300.0


def flow_source(namespace: str, flow_id: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ninputs:\n  - id: who\n    type: STRING\n    defaults: x\n"
        "tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: hourly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _histories(begin: datetime, end: datetime) -> list[dict[str, str]]:
    return [{"state": "CREATED", "date": _iso(begin)}, {"state": "RUNNING", "date": _iso(begin)},
            {"state": "SUCCESS", "date": _iso(end)}]  # fmt: skip


def populate(store: Store, *, flows: int, tasks: int, now: datetime) -> tuple[str, str, str]:
    """Fill the store; returns (namespace, flow id) of a flow and the id of the big execution."""
    items = []
    for i in range(flows):
        namespace, flow_id = f"company.team{i % 100:02d}.sub{i % 7}", f"flow_{i:05d}"
        text = flow_source(namespace, flow_id)
        items.append(FlowSource(namespace, flow_id, text, content_hash(text), f"{namespace}/{flow_id}.yml"))
    store.flows.deploy_many(items, commit="f" * 40, now=now)
    with store.begin() as conn:
        for item in items:
            store.triggers.put(
                TriggerState(item.namespace, item.flow_id, "hourly", 1, "h", now + timedelta(minutes=30),
                             None, False, now),
                conn=conn,
            )  # fmt: skip
        for n, item in enumerate(items[::10]):
            for k in range(3):
                start = now - timedelta(minutes=5 * n + k)
                store.executions.create(
                    Execution(
                        id=new_id(), namespace=item.namespace, flow_id=item.flow_id, flow_revision=1,
                        state=("SUCCESS", "FAILED", "RUNNING")[k], start_date=start,
                        histories=[{"state": "CREATED", "date": _iso(start)}], inputs={"who": "x"},
                    ),
                    conn=conn,
                )  # fmt: skip
    big = items[0]
    execution_id = new_id()
    start = now - timedelta(minutes=10)
    store.executions.create(
        Execution(
            id=execution_id, namespace=big.namespace, flow_id=big.flow_id, flow_revision=1, state="SUCCESS",
            start_date=start, end_date=now, histories=[{"state": "CREATED", "date": _iso(start)}],
            inputs={"who": "x"},
        )
    )  # fmt: skip
    parent = new_id()
    runs = [TaskRun(id=parent, execution_id=execution_id, task_id="each", state="SUCCESS", ready_at=start,
                    histories=_histories(start, now))]  # fmt: skip
    logs = []
    for i in range(tasks - 1):
        begin = start + timedelta(seconds=i * 0.5)
        end = begin + timedelta(seconds=2)
        attempts = [{"state": "SUCCESS", "startDate": _iso(begin), "endDate": _iso(end)}]
        if i % 100 == 0:
            attempts.insert(0, {"state": "FAILED", "startDate": _iso(begin), "endDate": _iso(begin)})
        run_id = new_id()
        runs.append(
            TaskRun(
                id=run_id, execution_id=execution_id, task_id="work", state="SUCCESS", ready_at=begin,
                histories=_histories(begin, end),
                attempts=attempts, outputs={"value": i}, parent_task_run_id=parent, value=f"item-{i}",
                iteration=i,
            )
        )  # fmt: skip
        for line in range(2):
            logs.append(LogEntry(execution_id, "INFO", begin, f"item {i} line {line}", run_id, "work", 1))
    store.executions.insert_task_runs(runs)
    store.logs.insert(logs)
    for s in range(50):
        sync_id = store.syncs.start(source="file:///flows", ref="main", commit_attempted=f"{s:040d}",
                                    started_at=now - timedelta(minutes=s))  # fmt: skip
        store.syncs.finish(sync_id, result="SUCCESS", finished_at=now, commit_applied=f"{s:040d}",
                           counts={"unchanged": flows}, plan={"changes": [], "invalid": []})  # fmt: skip
    return big.namespace, big.flow_id, execution_id


async def measure(app: object, paths: list[str], repeat: int) -> list[tuple[str, float, float, int]]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://ui.bench") as client:
        for path in paths:
            first = await client.get(path)
            first.raise_for_status()
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                response = await client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            out.append((path, statistics.median(times), max(times), len(first.content)))
    return out


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    name = f"flowd_uibench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as url:
        store = Store.open(url)
        clock = SystemClock()
        began = time.perf_counter()
        namespace, flow_id, execution_id = populate(
            store, flows=args.flows, tasks=args.tasks, now=clock.now()
        )
        print(f"populated {args.backend}: {args.flows} flows, {args.tasks} task runs "
              f"in {time.perf_counter() - began:.1f}s")  # fmt: skip
        settings = Settings(home=Path(tmp) / "home")
        executor = Executor(store, settings, clock, PLUGINS, workers=1, environ={})
        services = Services(settings=settings, store=store, executor=executor, reconciler=None, clock=clock)
        paths = [
            "/ui/flows", "/ui/flows?q=flow_0999", "/ui/flows?namespace=company.team42", "/ui/flows?page=80",
            f"/ui/flows/{namespace}/{flow_id}", f"/ui/executions/{execution_id}",
            f"/ui/executions/{execution_id}/live", "/ui/", "/ui/syncs",
        ]  # fmt: skip
        results = asyncio.run(measure(create_app(services), paths, args.repeat))
        store.close()
    print(f"{'page':<58} {'median ms':>10} {'worst ms':>9} {'KiB':>7}")
    for path, median, worst, size in results:
        flag = "" if worst < TARGET_MS else f"  over {TARGET_MS:.0f} ms"
        print(f"{path:<58} {median:>10.1f} {worst:>9.1f} {size / 1024:>7.0f}{flag}")


if __name__ == "__main__":
    main()
