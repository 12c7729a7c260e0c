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

Search mode (``--search``, PostgreSQL): ``--executions`` executions (default 1,000,000) and ``--log-lines``
log lines (default 10,000,000) are generated inside PostgreSQL by ``INSERT ... SELECT FROM generate_series``
(no row crosses the wire; faster than COPY or executemany from Python): 500 namespaces
(``company.teamNN.subN``), 10,000 flows, states mostly SUCCESS (5 % FAILED, 1 % RUNNING, 1 % KILLED), a label
``env`` on each, one in five started by a Schedule trigger, start dates spread over the last 30 days; log
lines spread over the last 7 days, one in fifty at ERROR, on those executions. After ANALYZE, each search (the
executions page, the API's ``/api/v1/executions/search`` and the logs page, through the full ASGI stack as
above) is requested ``--repeat`` times (default 20) and its median and p95 wall times are printed, against 300
ms (executions) and 500 ms (logs).
"""

from __future__ import annotations

import argparse
import asyncio
import re
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
import sqlalchemy as sa
from psycopg import sql

from daemon.clock import FrozenClock, SystemClock
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
LOGS_TARGET_MS = 500.0

EXECUTIONS_SQL = """
INSERT INTO executions (id, namespace, flow_id, flow_revision, state, histories, labels, trigger, start_date,
                        end_date)
SELECT 'x' || lpad(i::text, 9, '0'),
       'company.team' || lpad((i %% 100)::text, 2, '0') || '.sub' || (i %% 5),
       'flow_' || lpad((i %% 10000)::text, 5, '0'), 1,
       CASE WHEN i %% 100 < 5 THEN 'FAILED' WHEN i %% 100 = 5 THEN 'RUNNING' WHEN i %% 100 = 6 THEN 'KILLED'
            ELSE 'SUCCESS' END,
       '[]'::jsonb,
       jsonb_build_object('env', CASE i %% 3 WHEN 0 THEN 'prod' WHEN 1 THEN 'staging' ELSE 'dev' END),
       CASE WHEN i %% 5 = 0
            THEN jsonb_build_object('id', 'hourly', 'type', 'io.kestra.plugin.core.trigger.Schedule') END,
       %(now)s - make_interval(secs => (i::float8 * 2592000.0 / %(n)s)),
       %(now)s - make_interval(secs => (i::float8 * 2592000.0 / %(n)s)) + interval '3 seconds'
FROM generate_series(0, %(n)s - 1) AS i
"""

LOGS_SQL = """
INSERT INTO logs (execution_id, task_id, attempt, level, timestamp, message)
SELECT 'x' || lpad(((i::bigint * 7919) %% %(executions)s)::text, 9, '0'), 'task_' || (i %% 7), 1,
       CASE WHEN i %% 50 = 0 THEN 'ERROR' WHEN i %% 10 = 0 THEN 'WARN' ELSE 'INFO' END,
       %(now)s - make_interval(secs => (i::float8 * 604800.0 / %(n)s)),
       'processed batch ' || i || ' of ' || (i %% 997) || ' rows' || CASE WHEN i %% 50 = 0
           THEN ': connection refused by db-' || (i %% 13) ELSE '' END
FROM generate_series(0, %(n)s - 1) AS i
"""


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


def populate_scale(url: str, *, executions: int, log_lines: int, now: datetime) -> None:
    """Executions and log lines generated inside PostgreSQL (see the module docstring), in slices."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute(EXECUTIONS_SQL, {"n": executions, "now": now})
        print(f"  {executions:,} executions in {time.perf_counter() - began:.1f}s")
        began = time.perf_counter()
        step = 1_000_000
        for first in range(0, log_lines, step):
            size = min(step, log_lines - first)
            # each slice covers its own stretch of the week: the same shape as one statement, in commits
            sliced = LOGS_SQL.replace(
                "generate_series(0, %(n)s - 1)", f"generate_series({first}, {first + size - 1})"
            )
            conn.execute(sliced, {"n": log_lines, "now": now, "executions": executions})
        print(f"  {log_lines:,} log lines in {time.perf_counter() - began:.1f}s")
        began = time.perf_counter()
        conn.execute("VACUUM ANALYZE executions")
        conn.execute("VACUUM ANALYZE logs")
        print(f"  vacuum analyze in {time.perf_counter() - began:.1f}s")


async def measure_p95(app: object, paths: list[str], repeat: int) -> list[tuple[str, float, float, int]]:
    """Each path once to warm up, then ``repeat`` times: (path, median ms, p95 ms, bytes)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://ui.bench", timeout=120) as client:
        for path in paths:
            first = await client.get(path)
            first.raise_for_status()
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                response = await client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            out.append((path, statistics.median(times), p95, len(first.content)))
    return out


@contextmanager
def kept_database(name: str | None) -> Iterator[tuple[str, bool]]:
    """``--reuse NAME``: that database, already populated (kept by ``--keep``); else a new one, dropped
    afterwards unless ``--keep``. Yields (url, whether it must be populated)."""
    base = PG_ADMIN.rsplit("/", 1)[0]
    if name:
        yield f"{base}/{name}", False
        return
    name = f"flowd_uibench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"database {name}")
    yield f"{base}/{name}", True


def search_bench(args: argparse.Namespace) -> None:
    """The executions and logs searches at scale (PostgreSQL)."""
    with tempfile.TemporaryDirectory() as tmp, kept_database(args.reuse) as (url, fresh):
        store = Store.open(url)
        clock = SystemClock()
        now = clock.now()
        if fresh:
            print(f"populating postgresql: {args.executions:,} executions, {args.log_lines:,} log lines")
            populate_scale(url, executions=args.executions, log_lines=args.log_lines, now=now)
        else:
            with store.engine.connect() as conn:
                newest = conn.execute(sa.text("SELECT max(start_date) FROM executions")).scalar_one()
            clock = FrozenClock(newest)  # the searches ask about the time the data was made for
        settings = Settings(home=Path(tmp) / "home")
        executor = Executor(store, settings, clock, PLUGINS, workers=1, environ={})
        services = Services(settings=settings, store=store, executor=executor, reconciler=None, clock=clock)
        app = create_app(services)
        executions_paths = [
            "/ui/executions", "/ui/executions?range=all", "/ui/executions?range=24h&state=FAILED",
            "/ui/executions?range=all&state=FAILED&state=KILLED",
            "/ui/executions?range=all&namespace=company.team03",
            "/ui/executions?range=all&flow=flow_04242", "/ui/executions?range=7d&labels=env:prod",
            "/ui/executions?range=all&trigger=SCHEDULE", "/ui/executions?range=all&sort=flow:asc",
            "/ui/executions?range=all&sort=state:asc&size=100",
            "/api/v1/executions/search?size=25",
            "/api/v1/executions/search?namespace=company.team03&state=FAILED&size=25",
            "/api/v1/executions/search?labels=env:prod&timeRange=P1D&size=25",
            "/api/v1/executions/search?flowId=flow_04242&page=3&size=25",
            "/api/v1/executions/search?page=400&size=25",
        ]  # fmt: skip
        logs_paths = [
            "/ui/logs", "/ui/logs?range=24h", "/ui/logs?range=1h&level=ERROR", "/ui/logs?range=1h&q=refused",
            "/ui/logs?range=24h&q=db-7", "/ui/logs?range=24h&namespace=company.team03",
            "/ui/logs?range=24h&flow=flow_04242", "/ui/logs?range=7d&level=ERROR", "/ui/logs?range=7d&q=db-7",
            "/ui/logs?range=1h&q=no-such-text", "/ui/logs?range=24h&q=no-such-text",
        ]  # fmt: skip
        deep = asyncio.run(_deep_page(app))
        results = asyncio.run(measure_p95(app, [*executions_paths, deep, *logs_paths], args.repeat))
        store.close()
        if fresh and not args.keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(
                    url.rsplit("/", 1)[1])))  # fmt: skip
    print(f"{'request':<74} {'median ms':>10} {'p95 ms':>8} {'KiB':>6}")
    for path, median, p95, size in results:
        target = LOGS_TARGET_MS if path.startswith("/ui/logs") else TARGET_MS
        flag = "" if p95 < target else f"  over {target:.0f} ms"
        print(f"{path[:74]:<74} {median:>10.1f} {p95:>8.1f} {size / 1024:>6.0f}{flag}")


async def _deep_page(app: object) -> str:
    """The URL of the 20th keyset page of all executions (followed from page 1)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    path = "/ui/executions?range=all&size=100"
    async with httpx.AsyncClient(transport=transport, base_url="http://ui.bench", timeout=120) as client:
        for _ in range(19):
            html = (await client.get(path)).text
            found = re.search(r'href="([^"]+)" id="next-page"', html)
            if found is None:
                break
            path = found.group(1).replace("&amp;", "&")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--search", action="store_true", help="the executions and logs searches at scale")
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--log-lines", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the search database (its name is printed)")
    parser.add_argument("--reuse", metavar="DATABASE", help="search a database kept by --keep")
    args = parser.parse_args()
    if args.search:
        args.repeat = args.repeat if args.repeat != 5 else 20
        search_bench(args)
        return
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
