"""Sequential ForEach: time to run a ForEach over N values with ``concurrencyLimit: 1`` (one Return per
value), on SQLite (a tmp file).

Method: deploy the flow, then time ``create_execution`` + ``run_until_done`` with the real plugins and an
executor of 8 workers; print seconds and microseconds per value for each N. Linear time shows as a flat
microseconds-per-value column; a planner that rescans every run per step shows it growing with N.

Usage: python bench/foreach_bench.py [--sizes 1000,2000,5000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS


def flow(n: int) -> str:
    return (
        f"id: each{n}\nnamespace: bench\ntasks:\n"
        "  - id: loop\n    type: io.kestra.plugin.core.flow.ForEach\n    concurrencyLimit: 1\n"
        f'    values: "{{{{ range(0, {n - 1}) }}}}"\n'
        "    tasks:\n"
        "      - {id: r, type: io.kestra.plugin.core.debug.Return, format: '{{ taskrun.value }}'}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,2000,5000,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        executor = Executor(
            store, Settings(home=Path(tmp) / "home"), SystemClock(), PLUGINS, workers=8, environ={}
        )
        print("Sequential ForEach (concurrencyLimit: 1), SQLite:")
        for n in sizes:
            source = flow(n)
            record = store.flows.deploy(
                "bench", f"each{n}", source=source, hash=hashlib.sha256(source.encode()).hexdigest(),
                path=None, commit=None, now=datetime.now(UTC),
            )  # fmt: skip
            start = time.perf_counter()
            execution_id = executor.create_execution(record, {})
            row = asyncio.run(executor.run_until_done(execution_id))
            elapsed = time.perf_counter() - start
            runs = len(store.executions.list_task_runs(execution_id))
            print(
                f"  {n:>6} values: {elapsed:7.2f}s  {elapsed / n * 1e6:7.0f} us/value  "
                f"({runs} task runs, {row.state})"
            )
        store.close()


if __name__ == "__main__":
    main()
