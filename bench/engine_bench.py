# ruff: noqa: E501  (tables of figures and flows read better on one line)
"""Engine throughput and memory, on SQLite (a tmp file) and PostgreSQL (a fresh database on 127.0.0.1).

Method: each scenario deploys a flow, then times ``create_execution`` + ``run_until_done`` with the real
plugins (Log/Return) and an executor of 8 workers, and reports task runs per second (every task run counted,
flowable runs included). Memory: RSS (from /proc/self/status) before and after running N one-task executions
back to back, after a warm-up of 200.

Usage: python bench/engine_bench.py [--pg] [--history 10000] [--only one] [--repeat 3]
(``--only`` runs the scenarios whose flow id is given, e.g. ``one`` for the 1,000 one-task executions,
``--repeat`` times each, and skips the memory run.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS

LOG = "io.kestra.plugin.core.log.Log"
RET = "io.kestra.plugin.core.debug.Return"


def chain(n: int) -> str:
    tasks = "".join(
        f"  - {{id: t{i}, type: {LOG}, message: 'step {i} {{{{ execution.id }}}}'}}\n" for i in range(n)
    )
    return f"id: chain\nnamespace: bench\ntasks:\n{tasks}"


def fan(n: int) -> str:
    inner = "".join(f"      - {{id: p{i}, type: {RET}, format: '{i}'}}\n" for i in range(n))
    return (
        f"id: fan\nnamespace: bench\ntasks:\n  - {{id: root, type: {RET}, format: r}}\n"
        f"  - id: par\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n{inner}"
        f"  - {{id: join, type: {LOG}, message: done}}\n"
    )


def foreach(n: int) -> str:
    return (
        f"id: each\nnamespace: bench\ntasks:\n  - id: loop\n    type: io.kestra.plugin.core.flow.ForEach\n"
        f"    values: {list(range(n))}\n    concurrencyLimit: 0\n    tasks:\n"
        f"      - {{id: item, type: {RET}, format: '{{{{ taskrun.value }}}}'}}\n"
    )


ONE = f"id: one\nnamespace: bench\ntasks:\n  - {{id: only, type: {LOG}, message: hi}}\n"


def deploy(store: Store, text: str, flow_id: str):  # type: ignore[no-untyped-def]
    return store.flows.deploy(
        "bench", flow_id, source=text, hash=hashlib.sha256(text.encode()).hexdigest(), path=None, commit=None,
        now=datetime.now(UTC),
    )  # fmt: skip


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def run_many(executor: Executor, record, count: int) -> int:  # type: ignore[no-untyped-def]
    runs = 0
    for _ in range(count):
        eid = executor.create_execution(record, {})
        await executor.run_until_done(eid)
        runs += 1
    return runs


def bench(url: str, home: Path, history: int, only: list[str] | None = None, times: int = 1) -> None:
    store = Store.open(url)
    executor = Executor(store, Settings(home=home), SystemClock(), PLUGINS, workers=8, environ={})
    scenarios = [("chain of 100 Log", chain(100), "chain", 1), ("root -> 200 parallel Return -> join", fan(200), "fan", 1),
                 ("ForEach over 1,000 values", foreach(1000), "each", 1), ("1,000 one-task executions", ONE, "one", 1000)]  # fmt: skip
    for label, text, flow_id, repeat in scenarios:
        if only and flow_id not in only:
            continue
        record = deploy(store, text, flow_id)
        executor.flows.revision("bench", flow_id, record.revision)  # parse once, outside the timing
        for _ in range(times):
            start = time.perf_counter()
            asyncio.run(run_many(executor, record, repeat))
            elapsed = time.perf_counter() - start
            task_runs = sum(
                len(store.executions.list_task_runs(e.id))
                for e in store.executions.list(namespace="bench", flow_id=flow_id, limit=repeat)
            )
            print(
                f"  {label:<40} {task_runs:>6} task runs in {elapsed:6.2f}s = {task_runs / elapsed:8.0f} task runs/s"
            )
    if only:
        store.close()
        return
    record = deploy(store, ONE, "one")
    asyncio.run(run_many(executor, record, 200))
    gc.collect()
    before = rss_kb()
    start = time.perf_counter()
    asyncio.run(run_many(executor, record, history))
    gc.collect()
    after = rss_kb()
    print(f"  memory: {history} executions in {time.perf_counter() - start:.1f}s, "
          f"RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB ({(after - before) / 1024:+.1f} MiB); "
          f"views kept: {len(executor.views)}")  # fmt: skip
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL on 127.0.0.1:5432")
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--only", action="append", help="flow id of a scenario: chain, fan, each, one")
    parser.add_argument("--repeat", type=int, default=1, help="time each scenario this many times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite:")
        bench(f"sqlite:///{tmp}/bench.db", Path(tmp) / "home", args.history, args.only, args.repeat)
        if args.pg:
            import psycopg

            name = f"flowd_bench_{uuid.uuid4().hex[:8]}"
            admin = "postgresql://postgres@127.0.0.1:5432/test"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            try:
                print("PostgreSQL:")
                bench(
                    f"postgresql://postgres@127.0.0.1:5432/{name}",
                    Path(tmp) / "home-pg",
                    args.history,
                    args.only,
                    args.repeat,
                )
            finally:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
